"""Search pages that follow the platform notes but not our first fixtures: each is read the way the
platform meant it (RELIABILITY.md, "Search pages read right")."""

from __future__ import annotations

import dataclasses
import json
import random
import shutil

import pytest
import yaml
from scrapy.http import HtmlResponse, Request, TextResponse

from crawlers.blocks import classify_block
from crawlers.items import listing_problems
from crawlers.mtop import MtopClient
from crawlers.normalize import clean_text
from crawlers.platforms import alibaba, alibaba1688, taobao, tmall
from fixtures.generate import alibaba as alibaba_fixtures
from fixtures.generate import drift
from fixtures.generate import tmall as tmall_fixtures
from fixtures.generate.catalogue import JACKET_SEEDS, Seed
from tests.conftest import run_crawl

API_URL = "https://h5api.m.taobao.com/h5/mtop.relationrecommend.wirelessrecommend.recommend/2.0/?jsv=2.7.2"


def _response(body: str, url: str = API_URL, cls=TextResponse, meta: dict | None = None):
    return cls(url=url, status=200, body=body.encode("utf-8"), encoding="utf-8",
               request=Request(url, meta=meta or {}))


# -- blocks --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("code", ["RGV587_ERROR::SM::哎哟喂,被挤爆啦,请稍后重试!", "FAIL_SYS_USER_VALIDATE::需要验证",
                                  "FAIL_SYS_SESSION_EXPIRED::Session过期", "FAIL_SYS_TRAFFIC_LIMIT::被挤爆啦"])
@pytest.mark.parametrize("callback", ["mtopjsonp2", "mtopjsonpreqTppId_32517_getOfferList2"])
def test_an_mtop_block_is_seen_wherever_its_ret_sits(code, callback):
    body = drift.mtop_block_ret_last(code, callback=callback)
    assert body.index('"ret"') > 2000  # after a long data.url, far past any fixed-size prefix
    block = classify_block(_response(body))
    assert block is not None and block.kind == "mtop" and code.split("::")[0] in block.detail


def test_a_result_page_whose_titles_mention_error_codes_is_not_a_block():
    items = drift.taobao_items(JACKET_SEEDS[:2])
    items[0]["title"] = 'LUMORA 冲锋衣 "ret":["RGV587_ERROR::SM"] FAIL_SYS_USER_VALIDATE'
    assert classify_block(_response(drift.taobao_body(items, 90))) is None


@pytest.mark.parametrize("variant", drift.SLIDER_VARIANTS)
def test_a_slider_page_answering_an_api_call_is_a_captcha_block(variant):
    page = drift.slider_html(variant)
    assert len(page) > 60_000 and "<title" not in page  # big and untitled: the small-page words rule misses it
    block = classify_block(_response(page, cls=HtmlResponse))
    assert block is not None and block.kind == "captcha", variant


def test_a_plain_html_error_page_answering_an_api_call_is_still_no_block():
    page = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>"
    assert classify_block(_response(page, cls=HtmlResponse)) is None


def _replay_folder(tmp_path, replies: dict[str, str]):
    """A cassette folder answering the first Taobao search page of each query with its body."""
    interactions = []
    for query, body in replies.items():
        uri = MtopClient(taobao.SEARCH_HOST).url(taobao.SEARCH_API, taobao.SEARCH_VERSION, taobao.search_data(query, 1))
        interactions.append({"request": {"body": None, "headers": {}, "method": "GET", "uri": uri},
                             "response": {"body": {"string": body},
                                          "headers": {"Content-Type": ["application/javascript;charset=UTF-8"]},
                                          "status": {"code": 200, "message": "OK"}}})
    folder = tmp_path / "cassettes" / "taobao"
    folder.mkdir(parents=True)
    (folder / "drift.yaml").write_text(yaml.safe_dump({"interactions": interactions, "version": 1},
                                                      allow_unicode=True), encoding="utf-8")
    return folder.parent


LONG_URL_BLOCK, ILLEGAL = "LUMORA 长链接", "LUMORA 非法"


