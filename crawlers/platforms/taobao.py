"""Taobao search pages (docs/platforms.md: Taobao): the mtop recommend API (2023+) and the old
``s.taobao.com`` page with embedded ``g_page_config`` (≤ 2021). Tmall items found on Taobao are
read here too and carry platform ``tmall``.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlsplit

from contract.data import read_yaml
from crawlers.normalize import item_id_from_url
from crawlers.platforms.common import (
    SearchPage,
    all_unreadable,
    empty_list,
    extract_json_object,
    make_listing,
    read_items,
    successful_reply,
    unrecognized,
)

SEARCH_HOST = "h5api.m.taobao.com"
SEARCH_API = "mtop.relationrecommend.WirelessRecommend.recommend"
SEARCH_VERSION = "2.0"
SEARCH_APP_ID = "34385"
PAGE_SIZE = 48
MAX_PAGES = 100
HTML_PAGE_SIZE = 44  # the old page pages by item offset s=44*page
REFERER = "https://s.taobao.com/"


@lru_cache(maxsize=1)
def search_params_template() -> dict:
    """The fixed mtop search params, in the order sent (taobao_search_params.yaml; the per-call ones are null)."""
    return read_yaml(Path(__file__).with_name("taobao_search_params.yaml"))


def search_data(query: str, page: int, *, tab: str = "all", state: dict | None = None) -> str:
    """The mtop ``data`` string for PC keyword search: ``{"appId":"34385","params":"<JSON string>"}``."""
    state = state or {}
    params = dict(search_params_template())
    params.update({  # keys already in the template keep their place in the JSON
        "page": page,
        "n": PAGE_SIZE,
        "q": quote(query, safe=""),
        "tab": tab,
        "pageSize": PAGE_SIZE,
        "sourceS": str(state.get("sourceS", "0")),
        "bcoffset": str(state.get("bcoffset", "")),
        "ntoffset": str(state.get("ntoffset", "")),
    })
    if tab == "mall":
        params["fromTmallRedirect"] = "true"
    return json.dumps({"appId": SEARCH_APP_ID, "params": json.dumps(params, separators=(",", ":"))},
                      separators=(",", ":"))


def html_search_url(query: str, page: int, *, tab: str = "all") -> str:
    """The old search page: paging by item offset ``s = 44 * pageIndex``."""
    offset = HTML_PAGE_SIZE * (page - 1)
    url = (f"https://s.taobao.com/search?q={quote(query)}&imgfile=&commend=all&ssid=s5-e&search_type=item"
           f"&sourceId=tb.index&ie=utf8&tab={tab}")
    return url + (f"&s={offset}" if offset else "")


# ---------------------------------------------------------------------------------------------
# Reading a body

def read_search(text: str) -> SearchPage:
    """Whatever search body Taobao sent, recognised by its content rather than by the URL asked."""
    head = text[:2000].lstrip()
    if "g_page_config" in text:
        return read_g_page_config(text)
    if head.startswith(("mtopjsonp", "{", "/**/")) or '"ret"' in head:
        return read_mtop_search(text)
    return unrecognized("neither an mtop reply nor a page with g_page_config")


def read_mtop_search(text: str) -> SearchPage:
    reply = successful_reply(text)
    if isinstance(reply, SearchPage):
        return reply
    data = reply.data
    items = data.get("itemsArray")
    if items is None and isinstance(data.get("data"), dict):
        items = data["data"].get("itemsArray")  # some builds nest it one level deeper
    if items is None and isinstance(data.get("pcGraphNavModule"), dict):
        items = data["pcGraphNavModule"].get("itemsArray")
    main_info = data.get("mainInfo") if isinstance(data.get("mainInfo"), dict) else {}
    total = _int(main_info.get("totalResults"))
    if items is None:
        if main_info and total == 0:
            return SearchPage(kind="no_results", format="mtop-recommend", reason="totalResults 0")
        return unrecognized("mtop SUCCESS reply without itemsArray (format drift?)")
    if not isinstance(items, list):
        return unrecognized("itemsArray is not a list")
    if not items:
        return empty_list("mtop-recommend", "itemsArray", total)
    page = SearchPage(kind="listings", format="mtop-recommend")
    read_items(page, items, _mtop_listing, "itemsArray")
    if not page.listings and page.item_errors:
        return all_unreadable(page, "itemsArray")
    if total is not None:
        page.total_pages = min(MAX_PAGES, max(1, math.ceil(total / PAGE_SIZE)))
    page.next_state = {k: main_info.get(k) for k in ("sourceS", "bcoffset", "ntoffset") if main_info.get(k) is not None}
    return page


def _int(value) -> int | None:
    try:
        return int(str(value).replace(",", ""))
    except (TypeError, ValueError):
        return None


@lru_cache(maxsize=1)
def tmall_markers() -> dict:
    return read_yaml(Path(__file__).with_name("tmall_markers.yaml"))


def _on_tmall_domain(url: object) -> bool:
    text = str(url or "")
    if "//" not in text:
        return False
    try:
        host = (urlsplit(text).hostname or "").lower()
    except ValueError:
        return False
    return any(host == domain or host.endswith("." + domain) for domain in tmall_markers()["domains"])


def is_tmall_item(*, urls: tuple[object, ...] = (), icon_list: object = None, icon_classes: object = (),
                  is_tmall_flag: object = None, seller_type: object = None) -> bool:
    """Whether any marker says Tmall: an item or shop URL on tmall.com, the ``tmall`` iconList token,
    the 天猫 icon, ``isTmall``, or seller type ``B``."""
    markers = tmall_markers()
    if is_tmall_flag in (True, "true"):
        return True
    if str(seller_type or "").strip().upper() in markers["seller_types"]:
        return True
    if any(_on_tmall_domain(url) for url in urls):
        return True
    if isinstance(icon_list, str) and {token.strip() for token in icon_list.split(",")} & set(markers["icon_list_tokens"]):
        return True
    return bool(set(icon_classes or ()) & set(markers["icon_classes"]))


def _mtop_listing(raw: dict) -> dict | None:
    detail_url = raw.get("auctionURL") or raw.get("auctionUrl") or raw.get("detailUrl")
    is_ad = str(raw.get("isP4p", "")).lower() == "true" or "click.simba" in str(detail_url or "")
    listing_id = raw.get("item_id") or raw.get("itemId") or raw.get("nid") or raw.get("nidlong")
    if not listing_id and detail_url:
        listing_id = item_id_from_url(detail_url)
    if not listing_id:
        if is_ad:
            return None  # a simba click URL with no item id: nothing to identify it by
        raise ValueError("no item_id")
    shop = raw.get("shopInfo") if isinstance(raw.get("shopInfo"), dict) else {}
    tmall = is_tmall_item(urls=(detail_url, shop.get("url"), raw.get("shopUrl")), icon_list=raw.get("iconList"),
                          is_tmall_flag=raw.get("isTmall"), seller_type=raw.get("sellerType") or raw.get("shopType"))
    platform = "tmall" if tmall else "taobao"
    price_show = raw.get("priceShow") or {}
    price_icon = raw.get("priceShowWithIcon") or {}
    price = price_show.get("price") or price_icon.get("price") or raw.get("price") or \
        (raw.get("umpPriceLog") or {}).get("item_price")
    return make_listing(
        platform,
        listing_id,
        title=raw.get("title"),
        price=price,
        source_url=detail_url,
        sales=raw.get("realSales"),
        seller_id=raw.get("userId") or raw.get("user_id") or raw.get("sellerId"),
        seller_name=shop.get("title") or raw.get("nick"),
        shop_url=shop.get("url") or None,
        location=raw.get("procity"),
        images=[raw.get("pic_path") or raw.get("picUrl") or ""],
    )


def read_g_page_config(text: str) -> SearchPage:
    config = extract_json_object(text, "g_page_config")
    if not isinstance(config, dict):
        return unrecognized("g_page_config present but not valid JSON (truncated page?)")
    mods = config.get("mods") or {}
    noresult = mods.get("noresult") or {}
    itemlist = mods.get("itemlist") or {}
    auctions = (itemlist.get("data") or {}).get("auctions")
    if noresult.get("status") == "show" and not auctions:
        return SearchPage(kind="no_results", format="g_page_config", reason="noresult module shown")
    if not isinstance(auctions, list):
        return unrecognized("g_page_config without mods.itemlist.data.auctions")
    pager = (mods.get("pager") or {}).get("data") or ((mods.get("sortbar") or {}).get("data") or {}).get("pager") or {}
    if not auctions:
        return empty_list("g_page_config", "mods.itemlist.data.auctions", _int(pager.get("totalCount")))
    page = SearchPage(kind="listings", format="g_page_config")
    read_items(page, auctions, _g_page_listing, "auctions")
    if not page.listings and page.item_errors:
        return all_unreadable(page, "auctions")
    total_pages = _int(pager.get("totalPage"))
    if total_pages:
        page.total_pages = min(MAX_PAGES, total_pages)
    return page


def _g_page_listing(raw: dict) -> dict | None:
    detail_url = raw.get("detail_url")
    is_ad = bool(raw.get("p4p")) or "click.simba" in str(detail_url or "")
    listing_id = raw.get("nid") or (item_id_from_url(detail_url) if detail_url else None)
    if not listing_id:
        if is_ad:
            return None
        raise ValueError("no nid")
    shopcard = raw.get("shopcard") or {}
    icons = {icon.get("dom_class") for icon in raw.get("icon") or [] if isinstance(icon, dict)}
    tmall = is_tmall_item(urls=(None if is_ad else detail_url, raw.get("shopLink")), icon_classes=icons,
                          is_tmall_flag=shopcard.get("isTmall"), seller_type=raw.get("sellerType") or raw.get("shopType"))
    platform = "tmall" if tmall else "taobao"
    return make_listing(
        platform,
        listing_id,
        title=raw.get("raw_title") or raw.get("title"),
        price=raw.get("view_price"),
        source_url=None if is_ad else detail_url,
        sales=raw.get("view_sales"),
        seller_id=raw.get("user_id"),
        seller_name=raw.get("nick"),
        shop_url=None if "click.simba" in str(raw.get("shopLink", "")) else raw.get("shopLink"),
        location=raw.get("item_loc"),
        images=[raw.get("pic_url") or ""],
    )
