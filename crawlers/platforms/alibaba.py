"""Alibaba.com search pages (docs/platforms.md: Alibaba.com): what one body says, whichever era it comes from.

- ``window.__page__data_sse10`` (≈2023–2026): the whole object, or split assignments such as
  ``window.__page__data_sse10._offer_list = {…};``; several ``__page__data_sse*`` blocks can be on
  one page and the largest offer list is the result list (the others are booths: ads, galleries).
- ``window.__page__data__config`` (≈2019–2022): ``props.offerResultData.offerList[]``.
- the rendered DOM (``-a render=1``): result cards a browser built from the page's own scripts;
  class names follow the 2023–2026 cards public scrapers read (``.fy23-search-card``,
  ``.search-card-e-title``, ``.search-card-e-price-main``, ``a.search-card-e-company``, …).
- a JSON reply carrying ``offerResultData`` (what the page's hydration script fetches).
- the ≤2019 server-rendered list: ``.m-product-item`` cards with ``.title a``, ``.price b``, ``.min-order b``.

Blocks (``Bxpunish: 1``, punish and slider pages) are recognised before parsing, by
crawlers/blocks.py; a page here is either results, the site's genuine "no results", or
unrecognized.
"""

from __future__ import annotations

import json
import math
import re
from urllib.parse import quote_plus

from parsel import Selector

from crawlers.normalize import clean_text, item_id_from_url, parse_moq
from crawlers.platforms.common import (
    SearchPage,
    all_unreadable,
    empty_list,
    extract_json_object,
    make_listing,
    parsed_text,
    read_items,
    unrecognized,
)

PLATFORM = "alibaba"
SEARCH_URL = "https://www.alibaba.com/trade/search"
PAGE_SIZE = 48
MAX_PAGES = 100
REFERER = "https://www.alibaba.com/"

# The rendered result list is ready when one of these is in the DOM (used by the render path to
# know when to stop waiting).
RENDERED_READY = ".fy23-search-card, .search-card-e-title, .search-no-result"
RENDERED_CARD = ".fy23-search-card"
# The ≤2019 server-rendered list; the supplier link's class is not recorded, so the usual ones are tried.
LEGACY_CARD_CLASS = "m-product-item"
LEGACY_CARD = ".m-product-item"
LEGACY_SUPPLIER = ".supplier a, a.cname, .company a, .stitle a"
# What the site says when a search finds nothing (the 2019–2022 page and the rendered list).
NO_RESULT_TEXTS = ("did not match any products", "no matching results")

_SSE_ASSIGNMENT = re.compile(r"window\.(__page__data_sse\d+)((?:\.[A-Za-z_$][\w$]*)*)\s*=\s*(?=\{)")


def search_url(query: str, page: int) -> str:
    """``/trade/search?fsb=y&IndexArea=product_en&CatId=&SearchText=<q, spaces as +>&page=N``."""
    return (f"{SEARCH_URL}?fsb=y&IndexArea=product_en&CatId=&SearchText={quote_plus(query)}"
            f"&page={page}")


# ---------------------------------------------------------------------------------------------
# Reading a body

def read_search(text: str) -> SearchPage:
    """Whatever search body Alibaba.com sent (or a browser rendered), recognised by its content."""
    if "__page__data_sse" in text:
        page = read_sse(text)
        if page.kind != "unrecognized" or not _has_cards(text):
            return page
    if "__page__data__config" in text:
        return read_page_data_config(text)
    if text.lstrip().startswith("{"):
        return read_offer_reply(text)
    if _has_cards(text) or _says_no_results(text):
        return read_rendered(text)
    if LEGACY_CARD_CLASS in text:
        return read_legacy_cards(text)
    return unrecognized("no __page__data_sse*, no __page__data__config and no result cards "
                        "(a page that needs rendering, or a new format)")


def read_sse(text: str) -> SearchPage:
    """``window.__page__data_sse*`` blocks: the largest ``_offer_list.offerResultData.offers``."""
    candidates: list[dict] = []
    broken = 0
    for match in _SSE_ASSIGNMENT.finditer(text):
        try:
            value, _ = json.JSONDecoder().raw_decode(text, match.end())
        except ValueError:
            broken += 1
            continue
        path = match.group(2).lstrip(".").split(".") if match.group(2) else []
        result = _offer_result(value, path)
        if result is not None:
            candidates.append(result)
    if not candidates:
        why = "cut short or not JSON" if broken else "without _offer_list.offerResultData"
        return unrecognized(f"__page__data_sse* present but {why}")
    result = max(candidates, key=lambda data: len(data["offers"]))
    return _page_from_offers(result["offers"], result, "page_data_sse", _offer_listing)