def _refusals() -> dict[str, str]:
    """A block whose ret sits after a long data.url, and an illegal access that no re-signing clears."""
    return {LONG_URL_BLOCK: drift.mtop_block_ret_last("RGV587_ERROR::SM::哎哟喂,被挤爆啦,请稍后重试!"),
            ILLEGAL: drift.mtop_block_ret_last("FAIL_SYS_ILLEGAL_ACCESS::非法请求")}  # its ret far from the start too


@pytest.fixture(scope="module")
def refused_crawl(tmp_path_factory):
    """Integration: one replayed crawl of both refused queries (retries and re-signs are the middleware's)."""
    folder = tmp_path_factory.mktemp("refused")
    replay = _replay_folder(folder, _refusals())
    workdir = folder / "run"
    workdir.mkdir()
    return run_crawl(workdir, "taobao", "-a", f"query={LONG_URL_BLOCK}|{ILLEGAL}", "-a", "pages=1", replay=replay)


def _lines(result, query: str) -> list[str]:
    return [line for line in result.log.splitlines() if f"(query {query!r} page 1)" in line]


def test_integration_a_block_reply_with_ret_after_a_long_url_is_retried_with_back_off_then_given_up(refused_crawl):
    result = refused_crawl
    assert result.items == []
    lines = _lines(result, LONG_URL_BLOCK)
    assert len([line for line in lines if "blocked on taobao" in line and ": mtop (" in line]) == 3
    assert "retry 1/2" in lines[0] and "gave up after 2 retries" in lines[-1]
    assert result.stats["blocked/taobao"] == 3 + 1  # three answers here, the given-up re-signs of the other query
    assert result.stats["blocked/taobao/mtop"] == 3 + 1
    assert result.stats["blocked/taobao/gave_up"] == 2 and result.stats["search/blocked"] == 2
    assert "format/unrecognized" not in result.stats


def test_integration_a_persistent_illegal_access_is_a_block_after_the_re_sign_retries(refused_crawl):
    result = refused_crawl
    assert result.stats["mtop/token_refresh"] == 2  # signed again twice first (the other query is no token reply)
    assert result.stats["search/failed"] == 2  # each of the two queries once
    assert "blocked on taobao (query 'LUMORA 非法' page 1): mtop FAIL_SYS_ILLEGAL_ACCESS" in result.log
    assert not [line for line in _lines(result, ILLEGAL) if "retry 1/2" in line]  # re-signed, not retried


def test_a_monitor_run_refused_both_ways_shows_the_blocks_and_exits_3(tmp_path):
    from tests.conftest import DEMO_REGISTRY, monitor

    replies = _refusals()
    replay = _replay_folder(tmp_path, replies)
    folder = tmp_path / "registry"
    shutil.copytree(DEMO_REGISTRY.parent, folder)
    registry = yaml.safe_load((folder / "demo.yaml").read_text(encoding="utf-8"))
    registry["watch"] = {"platforms": ["taobao"], "queries": list(replies), "pages": 1}
    (folder / "demo.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    code, report, log = monitor(tmp_path, replay, registry=folder / "demo.yaml")
    assert code == 3, log[-3000:]
    taobao_summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))["platforms"]["taobao"]
    assert taobao_summary["blocked"] == 3 + 1  # three answers to the first query, the given-up re-signs of the second
    assert taobao_summary["listings"] == 0 and taobao_summary["errors"] == 0 and taobao_summary["unrecognized"] == 0


# -- a silent zero ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("read", "body", "said"), [
    (taobao.read_search, drift.taobao_empty_with_total(), "4800"),
    (tmall.read_search, drift.taobao_empty_with_total(), "4800"),
    (taobao.read_search, drift.g_page_config_variant("empty"), "4471"),
    (alibaba1688.read_search, drift.offer_empty_with_found(), "2000"),
    (alibaba1688.read_search, drift.offer_list_empty_with_total(), "1376"),
    (alibaba.read_search, drift.alibaba_empty_with_total(), "860"),
], ids=["taobao", "tmall", "g_page_config", "1688-offer", "1688-offerlist", "alibaba"])
def test_a_positive_total_beside_an_empty_list_is_a_format_alarm_not_no_results(read, body, said):
    page = read(body)
    assert page.kind == "unrecognized" and page.listings == []
    assert said in page.reason


