"""De-duplication within a run: one listing per (platform, listing_id), the first sighting wins.

The same listing often comes back for several queries or pages; the store keeps one row for it,
and the review must not show it twice.
"""

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from contract import stats as stat_keys


class DedupePipeline:
    def __init__(self, stats):
        self.stats = stats
        self.seen: set[tuple[str, str]] = set()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item, spider=None):
        adapter = ItemAdapter(item)
        key = (adapter["platform"], adapter["listing_id"])
        if key in self.seen:
            self.stats.inc_value(stat_keys.ITEM_DUPLICATE)
            raise DropItem(f"duplicate {key[0]}:{key[1]}", log_level="DEBUG")
        self.seen.add(key)
        return item
