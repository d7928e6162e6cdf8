"""The Alibaba.com spider: fields, page formats, no results and format alarms read in-process from the cassette
bodies (tests/replayed.py); real replayed crawls check the demo search end to end and each block kind."""

from __future__ import annotations

import pytest

from contract import stats as keys
from crawlers.platforms import alibaba
from tests.conftest import run_crawl
from tests.replayed import page_listings, parse_recorded, recorded_responses, search_pages

JACKET, ALIAS = "LUMORA 冲锋衣", "露莫拉"
BACKPACK, OLD_JACKET = "LUMORA hiking backpack", "LUMORA jacket"
BLOCK_QUERIES = {  # query -> the kind of block its cassette shows
    "LUMORA tent": "punish",  # Bxpunish: 1 header, sufei-punish CSS, <punish-component />
    "LUMORA gloves": "captcha",  # "Captcha Interception … Please slide to verify"
    "LUMORA sleeping bag": "punish",  # 302 to /_____tmd_____/punish?x5secdata=…
    "LUMORA rain jacket": "login",  # 302 to login.alibaba.com
}


@pytest.fixture(scope="module")
def demo_crawl(replayed_crawls):
    """Integration: the replayed crawl of both demo queries, three pages each (shared with test_search_spiders)."""
    return replayed_crawls.demo("alibaba")


@pytest.fixture(scope="module")
def blocks_crawl(tmp_path_factory):
    return run_crawl(tmp_path_factory.mktemp("blocks"), "alibaba", "-a", "query=" + "|".join(BLOCK_QUERIES))


def _formats() -> list[dict]:
    return [*page_listings("alibaba", "split-sse-blocks.yaml", BACKPACK).values(),
            *page_listings("alibaba", "legacy-page-data-config.yaml", OLD_JACKET).values()]


def _recorded_body(cassette: str, index: int = 0) -> str:
    return recorded_responses("alibaba", cassette)[index].text


def test_integration_the_demo_search_is_five_sse_pages_and_the_sites_own_no_results_page(demo_crawl):
    stats = demo_crawl.stats  # test_search_spiders checks the pages, misses and listings of this crawl
    assert stats["replay/hit"] == 6 + stats.get("images/requested", 0)  # the pages, then one image a listing
    assert stats["format/page_data_sse"] == 5
    assert len(demo_crawl.items) == 18 + 8
    assert {(item["query"], item["page"]) for item in demo_crawl.items} == {
        (JACKET, 1), (JACKET, 2), (JACKET, 3), (ALIAS, 1), (ALIAS, 2)}


def test_integration_a_later_page_with_no_results_ends_the_query_without_an_alarm(demo_crawl, caplog):
    # 露莫拉 page 3 is the site's own "did not match any products" page
    caplog.set_level("INFO")
    assert demo_crawl.stats[keys.SEARCH_NO_RESULTS] == 1
    assert keys.FORMAT_UNRECOGNIZED not in demo_crawl.stats and keys.SEARCH_FAILED not in demo_crawl.stats
    assert "no results for '露莫拉' page 3" in demo_crawl.log
    third = parse_recorded("alibaba", "search-lumora-alias.yaml", ALIAS, index=2, page=3, pages="3")
    assert third.items == [] and third.requests == [] and third.stats[keys.SEARCH_NO_RESULTS] == 1
    assert "no results for '露莫拉' page 3" in caplog.text


def test_every_listing_has_the_contract_fields(demo_crawl):
    for item in demo_crawl.items + _formats():
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
    assert all(item["crawled_at"].endswith("Z") for item in demo_crawl.items)


def test_sponsored_offers_keep_their_product_url_without_tracking():
    ad = page_listings("alibaba", "search-lumora-jacket.yaml", JACKET)["1600239955180"]  # isShowAd, ?s=p&p4pid=…
    assert ad["url"] == ("https://www.alibaba.com/product-detail/"
                         "Mens-Outdoor-Waterproof-Jacket-Lightweight-Rain-Shell_1600239955180.html")


