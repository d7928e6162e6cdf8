"""What every platform's page objects share: the result of reading a search page, and listing assembly.

Page objects are pure functions of a body (and its URL): they know nothing about Scrapy's
scheduling, so they are tested on fixture bodies directly and benchmarked against the bare parser.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Literal

from crawlers.mtop import MalformedReply, MtopReply, read_reply
from crawlers.normalize import (
    absolute_url,
    canonical_url,
    clean_text,
    full_size_image,
    parse_count,
    parse_price,
    shop_is_official,
)

PageKind = Literal["listings", "no_results", "unrecognized"]

DEFAULT_CURRENCY = {"taobao": "CNY", "tmall": "CNY", "1688": "CNY", "alibaba": "USD"}


@dataclass
class SearchPage:
    """What one search-result body says.

    ``kind`` is ``listings`` (a result page, possibly the last), ``no_results`` (the platform's own
    genuine "nothing found"), or ``unrecognized`` (no known format: a drift alarm, never a silent zero).
    ``item_errors`` names items that could not be read; the page's other items are kept.
    """

    kind: PageKind
    format: str = ""  # e.g. "mtop-recommend", "g_page_config"
    listings: list[dict] = field(default_factory=list)
    total_pages: int | None = None
    next_state: dict = field(default_factory=dict)  # what the next page's request needs (offsets…)
    item_errors: list[str] = field(default_factory=list)
    ads_dropped: int = 0
    reason: str = ""  # why unrecognized / no_results


def read_items(page: SearchPage, items: list, read_one, where: str) -> SearchPage:
    """Add each raw item to ``page`` with ``read_one`` (None means an ad with nothing to identify it).

    One malformed item is named in ``page.item_errors`` and skipped; the page's other items are kept.
    """
    for index, raw in enumerate(items):
        try:
            listing = read_one(raw)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            page.item_errors.append(f"{where}[{index}]: {exc!r}")
            continue
        if listing is None:
            page.ads_dropped += 1
            continue
        page.listings.append(listing)
    return page


def parsed_text(value: str | None) -> str | None:
    """Text an HTML parser already decoded (an attribute, a text node), escaped back to markup.

    ``make_listing`` strips tags and then decodes entities; a decoded ``<LUMORA>`` would be taken for
    a tag and lost, its escaped form ``&lt;LUMORA&gt;`` comes back as the seller wrote it.
    """
    return html.escape(value, quote=False) if value else value


def unrecognized(reason: str) -> SearchPage:
    return SearchPage(kind="unrecognized", reason=reason)


def successful_reply(text: str) -> MtopReply | SearchPage:
    """An mtop search reply that says SUCCESS, or the drift alarm saying why it is none (unreadable, refused)."""
    try:
        reply = read_reply(text)
    except MalformedReply as exc:
        return unrecognized(str(exc))
    if not reply.ok:
        return unrecognized(f"mtop {reply.code}::{reply.message}")
    return reply


def empty_list(fmt: str, where: str, total: int | None) -> SearchPage:
    """A result list with nothing in it: the platform's "no results" only when its own total agrees.

    A total above zero beside an empty list is a list that did not come (a renamed key, a half-built
    page): the drift alarm, never a silent zero.
    """
    if total:
        return SearchPage(kind="unrecognized", format=fmt,
                          reason=f"{where} is empty but the page counts {total} results (format drift?)")
    return SearchPage(kind="no_results", format=fmt, reason=f"empty {where} (total {total})")


def all_unreadable(page: SearchPage, where: str) -> SearchPage:
    """``page`` itself, unless every one of its items failed to read: then the drift alarm (errors kept)."""
    if page.listings or not page.item_errors:
        return page
    return SearchPage(kind="unrecognized", format=page.format, item_errors=page.item_errors,
                      ads_dropped=page.ads_dropped,
                      reason=f"every one of the {len(page.item_errors)} items in {where} failed to read "
                             f"(format drift?); first: {page.item_errors[0]}")


def extract_json_object(text: str, marker: str) -> object | None:
    """The JSON value that follows ``marker`` (e.g. ``g_page_config = ``) in a script, or None.

    Uses the JSON decoder itself to find where the object ends, so ``};`` inside strings is harmless.
    """
    start = text.find(marker)
    if start < 0:
        return None
    brace = text.find("{", start + len(marker))
    if brace < 0:
        return None
    try:
        # strict=False: a raw control character inside a seller's string must not cost the whole page
        value, _ = json.JSONDecoder(strict=False).raw_decode(text, brace)
    except ValueError:
        return None
    return value


def _price_range(price: object, price_max: object) -> tuple[float | None, float | None, str | None]:
    """(lowest, highest, currency shown) from a price or range, with a separate highest price winning when readable."""
    low, high, shown_currency = parse_price(price)
    if price_max is not None:
        _, high_from_max, max_currency = parse_price(price_max)
        if high_from_max is not None:
            high = high_from_max
        shown_currency = shown_currency or max_currency
    return low, high, shown_currency


def _full_size_images(images: list[object] | tuple[object, ...]) -> list[str]:
    """Each picture's full-size URL, once each, in page order; what is not a picture URL is left out."""
    image_urls = []
    for raw in images:
        url = full_size_image(raw)
        if url and url not in image_urls:
            image_urls.append(url)
    return image_urls


def make_listing(
    platform: str,
    listing_id: object,
    *,
    title: object,
    price: object = None,
    price_max: object = None,
    currency: str | None = None,
    source_url: str | None = None,
    sales: object = None,
    moq: int | None = None,
    moq_unit: str | None = None,
    seller_id: object = None,
    seller_name: object = None,
    shop_url: object = None,
    location: object = None,
    is_official_store: bool | None = None,
    images: list[object] | tuple[object, ...] = (),
) -> dict:
    """A docs/contract.md §4 listing from raw platform values, every field normalised the shared way."""
    if not isinstance(listing_id, str | int) or isinstance(listing_id, bool):
        # an object or list where the id belongs is format drift: never str() it into an id
        raise TypeError(f"listing id is a {type(listing_id).__name__}, not a string or number")
    listing_id = str(listing_id).strip()
    if not listing_id:
        raise ValueError("blank listing id")
    low, high, shown_currency = _price_range(price, price_max)
    seller_name_text = clean_text(seller_name) if seller_name is not None else ""
    listing = {
        "platform": platform,
        "listing_id": listing_id,
        "url": canonical_url(platform, listing_id, source_url) if listing_id else "",
        "title": clean_text(title),
        "price_min": low,
        "price_max": high if high is not None else low,
        "currency": currency or shown_currency or DEFAULT_CURRENCY[platform],
        "moq": moq,
        "moq_unit": moq_unit,
        "sales": parse_count(sales),
        # clean_text drops control characters: a NUL would make PostgreSQL refuse the store batch
        "seller_id": clean_text(seller_id) or None if seller_id not in (None, "") else None,
        "seller_name": seller_name_text,
        "shop_url": absolute_url(shop_url) if shop_url else None,
        "location": clean_text(location) or None if location is not None else None,
        "is_official_store": bool(is_official_store) if is_official_store is not None
        else (platform == "tmall" and shop_is_official(seller_name_text)),
        "image_urls": _full_size_images(images),
    }
    if not seller_name_text:
        # the page does not show the seller (a hidden nick, a blank shop title): kept, marked unknown,
        # so that no later stage takes it for a seller (an authorized one least of all)
        listing["seller_unknown"] = True
    return listing
