"""Validation and de-duplication: bad items are dropped with a counted reason, good ones go on."""

from __future__ import annotations

import pytest
from scrapy.exceptions import DropItem
from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector

from crawlers.items import Listing, listing_problems
from pipelines.dedupe import DedupePipeline
from pipelines.validate import ValidationPipeline


class _Crawler:
    def __init__(self):
        self.settings = Settings()
        self.stats = MemoryStatsCollector(self)


def _good(**overrides):
    item = Listing(platform="taobao", listing_id="575869269042", url="https://item.taobao.com/item.htm?id=575869269042",
                   title="t", price_min=1.0, price_max=2.0, currency="CNY", seller_name="s", image_urls=[],
                   is_official_store=False, page=1, rank=1)
    item.update(overrides)
    return item


def test_a_valid_listing_passes():
    assert listing_problems(dict(_good())) == []


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"listing_id": ""}, "missing_listing_id"),
    ({"listing_id": "../../etc/passwd"}, "bad_listing_id"),
    ({"url": "http://item.taobao.com/x"}, "bad_url"),
    ({"price_min": 5.0, "price_max": 1.0}, "price_min_above_max"),
    ({"price_min": "5"}, "bad_price_min"),
    ({"platform": "ebay"}, "unknown_platform"),
    ({"title": "  "}, "missing_title"),
    ({"rank": -1}, "bad_rank"),
    ({"image_urls": ["//img.alicdn.com/x.jpg"]}, "bad_image_urls"),
])
def test_invalid_listings_are_dropped_with_the_reason_counted(overrides, reason):
    crawler = _Crawler()
    pipeline = ValidationPipeline.from_crawler(crawler)
    with pytest.raises(DropItem, match=reason):
        pipeline.process_item(_good(**overrides))
    assert crawler.stats.get_value(f"item/invalid/{reason}") == 1


def test_the_same_listing_twice_in_a_run_is_kept_once():
    crawler = _Crawler()
    pipeline = DedupePipeline.from_crawler(crawler)
    pipeline.process_item(_good())
    with pytest.raises(DropItem):
        pipeline.process_item(_good(rank=7))
    pipeline.process_item(_good(platform="tmall"))  # another platform's id space
    assert crawler.stats.get_value("item/duplicate") == 1
