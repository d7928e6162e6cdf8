"""A valid listing item for the item pipelines' tests, changed where a test says."""

from __future__ import annotations

from crawlers.items import Listing


def good_listing(**overrides) -> Listing:
    item = Listing(platform="taobao", listing_id="575869269042", url="https://item.taobao.com/item.htm?id=575869269042",
                   title="t", price_min=1.0, price_max=2.0, currency="CNY", seller_name="s", image_urls=[],
                   is_official_store=False, page=1, rank=1)
    item.update(overrides)
    return item
