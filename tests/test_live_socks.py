"""socks5 proxies for Scrapy's own requests: the local bridge (crawlers/sessions/socks_bridge.py) in front of
the double's CountingProxy speaking socks5 with username/password (RELIABILITY.md, "Live crawling: socks5,
render cookies, exit codes")."""

from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import ssl
import subprocess
import threading
import time
from urllib.parse import urlsplit

import pytest

from crawlers.sessions.socks_bridge import SocksBridge
from fixtures.double import CountingProxy, PlatformDouble
from tests.conftest import DEMO_REGISTRY
from tests.test_live_secrets import _leaks
from tests.test_live_sessions import crawl, live_settings, plant_session, scrapy

ALIBABA_PATH = "/trade/search?fsb=y&IndexArea=product_en&CatId=&SearchText=LUMORA+%E5%86%B2%E9%94%8B%E8%A1%A3&page=1"


@pytest.fixture
def double():
    with PlatformDouble() as running:
        yield running


@pytest.fixture
def bridge():
    made = SocksBridge()
    yield made
    made.stop()


def _auth(url: str) -> dict:
    parts = urlsplit(url)
    token = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
    return {"Proxy-Authorization": f"Basic {token}"}


def tunnelled(double, bridge_url: str, headers: dict | None = None) -> http.client.HTTPResponse:
    context = ssl.create_default_context(cafile=str(double.ca_path))
    connection = http.client.HTTPSConnection("127.0.0.1", urlsplit(bridge_url).port, context=context, timeout=20)
    connection.set_tunnel("www.alibaba.com", 443, headers=_auth(bridge_url) if headers is None else headers)
    connection.request("GET", ALIBABA_PATH)
    return connection.getresponse()


def test_the_double_proxy_speaks_socks5_and_refuses_a_wrong_password(double):
    from python_socks import ProxyError
    from python_socks.sync import Proxy

    with CountingProxy("ops", "s0cksPw") as proxy:
        assert proxy.socks_url == f"socks5://ops:s0cksPw@127.0.0.1:{proxy.port}"
        sock = Proxy.from_url(proxy.socks_url, rdns=True).connect("www.alibaba.com", 80, timeout=10)
        sock.sendall(b"GET " + ALIBABA_PATH.encode() + b" HTTP/1.1\r\nHost: www.alibaba.com\r\nConnection: close\r\n\r\n")
        assert sock.recv(64).startswith(b"HTTP/1.1 200")
        sock.close()
        with pytest.raises(ProxyError, match="authentication failure"):
            Proxy.from_url(proxy.socks_url.replace("s0cksPw", "wrong"), rdns=True).connect("www.alibaba.com", 80,
                                                                                            timeout=10)
        assert (proxy.count, proxy.socks, proxy.hosts, proxy.refused) == (1, 1, ["www.alibaba.com"], 1)


def test_an_https_tunnel_through_the_bridge_goes_out_over_socks5(double, bridge):
    with CountingProxy("ops", "s0cksPw") as proxy:
        local = bridge.acquire(proxy.socks_url)
        assert urlsplit(local).hostname == "127.0.0.1" and urlsplit(local).username == "ipwatch"
        response = tunnelled(double, local)
        assert response.status == 200 and b"__page__data" in response.read()
        assert (proxy.socks, proxy.hosts, proxy.refused) == (1, ["www.alibaba.com"], 0)
    assert double.requests(host="www.alibaba.com")[0].outcome == "served"


def test_a_plain_http_request_through_the_bridge_is_sent_on_in_origin_form_and_closed(double, bridge):
    with CountingProxy("ops", "s0cksPw") as proxy:
        local = bridge.acquire(proxy.socks_url)
        connection = http.client.HTTPConnection("127.0.0.1", urlsplit(local).port, timeout=20)
        connection.request("GET", "http://www.alibaba.com" + ALIBABA_PATH, headers=_auth(local))
        response = connection.getresponse()
        assert response.status == 200 and b"__page__data" in response.read()
        assert response.getheader("Connection") == "close"
        assert proxy.hosts == ["www.alibaba.com"] and proxy.socks == 1


def test_the_bridge_refuses_requests_without_its_token(double, bridge):
    with CountingProxy("ops", "s0cksPw") as proxy:
        local = bridge.acquire(proxy.socks_url)
        with pytest.raises(OSError, match="407"):
            tunnelled(double, local, headers={})
        assert proxy.count == 0


