"""Tmall search pages (docs/platforms.md: Tmall): the mall tab of Taobao's mtop search (≈2023+, where
Tmall search now redirects) and the old ``list.tmall.com`` HTML list (≈2013–2022, GBK).

Everything the mall tab returns is a Tmall item, so every listing read here has platform
``tmall``; ``is_official_store`` follows the store-naming rules (旗舰店 / 官方旗舰店, §2.3).
"""

from __future__ import annotations

from parsel import Selector

from crawlers.normalize import (
    absolute_url,
    canonical_url,
    clean_text,
    gbk_quote,
    item_id_from_url,
    query_param,
    shop_is_official,
    strip_tracking,
)
from crawlers.platforms import taobao
from crawlers.platforms.common import (
    SearchPage,
    all_unreadable,
    make_listing,
    parsed_text,
    read_items,
    unrecognized,
)

TAB = "mall"
SEARCH_HOST = taobao.SEARCH_HOST
SEARCH_API = taobao.SEARCH_API
SEARCH_VERSION = taobao.SEARCH_VERSION
REFERER = "https://s.taobao.com/"
LIST_URL = "https://list.tmall.com/search_product.htm"
LIST_PAGE_SIZE = 60  # paging by item offset s; 60 is inferred from one URL (UNVERIFIED, docs/platforms.md: Tmall)


def search_data(query: str, page: int, state: dict | None = None) -> str:
    """The mtop ``data`` of the mall tab: Taobao's recommend search with ``tab=mall``."""
    return taobao.search_data(query, page, tab=TAB, state=state)


def list_url(query: str, page: int) -> str:
    """The old list.tmall.com search page; page N starts at item offset ``s = 60 * (N - 1)``."""
    url = f"{LIST_URL}?q={gbk_quote(query)}&type=p&sort=s&style=g"
    offset = LIST_PAGE_SIZE * (page - 1)
    return url + (f"&s={offset}" if offset else "") + "&from=mallfp..pc_1_searchbutton"


# ---------------------------------------------------------------------------------------------
# Reading a body

def read_search(text: str, url: str = "") -> SearchPage:
    """Whatever Tmall sent, recognised by content: the list HTML, or a Taobao-shaped reply of the mall tab."""
    if 'id="J_ItemList"' in text or ("search_product.htm" in text[:4000] and "productTitle" in text):
        return read_list_html(text, url)
    return mall_tab(taobao.read_search(text))


def mall_tab(page: SearchPage) -> SearchPage:
    """Every result of the mall tab is a Tmall item, marked as such in the data or not."""
    page.listings = [_as_tmall(listing) for listing in page.listings]
    return page


def _as_tmall(listing: dict) -> dict:
    if listing["platform"] == "tmall":
        return listing
    return {**listing, "platform": "tmall", "url": canonical_url("tmall", listing["listing_id"]),
            "is_official_store": shop_is_official(listing["seller_name"])}


def read_list_html(text: str, url: str = "") -> SearchPage:
    selector = Selector(text=text)
    item_list = selector.css("#J_ItemList")
    cards = item_list.css("div.product")
    if not item_list:
        return unrecognized("list.tmall.com page without #J_ItemList")
    if not cards:
        return SearchPage(kind="no_results", format="tmall-list", reason="#J_ItemList holds no div.product")
    page = read_items(SearchPage(kind="listings", format="tmall-list"), cards, _card_listing, "div.product")
    if not page.listings:
        return all_unreadable(page, "#J_ItemList")
    if not selector.css("a.ui-page-next"):  # no link to a next page: this one is the last
        page.total_pages = _page_of(url)
    return page


def _page_of(url: str) -> int:
    offset = query_param(url, "s") if url else None
    return int(offset) // LIST_PAGE_SIZE + 1 if offset and offset.isdigit() else 1


def _card_listing(card: Selector) -> dict:
    link = card.css("p.productTitle > a")
    href = link.attrib.get("href", "")
    listing_id = card.attrib.get("data-id") or item_id_from_url(href)
    if not listing_id:
        raise ValueError("no data-id")
    title = parsed_text(link.attrib.get("title")) or link.get()  # the attribute is decoded, the link is markup
    price_tag = card.css("p.productPrice em")
    price = price_tag.attrib.get("title") or " ".join(price_tag.css("::text").getall())
    shop = card.css("a.productShop-name")
    shop_name = clean_text(shop.get()) if shop else ""
    shop_href = absolute_url(shop.attrib.get("href")) if shop else None
    detail = absolute_url(href) or ""
    seller_id = (query_param(detail, "user_id") if detail else None) or \
        (query_param(shop_href, "user_number_id") if shop_href else None)
    sales = None
    for status in card.css("p.productStatus > span"):
        if "成交" in "".join(status.css("::text").getall()):
            sales = " ".join(status.css("em::text").getall())
            break
    image = card.css("div.productImg-wrap img")
    return make_listing(
        "tmall",
        listing_id,
        title=title,
        price=price,
        source_url=detail,
        sales=sales,
        seller_id=seller_id,
        seller_name=shop_name or parsed_text(card.css("p.productStatus [data-nick]").attrib.get("data-nick") or ""),
        shop_url=strip_tracking(shop_href, keep=("user_number_id",)) if shop_href else None,
        images=[image.attrib.get("data-ks-lazyload") or image.attrib.get("src") or ""],
    )