@pytest.mark.parametrize(("read", "body"), [
    (taobao.read_search, drift.taobao_unreadable_items()),
    (alibaba1688.read_search, drift.offer_unreadable()),
    (alibaba.read_search, drift.alibaba_unreadable()),
], ids=["taobao", "1688", "alibaba"])
def test_a_page_where_every_item_fails_to_read_is_a_format_alarm(read, body):
    page = read(body)
    assert page.kind == "unrecognized" and page.listings == []
    assert page.item_errors and "every" in page.reason


def test_a_zero_total_with_an_empty_list_is_still_no_results():
    assert taobao.read_search(drift.taobao_body([], 0)).kind == "no_results"
    assert alibaba1688.read_search(drift.offer_empty_with_found(0)).kind == "no_results"


# -- Tmall told apart by every marker ---------------------------------------------------------------------

def test_a_tmall_item_known_only_by_its_tmall_shop_domain_is_tmall():
    body, item_id = drift.tmall_by_shop_domain()
    [listing] = taobao.read_search(body).listings
    assert listing["listing_id"] == item_id
    assert listing["platform"] == "tmall" and listing["url"] == f"https://detail.tmall.com/item.htm?id={item_id}"
    assert listing["is_official_store"] is True  # a 旗舰店 on Tmall


def test_an_old_page_ad_known_only_by_its_tmall_shop_link_is_tmall():
    page = taobao.read_search(drift.g_page_config_variant("tmall_shop"))
    platforms = [listing["platform"] for listing in page.listings]
    assert platforms[1] == "tmall"
    assert platforms[0] == ("tmall" if JACKET_SEEDS[0].tmall else "taobao")


def test_a_taobao_shop_domain_stays_taobao():
    seed = Seed("counterfeit", "LUMORA 冲锋衣 户外", "99.00", "户外小店", "福建 莆田", "10人付款")
    [item] = drift.taobao_items([seed])
    item["shopInfo"]["url"] = "//shop123456789.taobao.com"
    [listing] = taobao.read_search(drift.taobao_body([item], 1)).listings
    assert listing["platform"] == "taobao"


# -- entities after tags ---------------------------------------------------------------------------------

def test_tags_are_stripped_before_entities_are_decoded():
    assert clean_text("&lt;LUMORA&gt; <span class=H>冲锋衣</span>") == "<LUMORA> 冲锋衣"
    assert clean_text("&amp;lt;LUMORA&amp;gt; 冲锋衣") == "<LUMORA> 冲锋衣"  # escaped twice
    assert clean_text("\\u003cspan class\\u003dH\\u003eLUMORA\\u003c/span\\u003e") == "LUMORA"


def test_an_entity_escaped_brand_survives_on_every_platform():
    body, wanted = drift.entity_title_items()
    assert [listing["title"] for listing in taobao.read_search(body).listings] == [wanted]
    [offer] = alibaba1688.read_search(drift.offer_entity_title()).listings
    assert offer["title"] == "<LUMORA> 冲锋衣 工厂直销"
    seed = Seed("counterfeit", "<LUMORA> 冲锋衣 男款", "199.00", "露莫拉服饰专营店", "浙江 杭州", "30+人付款")
    card = tmall_fixtures.list_card(seed, random.Random(5), "冲锋衣", 0)
    html = f'<html><body><div id="J_ItemList">{card.replace("<LUMORA>", "&lt;LUMORA&gt;")}</div></body></html>'
    [listing] = tmall.read_list_html(html).listings
    assert listing["title"] == "<LUMORA> 冲锋衣 男款"
    offer = dataclasses.replace(alibaba_fixtures.JACKET_OFFERS[0], title="&lt;LUMORA&gt; Trail Jacket Waterproof")
    [listing] = alibaba.read_search(alibaba_fixtures.sse_page("LUMORA jacket", [offer], 1, 1)).listings
    assert listing["title"] == "<LUMORA> Trail Jacket Waterproof"


# -- a hidden seller -----------------------------------------------------------------------------------

def test_a_listing_whose_seller_is_hidden_is_kept_with_the_seller_unknown():
    body, hidden_id = drift.hidden_seller_items()
    page = taobao.read_search(body)
    assert len(page.listings) == 3
    hidden = next(listing for listing in page.listings if listing["listing_id"] == hidden_id)
    assert hidden["seller_name"] == "" and hidden["seller_unknown"] is True
    assert listing_problems(hidden) == []  # valid: it goes on to matching and review
    others = [listing for listing in page.listings if listing["listing_id"] != hidden_id]
    assert all("seller_unknown" not in listing for listing in others)


