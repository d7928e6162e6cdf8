"""The 1688 spider: both mtop reply shapes, the older GBK offer_search page, wholesale fields (MOQ, tier prices,
company), sponsored offers, no results and broken bodies read in-process from the cassette bodies
(tests/replayed.py); real replayed crawls check the demo search end to end and each block kind."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from contract import stats as keys
from crawlers.platforms import alibaba1688
from tests.conftest import CASSETTES, DEMO_REGISTRY, run_crawl
from tests.replayed import expectations, make_spider, page_listings, parse_recorded

JACKET, ALIAS, BACKPACK = "LUMORA 冲锋衣", "露莫拉", "LUMORA 登山包"

CRAWLS = {  # integration crawls: name -> arguments; all run at once, each in its own folder
    "offer": ("-a", f"query={JACKET}|{ALIAS}", "-a", "pages=3"),
    "mtop_blocks": ("-a", "query=LUMORA 羽绒服|LUMORA 帐篷"),
    "html_blocks": ("-a", "query=LUMORA 背包|LUMORA 睡袋", "-a", "source=html"),
}


@pytest.fixture(scope="module")
def crawls(tmp_path_factory):
    """Every crawl this module needs, run in parallel: {name: result}."""
    folders = {name: tmp_path_factory.mktemp(name) for name in CRAWLS}
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(run_crawl, folders[name], "1688", *args) for name, args in CRAWLS.items()}
    return {name: future.result() for name, future in futures.items()}


@pytest.fixture(scope="module")
def offer_crawl(crawls):
    return crawls["offer"]


@pytest.fixture(scope="module")
def html_blocks_crawl(crawls):
    return crawls["html_blocks"]


def _offer_list() -> dict[str, dict]:
    return page_listings("1688", "offerlist-shape.yaml", BACKPACK)


@pytest.mark.parametrize(("listing_id", "field", "expected"), expectations("1688", "search-lumora-jacket"))
def test_offer_items_search_fields(listing_id, field, expected):
    assert page_listings("1688", "search-lumora-jacket.yaml", JACKET)[listing_id][field] == expected


@pytest.mark.parametrize(("listing_id", "field", "expected"), expectations("1688", "offerlist-shape"))
def test_offer_list_shape_fields(listing_id, field, expected):
    assert _offer_list()[listing_id][field] == expected


@pytest.mark.parametrize(("listing_id", "field", "expected"), expectations("1688", "legacy-window-data-gbk"))
def test_old_gbk_offer_search_page_fields(listing_id, field, expected):
    assert page_listings("1688", "legacy-window-data-gbk.yaml", JACKET)[listing_id][field] == expected


def test_integration_crawl_gives_the_listings_the_page_objects_read(offer_crawl):
    for query, cassette in ((JACKET, "search-lumora-jacket.yaml"), (ALIAS, "search-lumora-alias.yaml")):
        read = page_listings("1688", cassette, query)
        crawled = [item for item in offer_crawl.items if item["query"] == query]
        assert {item["listing_id"] for item in crawled} == set(read)
        for item in crawled:
            assert {name: item[name] for name in read[item["listing_id"]]} == read[item["listing_id"]]


def test_integration_demo_queries_read_three_pages_each_with_nothing_missed(offer_crawl):
    assert offer_crawl.returncode == 0, offer_crawl.log[-3000:]
    stats = offer_crawl.stats
    assert stats[keys.SEARCH_PAGES] == 6
    assert stats.get(keys.REPLAY_MISS, 0) == 0
    assert stats["mtop/token_refresh"] == 1
    assert stats["format/mtop-offer"] == 6
    assert {item["page"] for item in offer_crawl.items} == {1, 2, 3}
    assert {item["query"] for item in offer_crawl.items} == {JACKET, ALIAS}
    assert len(offer_crawl.items) == stats["item_scraped_count"] == 27


def test_demo_registry_watch_list_is_the_demo_search():
    spider = make_spider("1688", registry=str(DEMO_REGISTRY))
    assert spider.queries == [JACKET, ALIAS]  # the integration crawl of these reads 6 pages with nothing missed
    assert spider.pages == 3  # watch.pages: 3, for each of the two watch queries


def test_every_offer_is_a_wholesale_listing_with_moq_unit_company_and_full_size_image(offer_crawl):
    for item in offer_crawl.items:
        assert item["platform"] == "1688" and item["currency"] == "CNY"
        assert item["url"] == f"https://detail.1688.com/offer/{item['listing_id']}.html"
        assert isinstance(item["moq"], int) and item["moq"] >= 1 and item["moq_unit"] in {"件", "个", "条", "箱", "根", "把"}
        assert item["seller_name"].endswith("有限公司")
        assert item["title"] and "<font" not in item["title"]
        assert " " in item["location"]
        assert all(u.startswith("https://cbu01.alicdn.com/img/ibank/") and ".290x290." not in u and u.endswith("-0-cib.jpg")
                   for u in item["image_urls"])


def test_sponsored_offers_are_kept_when_they_have_an_offer_id(offer_crawl):
    ad = page_listings("1688", "search-lumora-jacket.yaml", JACKET)["1012944432218"]  # isP4P "true", type "bid"
    assert ad["url"] == "https://detail.1688.com/offer/1012944432218.html"
    assert offer_crawl.stats["ads/dropped"] == 2  # an ad with only a click URL on page 2 of each query


def test_tier_prices_become_the_lowest_and_highest_price():
    tiered = _offer_list()["1039592919770"]  # 2+ 个 ¥58.00, 50+ ¥52.00, 500+ ¥47.50
    assert (tiered["price_min"], tiered["price_max"]) == (47.5, 58.0)
    single = _offer_list()["1014635950774"]  # one price, no priceRange
    assert single["price_min"] == single["price_max"] == 0.45
    assert parse_recorded("1688", "offerlist-shape.yaml", BACKPACK).stats["format/mtop-offerlist"] == 1


def test_moq_is_read_whichever_name_the_bucket_gives_it():
    by_id = _offer_list()
    assert (by_id["1039592919770"]["moq"], by_id["1039592919770"]["moq_unit"]) == (2, "个")  # tradeInfo.moq
    assert (by_id["1080086391217"]["moq"], by_id["1080086391217"]["moq_unit"]) == (10, "个")  # tradeInfo.minOrderQuantity


@pytest.mark.parametrize(("raw", "expected"), [
    ({"offerId": "1", "title": "t", "skuRangePrices": [{"price": "35.00", "beginAmount": "2"},
                                                        {"price": "33.00", "beginAmount": "5000"}], "offerUnit": "条"},
     (33.0, 35.0, 2, "条")),
    ({"offerId": "1", "title": "t", "currentPrices": [{"beginAmount": 10, "price": "8.80"}, {"beginAmount": 100, "price": "7.50"}]},
     (7.5, 8.8, 10, None)),
    ({"offerId": "1", "title": "t", "priceInfo": {"price": "12.00-15.50"}, "tradeInfo": {"moq": "3件起批"}},
     (12.0, 15.5, 3, "件")),
])
def test_tier_price_and_moq_variants_from_the_platform_notes(raw, expected):
    listing = alibaba1688.offer_listing(raw)
    assert (listing["price_min"], listing["price_max"], listing["moq"], listing["moq_unit"]) == expected


def test_requests_use_the_1688_gateway_app_32517_and_its_callback_name():
    url = alibaba1688.mtop_client().url(alibaba1688.SEARCH_API, alibaba1688.SEARCH_VERSION,
                                        alibaba1688.search_data("露莫拉", 2))
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.hostname == "h5api.m.1688.com"
    assert query["callback"] == ["mtopjsonpreqTppId_32517_getOfferList2"]
    data = json.loads(query["data"][0])
    params = json.loads(data["params"])
    assert data["appId"] == "32517"
    assert params["keywords"] == "露莫拉" and params["beginPage"] == 2 and params["method"] == "getOfferList"
    assert {"pageSize", "verticalProductFlag", "searchScene", "charset"} <= params.keys()


def test_old_offer_search_page_has_gbk_keywords_and_a_gbk_body():
    assert alibaba1688.html_search_url("LUMORA 冲锋衣", 1) == \
        "https://s.1688.com/selloffer/offer_search.htm?keywords=LUMORA%20%B3%E5%B7%E6%D2%C2&beginPage=1"
    recorded = yaml.safe_load((CASSETTES / "1688" / "legacy-window-data-gbk.yaml").read_text(encoding="utf-8"))
    body = recorded["interactions"][0]["response"]["body"]["string"]
    assert isinstance(body, bytes)
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert "window.data.offerresultData" in body.decode("gbk")
    legacy = parse_recorded("1688", "legacy-window-data-gbk.yaml", JACKET, source="html")
    assert legacy.stats["format/window-data"] == 1
    assert len(legacy.items) == 8


@pytest.mark.parametrize(("crawl_name", "query", "kind"), [
    ("mtop_blocks", "LUMORA 羽绒服", "mtop"),  # RGV587_ERROR with a cbuSpace captcha URL
    ("mtop_blocks", "LUMORA 帐篷", "punish"),  # punish page: bxpunish: 1, window._config_, <!--rgv587_flag:sm-->
    ("html_blocks", "LUMORA 背包", "login"),  # 302 to login.1688.com/member/signin.htm
])
def test_integration_each_block_kind_is_counted_retried_then_given_up_without_listings(crawls, crawl_name, query,
                                                                                      kind):
    result = crawls[crawl_name]
    assert result.items == []
    assert result.stats[keys.blocked("1688", kind)] == 3  # the first answer and two retries (BLOCK_RETRY_TIMES = 2)
    assert result.stats[keys.SEARCH_BLOCKED] == 2
    assert result.stats[keys.blocked("1688", "gave_up")] == 2
    assert keys.SEARCH_NO_RESULTS not in result.stats and keys.FORMAT_UNRECOGNIZED not in result.stats
    assert f"blocked on 1688 (query {query!r} page 1): {kind} (" in result.log


def test_integration_cloud_ip_deny_is_final_and_given_up_at_once(html_blocks_crawl):
    stats = html_blocks_crawl.stats
    assert stats[keys.blocked("1688", "deny")] == 1  # action=deny has no slider: retrying would not help
    assert stats[keys.blocked("1688")] == 4  # three login answers and one deny
    assert "blocked on 1688 (query 'LUMORA 睡袋' page 1): deny (" in html_blocks_crawl.log
    assert "gave up after 0 retries" in html_blocks_crawl.log


def test_no_results_is_not_a_failure():
    result = parse_recorded("1688", "no-results.yaml", "露莫拉 滑雪板")
    assert result.items == []
    assert result.stats[keys.SEARCH_NO_RESULTS] == 1
    assert keys.FORMAT_UNRECOGNIZED not in result.stats and keys.SEARCH_FAILED not in result.stats
    assert not any(key.startswith("blocked/") for key in result.stats)


def test_truncated_body_is_a_format_alarm_with_the_body_saved(tmp_path, caplog):
    result = parse_recorded("1688", "broken-truncated.yaml", "LUMORA 手套", settings={"FORMAT_DIAG_DIR": str(tmp_path)})
    assert result.items == []
    assert result.stats[keys.FORMAT_UNRECOGNIZED] == 1
    assert keys.SEARCH_NO_RESULTS not in result.stats
    saved = list(tmp_path.glob("1688-*.txt"))
    assert len(saved) == 1 and saved[0].read_text(encoding="utf-8").startswith("URL: https://h5api.m.1688.com/")
    assert "unrecognized search page" in caplog.text and "truncated" in caplog.text


def test_offer_search_shell_without_offer_data_is_format_drift_not_zero_results():
    shell = "<html><head><meta charset=gbk></head><body><script>window.data = window.data || {};</script></body></html>"
    assert alibaba1688.read_search(shell).kind == "unrecognized"


def test_offer_search_page_of_2026_with_offer_v2_is_read():
    page = alibaba1688.read_search(
        '<html><body><script>window.data = window.data || {};\n'
        'window.data.offerV2Showed = {"offerList":[{"offerId":"1052008074197","title":"露莫拉 冲锋衣",'
        '"priceInfo":{"price":"35.00"},"bookedCount":"120","offerPicUrl":"https://cbu01.alicdn.com/img/ibank/'
        'O1CN01abc_!!2201234567-0-cib.290x290.jpg","linkUrl":"https://detail.1688.com/offer/1052008074197.html",'
        '"company":"义乌市某某服饰有限公司"}]};</script></body></html>')
    [listing] = page.listings
    assert (listing["listing_id"], listing["seller_name"], listing["sales"]) == ("1052008074197", "义乌市某某服饰有限公司", 120)
    assert listing["image_urls"] == ["https://cbu01.alicdn.com/img/ibank/O1CN01abc_!!2201234567-0-cib.jpg"]


def test_a_success_reply_without_offers_is_format_drift_not_zero_results():
    page = alibaba1688.read_search('mtopjsonpreqTppId_32517_getOfferList2({"api":"x","ret":["SUCCESS::调用成功"],'
                                   '"v":"2.0","data":{"data":{"something":{}}}})')
    assert page.kind == "unrecognized"


def test_one_malformed_offer_among_good_ones_keeps_the_others():
    page = alibaba1688.read_search(
        'mtopjsonpreqTppId_32517_getOfferList2({"api":"x","ret":["SUCCESS::调用成功"],"v":"2.0","data":{"data":'
        '{"OFFER":{"found":3,"hasMore":false,"items":['
        '{"cellType":"smart_ui_offer","data":{"offerId":"612345678901","title":"a","priceInfo":{"price":"1.00"}}},'
        '{"cellType":"smart_ui_offer","data":{"title":"no id at all"}},'
        '{"cellType":"smart_ui_offer","data":{"offerId":"612345678902","title":"b","priceInfo":{"price":"2.00"}}}]}}}})',
        page=4)
    assert [listing["listing_id"] for listing in page.listings] == ["612345678901", "612345678902"]
    assert len(page.item_errors) == 1 and "OFFER.items[1]" in page.item_errors[0]
    assert page.total_pages == 4  # hasMore false: this page is the last
