"""Browser rendering: switched on per crawl or per platform, and replayed through Playwright routing in a real
Chromium with every browser request answered from the cassettes and nothing sent to the network (checked in
Chromium's own network log)."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
import yaml
from scrapy.crawler import Crawler
from scrapy.settings import Settings

from crawlers.platforms import alibaba
from crawlers.spiders.alibaba import AlibabaSpider
from crawlers.spiders.render import (
    BROWSER_ARGS,
    PLAYWRIGHT_HANDLER,
    chromium_executable,
    chromium_launch_options,
)
from tests.conftest import CASSETTES, EXPECTED, run_crawl

RENDERED_QUERY = "LUMORA trail jacket"
UNRECORDED_FLAGS = {f"https://s.alicdn.com/@u/mobile/g/common/flags/1.0.0/assets/{code}.png"
                    for code in ("cn", "bd", "vn", "tr")}


def network_activity(netlog: Path) -> tuple[Counter, set[str]]:
    """What Chromium's own network log says it did: event counts by name, and every host name it asked to resolve."""
    data = json.loads(netlog.read_text(encoding="utf-8"))
    names = {number: name for name, number in data["constants"]["logEventTypes"].items()}
    for name in (*NETWORK_EVENTS, "HOST_RESOLVER_MANAGER_REQUEST"):
        assert name in data["constants"]["logEventTypes"], f"this Chromium has no {name} net-log event"
    counts = Counter(names.get(event["type"]) for event in data["events"])
    hosts = {str(event["params"]["host"]) for event in data["events"]
             if names.get(event["type"]) == "HOST_RESOLVER_MANAGER_REQUEST" and "host" in (event.get("params") or {})}
    return counts, hosts


# a DNS query sent, a TCP connection tried, bytes written to any socket
NETWORK_EVENTS = ("DNS_TRANSACTION", "TCP_CONNECT", "TCP_CONNECT_ATTEMPT", "SOCKET_BYTES_SENT", "UDP_BYTES_SENT")


