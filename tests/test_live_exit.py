"""`scrapy crawl <platform>` (not only `scrapy monitor`) exits non-zero when its session stopped the platform:
3 when nothing was crawled (skipped for a missing session, expired or paused before any listing), 1 when it
stopped part-way; real subprocesses against the platform double (RELIABILITY.md, "Live crawling: socks5,
render cookies, exit codes").

The crawls test_live_sessions.py runs anyway say the other exit codes: 3 for the platform skipped without a
session, 1 for the session that expires part-way, 0 for the crawl its session carried to the end."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from fixtures.double import PlatformDouble
from fixtures.double.client import DoubleClient
from tests.test_live_sessions import QUERY, crawl, plant_session


@pytest.fixture
def double():
    with PlatformDouble() as running:
        yield running


def test_a_crawl_whose_session_expired_before_any_listing_exits_3(double, tmp_path):
    plant_session(double, tmp_path, "taobao")
    double.set(expire_after_requests=0)
    result, stats = crawl(double, tmp_path, "taobao")
    assert stats["finish_reason"] == "session_expired" and not stats.get("search/listings")
    assert result.returncode == 3
    assert "renew it: `scrapy login taobao`" in result.stderr


def test_a_crawl_paused_at_a_punish_page_with_nothing_crawled_exits_3(double, tmp_path):
    session = plant_session(double, tmp_path, "taobao")
    double.set(rate_limit_per_minute=1)
    client = DoubleClient(double)  # the account's one page of this minute, spent before the crawl
    client.add_cookies(session.cookies)
    client.get(f"https://s.taobao.com/search?q={quote(QUERY)}")
    result, stats = crawl(double, tmp_path, "taobao", "-a", "source=html", CONCURRENT_REQUESTS=1)
    assert [page.outcome for page in double.requests(host="s.taobao.com")][1:] == ["rate-limited"]
    assert stats["finish_reason"] == "session_paused" and not stats.get("search/listings")
    assert result.returncode == 3
    assert "taobao is paused for this run" in result.stderr
