"""1688.com search pages (docs/platforms.md: 1688): the mtop recommend API (≈2024+) and the older
``offer_search.htm`` page with ``window.data.offerresultData`` (≈2020–2023, GB18030).

The sources disagree on the mtop reply's shape, so both are read: ``data.data.OFFER.items[].data``
and ``data.data.offerList[]`` + ``totalCount``. Offers are wholesale: the minimum order (``moq``,
``moq_unit``) and the tier prices (lowest and highest) are part of the listing.
"""

from __future__ import annotations

import json
import math
import re

from crawlers.mtop import MtopClient
from crawlers.normalize import gbk_quote, item_id_from_url, parse_moq, parse_price
from crawlers.platforms.common import (
    SearchPage,
    all_unreadable,
    empty_list,
    make_listing,
    read_items,
    successful_reply,
    unrecognized,
)

SEARCH_HOST = "h5api.m.1688.com"
SEARCH_API = "mtop.relationrecommend.WirelessRecommend.recommend"
SEARCH_VERSION = "2.0"
SEARCH_APP_ID = "32517"
JSONP_CALLBACK = "mtopjsonpreqTppId_32517_getOfferList2"
PAGE_SIZE = 60
MAX_PAGES = 50
REFERER = "https://s.1688.com/"
HTML_SEARCH_URL = "https://s.1688.com/selloffer/offer_search.htm"
# "GBK" in one 2026 source ("UTF-8 degrades relevance"), "utf8" in another (docs/platforms.md: 1688).
CHARSET = "GBK"
# Where the offer_search page keeps its offers under window.data, newest first.
WINDOW_DATA_KEYS = ("offerresultData", "offerV2Showed")
# ``window.data.<key> = [successDataCheck(]{`` or, inside ``window.data = {…}``, ``"<key>": {``.
_WINDOW_DATA_KEY = r"""(?:window\.data\.{key}\s*=|["']{key}["']\s*:)\s*(?:successDataCheck\s*\()?\s*(?=\{{)"""


def mtop_client() -> MtopClient:
    """1688's pages name their JSONP callback after the TPP app and method."""
    return MtopClient(SEARCH_HOST, extra_params={"callback": JSONP_CALLBACK})


def search_data(query: str, page: int) -> str:
    """``{"appId":"32517","params":"<JSON string>"}`` for PC keyword search (§3.2.4)."""
    params = {
        "keywords": query,
        "beginPage": page,
        "pageSize": PAGE_SIZE,
        "method": "getOfferList",
        "verticalProductFlag": "pcmarket",
        "searchScene": "pcOfferSearch",
        "charset": CHARSET,
    }
    return json.dumps({"appId": SEARCH_APP_ID, "params": json.dumps(params, ensure_ascii=False, separators=(",", ":"))},
                      ensure_ascii=False, separators=(",", ":"))


def html_search_url(query: str, page: int) -> str:
    """The older offer_search page: GBK keywords, paging by ``beginPage``."""
    return f"{HTML_SEARCH_URL}?keywords={gbk_quote(query)}&beginPage={page}"


# ---------------------------------------------------------------------------------------------
# Reading a body

# The rendered search page (``-a render=1``): the cards the page's own script builds from its mtop reply.
# Class names are ours to read: PLATFORMS.md records no 1688 result-card markup (UNVERIFIED).
RENDERED_CARD = ".search-offer-item"
RENDERED_READY = ".search-offer-item, .search-no-result"


def read_search(text: str, page: int | None = None) -> SearchPage:
    """Whatever 1688 sent, recognised by its content. ``page`` (when known) lets ``hasMore:false`` end paging."""
    if 'class="search-offer-item' in text or 'class="search-no-result' in text:
        return read_rendered(text)
    if "window.data" in text:
        return read_window_data(text)
    head = text[:2000].lstrip()
    if head.startswith(("mtopjsonp", "{", "/**/")) or '"ret"' in head:
        return read_mtop_search(text, page)
    return unrecognized("neither an mtop reply nor an offer_search page with window.data")


