"""The Taobao spider on replayed cassettes: fields, formats, Tmall items, ads, paging, token dance."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from crawlers.platforms import taobao
from tests.conftest import CASSETTES, EXPECTED, run_crawl


@pytest.fixture(scope="module")
def mtop_crawl(tmp_path_factory):
    return run_crawl(tmp_path_factory.mktemp("mtop"), "taobao", "-a", "query=LUMORA 冲锋衣|露莫拉", "-a", "pages=3")


@pytest.fixture(scope="module")
def legacy_crawl(tmp_path_factory):
    return run_crawl(tmp_path_factory.mktemp("legacy"), "taobao", "-a", "query=LUMORA 冲锋衣", "-a", "source=html")


def _expectations(name):
    data = json.loads((EXPECTED / "taobao" / f"{name}.json").read_text(encoding="utf-8"))
    return [(listing_id, field, value) for listing_id, fields in data["listings"].items() for field, value in fields.items()]


@pytest.mark.parametrize(("listing_id", "field", "expected"), _expectations("search-lumora-jacket"))
def test_mtop_search_fields(mtop_crawl, listing_id, field, expected):
    assert mtop_crawl.by_id()[listing_id][field] == expected


@pytest.mark.parametrize(("listing_id", "field", "expected"), _expectations("legacy-g-page-config"))
def test_g_page_config_fields(legacy_crawl, listing_id, field, expected):
    assert legacy_crawl.by_id()[listing_id][field] == expected


def test_mtop_crawl_reads_three_pages_of_two_queries_with_nothing_missed(mtop_crawl):
    assert mtop_crawl.returncode == 0, mtop_crawl.log[-3000:]
    stats = mtop_crawl.stats
    assert stats["search/pages"] == 6  # the token reply is not a result page
    assert stats.get("replay/miss", 0) == 0
    assert stats["mtop/token_refresh"] == 1
    assert stats["ads/dropped"] == 2  # one simba ad without an item id on page 2 of each query
    assert {item["page"] for item in mtop_crawl.items} == {1, 2, 3}
    assert {item["query"] for item in mtop_crawl.items} == {"LUMORA 冲锋衣", "露莫拉"}
    assert len(mtop_crawl.items) == stats["item_scraped_count"] == 36


def test_every_listing_has_the_contract_fields(mtop_crawl):
    for item in mtop_crawl.items:
        assert item["platform"] in ("taobao", "tmall")
        assert item["url"].startswith("https://") and "ns=" not in item["url"]
        assert item["title"] and "<" not in item["title"]
        assert isinstance(item["price_min"], float) and item["price_min"] <= item["price_max"]
        assert item["currency"] == "CNY"
        assert all(u.startswith("https://") and "_360x360" not in u for u in item["image_urls"])
        assert item["crawled_at"].endswith("Z")


def test_tmall_items_found_on_taobao_are_filed_under_tmall(mtop_crawl, legacy_crawl):
    for crawl in (mtop_crawl, legacy_crawl):
        tmall = [item for item in crawl.items if item["platform"] == "tmall"]
        assert tmall, "the fixtures mix in Tmall items"
        assert all(item["url"].startswith("https://detail.tmall.com/item.htm?id=") for item in tmall)


def test_ads_are_resolved_to_their_item_id(mtop_crawl):
    ad = mtop_crawl.by_id()["188491505641"]  # its auctionURL is a click.simba.taobao.com redirect
    assert ad["url"] == "https://item.taobao.com/item.htm?id=188491505641"


def test_token_dance_signs_the_retry_with_the_token_the_reply_set(tmp_path):
    result = run_crawl(tmp_path, "taobao", "-a", "query=LUMORA 冲锋衣", "-a", "pages=1",
                       settings={"LOG_LEVEL": "DEBUG"})
    urls = [line.split("(referer")[0].split("Crawled (200) <GET ")[1].rstrip("> ")
            for line in result.log.splitlines() if "Crawled (200) <GET https://h5api" in line]
    assert len(urls) == 2
    first, second = (parse_qs(urlsplit(url).query) for url in urls)
    assert first["sign"][0] == hashlib.md5(f"&{first['t'][0]}&12574478&{first['data'][0]}".encode()).hexdigest()
    token = "3f9c2a7e51d04b6c8e0f1a2b3c4d5e6f"  # from the recorded Set-Cookie: _m_h5_tk=<token>_<expiry>
    expected = hashlib.md5(f"{token}&{second['t'][0]}&12574478&{second['data'][0]}".encode()).hexdigest()
    assert second["sign"][0] == expected
    assert result.stats["mtop/token_refresh"] == 1


def test_pages_argument_bounds_pagination(tmp_path):
    result = run_crawl(tmp_path, "taobao", "-a", "query=露莫拉", "-a", "pages=2")
    assert {item["page"] for item in result.items} == {1, 2}


def test_legacy_page_is_recognised_by_content():
    body = (CASSETTES / "taobao" / "legacy-g-page-config.yaml").read_text(encoding="utf-8")
    import yaml

    page_body = yaml.safe_load(body)["interactions"][0]["response"]["body"]["string"]
    page = taobao.read_search(page_body)
    assert page.kind == "listings" and page.format == "g_page_config"
    assert page.total_pages == 1


def test_no_results_is_not_a_failure(tmp_path):
    result = run_crawl(tmp_path, "taobao", "-a", "query=露莫拉 滑雪板")
    assert result.items == []
    assert result.stats["search/no_results"] == 1
    assert "format/unrecognized" not in result.stats and "search/failed" not in result.stats


def test_truncated_body_is_a_format_alarm_with_the_body_saved(tmp_path):
    result = run_crawl(tmp_path, "taobao", "-a", "query=LUMORA 手套")
    assert result.items == []
    assert result.stats["format/unrecognized"] == 1
    saved = list((tmp_path / "diag").glob("taobao-*.txt"))
    assert len(saved) == 1 and saved[0].read_text(encoding="utf-8").startswith("URL: https://h5api.m.taobao.com/")
    assert "unrecognized search page" in result.log and "truncated" in result.log


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


def test_registry_watch_list_drives_the_queries_and_pages(crawl):
    from tests.conftest import DEMO_REGISTRY

    result = crawl("taobao", "-a", f"registry={DEMO_REGISTRY}")
    assert result.returncode == 0
    assert {item["query"] for item in result.items} == {"LUMORA 冲锋衣", "露莫拉"}
    assert {item["page"] for item in result.items} == {1, 2, 3}
    assert result.stats.get("replay/miss", 0) == 0


def test_a_malformed_registry_stops_the_crawl_with_exit_code_2(crawl, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("trademarks: [{id: X, mark: Y, colour: red}]\n", encoding="utf-8")
    result = crawl("taobao", "-a", f"registry={bad}")
    assert result.returncode == 2
    assert "bad.yaml" in result.log and result.items == []