def test_a_refused_password_is_a_502_naming_the_proxy_without_its_password(double, bridge, caplog):
    with CountingProxy("ops", "s0cksPw") as proxy:
        local = bridge.acquire(proxy.socks_url.replace("s0cksPw", "Wr0ngPassw0rd"))
        with pytest.raises(OSError) as refused:
            tunnelled(double, local)
        message = str(refused.value)
        assert "502" in message and f"socks5://ops:<redacted>@127.0.0.1:{proxy.port}" in message
        assert "refused the credentials (Username and password authentication failure)" in message
        assert "Wr0ngPassw0rd" not in message
    assert "Wr0ngPassw0rd" not in caplog.text and "authentication failure" in caplog.text


def test_an_unreachable_or_silent_socks_proxy_fails_within_its_timeout(double, bridge):
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    with pytest.raises(OSError, match="cannot be reached"):
        tunnelled(double, bridge.acquire(f"socks5://ops:pw@127.0.0.1:{dead_port}"))
    with socket.socket() as silent:  # accepts, never answers the socks greeting
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        started = time.monotonic()
        with pytest.raises(OSError, match=r"did not open www\.alibaba\.com:443 within 1 s"):
            tunnelled(double, bridge.acquire(f"socks5://127.0.0.1:{silent.getsockname()[1]}", timeout=1.0))
        assert time.monotonic() - started < 10


def test_the_bridge_starts_once_and_the_last_release_stops_it_and_frees_its_port():
    before = set(threading.enumerate())
    made = SocksBridge()
    first = made.acquire("socks5://ops:pw@127.0.0.1:1")
    again = made.acquire("socks5://ops:pw@127.0.0.1:1")
    other = made.acquire("socks5://127.0.0.1:2")
    assert first == again and urlsplit(first).port != urlsplit(other).port
    assert len(set(threading.enumerate()) - before) == 1  # one thread for every listener
    made.release()
    made.release()
    assert made.running  # a crawl still uses it
    made.release()
    assert not made.running and set(threading.enumerate()) == before
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", urlsplit(first).port))


# --- live runs (no REPLAY_DIR) through a socks5 proxy with credentials -----------------------------------
SOCKS_PASSWORD = "S0cksPLANTEDpw"


def monitor(double, tmp_path, proxy_url: str) -> tuple[subprocess.CompletedProcess, dict]:
    settings = live_settings(double, tmp_path, PROXY_URL=proxy_url, SOCKS_CONNECT_TIMEOUT=5)
    settings.pop("ITEM_PIPELINES")  # the whole chain: images, scores, store
    settings.pop("STORE_URL")
    result = scrapy(tmp_path, "monitor", "--registry", str(DEMO_REGISTRY), "--platforms", "taobao", "--no-progress",
                    "--out", str(tmp_path / "reports"), "--store", f"sqlite:///{tmp_path / 'm.db'}",
                    "--images-store", str(tmp_path / "images"), "-L", "DEBUG", settings=settings, timeout=240)
    summary = next((tmp_path / "reports").glob("*/summary.json"), None)
    return result, json.loads(summary.read_text()) if summary else {}


def test_a_live_crawl_goes_through_a_socks5_proxy_with_credentials(double, tmp_path):
    plant_session(double, tmp_path, "taobao")
    with CountingProxy("ops", SOCKS_PASSWORD) as proxy:
        result, stats = crawl(double, tmp_path, "taobao", "-a", "pages=2", PROXY_URL=proxy.socks_url)
        assert result.returncode == 0, result.stderr[-3000:]
        assert stats["search/pages"] == 2 and stats["search/listings"] > 0
        assert proxy.socks >= 1 and set(proxy.hosts) == {"h5api.m.taobao.com"} and proxy.refused == 0
    assert len(double.requests()) == 3  # the token dance and two pages, every one through the socks proxy
    assert "Scrapy's requests reach the socks5 proxy socks5://ops:<redacted>@127.0.0.1" in result.stderr
    assert SOCKS_PASSWORD not in result.stdout + result.stderr


def test_a_live_monitor_run_through_socks5_is_counted_at_the_proxy_and_never_shows_its_password(double, tmp_path):
    plant_session(double, tmp_path, "taobao")
    with CountingProxy("ops", SOCKS_PASSWORD) as proxy:
        result, summary = monitor(double, tmp_path, proxy.socks_url)
        assert proxy.socks >= 1 and proxy.refused == 0
    assert result.returncode == 0, result.stderr[-3000:]
    assert summary["platforms"]["taobao"]["listings"] > 0
    assert {sent.host for sent in double.requests()} <= set(proxy.hosts)  # nothing went round the proxy
    (tmp_path / "monitor.log").write_text(result.stdout + result.stderr, encoding="utf-8")
    assert _leaks(tmp_path, {SOCKS_PASSWORD}, skip=tmp_path / "sessions") == []
    assert not re.search(r"ipwatch:(?!<redacted>)[\w-]{8,}@", result.stdout + result.stderr)  # nor the bridge's token


