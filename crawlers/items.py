"""The listing (docs/contract.md §4) and its scores (§5): one item class for every platform."""

from __future__ import annotations

import re

import scrapy

from contract import LISTING_FIELDS, PLATFORMS, SCORE_FIELDS  # noqa: F401  (the item's fields are the contract's)


class Listing(scrapy.Item):
    """One search-result listing. Field meanings and types: docs/contract.md §4; scores: §5."""

    platform = scrapy.Field()
    listing_id = scrapy.Field()
    url = scrapy.Field()
    title = scrapy.Field()
    price_min = scrapy.Field()
    price_max = scrapy.Field()
    currency = scrapy.Field()
    moq = scrapy.Field()
    moq_unit = scrapy.Field()  # the unit shown with the MOQ on wholesale sites (件, pieces, …)
    sales = scrapy.Field()
    seller_id = scrapy.Field()
    seller_name = scrapy.Field()
    seller_unknown = scrapy.Field()  # True when the page does not show the seller (seller_name is then "")
    shop_url = scrapy.Field()
    location = scrapy.Field()
    is_official_store = scrapy.Field()
    image_urls = scrapy.Field()
    images = scrapy.Field()
    query = scrapy.Field()
    page = scrapy.Field()
    rank = scrapy.Field()
    crawled_at = scrapy.Field()
    # added by matching
    score = scrapy.Field()
    verdict = scrapy.Field()
    reason = scrapy.Field()
    ipr_id = scrapy.Field()
    product_id = scrapy.Field()
    signals = scrapy.Field()
    explanation = scrapy.Field()
    # hand-over between the image and scoring stages; never exported
    image_hit = scrapy.Field(serializer=lambda value: value.as_dict() if hasattr(value, "as_dict") else value)
    image_text = scrapy.Field()  # text read from the main picture: [{text, box, confidence, image}] (matchers/ocr.py)


def plain(item) -> dict:
    """A shallow dict of an item's fields, cheaply: pipelines that only read a listing use this.

    A ``scrapy.Item`` keeps its fields in a dict already (``_values``); walking it through the item
    or ItemAdapter costs a Python call per field, which the crawl benchmark showed adds up.
    """
    values = getattr(item, "_values", None)
    if isinstance(values, dict):
        return dict(values)
    if isinstance(item, dict):
        return dict(item)
    from itemadapter import ItemAdapter

    return ItemAdapter(item).asdict()


_ID = re.compile(r"^[0-9A-Za-z_-]{1,40}$")
_REQUIRED_STR = ("platform", "listing_id", "url", "title", "currency", "seller_name")


def listing_problems(item: dict) -> list[str]:
    """What makes a listing unusable, one short reason per problem (empty list: valid).

    The reasons double as stats keys (``item/invalid/<reason>``), so they are short and stable.
    """
    problems = []
    for name in _REQUIRED_STR:
        value = item.get(name)
        if name == "seller_name" and item.get("seller_unknown") is True and value == "":
            continue  # a seller the page does not show: kept, and marked so
        if not isinstance(value, str) or not value.strip():
            problems.append(f"missing_{name}")
    platform = item.get("platform")
    if isinstance(platform, str) and platform and platform not in PLATFORMS:
        problems.append("unknown_platform")
    listing_id = item.get("listing_id")
    if isinstance(listing_id, str) and listing_id and not _ID.match(listing_id):
        problems.append("bad_listing_id")
    url = item.get("url")
    if isinstance(url, str) and url and not url.startswith("https://"):
        problems.append("bad_url")
    low, high = item.get("price_min"), item.get("price_max")
    for name, value in (("price_min", low), ("price_max", high)):
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool) or value < 0):
            problems.append(f"bad_{name}")
    if isinstance(low, int | float) and isinstance(high, int | float) and low > high:
        problems.append("price_min_above_max")
    for name in ("moq", "sales", "page", "rank"):
        value = item.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            problems.append(f"bad_{name}")
    urls = item.get("image_urls")
    if urls is not None and (
        not isinstance(urls, list) or not all(isinstance(u, str) and u.startswith("https://") for u in urls)
    ):
        problems.append("bad_image_urls")
    if not isinstance(item.get("is_official_store", False), bool):
        problems.append("bad_is_official_store")
    return problems
