"""Validation: a listing missing what a complaint needs never goes further.

A bad item is dropped with its reasons counted (``item/invalid`` and ``item/invalid/<reason>``)
and logged with its URL; the page's other items are unaffected.
"""

import logging

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from contract import stats as stat_keys
from crawlers.items import listing_problems, plain

logger = logging.getLogger(__name__)


class ValidationPipeline:
    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item, spider=None):
        adapter = ItemAdapter(item)
        problems = listing_problems(plain(item))  # a shallow view: nothing here is modified
        if not problems:
            return item
        self.stats.inc_value(stat_keys.ITEM_INVALID)
        for problem in problems:
            self.stats.inc_value(f"{stat_keys.ITEM_INVALID}/{problem}")
        where = adapter.get("url") or adapter.get("listing_id") or "(no id)"
        raise DropItem(f"invalid listing {where} from query {adapter.get('query')!r} page {adapter.get('page')}: "
                       f"{', '.join(problems)}", log_level="WARNING")
