"""De-duplication (``pipelines.dedupe``): one listing per (platform, listing_id) in a run."""

from __future__ import annotations

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from pipelines.dedupe import DedupePipeline
from tests.listing_items import good_listing


def test_the_same_listing_twice_in_a_run_is_kept_once():
    crawler = get_crawler()
    pipeline = DedupePipeline.from_crawler(crawler)
    pipeline.process_item(good_listing())
    with pytest.raises(DropItem):
        pipeline.process_item(good_listing(rank=7))
    pipeline.process_item(good_listing(platform="tmall"))  # another platform's id space
    assert crawler.stats.get_value("item/duplicate") == 1