def _offer_result(value: object, path: list[str]) -> dict | None:
    """The ``offerResultData`` (with an ``offers`` list) of one sse assignment, or None.

    ``path`` is what follows the block name: ``[]`` for the whole object, ``["_offer_list"]`` for
    the split assignment; other parts (``_wending``, …) hold no result list.
    """
    if path and path != ["_offer_list"]:
        return None
    node = value.get("_offer_list") if not path and isinstance(value, dict) else value
    data = node.get("offerResultData") if isinstance(node, dict) else None
    if isinstance(data, dict) and isinstance(data.get("offers"), list):
        return data
    return None


def read_offer_reply(text: str) -> SearchPage:
    """A JSON reply with ``data.offerResultData.offers`` (what the page's scripts fetch)."""
    try:
        reply = json.loads(text)
    except ValueError:
        return unrecognized("a JSON reply that does not parse")
    data = reply.get("data") if isinstance(reply, dict) else None
    result = data.get("offerResultData") if isinstance(data, dict) else None
    if not isinstance(result, dict) or not isinstance(result.get("offers"), list):
        return unrecognized("a JSON reply without data.offerResultData.offers")
    return _page_from_offers(result["offers"], result, "offer_reply", _offer_listing)


def read_page_data_config(text: str) -> SearchPage:
    """The 2019–2022 page: ``window.__page__data__config = {props: {offerResultData: {offerList}}}``."""
    config = extract_json_object(text, "window.__page__data__config")
    if not isinstance(config, dict):
        return unrecognized("__page__data__config present but not valid JSON (truncated page?)")
    result = (config.get("props") or {}).get("offerResultData")
    if not isinstance(result, dict):
        return unrecognized("__page__data__config without props.offerResultData")
    offers = result.get("offerList")
    if offers is None and _says_no_results(text):
        return SearchPage(kind="no_results", format="page_data_config", reason="the page says no products matched")
    if not isinstance(offers, list):
        return unrecognized("__page__data__config without props.offerResultData.offerList")
    return _page_from_offers(offers, result, "page_data_config", _legacy_listing)


def read_rendered(text: str) -> SearchPage:
    """Result cards in a rendered DOM (page.content() after the page's scripts built the list)."""
    selector = Selector(text=text)
    cards = selector.css(RENDERED_CARD)
    if not cards:
        if _says_no_results(text):
            return SearchPage(kind="no_results", format="rendered", reason="the rendered list says no products matched")
        return unrecognized("rendered page without result cards")
    page = read_items(SearchPage(kind="listings", format="rendered"), cards, _card_listing, "card")
    return all_unreadable(page, "rendered cards")  # the cards do not say how many pages there are: paging stops at -a pages or an empty page


def read_legacy_cards(text: str) -> SearchPage:
    """The ≤2019 HTML list: ``.m-product-item`` cards with ``.title a``, ``.price b`` and ``.min-order b``."""
    cards = Selector(text=text).css(LEGACY_CARD)
    if not cards:
        return unrecognized("old product list without .m-product-item cards")
    page = read_items(SearchPage(kind="listings", format="legacy_cards"), cards, _legacy_card_listing, "m-product-item")
    return all_unreadable(page, "the .m-product-item cards")


def _legacy_card_listing(card: Selector) -> dict:
    link = card.css(".title a")
    url = link.attrib.get("href") if link else None
    listing_id = item_id_from_url(url) or card.attrib.get("data-ctrdot")
    if not listing_id:
        raise ValueError("no product link")
    moq, moq_unit = parse_moq(card.css(".min-order b").get())
    supplier = card.css(LEGACY_SUPPLIER)
    return make_listing(
        PLATFORM,
        listing_id,
        title=parsed_text(link.attrib.get("title")) or link.get(),
        price=card.css(".price b").get(),
        source_url=url,
        moq=moq,
        moq_unit=moq_unit,
        seller_name=supplier.get() if supplier else None,
        shop_url=supplier.attrib.get("href") if supplier else None,
        images=[src for img in card.css("img") if (src := img.attrib.get("src") or img.attrib.get("data-src"))],
    )


# ---------------------------------------------------------------------------------------------
# One offer

def _page_from_offers(offers: list, result: dict, fmt: str, reader) -> SearchPage:
    total = _int(result.get("totalCount") if result.get("totalCount") is not None else result.get("offerTotalCount"))
    if not offers:
        return empty_list(fmt, "offer list", total)
    page = read_items(SearchPage(kind="listings", format=fmt), offers, reader, "offers")
    if not page.listings:
        return all_unreadable(page, "offer list")
    if total is not None:
        page.total_pages = _total_pages(total, _int(result.get("pageSize")) or PAGE_SIZE)
    return page


