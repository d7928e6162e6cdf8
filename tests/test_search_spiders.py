"""What every search spider does the same way (crawlers/spiders/base.py): the demo search end to end, the
registry's watch list, no results, a format alarm with the body saved, and each block kind counted, retried
and given up. The crawls are real replayed `scrapy crawl` runs (integration), shared per session."""

from __future__ import annotations

import pytest
import yaml

from contract import stats as keys
from tests.conftest import CASSETTES, DEMO_REGISTRY
from tests.replayed import (
    expectations,
    expected_query,
    make_spider,
    page_listings,
    parse_recorded,
    search_pages,
)

JACKET, ALIAS = "LUMORA 冲锋衣", "露莫拉"
# platform -> (listings of the demo search, token refreshes, ads without an item id dropped)
DEMO = {"taobao": (36, 1, 2), "tmall": (27, 1, 2), "1688": (27, 1, 2), "alibaba": (26, None, None)}
BLOCK_SEARCHES = {  # (platform, how) -> crawl arguments; two blocked queries each
    ("tmall", "mtop"): ("-a", "query=LUMORA 羽绒服|LUMORA 帐篷"),
    ("tmall", "html"): ("-a", "query=LUMORA 背包|LUMORA 睡袋", "-a", "source=html"),
    ("1688", "mtop"): ("-a", "query=LUMORA 羽绒服|LUMORA 帐篷"),
    ("1688", "html"): ("-a", "query=LUMORA 背包|LUMORA 睡袋", "-a", "source=html"),
}
DIAG_URL = {"taobao": "https://h5api.m.taobao.com/", "tmall": "https://h5api.m.taobao.com/",
            "1688": "https://h5api.m.1688.com/", "alibaba": "https://www.alibaba.com/trade/search"}
WHY_UNREADABLE = {"taobao": "truncated", "tmall": "truncated", "1688": "truncated", "alibaba": "cut short or not JSON"}
TRUNCATED_QUERY = {"taobao": "LUMORA 手套", "tmall": "LUMORA 手套", "1688": "LUMORA 手套", "alibaba": "LUMORA socks"}
NO_RESULTS_QUERY = {"taobao": "露莫拉 滑雪板", "tmall": "露莫拉 滑雪板", "1688": "露莫拉 滑雪板", "alibaba": "LUMORA snowboard"}


RECORDED_SEARCHES = [  # (platform, cassette): each has hand-written expectations in fixtures/expected/
    ("taobao", "search-lumora-jacket"),  # mtop recommend
    ("taobao", "legacy-g-page-config"),  # the old s.taobao.com page
    ("tmall", "search-lumora-jacket"),  # the mall tab of Taobao's search
    ("tmall", "legacy-list-gbk"),  # the old GBK list.tmall.com page
    ("1688", "search-lumora-jacket"),  # mtop, OFFER items
    ("1688", "offerlist-shape"),  # mtop, the offerList shape
    ("1688", "legacy-window-data-gbk"),  # the old GB18030 offer_search page
    ("alibaba", "search-lumora-jacket"),  # __page__data_sse10
    ("alibaba", "search-lumora-alias"),  # a transliteration query
    ("alibaba", "split-sse-blocks"),  # the offer list split over several sse blocks
    ("alibaba", "legacy-page-data-config"),  # __page__data__config
]
FIELD_CASES = [(platform, name, *expected) for platform, name in RECORDED_SEARCHES
               for expected in expectations(platform, name)]


@pytest.mark.parametrize(("platform", "name", "listing_id", "field", "expected"), FIELD_CASES,
                         ids=["/".join(map(str, case[:4])) for case in FIELD_CASES])
def test_each_field_of_each_recorded_listing_reads_as_the_expectations_say(platform, name, listing_id, field, expected):
    listings = page_listings(platform, f"{name}.yaml", expected_query(platform, name))
    assert listings[listing_id][field] == expected


@pytest.mark.parametrize(("platform", "name", "word", "page_format", "listings"), [
    ("tmall", "legacy-list-gbk", "露莫拉", "tmall-list", 9),
    ("1688", "legacy-window-data-gbk", "window.data.offerresultData", "window-data", 8),
])
def test_an_old_list_page_is_served_as_gbk_bytes_and_read_as_such(platform, name, word, page_format, listings):
    recorded = yaml.safe_load((CASSETTES / platform / f"{name}.yaml").read_text(encoding="utf-8"))["interactions"][0]
    body = recorded["response"]["body"]["string"]
    assert isinstance(body, bytes)
    assert recorded["response"]["headers"]["Content-Type"][0].lower().replace(" ", "") == "text/html;charset=gbk"
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert word in body.decode("gbk")
    legacy = parse_recorded(platform, f"{name}.yaml", expected_query(platform, name), source="html")
    assert legacy.stats[f"format/{page_format}"] == 1
    assert len(legacy.items) == listings
    assert [page.format for page in search_pages(platform, f"{name}.yaml")] == [page_format]


@pytest.fixture(scope="module")
def block_crawls(replayed_crawls):
    replayed_crawls.prefetch(*((platform, *args) for (platform, _), args in BLOCK_SEARCHES.items()))
    replayed_crawls.prefetch_demos()
    return {name: replayed_crawls.get(name[0], *args) for name, args in BLOCK_SEARCHES.items()}


