"""Render mode with a session: the cookies a rendered page refreshes in the browser (its scripts set them; no
response header shows them) are written back to the session, as Scrapy responses' Set-Cookie are
(RELIABILITY.md, "Live crawling: socks5, render cookies, exit codes")."""

from __future__ import annotations

import pytest

from crawlers.sessions.store import SessionStore
from fixtures.double import PlatformDouble
from tests.test_live_sessions import crawl, plant_session


@pytest.fixture
def double():
    with PlatformDouble() as running:
        yield running


def _tokens(session, domain: str) -> set[str]:
    return {c["value"] for c in session.cookies if c["name"] == "_tb_token_" and c["domain"] == domain}


@pytest.mark.browser
def test_a_cookie_a_rendered_page_refreshes_is_written_back_to_the_session(double, tmp_path):
    planted = plant_session(double, tmp_path, "all")
    before = _tokens(planted, ".1688.com")
    double.set(refresh_in_page=True)  # signed-in pages set a new _tb_token_ from their own script
    result, stats = crawl(double, tmp_path, "1688", "-a", "pages=1")  # 1688 with a session: in the page
    assert result.returncode == 0, result.stderr[-3000:]
    assert stats["playwright/request_count/navigation"] >= 1 and stats["search/listings"] > 0
    assert double.app.refreshed, "no rendered page refreshed a cookie: the test would prove nothing"
    saved = SessionStore(tmp_path / "sessions").load("taobao")
    assert _tokens(saved, ".1688.com") == {double.app.refreshed[-1]} != before
    assert _tokens(saved, ".taobao.com") == _tokens(planted, ".taobao.com")  # the others as they were
    assert {c["name"] for c in saved.cookies} >= {c["name"] for c in planted.cookies}  # nothing lost
