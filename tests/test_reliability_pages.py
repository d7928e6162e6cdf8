"""Broken, hostile and refused search pages: each one fails closed, is counted, names its URL, and never
costs the listings already read (RELIABILITY.md, "Pages")."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
import yaml
from scrapy.http import Headers
from scrapy.responsetypes import responsetypes

from crawlers.mtop import MtopClient
from crawlers.platforms import taobao
from crawlers.replay.library import load_cassette
from crawlers.spiders.base import response_text
from tests.conftest import CASSETTES, run_crawl

# -- a hand-made cassette for the search a spider will send ---------------------------------------------


def _search_uri(query: str, page: int = 1) -> str:
    client = MtopClient(taobao.SEARCH_HOST)
    return client.url(taobao.SEARCH_API, taobao.SEARCH_VERSION, taobao.search_data(query, page))


def _interaction(uri: str, status: int, body: str | bytes = "", headers: dict | None = None) -> dict:
    return {"request": {"body": None, "headers": {}, "method": "GET", "uri": uri},
            "response": {"body": {"string": body}, "headers": {k: [v] for k, v in (headers or {}).items()},
                         "status": {"code": status, "message": ""}}}


def _cassettes(tmp_path: Path, interactions: list[dict]) -> Path:
    folder = tmp_path / "cassettes" / "taobao"
    folder.mkdir(parents=True)
    (folder / "hostile.yaml").write_text(yaml.safe_dump({"interactions": interactions, "version": 1},
                                                        allow_unicode=True), encoding="utf-8")
    return folder.parent


def _crawl(tmp_path: Path, query: str, replay: Path, **settings):
    workdir = tmp_path / "run"
    workdir.mkdir()
    return run_crawl(workdir, "taobao", "-a", f"query={query}", "-a", "pages=1", replay=replay, settings=settings)


def test_html_served_where_the_search_api_json_was_expected_is_a_format_alarm_with_the_body_saved(tmp_path, caplog):
    from scrapy.http import HtmlResponse

    from tests.replayed import make_spider

    page = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>"
    spider = make_spider("taobao", {"FORMAT_DIAG_DIR": str(tmp_path / "diag")}, query="LUMORA HTML", pages="1")
    request = spider.search_request("LUMORA HTML", 1, {})
    response = HtmlResponse(request.url, status=200, body=page.encode(), headers={"Content-Type": "text/html"},
                            request=request)
    assert list(spider.parse_search(response)) == []
    stats = spider.crawler.stats.get_stats()
    assert stats["format/unrecognized"] == 1
    assert "search/no_results" not in stats  # never read as "nothing found"
    assert "unrecognized search page (neither an mtop reply nor a page with g_page_config)" in caplog.text
    assert "https://h5api.m.taobao.com/h5/" in caplog.text and "body saved to" in caplog.text
    saved = list((tmp_path / "diag").glob("taobao-*.txt"))
    assert len(saved) == 1 and b"502 Bad Gateway" in saved[0].read_bytes()


def test_truncated_and_invalid_jsonp_say_where_they_break():
    body = next(r.body.decode() for _, r in load_cassette(CASSETTES / "taobao" / "search-lumora-jacket.yaml")
                if r.status == 200 and b"itemsArray" in r.body)
    truncated = taobao.read_search(body[: len(body) // 2])
    assert truncated.kind == "unrecognized" and "truncated" in truncated.reason
    broken = taobao.read_search(body.replace('"itemsArray":[', '"itemsArray":[,', 1))
    assert broken.kind == "unrecognized" and re.search(r"invalid JSONP body: .*char \d+", broken.reason)


def test_items_with_a_blank_object_or_list_id_are_skipped_and_the_others_kept():
    items = [{"item_id": " ", "title": "blank"}, {"item_id": {"$ne": 1}, "title": "object"},
             {"item_id": ["1"], "title": "list"}, {"item_id": True, "title": "bool"},
             {"item_id": "560269953287", "title": "LUMORA 冲锋衣", "priceShow": {"price": "59"}}]
    body = "mtopjsonp2(" + json.dumps({"api": taobao.SEARCH_API, "ret": ["SUCCESS::调用成功"],
                                       "data": {"itemsArray": items}}) + ")"
    page = taobao.read_search(body)
    assert [listing["listing_id"] for listing in page.listings] == ["560269953287"]
    assert len(page.item_errors) == 4 and page.item_errors[0].startswith("itemsArray[0]: ")


def test_a_5xx_is_retried_and_the_listings_of_the_retry_are_kept(tmp_path):
    text = (CASSETTES / "taobao" / "rate-limited-then-ok.yaml").read_text(encoding="utf-8")
    text = text.replace("code: 429", "code: 503").replace("Too Many Requests", "Service Unavailable")
    (tmp_path / "c" / "taobao").mkdir(parents=True)
    (tmp_path / "c" / "taobao" / "unavailable-then-ok.yaml").write_text(text, encoding="utf-8")
    result = _crawl(tmp_path, "LUMORA 帽子", tmp_path / "c")
    assert result.returncode == 0
    assert result.stats["retry/count"] == 1 and "retry/reason_count/503 Service Unavailable" in result.stats
    assert len(result.items) == 3
    assert "blocked/taobao" not in result.stats  # a 5xx is a server error, not a block


NEVER_CLEARS, LOOP, CHAIN = "LUMORA 503", "LUMORA LOOP", "LUMORA CHAIN"


@pytest.fixture(scope="module")
def failing_crawl(tmp_path_factory):
    """Integration: one replayed crawl of three searches that never answer (retries and redirects are Scrapy's)."""
    tmp_path = tmp_path_factory.mktemp("failing")
    interactions = [_interaction(_search_uri(NEVER_CLEARS), 503, "<html>busy</html>", {"Content-Type": "text/html"})]
    loop_uri, other = _search_uri(LOOP), "https://h5api.m.taobao.com/h5/loop/1.0/?step=2"
    interactions += [_interaction(loop_uri, 302, "", {"Location": other}), _interaction(other, 302, "", {"Location": loop_uri})]
    hops = [f"https://h5api.m.taobao.com/h5/hop/1.0/?n={n}" for n in range(1, 30)]
    interactions.append(_interaction(_search_uri(CHAIN), 302, "", {"Location": hops[0]}))
    interactions += [_interaction(hop, 302, "", {"Location": following}) for hop, following in itertools.pairwise(hops)]
    return _crawl(tmp_path, "|".join((NEVER_CLEARS, LOOP, CHAIN)), _cassettes(tmp_path, interactions),
                  REDIRECT_MAX_TIMES=5)


def test_integration_the_failing_searches_fail_alone_and_are_never_read_as_no_results(failing_crawl):
    assert failing_crawl.returncode == 0 and failing_crawl.items == []
    assert failing_crawl.stats["search/failed"] == 3  # each of the three once
    assert "search/no_results" not in failing_crawl.stats


def test_integration_a_5xx_that_never_clears_gives_up_after_retry_times_naming_the_query_and_url(failing_crawl):
    stats = failing_crawl.stats
    assert stats["retry/count"] == 2 and stats["retry/max_reached"] == 1  # RETRY_TIMES = 2; redirects are no retries
    assert "search page failed for query 'LUMORA 503' page 1" in failing_crawl.log
    assert "URL: https://h5api.m.taobao.com/h5/" in failing_crawl.log


def test_integration_a_redirect_loop_back_to_a_visited_url_is_refused_naming_the_query_and_url(failing_crawl):
    assert failing_crawl.stats["redirect/loop"] == 1
    assert "redirect loop (query 'LUMORA LOOP' page 1)" in failing_crawl.log
    assert "search page failed for query 'LUMORA LOOP' page 1: redirect loop" in failing_crawl.log


def test_integration_an_endless_redirect_chain_stops_at_redirect_max_times_naming_the_query(failing_crawl):
    # the chain's first answer and five redirects, and the loop's three answers (a crawl of it alone counts 3)
    assert failing_crawl.stats["downloader/response_status_count/302"] == 6 + 3
    assert "search page failed for query 'LUMORA CHAIN' page 1: max redirections reached" in failing_crawl.log


# -- encodings ---------------------------------------------------------------------------------------


def _gbk_body(platform: str, name: str) -> bytes:
    return next(r.body for _, r in load_cassette(CASSETTES / platform / name) if r.status == 200)


def _read(platform: str, body: bytes, headers: dict) -> list[str]:
    from crawlers.platforms import alibaba1688, tmall

    url = {"tmall": "https://list.tmall.com/search_product.htm?q=x", "1688": "https://s.1688.com/selloffer/x"}[platform]
    header_obj = Headers(headers)
    response = responsetypes.from_args(headers=header_obj, url=url, body=body)(url=url, body=body, headers=header_obj)
    text = response_text(response)
    page = tmall.read_search(text, url) if platform == "tmall" else alibaba1688.read_search(text)
    return [listing["title"] for listing in page.listings]


GBK_PAGES = [("tmall", "legacy-list-gbk.yaml", "露莫拉"), ("1688", "legacy-window-data-gbk.yaml", "冲锋衣")]


@pytest.mark.parametrize(("platform", "name", "word"), GBK_PAGES)
@pytest.mark.parametrize("headers", [{"Content-Type": "text/html; charset=gbk"}, {"Content-Type": "text/html; charset=GB18030"},
                                     {"Content-Type": "text/html"}, {}], ids=["gbk", "gb18030", "no-charset", "no-header"])
@pytest.mark.parametrize("meta", ["kept", "removed"])
def test_gbk_pages_read_the_same_with_or_without_a_charset_header_or_meta(platform, name, word, headers, meta):
    body = _gbk_body(platform, name)
    expected = _read(platform, body, {"Content-Type": "text/html; charset=gbk"})
    if meta == "removed":
        body = re.sub(rb"<meta[^>]*charset[^>]*>", b"", body, flags=re.I)
    titles = _read(platform, body, headers)
    assert titles == expected and any(word in title for title in titles)


@pytest.mark.parametrize(("platform", "name", "word"), GBK_PAGES)
def test_invalid_byte_sequences_in_a_gbk_page_cost_only_the_damaged_characters(platform, name, word):
    body = _gbk_body(platform, name)
    expected = _read(platform, body, {"Content-Type": "text/html; charset=gbk"})
    middle = len(body) // 2
    damaged = body[:middle] + b"\x81\xff\xfe\x80" + body[middle:]
    titles = _read(platform, damaged, {"Content-Type": "text/html; charset=gbk"})
    assert len(titles) >= len(expected) - 1  # at most the item the junk landed in
    assert sum(word in title for title in titles) >= sum(word in title for title in expected) - 1


def test_a_utf8_mtop_reply_and_its_gb18030_re_encoding_give_the_same_titles_without_a_charset():
    body = next(r.body for _, r in load_cassette(CASSETTES / "taobao" / "search-lumora-jacket.yaml")
                if r.status == 200 and b"itemsArray" in r.body)
    url = "https://h5api.m.taobao.com/h5/x/2.0/"

    def titles(raw: bytes) -> list[str]:
        response = responsetypes.from_args(url=url, body=raw)(url=url, body=raw)
        return [listing["title"] for listing in taobao.read_search(response_text(response)).listings]

    assert titles(body) == titles(body.decode("utf-8").encode("gb18030")) != []


@pytest.mark.parametrize("read", [
    lambda text: taobao.read_search(text),
    lambda text: taobao.read_search(text.replace("mtopjsonp2(", "", 1).rstrip(")")),  # plain JSON
], ids=["jsonp", "json"])
def test_a_raw_control_character_inside_a_title_costs_nothing(read):
    body = "mtopjsonp2(" + json.dumps({"api": taobao.SEARCH_API, "ret": ["SUCCESS::调用成功"], "data": {"itemsArray": [
        {"item_id": "560269953287", "title": "LUMORA\x00\x1b 冲锋衣\x07"}]}}).replace("\\u0000", "\x00") + ")"
    body = body.replace("\\u001b", "\x1b").replace("\\u0007", "\x07")
    assert "\x00" in body
    assert [listing["title"] for listing in read(body).listings] == ["LUMORA 冲锋衣"]


def test_a_raw_nul_inside_an_embedded_json_page_costs_nothing():
    platform, name = "1688", "legacy-window-data-gbk.yaml"
    body = _gbk_body(platform, name)
    expected = _read(platform, body, {"Content-Type": "text/html; charset=gbk"})
    at = body.index(b'": "', len(body) // 2) + 4  # inside a string value
    titles = _read(platform, body[:at] + b"\x00" + body[at:], {"Content-Type": "text/html; charset=gbk"})
    assert len(titles) == len(expected)


def test_block_retries_back_off_exponentially_within_the_cap_then_give_up(monkeypatch):
    import asyncio

    from scrapy import Request, Spider
    from scrapy.http import TextResponse
    from scrapy.utils.test import get_crawler

    from crawlers import middlewares

    crawler = get_crawler(Spider, {"BLOCK_RETRY_TIMES": 4, "BLOCK_BACKOFF_BASE": 20, "BLOCK_BACKOFF_MAX": 100})
    crawler.spider = Spider("taobao")
    crawler.spider.crawler = crawler
    crawler.stats.open_spider()
    middleware = middlewares.BlockMiddleware.from_crawler(crawler)
    delays: list[float] = []

    async def no_sleep(seconds):
        delays.append(seconds)

    monkeypatch.setattr(middlewares.asyncio, "sleep", no_sleep)
    monkeypatch.setattr(middlewares.random, "uniform", lambda low, high: 1.0)
    request = Request("https://h5api.m.taobao.com/h5/x/2.0/?q=1", meta={"platform": "taobao"})
    with pytest.raises(middlewares.Blocked):
        while True:
            response = TextResponse(request.url, status=429, body=b"", request=request)
            request = asyncio.run(middleware.process_response(request, response))
    assert delays == [20, 40, 80, 100]  # base * 2**n, capped by BLOCK_BACKOFF_MAX
    assert crawler.stats.get_value("blocked/taobao/rate_limit") == 5
    assert crawler.stats.get_value("blocked/taobao/gave_up") == 1


def test_control_characters_in_a_seller_id_are_removed_before_the_store_sees_them():
    from crawlers.platforms.common import make_listing

    listing = make_listing("taobao", "560269953287", title="LUMORA", seller_id="22\x0011\x1b", seller_name="店\x00")
    assert listing["seller_id"] == "2211" and listing["seller_name"] == "店"