def test_a_wrong_socks5_password_stops_the_platform_with_a_clear_message_and_a_non_zero_exit(double, tmp_path):
    plant_session(double, tmp_path, "taobao")
    with CountingProxy("ops", SOCKS_PASSWORD) as proxy:
        result, summary = monitor(double, tmp_path, proxy.socks_url.replace(SOCKS_PASSWORD, "Wr0ngPLANTEDpw"))
        assert proxy.count == 0 and proxy.refused >= 1
    assert result.returncode == 3, result.stderr[-3000:]  # no platform could crawl
    assert summary["exit_code"] == 3
    assert double.requests() == []
    expected = (f"taobao: the socks5 proxy socks5://ops:<redacted>@127.0.0.1:{proxy.port} refused the credentials "
                "(PROXY_URL); taobao stopped")
    assert expected in result.stderr
    assert "taobao: the socks5 proxy refused the credentials; fix the proxy's password in PROXY_URL" in \
        summary["problems"]
    (tmp_path / "monitor.log").write_text(result.stdout + result.stderr, encoding="utf-8")
    assert _leaks(tmp_path, {"Wr0ngPLANTEDpw", SOCKS_PASSWORD}, skip=tmp_path / "sessions") == []


# --- chromium: it cannot authenticate to a socks5 proxy itself, so it goes through the same bridge --------
@pytest.mark.browser
def test_the_render_browser_reaches_a_socks5_proxy_with_credentials_through_the_bridge(double, tmp_path):
    from playwright.sync_api import sync_playwright
    from scrapy.settings import Settings

    from crawlers.sessions.browser import render_context_options
    from crawlers.sessions.socks_bridge import BRIDGE
    from crawlers.spiders.render import chromium_launch_options

    session = plant_session(double, tmp_path, "all")
    with CountingProxy("ops", SOCKS_PASSWORD) as proxy:
        settings = Settings({"SESSIONS_DIR": str(tmp_path / "sessions"), "PROXY_URL_1688": proxy.socks_url,
                             "HOST_MAP": json.dumps(double.host_map),
                             "BROWSER_TRUSTED_SPKI": double.scrapy_settings()["BROWSER_TRUSTED_SPKI"]})
        options = render_context_options(settings, "1688")
        try:
            assert options["proxy"]["server"].startswith("http://127.0.0.1:")  # the bridge, not the socks proxy
            assert SOCKS_PASSWORD not in json.dumps(options["proxy"])
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(**chromium_launch_options(settings))
                try:
                    page = browser.new_context(**options).new_page()
                    page.goto("https://s.1688.com/selloffer/offer_search.htm?keywords=LUMORA", wait_until="commit")
                finally:
                    browser.close()
        finally:
            BRIDGE.stop()
        assert proxy.socks >= 1 and "s.1688.com" in proxy.hosts and proxy.refused == 0
    (visit,) = [r for r in double.requests(host="s.1688.com") if r.path.startswith("/selloffer/")]
    assert visit.session == session.cookies[0]["value"]


@pytest.mark.browser
def test_login_goes_through_a_socks5_proxy_with_credentials(double, tmp_path):
    with CountingProxy("ops", SOCKS_PASSWORD) as proxy:
        result = scrapy(tmp_path, "login", "taobao", "--timeout", "1",
                        settings=live_settings(double, tmp_path, PROXY_URL_TAOBAO=proxy.socks_url))
        assert "login.taobao.com" in proxy.hosts and proxy.socks >= 1
    assert result.returncode == 1 and "no sign-in within 1 s" in result.stderr
    assert SOCKS_PASSWORD not in result.stdout + result.stderr


@pytest.mark.browser
def test_a_live_1688_crawl_in_the_signed_in_page_goes_through_the_socks5_proxy(double, tmp_path):
    plant_session(double, tmp_path, "all")
    with CountingProxy("ops", SOCKS_PASSWORD) as proxy:
        result, stats = crawl(double, tmp_path, "1688", "-a", "pages=1", PROXY_URL=proxy.socks_url)
        assert result.returncode == 0, result.stderr[-3000:]
        assert stats["playwright/request_count/navigation"] >= 1 and stats["search/listings"] > 0
        assert "s.1688.com" in proxy.hosts and proxy.refused == 0
    assert {sent.host for sent in double.requests()} <= set(proxy.hosts)  # the browser's requests too
    assert SOCKS_PASSWORD not in result.stdout + result.stderr