@pytest.fixture(scope="module")
def rendered_crawl(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("rendered")
    netlog = workdir / "netlog.json"
    launch = json.dumps({"args": [*BROWSER_ARGS, f"--log-net-log={netlog}"]})
    result = run_crawl(workdir, "alibaba", "-a", f"query={RENDERED_QUERY}", "-a", "render=1",
                       settings={"PLAYWRIGHT_LAUNCH_OPTIONS": launch})
    result.netlog = netlog
    return result


def _expectations(name):
    data = json.loads((EXPECTED / "alibaba" / f"{name}.json").read_text(encoding="utf-8"))
    return [(listing_id, field, value) for listing_id, fields in data["listings"].items() for field, value in fields.items()]


# --- switching it on ---------------------------------------------------------------------------

def _project_settings(**overrides) -> Settings:
    settings = Settings()
    settings.setmodule("crawlers.settings", priority="project")
    settings.setdict({"RENDER_PLATFORMS": [], **overrides}, priority="cmdline")
    return settings


def _spider(settings: dict | None = None, **arguments):
    """The spider built as `scrapy crawl` builds it: before the settings are frozen."""
    crawler = Crawler(AlibabaSpider, _project_settings(**(settings or {})))
    return crawler, AlibabaSpider.from_crawler(crawler, query="LUMORA", **arguments)


def test_without_render_requests_are_plain_and_the_browser_handler_stays_off():
    crawler, spider = _spider()
    request = spider.search_request("LUMORA", 1, {})
    assert "playwright" not in request.meta
    assert PLAYWRIGHT_HANDLER not in crawler.settings.getdict("DOWNLOAD_HANDLERS").values()


@pytest.mark.parametrize(("settings", "arguments"), [
    ({}, {"render": "1"}),
    ({"RENDER_PLATFORMS": "alibaba,1688"}, {}),
])
def test_render_argument_or_platform_setting_loads_search_pages_in_the_browser(settings, arguments):
    crawler, spider = _spider(settings, **arguments)
    request = spider.search_request("LUMORA", 2, {})
    assert request.url == alibaba.search_url("LUMORA", 2)
    assert request.meta["playwright"] is True and request.meta["playwright_include_page"] is False
    handlers = crawler.settings.getdict("DOWNLOAD_HANDLERS")
    assert handlers["http"] == handlers["https"] == PLAYWRIGHT_HANDLER
    options = crawler.settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")
    assert options["headless"] is True and "--no-sandbox" in options["args"]
    assert options["executable_path"] == chromium_launch_options(crawler.settings)["executable_path"]


def test_the_browser_is_the_configured_executable_else_debians_chromium():
    crawler, _ = _spider({"PLAYWRIGHT_CHROMIUM_EXECUTABLE": "/opt/chromium/chrome"}, render="1")
    assert crawler.settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")["executable_path"] == "/opt/chromium/chrome"
    crawler, _ = _spider({"PLAYWRIGHT_CHROMIUM_EXECUTABLE": None}, render="1")
    if os.path.exists("/usr/bin/chromium"):
        assert crawler.settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")["executable_path"] == "/usr/bin/chromium"


# --- replay through a real Chromium -------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.parametrize(("listing_id", "field", "expected"), _expectations("rendered-lumora-trail-jacket"))
def test_rendered_page_fields(rendered_crawl, listing_id, field, expected):
    assert rendered_crawl.by_id()[listing_id][field] == expected


@pytest.mark.browser
def test_rendered_cards_give_the_same_listings_as_the_data_the_page_fetched(rendered_crawl):
    assert rendered_crawl.returncode == 0, rendered_crawl.log[-3000:]
    assert rendered_crawl.stats["format/rendered"] == 1
    recorded = yaml.safe_load((CASSETTES / "alibaba" / "rendered-lumora-trail-jacket.yaml").read_text(encoding="utf-8"))
    reply = next(i["response"]["body"]["string"] for i in recorded["interactions"]
                 if "galleryProductOfferResultViewService" in i["request"]["uri"])
    from_data = alibaba.read_search(reply).listings
    assert len(from_data) == len(rendered_crawl.items) == 5
    for rank, (expected, item) in enumerate(zip(from_data, rendered_crawl.items, strict=True), start=1):
        assert item["rank"] == rank
        for field, value in expected.items():
            if field != "seller_id":  # the cards do not show the company id
                assert item[field] == value, field


@pytest.mark.browser
def test_every_browser_request_was_fulfilled_from_cassettes_or_aborted(rendered_crawl):
    stats = rendered_crawl.stats
    # document, search.js, the offer-service XHR and 15 product pictures; the 4 distinct flags are not recorded
    assert stats["replay/browser_fulfilled"] == 18
    assert stats["replay/browser_aborted"] == stats["replay/browser_aborted/image"] == 4
    assert stats["replay/miss"] == 4
    assert stats["playwright/request_count"] == stats["replay/browser_fulfilled"] + stats["replay/browser_aborted"]
    assert stats["playwright/request_count/resource_type/fetch"] == 1
    aborted = {line.split("no recording for GET ")[1].split(";")[0] for line in rendered_crawl.log.splitlines()
               if "replay miss (browser image)" in line}
    assert aborted == UNRECORDED_FLAGS


@pytest.mark.browser
def test_a_replayed_rendered_crawl_sends_nothing_to_the_network(rendered_crawl):
    assert rendered_crawl.stats["playwright/browser_count"] == 1
    counts, hosts = network_activity(rendered_crawl.netlog)
    assert {name: counts[name] for name in NETWORK_EVENTS} == dict.fromkeys(NETWORK_EVENTS, 0)
    # Chromium still tries its own services and preconnects; every such name was refused before any DNS query
    assert hosts <= {"https://~notfound", "http://~notfound"}


@pytest.mark.browser
def test_without_the_replay_guard_chromium_would_resolve_real_hosts(tmp_path):
    """Proves the check above can fail: the same browser and routing, minus the guard, asks DNS for real names."""
    from playwright.sync_api import sync_playwright

    netlog = tmp_path / "netlog.json"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(headless=True, executable_path=chromium_executable(_project_settings()),
                                             args=[*BROWSER_ARGS, f"--log-net-log={netlog}"])
        try:
            page = browser.new_context(service_workers="block").new_page()
            page.route("**", lambda route: route.fulfill(status=200, body="<html></html>",
                                                         headers={"content-type": "text/html"}))
            page.goto(alibaba.search_url(RENDERED_QUERY, 1))
        finally:
            browser.close()
    _, hosts = network_activity(netlog)
    assert "https://www.alibaba.com" in hosts  # the navigation preconnect, which no route sees


# chromium's own calls, seen in its network log within a second of starting (without the resolver rule their
# DNS queries follow within a tenth of a second)
BACKGROUND_CALLS = ("https://accounts.google.com/", "https://update.googleapis.com/")
DNS_GRACE_SECONDS = 1.0


def wait_for_background_calls(netlog: Path, timeout: float = 30.0) -> None:
    """Until chromium's network log (written as it goes) shows it starting each of BACKGROUND_CALLS, then a
    grace for the DNS queries that would follow them; fails if chromium never makes them."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logged = netlog.read_text(encoding="utf-8", errors="replace") if netlog.exists() else ""
        if all(f'"{call}' in logged for call in BACKGROUND_CALLS):
            time.sleep(DNS_GRACE_SECONDS)
            return
        time.sleep(0.1)
    pytest.fail(f"chromium made none of its background calls {BACKGROUND_CALLS} within {timeout:.0f} s")


@pytest.mark.browser
def test_a_live_browser_asks_dns_for_none_of_chromiums_own_google_services(tmp_path):
    """Live render mode (no replay guard): Debian's chromium calls accounts.google.com and
    update.googleapis.com on its own within seconds of starting; BROWSER_ARGS makes those names
    unresolvable, so no DNS query for them leaves the machine. A page's own hosts still resolve."""
    from playwright.sync_api import sync_playwright

    from crawlers.browser import BACKGROUND_HOSTS

    netlog = tmp_path / "netlog.json"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(headless=True, executable_path=chromium_executable(_project_settings()),
                                             args=[*BROWSER_ARGS, f"--log-net-log={netlog}"])
        try:
            browser.new_page().set_content("<html><body>idle</body></html>")
            wait_for_background_calls(netlog)
        finally:
            browser.close()
    data = json.loads(netlog.read_text(encoding="utf-8"))
    names = {number: name for name, number in data["constants"]["logEventTypes"].items()}
    started = {str((event.get("params") or {}).get("url") or "") for event in data["events"]
               if names.get(event["type"]) == "URL_REQUEST_START_JOB"}
    assert all(any(url.startswith(call) for url in started) for call in BACKGROUND_CALLS), started  # they were made
    queried = {str((event.get("params") or {}).get("hostname") or "") for event in data["events"]
               if names.get(event["type"]) == "DNS_TRANSACTION"}
    suffixes = tuple(host.removeprefix("*") for host in BACKGROUND_HOSTS)
    assert not [host for host in queried if host.endswith(suffixes)], queried


@pytest.mark.browser
def test_an_unrecorded_rendered_page_is_a_replay_miss_without_starting_the_browser(tmp_path):
    result = run_crawl(tmp_path, "alibaba", "-a", "query=LUMORA parka", "-a", "render=1")
    assert result.items == []
    assert result.stats["replay/miss"] == 1
    assert result.stats["search/failed"] == 1
    assert "playwright/browser_count" not in result.stats
    assert "replay miss: no recording for https://www.alibaba.com/trade/search" in result.log


@pytest.mark.browser
def test_a_block_page_is_recognised_on_the_rendered_path_too(tmp_path):
    result = run_crawl(tmp_path, "alibaba", "-a", "query=LUMORA tent", "-a", "render=1")  # Bxpunish: 1, sufei-punish
    assert result.items == []
    assert result.stats["blocked/alibaba/punish"] == 3  # the first rendering and two retries
    assert result.stats["blocked/alibaba/gave_up"] == 1
    assert result.stats["search/blocked"] == 1
    assert "format/unrecognized" not in result.stats and "search/no_results" not in result.stats
    # the punish page's own CSS and script were never recorded: aborted, like any unrecorded request
    assert result.stats["replay/browser_aborted"] == result.stats["replay/miss"] > 0
