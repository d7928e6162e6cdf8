"""`scrapy crawl <platform>` (not only `scrapy monitor`) exits non-zero when its session stopped the platform:
3 when nothing was crawled (skipped for a missing session, expired or paused before any listing), 1 when it
stopped part-way; real subprocesses against the platform double (RELIABILITY.md, "Live crawling: socks5,
render cookies, exit codes")."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from fixtures.double import PlatformDouble
from fixtures.double.client import DoubleClient
from tests.test_live_sessions import QUERY, crawl, items, plant_session


@pytest.fixture
def double():
    with PlatformDouble() as running:
        yield running


def test_a_crawl_skipped_for_a_missing_session_exits_3_with_the_message(double, tmp_path):
    result, stats = crawl(double, tmp_path, "tmall")
    assert stats["finish_reason"] == "session_missing"
    assert result.returncode == 3
    assert "tmall needs a sign-in: run `scrapy login tmall`; skipped" in result.stderr
    assert "tmall: stopped by its session (missing); nothing was crawled: exit code 3" in result.stderr


def test_a_crawl_whose_session_expired_before_any_listing_exits_3(double, tmp_path):
    plant_session(double, tmp_path, "taobao")
    double.set(expire_after_requests=0)
    result, stats = crawl(double, tmp_path, "taobao")
    assert stats["finish_reason"] == "session_expired" and not stats.get("search/listings")
    assert result.returncode == 3
    assert "renew it: `scrapy login taobao`" in result.stderr


def test_a_crawl_whose_session_expired_part_way_exits_1_and_keeps_what_it_had(double, tmp_path):
    plant_session(double, tmp_path, "taobao")
    double.set(expire_after_requests=3)  # token dance, page 1, page 2; page 3 finds it expired
    result, stats = crawl(double, tmp_path, "taobao", "-a", "pages=5")
    assert stats["finish_reason"] == "session_expired" and stats["search/listings"] > 0
    assert result.returncode == 1
    assert len(items(tmp_path)) > 0
    assert "taobao: stopped by its session (expired); it stopped part-way: exit code 1" in result.stderr


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


def test_a_crawl_no_session_stopped_exits_0(double, tmp_path):
    plant_session(double, tmp_path, "taobao")
    result, stats = crawl(double, tmp_path, "taobao")
    assert result.returncode == 0, result.stderr[-2000:]
    assert stats["search/listings"] > 0 and "exit code" not in result.stderr