@pytest.mark.parametrize("platform", DEMO)
def test_integration_crawl_gives_the_listings_the_page_objects_read(replayed_crawls, platform):
    crawl = replayed_crawls.demo(platform)
    for query, cassette in ((JACKET, "search-lumora-jacket.yaml"), (ALIAS, "search-lumora-alias.yaml")):
        read = page_listings(platform, cassette, query)
        crawled = [item for item in crawl.items if item["query"] == query]
        assert {item["listing_id"] for item in crawled} == set(read)
        for item in crawled:
            assert {name: item[name] for name in read[item["listing_id"]]} == read[item["listing_id"]]


@pytest.mark.parametrize("platform", DEMO)
def test_integration_demo_queries_read_three_pages_each_with_nothing_missed(replayed_crawls, platform):
    crawl = replayed_crawls.demo(platform)
    listings, token_refreshes, ads = DEMO[platform]
    assert crawl.returncode == 0, crawl.log[-3000:]
    stats = crawl.stats
    assert stats[keys.SEARCH_PAGES] == 6  # a token reply is not a result page
    assert stats.get(keys.REPLAY_MISS, 0) == 0
    assert stats.get("mtop/token_refresh") == token_refreshes
    assert stats.get("ads/dropped") == ads  # one simba or click-URL ad without an item id on page 2 of each query
    assert {item["page"] for item in crawl.items} == {1, 2, 3}
    assert {item["query"] for item in crawl.items} == {JACKET, ALIAS}
    assert len(crawl.items) == stats["item_scraped_count"] == listings


@pytest.mark.parametrize("platform", DEMO)
def test_the_demo_registry_watch_list_is_the_demo_search(platform):
    spider = make_spider(platform, registry=str(DEMO_REGISTRY))
    assert spider.queries == [JACKET, ALIAS]  # the integration crawl of these reads 6 pages with nothing missed
    assert spider.pages == 3  # watch.pages: 3, for each of the two watch queries


@pytest.mark.parametrize("platform", DEMO)
def test_no_results_is_not_a_failure(platform, caplog):
    caplog.set_level("INFO")
    query = NO_RESULTS_QUERY[platform]
    result = parse_recorded(platform, "no-results.yaml", query)
    assert result.items == [] and result.requests == []
    assert result.stats[keys.SEARCH_NO_RESULTS] == 1
    assert keys.FORMAT_UNRECOGNIZED not in result.stats and keys.SEARCH_FAILED not in result.stats
    assert not any(key.startswith("blocked/") for key in result.stats)
    assert f"no results for {query!r} page 1" in caplog.text


@pytest.mark.parametrize("platform", DEMO)
def test_a_truncated_body_is_a_format_alarm_with_the_body_saved(platform, tmp_path, caplog):
    result = parse_recorded(platform, "broken-truncated.yaml", TRUNCATED_QUERY[platform],
                            settings={"FORMAT_DIAG_DIR": str(tmp_path)})
    assert result.items == [] and result.requests == []
    assert result.stats[keys.FORMAT_UNRECOGNIZED] == 1
    assert keys.SEARCH_NO_RESULTS not in result.stats
    saved = list(tmp_path.glob(f"{platform}-*.txt"))
    assert len(saved) == 1 and saved[0].read_text(encoding="utf-8").startswith(f"URL: {DIAG_URL[platform]}")
    assert "unrecognized search page" in caplog.text and WHY_UNREADABLE[platform] in caplog.text


@pytest.mark.parametrize(("platform", "how", "query", "kind", "blocked"), [
    ("tmall", "mtop", "LUMORA 羽绒服", "mtop", 6),  # RGV587_ERROR::SM::哎哟喂,被挤爆啦
    ("tmall", "mtop", "LUMORA 帐篷", "punish", 6),  # punish page: bxpunish: 1, window._config_, <!--rgv587_flag:sm-->
    ("tmall", "html", "LUMORA 背包", "login", 6),  # 302 to login.taobao.com
    ("tmall", "html", "LUMORA 睡袋", "homepage", 6),  # sent back to the homepage, 上天猫，就够了
    ("1688", "mtop", "LUMORA 羽绒服", "mtop", 6),  # RGV587_ERROR with a cbuSpace captcha URL
    ("1688", "mtop", "LUMORA 帐篷", "punish", 6),
    ("1688", "html", "LUMORA 背包", "login", 4),  # 302 to login.1688.com/member/signin.htm; its neighbour is a deny
])
def test_integration_each_block_kind_is_counted_retried_then_given_up_without_listings(block_crawls, platform, how,
                                                                                      query, kind, blocked):
    result = block_crawls[(platform, how)]
    assert result.items == []
    assert result.stats[keys.blocked(platform, kind)] == 3  # the first answer and two retries (BLOCK_RETRY_TIMES = 2)
    assert result.stats[keys.blocked(platform)] == blocked  # the two blocked queries of the crawl
    assert result.stats[keys.blocked(platform, "gave_up")] == 2
    assert result.stats[keys.SEARCH_BLOCKED] == 2
    assert keys.SEARCH_NO_RESULTS not in result.stats and keys.FORMAT_UNRECOGNIZED not in result.stats
    assert f"blocked on {platform} (query {query!r} page 1): {kind} (" in result.log
    assert "gave up after 2 retries" in result.log


def test_integration_a_cloud_ip_deny_is_final_and_given_up_at_once(block_crawls):
    result = block_crawls[("1688", "html")]
    assert result.stats[keys.blocked("1688", "deny")] == 1  # action=deny has no slider: retrying would not help
    assert result.stats[keys.blocked("1688")] == 4  # three login answers and one deny
    assert "blocked on 1688 (query 'LUMORA 睡袋' page 1): deny (" in result.log
    assert "gave up after 0 retries" in result.log