def test_a_crawl_keeps_the_listing_whose_seller_is_hidden_and_counts_it(caplog):
    from pipelines.validate import ValidationPipeline
    from tests.replayed import make_spider

    caplog.set_level("INFO")
    body, hidden_id = drift.hidden_seller_items()
    spider = make_spider("taobao", query="LUMORA 隐藏", pages="1")
    request = spider.search_request("LUMORA 隐藏", 1, {})
    items = list(spider.parse_search(_response(body, url=request.url, meta=request.meta)))
    validation = ValidationPipeline(spider.crawler.stats)
    kept = [dict(validation.process_item(item)) for item in items]  # an invalid one would raise DropItem
    stats = spider.crawler.stats.get_stats()
    assert len(kept) == 3 and "item/invalid" not in stats
    [hidden] = [item for item in kept if item["listing_id"] == hidden_id]
    assert hidden["seller_name"] == "" and hidden["seller_unknown"] is True
    assert stats["item/seller_unknown"] == 1
    assert "does not show its seller; kept with the seller unknown" in caplog.text


def test_an_old_page_listing_with_a_hidden_nick_is_kept():
    page = taobao.read_search(drift.g_page_config_variant("hidden_nick"))
    assert page.listings[0]["seller_name"] == "" and page.listings[0]["seller_unknown"] is True
    assert listing_problems(page.listings[0]) == []


def test_a_blank_seller_without_the_hidden_mark_is_still_invalid():
    body, hidden_id = drift.hidden_seller_items()
    hidden = next(listing for listing in taobao.read_search(body).listings if listing["listing_id"] == hidden_id)
    assert "missing_seller_name" in listing_problems({**hidden, "seller_unknown": False})


# -- 1688 window.data as one object, old Alibaba.com minimum orders -----------------------------------------

def test_a_1688_page_assigning_window_data_as_one_object_keeps_its_listings():
    page = alibaba1688.read_search(drift.window_data_whole_object(4).decode("gbk"))
    assert page.kind == "listings" and len(page.listings) == 4
    assert page.total_pages == 11  # 640 offers, 60 a page
    assert all(listing["seller_name"] and listing["title"] for listing in page.listings)


def test_an_old_alibaba_page_carries_its_minimum_orders():
    body, wanted = drift.legacy_with_moq()
    page = alibaba.read_search(body)
    assert [(x["listing_id"], x["moq"], x["moq_unit"]) for x in page.listings] == wanted


def test_the_old_alibaba_card_list_is_read_with_its_minimum_orders():
    body, wanted = drift.legacy_cards(3)
    page = alibaba.read_search(body)
    assert page.kind == "listings"
    assert [(x["listing_id"], x["moq"], x["moq_unit"]) for x in page.listings] == wanted
    assert all(x["seller_name"] and x["price_min"] for x in page.listings)


def test_an_unknown_seller_is_never_authorized_and_the_reviewer_is_told(tmp_path):
    from exports.report_html import write_report_html
    from exports.review_csv import write_review_csv
    from matchers.score import Scorer
    from tests.export_fixtures import listing as sample_listing
    from tests.export_fixtures import make_registry

    registry = make_registry(tmp_path)
    unknown = sample_listing(platform="tmall", listing_id="600000000009", url="https://detail.tmall.com/item.htm?id=600000000009",
                             seller_name="", seller_id=None, seller_unknown=True)
    scored = {**unknown, **Scorer(registry).score(unknown)}
    assert scored["verdict"] != "authorized" and scored["signals"]["seller_authorized"] is False
    scored.update(verdict="suspect", score=70)
    write_review_csv([scored], tmp_path / "review.csv", registry)
    text = (tmp_path / "review.csv").read_bytes().decode("utf-8-sig")
    assert "the page does not show the seller (unknown)" in text
    write_report_html([scored], tmp_path / "report.html", registry=registry, images_store=str(tmp_path), run_id="r1")
    assert "unknown (not shown on the page)" in (tmp_path / "report.html").read_text(encoding="utf-8")
