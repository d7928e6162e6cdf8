"""The Alibaba.com spider on replayed cassettes: fields, page formats, blocks, no results, format alarms."""

from __future__ import annotations

import json

import pytest
import yaml

from crawlers.platforms import alibaba
from tests.conftest import CASSETTES, EXPECTED, run_crawl

DEMO_QUERIES = "query=LUMORA 冲锋衣|露莫拉"
BLOCK_QUERIES = {  # query -> the kind of block its cassette shows
    "LUMORA tent": "punish",  # Bxpunish: 1 header, sufei-punish CSS, <punish-component />
    "LUMORA gloves": "captcha",  # "Captcha Interception … Please slide to verify"
    "LUMORA sleeping bag": "punish",  # 302 to /_____tmd_____/punish?x5secdata=…
    "LUMORA rain jacket": "login",  # 302 to login.alibaba.com
}


@pytest.fixture(scope="module")
def demo_crawl(tmp_path_factory):
    return run_crawl(tmp_path_factory.mktemp("demo"), "alibaba", "-a", DEMO_QUERIES, "-a", "pages=3")


@pytest.fixture(scope="module")
def formats_crawl(tmp_path_factory):
    return run_crawl(tmp_path_factory.mktemp("formats"), "alibaba", "-a", "query=LUMORA hiking backpack|LUMORA jacket")


@pytest.fixture(scope="module")
def blocks_crawl(tmp_path_factory):
    return run_crawl(tmp_path_factory.mktemp("blocks"), "alibaba", "-a", "query=" + "|".join(BLOCK_QUERIES))


