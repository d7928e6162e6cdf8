"""Scoring: add the CONTRACT §5 fields (score, verdict, reason, ipr_id, product_id, signals, explanation).

The registry comes from the spider's ``registry_path`` attribute when it has one, else the ``REGISTRY_PATH``
setting; without either, items pass through untouched. An image stage placed before this one may leave an
``image_hit`` on the item (a ``matchers.signals.ImageHit`` or its dict form); it is used when present.
Verdicts are counted in stats as ``score/<verdict>``.
"""

from __future__ import annotations

import logging

from itemadapter import ItemAdapter

from crawlers.items import plain
from matchers.registry import load_registry
from matchers.score import SCORE_FIELDS, Scorer

logger = logging.getLogger(__name__)


class ScoringPipeline:
    def __init__(self, registry_path: str | None, stats=None, thresholds: dict | None = None):
        self.registry_path = registry_path
        self.stats = stats
        self.thresholds = thresholds
        self.scorer: Scorer | None = None
        if registry_path:
            self._load(registry_path)

    @classmethod
    def from_crawler(cls, crawler):
        spider = getattr(crawler, "spider", None)
        path = getattr(spider, "registry_path", None) or crawler.settings.get("REGISTRY_PATH")
        return cls(
            str(path) if path else None, crawler.stats, crawler.settings.getdict("SCORING_THRESHOLDS") or None
        )

    def _load(self, path: str) -> None:
        # a RegistryError stops the crawl: nothing is judged against a bad registry
        registry = load_registry(path)
        for warning in registry.warnings:
            logger.warning("registry %s: %s", registry.path, warning)
        self.scorer = Scorer(registry, self.thresholds)
        self.registry_path = path

    def open_spider(self, spider=None):
        path = getattr(spider, "registry_path", None)
        if self.scorer is None and path:
            self._load(str(path))

    def process_item(self, item, spider=None):
        if self.scorer is None:
            return item
        adapter = ItemAdapter(item)
        listing = plain(item)  # shallow: the scorer reads, it does not modify
        result = self.scorer.score(listing, listing.get("image_hit"))
        for key in SCORE_FIELDS:
            adapter[key] = result[key]
        if self.stats is not None:
            self.stats.inc_value(f"score/{result['verdict']}")
        return item