def _offer_listing(raw: dict) -> dict:
    """An offer of ``offerResultData.offers[]`` (docs/platforms.md: Alibaba.com, with the older key names)."""
    url = raw.get("productUrl") or raw.get("detailUrl")
    listing_id = raw.get("productId") or item_id_from_url(url)
    if not listing_id:
        raise ValueError("no productId")
    moq, moq_unit = _minimum_order(raw)
    images = [raw.get("mainImage") or raw.get("imageUrl") or ""]
    multi = raw.get("multiImage")
    if isinstance(multi, list):
        images += [image for image in multi if isinstance(image, str)]
    return make_listing(
        PLATFORM,
        listing_id,
        title=raw.get("title") or raw.get("enPureTitle"),
        price=raw.get("price") or raw.get("originalMinPrice"),
        source_url=url,
        sales=raw.get("soldOrder"),
        moq=moq,
        moq_unit=moq_unit,
        seller_id=raw.get("companyId"),
        seller_name=raw.get("companyName"),
        shop_url=raw.get("supplierHomeHref") or raw.get("supplierHref"),
        location=raw.get("countryCode"),
        images=images,
    )


def _minimum_order(*sources: object) -> tuple[int | None, str | None]:
    """The minimum order of an offer under any of its names (``moq``, ``moqV2``, ``minOrder``,
    ``minOrderQuality`` + ``minOrderUnit``), looked for in each of ``sources`` in turn."""
    for source in sources:
        if not isinstance(source, dict):
            continue
        for key in ("moq", "moqV2", "minOrder", "minOrderQuantity"):
            moq, unit = parse_moq(source.get(key))
            if moq is not None:
                return moq, unit
        if source.get("minOrderQuality") not in (None, ""):
            moq, unit = parse_moq(f"{source.get('minOrderQuality')} {source.get('minOrderUnit') or ''}")
            if moq is not None:
                return moq, unit
    return None, None


def _legacy_listing(raw: dict) -> dict:
    """An offer of the 2019–2022 ``offerList[]``: ``information``, ``image``, ``tradePrice``, ``supplier``."""
    information = raw.get("information") or {}
    supplier = raw.get("supplier") or {}
    url = information.get("productUrl")
    listing_id = raw.get("id") or item_id_from_url(url)
    if not listing_id:
        raise ValueError("no id")
    image = raw.get("image") or {}
    price = (raw.get("tradePrice") or {}).get("price") or (raw.get("promotionInfoVO") or {}).get("originalPriceTo")
    moq, moq_unit = _minimum_order(raw, raw.get("tradePrice"), information)
    return make_listing(
        PLATFORM,
        listing_id,
        title=information.get("puretitle") or information.get("title"),
        price=price,
        source_url=url,
        moq=moq,
        moq_unit=moq_unit,
        seller_id=supplier.get("supplierId"),
        seller_name=supplier.get("supplierName"),
        shop_url=supplier.get("supplierHomeHref"),
        images=[image.get("mainImage") or image.get("productImage") or ""],
    )


def _card_listing(card: Selector) -> dict:
    url = card.css('a[href*="/product-detail/"]::attr(href)').get() or card.css(".search-card-e-title a::attr(href)").get()
    listing_id = item_id_from_url(url) or card.attrib.get("data-ctrdot")
    if not listing_id:
        raise ValueError("no product link")
    title = card.css(".search-card-e-title").get()
    moq_text = next((text for text in (clean_text(t) for t in card.css(
        ".search-card-m-sale-features__item, .search-card-e-moq").getall()) if "order" in text.lower()), None)
    moq, moq_unit = parse_moq(moq_text)
    company = card.css("a.search-card-e-company")
    country = parsed_text(card.css(".search-card-e-country-flag__wrapper img::attr(alt)").get())
    images = [src for img in card.css(".search-card-e-slider__img")
              if (src := img.attrib.get("src") or img.attrib.get("data-src"))]
    return make_listing(
        PLATFORM,
        listing_id,
        title=title,
        price=clean_text(card.css(".search-card-e-price-main").get()),
        source_url=url,
        moq=moq,
        moq_unit=moq_unit,
        seller_name=clean_text(company.get()) if company else None,
        shop_url=company.attrib.get("href") if company else None,
        location=country,
        images=images,
    )


def _has_cards(text: str) -> bool:
    return "fy23-search-card" in text


def _says_no_results(text: str) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in NO_RESULT_TEXTS)


def _int(value) -> int | None:
    try:
        return int(str(value).replace(",", "").strip())
    except (TypeError, ValueError):
        return None


def _total_pages(total: int, page_size: int) -> int:
    return min(MAX_PAGES, max(1, math.ceil(total / page_size)))