def test_the_holders_own_account_is_listed_like_any_supplier(demo_crawl):
    own = [item for item in demo_crawl.items if item["seller_name"] == "Lumora Outdoor Co., Ltd."]
    assert {item["listing_id"] for item in own} == {"1600120044871", "1600120097313"}


def test_the_largest_of_several_sse_blocks_is_the_result_list():
    ids = {item["listing_id"] for item in _formats()}
    assert "1600188830021" not in ids and "1600188830022" not in ids  # the sponsored booth (sse5)
    split = parse_recorded("alibaba", "split-sse-blocks.yaml", BACKPACK)
    assert len(split.items) == 6 and split.stats["format/page_data_sse"] == 1
    old = parse_recorded("alibaba", "legacy-page-data-config.yaml", OLD_JACKET)
    assert len(old.items) == 5 and old.stats["format/page_data_config"] == 1


@pytest.mark.parametrize(("query", "kind"), BLOCK_QUERIES.items())
def test_integration_each_block_kind_is_retried_then_given_up_without_listings(blocks_crawl, query, kind):
    lines = [line for line in blocks_crawl.log.splitlines() if f"blocked on alibaba (query {query!r} page 1): {kind} (" in line]
    assert len(lines) == 3 and "gave up after 2 retries" in lines[-1]


def test_integration_blocks_are_counted_per_kind_and_never_read_as_no_results(blocks_crawl):
    stats = blocks_crawl.stats
    assert blocks_crawl.items == []
    assert stats[keys.blocked("alibaba")] == 12  # four searches: the first answer and two retries each
    assert stats[keys.blocked("alibaba", "punish")] == 6
    assert stats[keys.blocked("alibaba", "captcha")] == 3
    assert stats[keys.blocked("alibaba", "login")] == 3
    assert stats[keys.blocked("alibaba", "gave_up")] == 4
    assert stats[keys.SEARCH_BLOCKED] == 4
    assert keys.SEARCH_NO_RESULTS not in stats and keys.FORMAT_UNRECOGNIZED not in stats
    assert blocks_crawl.log.count("gave up after 2 retries") == 4


def test_a_truncated_page_is_a_format_alarm_with_the_body_saved(tmp_path, caplog):
    diag = {"FORMAT_DIAG_DIR": str(tmp_path)}
    cut = parse_recorded("alibaba", "broken-truncated.yaml", "LUMORA socks", settings=diag)
    shell = parse_recorded("alibaba", "rendered-lumora-trail-jacket.yaml", "LUMORA trail jacket", settings=diag)
    assert cut.items == shell.items == []
    assert cut.stats[keys.FORMAT_UNRECOGNIZED] == shell.stats[keys.FORMAT_UNRECOGNIZED] == 1  # the cut page, the shell
    saved = sorted(tmp_path.glob("alibaba-*.txt"))
    urls = {path.read_text(encoding="utf-8").splitlines()[0] for path in saved}
    assert any("SearchText=LUMORA+socks" in url for url in urls)
    assert "cut short or not JSON" in caplog.text


def test_a_page_that_needs_rendering_read_without_a_browser_is_an_alarm_not_zero_results(caplog, tmp_path):
    parse_recorded("alibaba", "rendered-lumora-trail-jacket.yaml", "LUMORA trail jacket",
                   settings={"FORMAT_DIAG_DIR": str(tmp_path)})
    assert "no __page__data_sse*, no __page__data__config and no result cards" in caplog.text
    assert "SearchText=LUMORA+trail+jacket" in caplog.text


# --- the page object on its own ---------------------------------------------------------------

def test_search_url_writes_spaces_as_plus_and_numbers_pages():
    assert alibaba.search_url("LUMORA 冲锋衣", 2) == (
        "https://www.alibaba.com/trade/search?fsb=y&IndexArea=product_en&CatId="
        "&SearchText=LUMORA+%E5%86%B2%E9%94%8B%E8%A1%A3&page=2")


def test_split_page_is_recognised_by_content():
    [page] = search_pages("alibaba", "split-sse-blocks.yaml", BACKPACK)
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