@pytest.fixture(scope="module")
def odd_pages_crawl(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("odd")
    result = run_crawl(workdir, "alibaba", "-a", "query=LUMORA snowboard|LUMORA socks|LUMORA trail jacket")
    result.workdir = workdir
    return result


def _expectations(name):
    data = json.loads((EXPECTED / "alibaba" / f"{name}.json").read_text(encoding="utf-8"))
    return [(listing_id, field, value) for listing_id, fields in data["listings"].items() for field, value in fields.items()]


def _recorded_body(cassette: str, index: int = 0) -> str:
    data = yaml.safe_load((CASSETTES / "alibaba" / cassette).read_text(encoding="utf-8"))
    return data["interactions"][index]["response"]["body"]["string"]


@pytest.mark.parametrize(("listing_id", "field", "expected"), _expectations("search-lumora-jacket"))
def test_sse10_page_fields(demo_crawl, listing_id, field, expected):
    assert demo_crawl.by_id()[listing_id][field] == expected


@pytest.mark.parametrize(("listing_id", "field", "expected"), _expectations("search-lumora-alias"))
def test_transliteration_query_fields(demo_crawl, listing_id, field, expected):
    assert demo_crawl.by_id()[listing_id][field] == expected


@pytest.mark.parametrize(("listing_id", "field", "expected"), _expectations("split-sse-blocks"))
def test_split_offer_list_assignment_fields(formats_crawl, listing_id, field, expected):
    assert formats_crawl.by_id()[listing_id][field] == expected


@pytest.mark.parametrize(("listing_id", "field", "expected"), _expectations("legacy-page-data-config"))
def test_page_data_config_fields(formats_crawl, listing_id, field, expected):
    assert formats_crawl.by_id()[listing_id][field] == expected


def test_demo_queries_read_three_pages_each_with_nothing_missed(demo_crawl):
    assert demo_crawl.returncode == 0, demo_crawl.log[-3000:]
    stats = demo_crawl.stats
    assert stats.get("replay/miss", 0) == 0
    assert stats["replay/hit"] == 6 + stats.get("images/requested", 0)  # the pages, then one image a listing
    assert stats["search/pages"] == 6
    assert stats["format/page_data_sse"] == 5
    assert len(demo_crawl.items) == stats["item_scraped_count"] == 18 + 8
    assert {(item["query"], item["page"]) for item in demo_crawl.items} == {
        ("LUMORA 冲锋衣", 1), ("LUMORA 冲锋衣", 2), ("LUMORA 冲锋衣", 3), ("露莫拉", 1), ("露莫拉", 2)}


def test_a_later_page_with_no_results_ends_the_query_without_an_alarm(demo_crawl):
    # 露莫拉 page 3 is the site's own "did not match any products" page
    assert demo_crawl.stats["search/no_results"] == 1
    assert "format/unrecognized" not in demo_crawl.stats and "search/failed" not in demo_crawl.stats
    assert "no results for '露莫拉' page 3" in demo_crawl.log


def test_every_listing_has_the_contract_fields(demo_crawl, formats_crawl):
    for item in demo_crawl.items + formats_crawl.items:
        assert item["platform"] == "alibaba"
        assert item["url"].startswith("https://www.alibaba.com/product-detail/")
        assert item["url"].endswith(f"_{item['listing_id']}.html")
        assert item["title"] and "<" not in item["title"] and "&" not in item["title"]
        assert isinstance(item["price_min"], float) and item["price_min"] <= item["price_max"]
        assert item["currency"] == "USD"
        assert item["seller_name"]
        assert item["image_urls"] and all(
            u.startswith("https://s.alicdn.com/") and u.endswith(".jpg") and "_300x300" not in u
            and "_720x720" not in u for u in item["image_urls"])
        assert item["crawled_at"].endswith("Z")


def test_sponsored_offers_keep_their_product_url_without_tracking(demo_crawl):
    ad = demo_crawl.by_id()["1600239955180"]  # isShowAd, productUrl with ?s=p&p4pid=…
    assert ad["url"] == ("https://www.alibaba.com/product-detail/"
                         "Mens-Outdoor-Waterproof-Jacket-Lightweight-Rain-Shell_1600239955180.html")


def test_the_holders_own_account_is_listed_like_any_supplier(demo_crawl):
    own = [item for item in demo_crawl.items if item["seller_name"] == "Lumora Outdoor Co., Ltd."]
    assert {item["listing_id"] for item in own} == {"1600120044871", "1600120097313"}


def test_the_largest_of_several_sse_blocks_is_the_result_list(formats_crawl):
    ids = set(formats_crawl.by_id())
    assert "1600188830021" not in ids and "1600188830022" not in ids  # the sponsored booth (sse5)
    assert len([item for item in formats_crawl.items if item["query"] == "LUMORA hiking backpack"]) == 6
    assert formats_crawl.stats["format/page_data_sse"] == 1
    assert formats_crawl.stats["format/page_data_config"] == 1
    assert len([item for item in formats_crawl.items if item["query"] == "LUMORA jacket"]) == 5


@pytest.mark.parametrize(("query", "kind"), BLOCK_QUERIES.items())
def test_each_block_kind_is_retried_then_given_up_without_listings(blocks_crawl, query, kind):
    lines = [line for line in blocks_crawl.log.splitlines() if f"blocked on alibaba (query {query!r} page 1): {kind} (" in line]
    assert len(lines) == 3 and "gave up after 2 retries" in lines[-1]


def test_blocks_are_counted_per_kind_and_never_read_as_no_results(blocks_crawl):
    stats = blocks_crawl.stats
    assert blocks_crawl.items == []
    assert stats["blocked/alibaba"] == 12  # four searches: the first answer and two retries each
    assert stats["blocked/alibaba/punish"] == 6
    assert stats["blocked/alibaba/captcha"] == 3
    assert stats["blocked/alibaba/login"] == 3
    assert stats["blocked/alibaba/gave_up"] == 4
    assert stats["search/blocked"] == 4
    assert "search/no_results" not in stats and "format/unrecognized" not in stats
    assert blocks_crawl.log.count("gave up after 2 retries") == 4


def test_no_results_is_not_a_failure(odd_pages_crawl):
    assert odd_pages_crawl.stats["search/no_results"] == 1
    assert "no results for 'LUMORA snowboard' page 1" in odd_pages_crawl.log
    assert not [item for item in odd_pages_crawl.items if item["query"] == "LUMORA snowboard"]


def test_a_truncated_page_is_a_format_alarm_with_the_body_saved(odd_pages_crawl):
    assert odd_pages_crawl.items == []
    assert odd_pages_crawl.stats["format/unrecognized"] == 2  # the cut page and the unrendered shell
    saved = sorted((odd_pages_crawl.workdir / "diag").glob("alibaba-*.txt"))
    urls = {path.read_text(encoding="utf-8").splitlines()[0] for path in saved}
    assert any("SearchText=LUMORA+socks" in url for url in urls)
    assert "cut short or not JSON" in odd_pages_crawl.log


def test_a_page_that_needs_rendering_read_without_a_browser_is_an_alarm_not_zero_results(odd_pages_crawl):
    assert "no __page__data_sse*, no __page__data__config and no result cards" in odd_pages_crawl.log
    assert "SearchText=LUMORA+trail+jacket" in odd_pages_crawl.log


# --- the page object on its own ---------------------------------------------------------------

def test_search_url_writes_spaces_as_plus_and_numbers_pages():
    assert alibaba.search_url("LUMORA 冲锋衣", 2) == (
        "https://www.alibaba.com/trade/search?fsb=y&IndexArea=product_en&CatId="
        "&SearchText=LUMORA+%E5%86%B2%E9%94%8B%E8%A1%A3&page=2")


def test_split_page_is_recognised_by_content():
    page = alibaba.read_search(_recorded_body("split-sse-blocks.yaml"))
    assert page.kind == "listings" and page.format == "page_data_sse"
    assert [listing["listing_id"] for listing in page.listings][:2] == ["1600640092315", "1600120097388"]
    assert page.total_pages == 5  # totalCount 212, 48 a page


def test_one_malformed_offer_among_good_ones_keeps_the_others():
    body = ('<script>window.__page__data_sse10 = {"_offer_list":{"offerResultData":{"totalCount":3,"offers":['
            '{"productId":"1600000000001","title":"a","price":"US$1.00","companyName":"A Co."},'
            '{"title":"no id and no link"},'
            '{"productId":"1600000000002","title":"b","price":"US$2.00-3.00","companyName":"B Co."}]}}};</script>')
    page = alibaba.read_search(body)
    assert [listing["listing_id"] for listing in page.listings] == ["1600000000001", "1600000000002"]
    assert len(page.item_errors) == 1 and "offers[1]" in page.item_errors[0]


def test_sse_data_without_an_offer_list_is_format_drift_not_zero_results():
    page = alibaba.read_search('<script>window.__page__data_sse10 = {"_wending":{"mainBoothModel":{}}};</script>')
    assert page.kind == "unrecognized"


def test_a_json_reply_with_offers_reads_like_the_page():
    page = alibaba.read_search('{"code":200,"data":{"offerResultData":{"totalCount":1,"offers":['
                               '{"detailUrl":"//www.alibaba.com/product-detail/X-Y_1600000000009.html",'
                               '"title":"<strong>X</strong> Y","price":"$12.50~15.00","minOrderQuality":"2",'
                               '"minOrderUnit":"sets","companyName":"C Co.","imageUrl":"//s.alicdn.com/@sc04/kf/Ha.jpg_300x300.jpg"}]}}}')
    (listing,) = page.listings
    assert (listing["listing_id"], listing["title"], listing["price_min"], listing["price_max"]) == (
        "1600000000009", "X Y", 12.5, 15.0)
    assert (listing["moq"], listing["moq_unit"], listing["image_urls"]) == (
        2, "sets", ["https://s.alicdn.com/@sc04/kf/Ha.jpg"])