def read_mtop_search(text: str, page_no: int | None = None) -> SearchPage:
    reply = successful_reply(text)
    if isinstance(reply, SearchPage):
        return reply
    inner = reply.data.get("data")
    if not isinstance(inner, dict):
        return unrecognized("mtop SUCCESS reply without data.data (format drift?)")
    offer = inner.get("OFFER")
    if isinstance(offer, dict):
        cells = offer.get("items")
        if not isinstance(cells, list):
            return unrecognized("data.data.OFFER without an items list")
        found = _int(offer.get("found"))
        if not cells:
            return empty_list("mtop-offer", "OFFER.items", found)
        page = _read_offers([_cell_data(cell) for cell in cells], "mtop-offer", "OFFER.items")
        if page.kind != "listings":
            return page
        page.total_pages = _total_pages(found)
        if offer.get("hasMore") in (False, "false") and page_no:
            page.total_pages = page_no
        return page
    if isinstance(inner.get("offerList"), list):
        return _offer_list_page(inner, "mtop-offerlist")
    return unrecognized("mtop SUCCESS reply without data.data.OFFER or data.data.offerList (format drift?)")


def read_rendered(text: str) -> SearchPage:
    """Result cards in a rendered offer_search page (the DOM after the page's scripts ran)."""
    from parsel import Selector

    selector = Selector(text=text)
    cards = selector.css(RENDERED_CARD)
    if not cards:
        if selector.css(".search-no-result"):
            return SearchPage(kind="no_results", format="rendered", reason="the rendered list says nothing was found")
        return unrecognized("rendered page without result cards")
    page = SearchPage(kind="listings", format="rendered")

    def card_listing(card) -> dict:
        moq, unit = parse_moq(card.css(".offer-moq::text").get())
        return make_listing(
            "1688", card.attrib.get("data-offer-id"),
            title=card.css(".offer-title").get(),  # markup and highlight tags are stripped by make_listing
            price=card.css(".offer-price::text").get(), sales=card.css(".offer-sales::text").get(),
            moq=moq, moq_unit=unit, seller_id=card.attrib.get("data-login-id"),
            seller_name=card.css(".offer-company").get(), shop_url=card.css(".offer-company::attr(href)").get(),
            location=card.css(".offer-location::text").get(), source_url=card.css("a.offer-link::attr(href)").get(),
            images=[card.css("img.offer-img::attr(data-src)").get() or card.css("img.offer-img::attr(src)").get() or ""],
        )

    return all_unreadable(read_items(page, cards, card_listing, "rendered cards"), "rendered cards")


def read_window_data(text: str) -> SearchPage:
    """The offers of ``window.data``, set key by key (``window.data.offerresultData = successDataCheck({…})``)
    or as one object (``window.data = {"offerresultData": {…}, …}``)."""
    for key in WINDOW_DATA_KEYS:
        found = False
        for match in re.finditer(_WINDOW_DATA_KEY.format(key=re.escape(key)), text):
            found = True
            try:
                value, _ = json.JSONDecoder(strict=False).raw_decode(text, match.end())
            except ValueError:
                continue
            if isinstance(value, dict) and not isinstance(value.get("offerList"), list) \
                    and isinstance(value.get("data"), dict):
                value = value["data"]
            if isinstance(value, dict) and isinstance(value.get("offerList"), list):
                return _offer_list_page(value, "window-data")
        if found:
            return unrecognized(f"window.data {key} present but without a readable offerList (truncated page?)")
    # A plain fetch of today's page gets the shell; its offers are hydrated later by mtop (§3.2.3).
    return unrecognized("offer_search page without offer data (a shell hydrated by mtop?)")


def _offer_list_page(container: dict, fmt: str) -> SearchPage:
    offers = container["offerList"]
    total = _int(container.get("totalCount"))
    if not offers:
        return empty_list(fmt, "offerList", total)
    page = _read_offers(offers, fmt, "offerList")
    if page.kind == "listings":
        page.total_pages = _total_pages(total)
    return page


def _cell_data(cell: object) -> object:
    return cell.get("data") if isinstance(cell, dict) and "data" in cell else cell


def _read_offers(offers: list, fmt: str, where: str) -> SearchPage:
    page = SearchPage(kind="listings", format=fmt)
    return all_unreadable(read_items(page, offers, offer_listing, where), where)


def _int(value) -> int | None:
    try:
        return int(str(value).replace(",", ""))
    except (TypeError, ValueError):
        return None


