"""Whose decisions and complaints a row is: the rights holder's key, and what one rights holder sees."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from store.schema import UNSCOPED


def rights_holder_key(registry: Any) -> str:
    """Whose decisions and complaints these are: the registry's rights holder name, NFKC-folded, case
    and spacing ignored (``Lumora Outdoor Co., Ltd.`` == ``LUMORA  Outdoor Co., Ltd.``).

    The rights holder, not the registry file: complaints are filed from the rights holder's IPP account,
    so two registry files of one holder (or one file moved to another folder or machine, as workers
    see it) share their decisions, and two brands sharing one store never do. ``registry`` is a
    ``Registry`` or the name itself.
    """
    name = registry if isinstance(registry, str) else registry.rights_holder.name
    key = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", name or "").casefold()).strip()
    if not key:
        raise ValueError("a rights holder needs a name to keep its decisions and complaints apart")
    return key


def owner_key(registry: Any) -> str:
    """The key a row written for ``registry`` carries (``UNSCOPED`` without one)."""
    return UNSCOPED if registry is None else rights_holder_key(registry)


def scope(registry: Any) -> list[str] | None:
    """The registry keys a reader sees: its own and the unscoped rows (None: every registry)."""
    return None if registry is None else [rights_holder_key(registry), UNSCOPED]


def outranks(row: dict, earlier: dict, seen: list[str] | None) -> bool:
    """A registry's own decision beats an unscoped one; otherwise the later one wins (``seen``: ``scope``)."""
    if seen is not None and row["registry"] != earlier["registry"]:
        return row["registry"] == seen[0]
    return row["decided_at"] > earlier["decided_at"]
