"""Setting a field a later stage reads, on any kind of item."""

from __future__ import annotations

import logging
from typing import Any

from itemadapter import ItemAdapter

logger = logging.getLogger(__name__)


def set_if_declared(adapter: ItemAdapter, field: str, value: Any) -> None:
    """``adapter[field] = value``, unless the item is a ``scrapy.Item`` that does not declare ``field``
    (then the value is only logged at debug level: the item's own class decides what it carries)."""
    try:
        adapter[field] = value
    except KeyError:
        logger.debug("Item %s has no field %r; not set", type(adapter.item).__name__, field)
