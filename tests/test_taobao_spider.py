"""The Taobao spider: fields, formats, Tmall items, ads, paging and the token dance read in-process from the
cassette bodies (tests/replayed.py); one replayed `scrapy crawl` checks that a crawl gives the same listings."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest

from crawlers.platforms import taobao
from tests.replayed import (
    make_spider,
    page_listings,
    parse_recorded,
    recorded_responses,
    search_pages,
)

JACKET, ALIAS = "LUMORA 冲锋衣", "露莫拉"


@pytest.fixture(scope="module")
def mtop_crawl(replayed_crawls):
    """Integration: the replayed crawl of both demo queries, three pages each (shared with test_search_spiders)."""
    return replayed_crawls.demo("taobao")


def test_every_listing_has_the_contract_fields(mtop_crawl):
    for item in mtop_crawl.items:
        assert item["platform"] in ("taobao", "tmall")
        assert item["url"].startswith("https://") and "ns=" not in item["url"]
        assert item["title"] and "<" not in item["title"]
        assert isinstance(item["price_min"], float) and item["price_min"] <= item["price_max"]
        assert item["currency"] == "CNY"
        assert all(u.startswith("https://") and "_360x360" not in u for u in item["image_urls"])
        assert item["crawled_at"].endswith("Z")


@pytest.mark.parametrize("cassette", ["search-lumora-jacket.yaml", "legacy-g-page-config.yaml"])
def test_tmall_items_found_on_taobao_are_filed_under_tmall(cassette):
    tmall = [item for item in page_listings("taobao", cassette, JACKET).values() if item["platform"] == "tmall"]
    assert tmall, "the fixtures mix in Tmall items"
    assert all(item["url"].startswith("https://detail.tmall.com/item.htm?id=") for item in tmall)


def test_ads_are_resolved_to_their_item_id():
    ad = page_listings("taobao", "search-lumora-jacket.yaml", JACKET)["188491505641"]  # a click.simba redirect
    assert ad["url"] == "https://item.taobao.com/item.htm?id=188491505641"


def test_each_page_drops_the_ad_without_an_item_id():
    dropped = [page.ads_dropped for page in search_pages("taobao", "search-lumora-jacket.yaml", JACKET)]
    assert dropped == [0, 1, 0]


def test_token_dance_signs_the_retry_with_the_token_the_reply_set():
    spider = make_spider("taobao", query=JACKET, pages="1")
    first_request = spider.search_request(JACKET, 1, {})
    token_reply = recorded_responses("taobao", "search-lumora-jacket.yaml")[0]  # FAIL_SYS_TOKEN_EMPTY, Set-Cookie
    token_reply = token_reply.replace(request=first_request)
    [second_request] = spider.parse_search(token_reply)
    first, second = (parse_qs(urlsplit(request.url).query) for request in (first_request, second_request))
    assert first["sign"][0] == hashlib.md5(f"&{first['t'][0]}&12574478&{first['data'][0]}".encode()).hexdigest()
    token = "3f9c2a7e51d04b6c8e0f1a2b3c4d5e6f"  # from the recorded Set-Cookie: _m_h5_tk=<token>_<expiry>
    expected = hashlib.md5(f"{token}&{second['t'][0]}&12574478&{second['data'][0]}".encode()).hexdigest()
    assert second["sign"][0] == expected
    assert spider.crawler.stats.get_value("mtop/token_refresh") == 1


def test_pages_argument_bounds_pagination():
    first = parse_recorded("taobao", "search-lumora-alias.yaml", ALIAS, index=0, page=1, pages="2")
    assert [request.meta["page"] for request in first.requests] == [2]
    second = parse_recorded("taobao", "search-lumora-alias.yaml", ALIAS, index=1, page=2, pages="2")
    assert second.items and {item["page"] for item in second.items} == {2}
    assert second.requests == []  # page 2 of pages=2: nothing more is asked, though the platform has a third


def test_legacy_page_is_recognised_by_content():
    [page] = search_pages("taobao", "legacy-g-page-config.yaml", JACKET)
    assert page.kind == "listings" and page.format == "g_page_config"
    assert page.total_pages == 1


def test_one_malformed_item_among_good_ones_keeps_the_others():
    good = taobao.read_search('mtopjsonp2({"api":"x","ret":["SUCCESS::ok"],"v":"2.0","data":{"itemsArray":['
                              '{"item_id":"123456789012","title":"a","price":"1.00","nick":"s","pic_path":"//img.alicdn.com/a.jpg"},'
                              '{"title":"no id at all"},'
                              '{"item_id":"123456789013","title":"b","price":"2.00","nick":"s"}],'
                              '"mainInfo":{"totalResults":"3"}}})')
    assert [listing["listing_id"] for listing in good.listings] == ["123456789012", "123456789013"]
    assert len(good.item_errors) == 1 and "itemsArray[1]" in good.item_errors[0]


def test_a_success_reply_without_items_is_format_drift_not_zero_results():
    page = taobao.read_search('mtopjsonp2({"api":"x","ret":["SUCCESS::调用成功"],"v":"2.0","data":{"something":{}}})')
    assert page.kind == "unrecognized"


def test_integration_a_malformed_registry_stops_the_crawl_with_exit_code_2(crawl, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("trademarks: [{id: X, mark: Y, colour: red}]\n", encoding="utf-8")
    result = crawl("taobao", "-a", f"registry={bad}")
    assert result.returncode == 2
    assert "bad.yaml" in result.log and result.items == []