def _total_pages(total: int | None) -> int | None:
    return min(MAX_PAGES, max(1, math.ceil(total / PAGE_SIZE))) if total is not None else None


def _first(*values):
    for value in values:
        if value not in (None, "", [], {}):
            return value
    return None


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def offer_listing(raw: dict) -> dict | None:
    """One offer of any of 1688's search shapes; None for an ad that cannot be identified."""
    if not isinstance(raw, dict):
        raise TypeError(f"an offer is a {type(raw).__name__}, not an object")
    info, company, shop = _dict(raw.get("information")), _dict(raw.get("company")), _dict(raw.get("shop"))
    trade, image = _dict(raw.get("tradeInfo")), _dict(raw.get("image"))
    detail_url = _first(raw.get("linkUrl"), raw.get("detailUrl"), info.get("detailUrl"))
    is_ad = str(raw.get("isP4P", "")).lower() == "true" or raw.get("type") == "bid"
    offer_id = _first(raw.get("offerId"), raw.get("id"), item_id_from_url(detail_url) if detail_url else None)
    if not offer_id:
        if is_ad:
            return None  # an ad known only by its click URL
        raise ValueError("no offerId")
    low, high = _prices(raw)
    moq, unit = _moq(raw)
    location = " ".join(dict.fromkeys(
        part for part in (_first(raw.get("province"), company.get("province")),
                          _first(raw.get("city"), company.get("city"))) if part))
    return make_listing(
        "1688",
        offer_id,
        title=_first(raw.get("title"), raw.get("subject"), raw.get("simpleSubject"), info.get("subject"),
                     info.get("simpleSubject")),
        price=low,
        price_max=high,
        source_url=detail_url,
        sales=_first(raw.get("bookedCount"), _dict(raw.get("afterPrice")).get("text"), trade.get("tradeNumber"),
                     raw.get("saleQuantity")),
        moq=moq,
        moq_unit=unit,
        seller_id=_first(raw.get("loginId"), raw.get("memberId"), company.get("memberId")),
        seller_name=_first(company.get("name"), shop.get("text"), raw.get("companyName"),
                           *(value for value in (raw.get("company"), raw.get("shop")) if isinstance(value, str))) or "",
        shop_url=_first(company.get("url"), shop.get("url")),
        location=location or None,
        images=[_first(raw.get("offerPicUrl"), raw.get("odPicUrl"), image.get("imgUrlOf290x290"), image.get("imgUrl"),
                       raw.get("imgUrl")) or ""],
    )


def _tiers(raw: dict) -> list[dict]:
    """Quantity tiers ``[{beginAmount, price}]``: ``priceInfo.priceRange``, ``skuRangePrices``, ``currentPrices``."""
    price_info, trade_price = _dict(raw.get("priceInfo")), _dict(raw.get("tradePrice"))
    for tiers in (price_info.get("priceRange"), raw.get("priceRange"), raw.get("skuRangePrices"),
                  raw.get("currentPrices"), trade_price.get("priceRange")):
        if isinstance(tiers, list) and tiers:
            return [tier for tier in tiers if isinstance(tier, dict)]
    return []


def _prices(raw: dict) -> tuple[float | None, float | None]:
    prices = [p for tier in _tiers(raw) for p in parse_price(tier.get("price"))[:2] if p is not None]
    if prices:
        return min(prices), max(prices)
    price_info, trade_price = _dict(raw.get("priceInfo")), _dict(raw.get("tradePrice"))
    shown = _first(price_info.get("price"), _dict(trade_price.get("offerPrice")).get("valueString"), raw.get("price"))
    low, high, _ = parse_price(shown)
    return low, high


def _moq(raw: dict) -> tuple[int | None, str | None]:
    trade = _dict(raw.get("tradeInfo"))
    unit = _first(trade.get("unit"), raw.get("unit"), raw.get("offerUnit"))
    shown = _first(trade.get("moq"), trade.get("minOrderQuantity"), raw.get("beginAmount"), raw.get("quantityBegin"))
    if shown is None:
        amounts = [_int(tier.get("beginAmount")) for tier in _tiers(raw)]
        amounts = [amount for amount in amounts if amount is not None]
        shown = min(amounts) if amounts else None
    if shown is None:
        return None, None
    moq, shown_unit = parse_moq(shown)
    return moq, _first(unit, shown_unit)

