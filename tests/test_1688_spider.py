"""The 1688 spider: both mtop reply shapes, the older GBK offer_search page, wholesale fields (MOQ, tier prices,
company), sponsored offers, no results and broken bodies read in-process from the cassette bodies
(tests/replayed.py); real replayed crawls check the demo search end to end and each block kind."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from crawlers.platforms import alibaba1688
from tests.replayed import page_listings, parse_recorded, search_pages

JACKET, ALIAS, BACKPACK = "LUMORA 冲锋衣", "露莫拉", "LUMORA 登山包"

@pytest.fixture(scope="module")
def offer_crawl(replayed_crawls):
    """Integration: the replayed crawl of both demo queries, three pages each (shared with test_search_spiders)."""
    return replayed_crawls.demo("1688")


def _offer_list() -> dict[str, dict]:
    return page_listings("1688", "offerlist-shape.yaml", BACKPACK)


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


def test_sponsored_offers_are_kept_when_they_have_an_offer_id():
    ad = page_listings("1688", "search-lumora-jacket.yaml", JACKET)["1012944432218"]  # isP4P "true", type "bid"
    assert ad["url"] == "https://detail.1688.com/offer/1012944432218.html"
    dropped = [page.ads_dropped for cassette in ("search-lumora-jacket.yaml", "search-lumora-alias.yaml")
               for page in search_pages("1688", cassette, JACKET)]
    assert dropped == [0, 1, 0, 0, 1, 0]  # an ad with only a click URL on page 2 of each query


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


def test_old_offer_search_page_has_gbk_keywords():
    assert alibaba1688.html_search_url("LUMORA 冲锋衣", 1) == \
        "https://s.1688.com/selloffer/offer_search.htm?keywords=LUMORA%20%B3%E5%B7%E6%D2%C2&beginPage=1"


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
