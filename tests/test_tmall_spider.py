"""The Tmall spider on replayed cassettes: the mall tab of today's search, the old GBK list page,
official-store marking, blocks, no results and broken bodies."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from crawlers.platforms import tmall
from tests.conftest import CASSETTES, DEMO_REGISTRY, EXPECTED, run_crawl

DEMO_QUERIES = "query=LUMORA 冲锋衣|露莫拉"


CRAWLS = {  # name: crawl arguments; all run at once, each in its own folder
    "mall": ("-a", DEMO_QUERIES, "-a", "pages=3"),
    "registry": ("-a", f"registry={DEMO_REGISTRY}"),
    "legacy": ("-a", "query=露莫拉", "-a", "source=html"),
    "mtop_blocks": ("-a", "query=LUMORA 羽绒服|LUMORA 帐篷"),
    "html_blocks": ("-a", "query=LUMORA 背包|LUMORA 睡袋", "-a", "source=html"),
    "no_results": ("-a", "query=露莫拉 滑雪板"),
    "truncated": ("-a", "query=LUMORA 手套"),
}


@pytest.fixture(scope="module")
def crawls(tmp_path_factory):
    """Every crawl this module needs, run in parallel: {name: (result, its folder)}."""
    folders = {name: tmp_path_factory.mktemp(name) for name in CRAWLS}
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(run_crawl, folders[name], "tmall", *args) for name, args in CRAWLS.items()}
    return {name: (future.result(), folders[name]) for name, future in futures.items()}


@pytest.fixture(scope="module")
def mall_crawl(crawls):
    return crawls["mall"][0]


@pytest.fixture(scope="module")
def legacy_crawl(crawls):
    return crawls["legacy"][0]


@pytest.fixture(scope="module")
def mtop_blocks_crawl(crawls):
    return crawls["mtop_blocks"][0]


@pytest.fixture(scope="module")
def html_blocks_crawl(crawls):
    return crawls["html_blocks"][0]


def _expectations(name):
    data = json.loads((EXPECTED / "tmall" / f"{name}.json").read_text(encoding="utf-8"))
    return [(listing_id, field, value) for listing_id, fields in data["listings"].items() for field, value in fields.items()]


def _recorded(name, index=0):
    return yaml.safe_load((CASSETTES / "tmall" / name).read_text(encoding="utf-8"))["interactions"][index]


@pytest.mark.parametrize(("listing_id", "field", "expected"), _expectations("search-lumora-jacket"))
def test_mall_tab_search_fields(mall_crawl, listing_id, field, expected):
    assert mall_crawl.by_id()[listing_id][field] == expected


@pytest.mark.parametrize(("listing_id", "field", "expected"), _expectations("legacy-list-gbk"))
def test_old_gbk_list_page_fields(legacy_crawl, listing_id, field, expected):
    assert legacy_crawl.by_id()[listing_id][field] == expected


def test_demo_queries_read_three_pages_each_with_nothing_missed(mall_crawl):
    assert mall_crawl.returncode == 0, mall_crawl.log[-3000:]
    stats = mall_crawl.stats
    assert stats["search/pages"] == 6
    assert stats.get("replay/miss", 0) == 0
    assert stats["mtop/token_refresh"] == 1
    assert stats["ads/dropped"] == 2  # one simba ad without an item id on page 2 of each query
    assert {item["page"] for item in mall_crawl.items} == {1, 2, 3}
    assert {item["query"] for item in mall_crawl.items} == {"LUMORA 冲锋衣", "露莫拉"}
    assert len(mall_crawl.items) == stats["item_scraped_count"] == 27


def test_demo_registry_watch_list_is_crawled_with_nothing_missed(crawls):
    result, _ = crawls["registry"]
    assert result.returncode == 0, result.log[-3000:]
    assert result.stats["search/pages"] == 6  # watch.pages: 3, for each of the two watch queries
    assert result.stats.get("replay/miss", 0) == 0
    assert {item["query"] for item in result.items} == {"LUMORA 冲锋衣", "露莫拉"}


def test_every_mall_tab_result_is_filed_under_tmall(mall_crawl, legacy_crawl):
    for crawl in (mall_crawl, legacy_crawl):
        assert crawl.items
        for item in crawl.items:
            assert item["platform"] == "tmall"
            assert item["url"] == f"https://detail.tmall.com/item.htm?id={item['listing_id']}"
            assert item["currency"] == "CNY" and item["title"] and "<" not in item["title"]
            assert all(u.startswith("https://") and not u.endswith(("_b.jpg", ".webp")) for u in item["image_urls"])


def test_flagship_stores_are_official_and_specialty_or_franchise_stores_are_not(mall_crawl, legacy_crawl):
    items = mall_crawl.items + legacy_crawl.items
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


def test_old_list_page_is_served_as_gbk_bytes_and_read_as_such(legacy_crawl):
    recorded = _recorded("legacy-list-gbk.yaml")
    body = recorded["response"]["body"]["string"]
    assert isinstance(body, bytes)
    assert recorded["response"]["headers"]["Content-Type"] == ["text/html; charset=gbk"]
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert "露莫拉" in body.decode("gbk")
    assert legacy_crawl.stats["format/tmall-list"] == 1
    assert len(legacy_crawl.items) == 9


@pytest.mark.parametrize(("crawl_name", "query", "kind"), [
    ("mtop_blocks_crawl", "LUMORA 羽绒服", "mtop"),  # RGV587_ERROR::SM::哎哟喂,被挤爆啦
    ("mtop_blocks_crawl", "LUMORA 帐篷", "punish"),  # punish page: bxpunish: 1, window._config_, <!--rgv587_flag:sm-->
    ("html_blocks_crawl", "LUMORA 背包", "login"),  # 302 to login.taobao.com
    ("html_blocks_crawl", "LUMORA 睡袋", "homepage"),  # sent back to the homepage, 上天猫，就够了
])
def test_each_block_kind_is_counted_retried_then_given_up_without_listings(request, crawl_name, query, kind):
    result = request.getfixturevalue(crawl_name)
    assert result.items == []
    assert result.stats[f"blocked/tmall/{kind}"] == 3  # the first answer and two retries (BLOCK_RETRY_TIMES = 2)
    assert result.stats["blocked/tmall"] == 6  # two blocked queries per crawl
    assert result.stats["blocked/tmall/gave_up"] == 2
    assert result.stats["search/blocked"] == 2
    assert "search/no_results" not in result.stats and "format/unrecognized" not in result.stats
    assert f"blocked on tmall (query {query!r} page 1): {kind} (" in result.log
    assert "gave up after 2 retries" in result.log


def test_no_results_is_not_a_failure(crawls):
    result, _ = crawls["no_results"]
    assert result.items == []
    assert result.stats["search/no_results"] == 1
    assert "format/unrecognized" not in result.stats and "search/failed" not in result.stats
    assert not any(key.startswith("blocked/") for key in result.stats)


def test_truncated_body_is_a_format_alarm_with_the_body_saved(crawls):
    result, folder = crawls["truncated"]
    assert result.items == []
    assert result.stats["format/unrecognized"] == 1
    assert "search/no_results" not in result.stats
    saved = list((folder / "diag").glob("tmall-*.txt"))
    assert len(saved) == 1 and saved[0].read_text(encoding="utf-8").startswith("URL: https://h5api.m.taobao.com/")
    assert "unrecognized search page" in result.log and "truncated" in result.log


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
