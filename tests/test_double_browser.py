"""The platform double driven by real chromium: QR sign-in end to end, and the host map for a browser."""

from __future__ import annotations

import json
import threading

import pytest
from playwright.sync_api import sync_playwright

from crawlers.browser import DEBIAN_CHROMIUM
from fixtures.double import PlatformDouble
from tests.conftest import run_crawl

pytestmark = pytest.mark.browser

SEARCH = "https://s.taobao.com/search?q=LUMORA&tab=all"
SIGNED_IN_MARKERS = {
    ".taobao.com": {"unb", "lgc", "tracknick", "_nk_", "cookie2", "_tb_token_", "sgcookie"},
    ".tmall.com": {"unb", "lgc", "tracknick", "_nk_", "cookie2", "_tb_token_", "sgcookie"},
    ".1688.com": {"__cn_logon__", "__cn_logon_id__", "cookie2", "_tb_token_"},
}


@pytest.fixture
def double():
    with PlatformDouble() as running:
        yield running


@pytest.fixture
def browser(double):
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=DEBIAN_CHROMIUM, headless=True,
                                              args=["--no-sandbox", *double.chromium_args()])
        yield launched
        launched.close()


def test_qr_sign_in_in_chromium_sets_the_session_cookies_on_three_domains_and_returns(double, browser):
    page = browser.new_page()
    page.goto(SEARCH)  # the wall sends chromium to the sign-in page
    assert page.url.startswith("https://login.taobao.com/member/login.jhtml?redirectURL=")
    page.click(".iconfont.icon-qrcode")
    qr = page.wait_for_selector("#J_QRCodeImg", state="visible")
    size = page.evaluate("img => [img.naturalWidth, img.naturalHeight]", qr)
    assert size[0] > 100 and size[0] == size[1]  # a real PNG QR code was decoded by the browser
    scanner = threading.Thread(target=double.scan_qr, kwargs={"account": "lumora_ip"})
    scanner.start()
    scanner.join(15)
    page.wait_for_url(lambda url: url.startswith("https://s.taobao.com/search"), timeout=15_000)
    cookies = page.context.cookies()
    for domain, names in SIGNED_IN_MARKERS.items():
        assert names <= {c["name"] for c in cookies if c["domain"] == domain}, domain
    assert {c["value"] for c in cookies if c["name"] == "_nk_"} == {"lumora_ip"}
    landed = double.requests(host="s.taobao.com")
    assert landed[0].outcome == "login-wall" and landed[-1].session is not None
    assert landed[-1].outcome in ("served", "missing")  # past the wall, with the session


def test_chromium_with_the_double_args_keeps_google_background_names_unresolvable(double):
    (rules, spki) = double.chromium_args()
    assert rules.startswith("--host-resolver-rules=MAP accounts.google.com ~NOTFOUND")
    assert f"MAP *.taobao.com {double.address}" in rules and rules.endswith("EXCLUDE localhost")
    assert spki == f"--ignore-certificate-errors-spki-list={double.certificates.spki_sha256}"


def test_a_rendered_live_crawl_resolves_and_trusts_the_double_through_the_settings(double, tmp_path):
    """HOST_MAP and BROWSER_TRUSTED_SPKI reach the rendering browser: page, script, XHR and images all
    come from the double, and the rendered cards become listings."""
    result = run_crawl(tmp_path, "alibaba", "-a", "query=LUMORA trail jacket", "-a", "render=1", replay=None,
                       settings={"HOST_MAP": json.dumps(double.host_map),
                                 "BROWSER_TRUSTED_SPKI": double.certificates.spki_sha256,
                                 "AUTOTHROTTLE_ENABLED": "0", "DOWNLOAD_DELAY": "0", "ITEM_PIPELINES": "{}"})
    assert result.returncode == 0, result.log[-2000:]
    assert len(result.items) == 5
    hosts = {r.host for r in double.requests() if r.outcome == "served"}
    assert {"www.alibaba.com", "s.alicdn.com", "open-s.alibaba.com"} <= hosts
