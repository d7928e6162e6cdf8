"""Validation (``pipelines.validate``): a listing missing what a complaint needs is dropped with each reason
counted; a good one goes on."""

from __future__ import annotations

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from contract import stats as stat_keys
from crawlers.items import listing_problems
from pipelines.validate import ValidationPipeline
from tests.listing_items import good_listing


def test_a_valid_listing_passes():
    assert listing_problems(dict(good_listing())) == []


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
    crawler = get_crawler()
    pipeline = ValidationPipeline.from_crawler(crawler)
    with pytest.raises(DropItem, match=reason):
        pipeline.process_item(good_listing(**overrides))
    assert crawler.stats.get_value(f"item/invalid/{reason}") == 1
    assert crawler.stats.get_value(stat_keys.ITEM_INVALID) == 1
