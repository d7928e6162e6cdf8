"""CountingProxy: a real HTTP proxy on loopback in front of the platform double."""

from __future__ import annotations

import base64
import http.client
import json
import ssl

import pytest

from fixtures.double import CountingProxy, PlatformDouble
from tests.conftest import run_crawl

ALIBABA_PATH = "/trade/search?fsb=y&IndexArea=product_en&CatId=&SearchText=LUMORA+%E5%86%B2%E9%94%8B%E8%A1%A3&page=1"


@pytest.fixture
def double():
    with PlatformDouble() as running:
        yield running


def basic(user: str, password: str) -> dict:
    return {"Proxy-Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def tunnelled_get(double, proxy, headers: dict) -> http.client.HTTPResponse:
    context = ssl.create_default_context(cafile=str(double.ca_path))
    connection = http.client.HTTPSConnection("127.0.0.1", proxy.port, context=context, timeout=10)
    connection.set_tunnel("www.alibaba.com", 443, headers=headers)
    connection.request("GET", ALIBABA_PATH)
    return connection.getresponse()


def test_connect_tunnels_reach_the_double_and_are_counted_by_host(double):
    with CountingProxy("scout", "s3cret") as proxy:
        assert proxy.url == f"http://scout:s3cret@127.0.0.1:{proxy.port}"
        response = tunnelled_get(double, proxy, basic("scout", "s3cret"))
        assert response.status == 200 and b"__page__data" in response.read()
        assert (proxy.count, proxy.hosts) == (1, ["www.alibaba.com"])
    assert double.requests(host="www.alibaba.com")[0].outcome == "served"


def test_bad_credentials_are_refused_with_407_and_not_counted(double):
    with CountingProxy("scout", "s3cret") as proxy:
        with pytest.raises(OSError, match="407"):
            tunnelled_get(double, proxy, basic("scout", "wrong"))
        assert (proxy.count, proxy.refused) == (0, 1)
    assert double.requests() == []


def test_plain_http_requests_are_forwarded_and_counted(double):
    with CountingProxy() as proxy:
        connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        connection.request("GET", "http://www.alibaba.com" + ALIBABA_PATH)
        response = connection.getresponse()
        assert response.status == 200 and b"__page__data" in response.read()
        assert proxy.hosts == ["www.alibaba.com"]


def test_a_live_crawl_through_the_proxy_gets_its_listings_from_the_double(double, tmp_path, monkeypatch):
    with CountingProxy("scout", "s3cret") as proxy:
        monkeypatch.setenv("https_proxy", proxy.url)
        result = run_crawl(tmp_path, "alibaba", "-a", "query=LUMORA 冲锋衣", replay=None,
                           settings={"HOST_MAP": json.dumps(double.host_map), "AUTOTHROTTLE_ENABLED": "0",
                                     "DOWNLOAD_DELAY": "0", "ITEM_PIPELINES": "{}"})
        assert result.returncode == 0, result.log[-2000:]
        assert result.items
        assert proxy.count >= 1 and set(proxy.hosts) == {"www.alibaba.com"}


def test_the_proxy_stops_without_leaving_a_thread_or_its_port():
    import socket
    import threading

    before = set(threading.enumerate())
    with CountingProxy() as proxy:
        port = proxy.port
    assert set(threading.enumerate()) == before
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))
