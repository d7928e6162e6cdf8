"""The store pipeline: the crawl's last stage, writing each listing and its sighting to the store
(``store.Store``) in batches, one transaction per batch.

Settings: ``STORE_URL`` (default ``sqlite:///data/monitor.db``; empty: off), ``RUN_ID`` (the run the
sightings belong to; a crawl started without one gets a fresh id and finishes that run itself),
``STORE_BATCH_SIZE`` (default 200), ``REGISTRY_PATH`` (recorded on the run).

Stats: ``store/saved``, ``store/failed`` (listings in a batch that could not be written: logged with the
batch's size; the crawl goes on and later batches are still written), ``store/run_id``.
"""

from __future__ import annotations

import logging
from typing import Any

from contract import RunStatus
from contract import stats as stat_keys
from crawlers.items import plain
from store import Store, new_run_id

logger = logging.getLogger(__name__)

RUN_ID_STAT = "store/run_id"


class StorePipeline:
    """Writes listings to the store in batches (``STORE_BATCH_SIZE``); see the module docstring."""

    def __init__(self, url: str, run_id: str | None, batch_size: int, stats: Any, registry: str | None = None):
        self.url = url
        self.owns_run = run_id is None
        self.run_id = run_id or new_run_id()
        self.batch_size = batch_size
        self.stats = stats
        self.registry = registry
        self.buffer: list[dict] = []
        self.store: Store | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> StorePipeline:
        settings = crawler.settings
        from crawlers.store_option import absolute_store_url  # relative SQLite paths: the project folder's
        from registry import path_from_settings

        return cls(absolute_store_url(settings.get("STORE_URL") or ""), settings.get("RUN_ID"),
                   settings.getint("STORE_BATCH_SIZE", 200),
                   crawler.stats, path_from_settings(settings))

    def open_spider(self, spider: Any = None) -> None:
        if not self.url:
            return
        self.store = Store(self.url)
        platform = getattr(spider, "platform", None) if spider else None
        self.store.ensure_run(self.run_id, registry=self.registry, platforms=[platform] if platform else [])
        if self.stats is not None:
            self.stats.set_value(RUN_ID_STAT, self.run_id)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if self.store is None:
            return item
        self.buffer.append(plain(item))  # last stage: nothing changes it after this
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def take_batch(self) -> list[dict]:
        """What is held, handed over for writing (nothing when the store is off)."""
        if self.store is None:
            return []
        batch, self.buffer = self.buffer, []
        return batch

    def flush(self) -> None:
        batch = self.take_batch()
        if not batch:
            return
        try:
            self.store.save_listings(self.run_id, batch)
        except Exception:
            self.stats.inc_value(stat_keys.STORE_FAILED, len(batch))
            logger.exception("store: could not write a batch of %d listings to %s", len(batch), self.url)
            return
        self.stats.inc_value(stat_keys.STORE_SAVED, len(batch))

    def close_spider(self, spider: Any = None) -> None:
        if self.store is None:
            return
        self.flush()
        if self.owns_run:
            self.store.finish_run(self.run_id, RunStatus.FINISHED, {})
        self.store.close()
