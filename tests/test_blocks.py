"""Blocks are recognised, counted as blocked/<platform>, retried within a bound and never read as "no results"."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse, Request, TextResponse

from contract import stats as keys
from crawlers.blocks import classify_block
from tests.conftest import run_crawl

BLOCK_QUERIES = {  # query -> the kind of block its cassette shows
    "LUMORA 羽绒服": "mtop",  # RGV587_ERROR::SM::哎哟喂,被挤爆啦
    "LUMORA 睡袋": "mtop",  # FAIL_SYS_USER_VALIDATE with a bixi punish URL
    "LUMORA 背包": "login",  # 302 to login.taobao.com
    "LUMORA 帐篷": "punish",  # punish page: bxpunish: 1, window._config_, <!--rgv587_flag:sm-->
}
RATE_LIMITED = "LUMORA 帽子"  # a 429, then the page


@pytest.fixture(scope="module")
def blocks_crawl(tmp_path_factory):
    """Integration: one replayed crawl of every blocked query and the rate-limited one (retries are the middleware's)."""
    return run_crawl(tmp_path_factory.mktemp("blocks"), "taobao", "-a", "query=" + "|".join([*BLOCK_QUERIES, RATE_LIMITED]))


@pytest.mark.parametrize(("query", "kind"), BLOCK_QUERIES.items())
def test_integration_each_block_kind_is_counted_retried_then_given_up_without_listings(blocks_crawl, query, kind):
    lines = [line for line in blocks_crawl.log.splitlines() if f"blocked on taobao (query {query!r} page 1): {kind} (" in line]
    assert len(lines) == 3  # the first answer and two retries (BLOCK_RETRY_TIMES = 2)
    assert "gave up after 2 retries" in lines[-1]
    assert not [item for item in blocks_crawl.items if item["query"] == query]


def test_integration_blocks_are_counted_per_kind_and_never_read_as_no_results(blocks_crawl):
    stats = blocks_crawl.stats
    assert stats[keys.blocked("taobao", "mtop")] == 6  # two queries, three answers each
    assert stats[keys.blocked("taobao", "login")] == stats[keys.blocked("taobao", "punish")] == 3
    assert stats[keys.blocked("taobao")] == 12 + 1  # and the one 429
    assert stats[keys.blocked("taobao", "gave_up")] == 4
    assert stats[keys.SEARCH_BLOCKED] == 4
    assert keys.SEARCH_NO_RESULTS not in stats and keys.FORMAT_UNRECOGNIZED not in stats


def test_integration_http_429_is_a_block_that_a_retry_can_clear(blocks_crawl):
    assert blocks_crawl.stats[keys.blocked("taobao", "rate_limit")] == 1
    assert f"blocked on taobao (query {RATE_LIMITED!r} page 1): rate_limit" in blocks_crawl.log
    assert not [line for line in blocks_crawl.log.splitlines() if repr(RATE_LIMITED) in line and "gave up" in line]
    assert blocks_crawl.stats[keys.blocked("taobao", "gave_up")] == len(BLOCK_QUERIES)  # not the rate-limited one
    assert len(blocks_crawl.items) == 3 and {item["query"] for item in blocks_crawl.items} == {RATE_LIMITED}


def _response(body: str, url: str = "https://h5api.m.taobao.com/h5/x/2.0/", status: int = 200, headers=None, cls=TextResponse):
    return cls(url=url, status=status, body=body.encode("utf-8"), headers=headers or {}, encoding="utf-8",
               request=Request(url))


@pytest.mark.parametrize(("response", "kind"), [
    (_response('mtopjsonp2({"api":"a","v":"2.0","ret":["RGV587_ERROR::SM::哎哟喂,被挤爆啦,请稍后重试!"],"data":{"url":"https://login.taobao.com/x"}})'), "mtop"),
    (_response('{"rgv587_flag":"sm","url":"https://www.taobao.com/markets/bx/deny_h5"}'), "mtop"),
    (_response('mtopjsonp3({"api":"a","ret":["FAIL_SYS_SESSION_EXPIRED::Session过期"],"data":{}})'), "mtop"),
    (_response("", status=302, headers={"Location": "https://login.1688.com/member/signin.htm?Done=x"}), "login"),
    (_response("", status=302, headers={"Location": "https://s.1688.com/_____tmd_____/punish?x5secdata=ab"}), "punish"),
    (_response("<html></html>", url="https://bixi.alicdn.com/punish/punish:resource:template:cbuSpace:default_38604715.html?cloud_ip_bl|0&action=deny"), "deny"),
    (_response("<html>x</html>", headers={"Bxpunish": "1"}), "punish"),
    (_response("<!DOCTYPE html><html><head><title>Captcha Interception</title></head><body>Sorry, we have detected unusual traffic from your network. Please slide to verify</body></html>",
               cls=HtmlResponse), "captcha"),
    (_response("<html><head><title>上天猫，就够了</title></head><body></body></html>", url="https://www.tmall.com/", cls=HtmlResponse), "homepage"),
    (_response("", status=429), "rate_limit"),
])
def test_block_markers_from_the_platform_notes(response, kind):
    block = classify_block(response)
    assert block is not None and block.kind == kind


def test_a_deny_block_is_final():
    url = "https://bixi.alicdn.com/punish/punish:resource:template:cbuSpace:default_1.html?action=deny"
    assert classify_block(_response("<html></html>", url=url)).final


@pytest.mark.parametrize("title", ["滑块验证 手机支架", "安全验证 锁扣 户外"])
def test_captcha_words_in_a_product_title_of_a_big_result_page_are_not_a_block(title):
    items = ",".join(f'{{"item_id":"1{i:011d}","title":"{title}"}}' for i in range(400))
    body = f'mtopjsonp2({{"api":"a","ret":["SUCCESS::调用成功"],"data":{{"itemsArray":[{items}]}}}})'
    assert classify_block(_response(body)) is None
