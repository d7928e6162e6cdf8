"""The Tmall spider: the mall tab of today's search, the old GBK list page, official-store marking, no results
and broken bodies read in-process from the cassette bodies (tests/replayed.py); real replayed crawls check the
demo search end to end and each block kind (retries are the block middleware's)."""

from __future__ import annotations

import json

import pytest

from crawlers.platforms import tmall
from tests.replayed import page_listings

JACKET, ALIAS = "LUMORA 冲锋衣", "露莫拉"

@pytest.fixture(scope="module")
def mall_crawl(replayed_crawls):
    """Integration: the replayed crawl of both demo queries, three pages each (shared with test_search_spiders)."""
    return replayed_crawls.demo("tmall")


def _legacy() -> list[dict]:
    return list(page_listings("tmall", "legacy-list-gbk.yaml", ALIAS).values())


def _mall() -> list[dict]:
    return [*page_listings("tmall", "search-lumora-jacket.yaml", JACKET).values(),
            *page_listings("tmall", "search-lumora-alias.yaml", ALIAS).values()]


def test_every_mall_tab_result_is_filed_under_tmall(mall_crawl):
    for items in (mall_crawl.items, _legacy()):
        assert items
        for item in items:
            assert item["platform"] == "tmall"
            assert item["url"] == f"https://detail.tmall.com/item.htm?id={item['listing_id']}"
            assert item["currency"] == "CNY" and item["title"] and "<" not in item["title"]
            assert all(u.startswith("https://") and not u.endswith(("_b.jpg", ".webp")) for u in item["image_urls"])


def test_flagship_stores_are_official_and_specialty_or_franchise_stores_are_not():
    items = _mall() + _legacy()
    for item in items:
        assert item["is_official_store"] is ("旗舰店" in item["seller_name"]), item["seller_name"]
    sellers = {(item["seller_name"], item["is_official_store"]) for item in items}
    assert ("lumora官方旗舰店", True) in sellers
    assert ("lumora户外锐行专卖店", False) in sellers  # an authorised 专卖店 is not the brand's own store
    assert ("途越户外专营店", False) in sellers


def test_a_mall_tab_item_without_tmall_marks_is_still_a_tmall_listing():
    body = ('mtopjsonp2({"api":"mtop.relationrecommend.wirelessrecommend.recommend","ret":["SUCCESS::调用成功"],"v":"2.0",'
            '"data":{"itemsArray":[{"item_id":"612345678901","title":"露莫拉 冲锋衣","priceShow":{"price":"99"},'
            '"auctionURL":"//item.taobao.com/item.htm?id=612345678901","nick":"某某旗舰店"}],'
            '"mainInfo":{"totalResults":"1"}}})')
    page = tmall.read_search(body)
    [listing] = page.listings
    assert listing["platform"] == "tmall"
    assert listing["url"] == "https://detail.tmall.com/item.htm?id=612345678901"
    assert listing["is_official_store"] is True


def test_search_asks_taobao_for_the_mall_tab():
    params = json.loads(json.loads(tmall.search_data("露莫拉", 2))["params"])
    assert params["tab"] == "mall" and params["fromTmallRedirect"] == "true" and params["page"] == 2


def test_old_list_page_keyword_is_gbk_percent_encoded_and_pages_by_offset_of_60():
    assert "q=%C2%B6%C4%AA%C0%AD" in tmall.list_url("露莫拉", 1)
    assert "&s=" not in tmall.list_url("露莫拉", 1)
    assert "&s=120&" in tmall.list_url("露莫拉", 3)


def test_old_list_page_without_its_item_list_is_format_drift_not_zero_results():
    page = tmall.read_search('<html><head><title>x</title></head><body><div class="productTitle">'
                             '<a href="//list.tmall.com/search_product.htm?q=x">x</a></div></body></html>')
    assert page.kind == "unrecognized"


def test_old_list_page_with_an_empty_item_list_is_no_results():
    page = tmall.read_search('<html><body><div id="J_ItemList" class="view grid-nosku"></div></body></html>')
    assert page.kind == "no_results"


def test_old_list_page_with_a_next_link_keeps_paging():
    card = ('<div class="product" data-id="612345678901"><p class="productPrice"><em title="9.90">9.90</em></p>'
            '<p class="productTitle"><a href="//detail.tmall.com/item.htm?id=612345678901" title="t">t</a></p>'
            '<div class="productShop"><a class="productShop-name" href="//store.taobao.com/search.htm?user_number_id=1">s</a></div></div>')
    with_next = tmall.read_search(f'<div id="J_ItemList">{card}</div><a class="ui-page-next" href="?s=60">下一页</a>')
    last = tmall.read_search(f'<div id="J_ItemList">{card}</div><b class="ui-page-next">下一页</b>',
                             url=tmall.list_url("x", 3))
    assert with_next.total_pages is None
    assert last.total_pages == 3
