"""The platform double's behaviours, each through real sockets: session expiry, rate limits, slow
answers, dropped connections, and the control endpoints that drive them from outside Python."""

from __future__ import annotations

import http.client
import json
import time

import pytest
from scrapy.http import HtmlResponse

from crawlers.blocks import classify_block
from crawlers.mtop import read_reply
from fixtures.double import PlatformDouble
from fixtures.double.client import DoubleClient
from tests.test_double import mtop_call, taobao_search_url

PAST_THE_WALL = "https://s.taobao.com/search?q=LUMORA+never+recorded"
TIMESTAMP = "https://h5api.m.taobao.com/h5/mtop.common.gettimestamp/1.0/"
ALIBABA_PAGE = "https://www.alibaba.com/trade/search?SearchText=x"


def signed_in(double: PlatformDouble, platform: str = "taobao") -> DoubleClient:
    client = DoubleClient(double)
    client.add_cookies(double.signed_in_cookies(platform))
    return client


def test_session_expires_after_the_set_number_of_requests_then_pages_go_to_login():
    with PlatformDouble(expire_after_requests=2) as double:
        client = signed_in(double)
        assert [client.get(PAST_THE_WALL).status for _ in range(2)] == [404, 404]  # past the wall, no recording
        answer = client.get(PAST_THE_WALL)
        assert answer.status == 302 and answer.header("Location").startswith("https://login.taobao.com/")
        assert [r.outcome for r in double.requests()] == ["missing", "missing", "session-expired"]


def test_session_expired_by_count_is_answered_session_expired_by_mtop():
    with PlatformDouble(expire_after_requests=3) as double:
        client = signed_in(double)
        reply, _ = mtop_call(client, taobao_search_url)  # two requests: the token dance and the call
        assert reply.ok
        reply, _ = mtop_call(client, taobao_search_url)  # the token is kept: one request
        assert reply.ok
        reply, _ = mtop_call(client, taobao_search_url)
        assert reply.code == "FAIL_SYS_SESSION_EXPIRED" and reply.message == "Session过期"


def test_session_expires_at_the_set_time():
    with PlatformDouble(expire_at=time.time() + 0.5) as double:
        client = signed_in(double)
        assert client.get(PAST_THE_WALL).status == 404
        time.sleep(0.6)
        assert client.get(PAST_THE_WALL).status == 302
        later = signed_in(double)  # a sign-in after that time is not touched by it
        assert later.get(PAST_THE_WALL).status == 404


def test_expire_sessions_ends_every_session_issued_so_far():
    with PlatformDouble() as double:
        first, second = signed_in(double), signed_in(double)
        assert double.expire_sessions() == 2
        assert first.get(PAST_THE_WALL).status == 302 and second.get(PAST_THE_WALL).status == 302


def test_above_the_rate_api_hosts_answer_429():
    with PlatformDouble(rate_limit_per_minute=3) as double:
        client = DoubleClient(double)
        statuses = [client.get(TIMESTAMP).status for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]


def test_above_the_rate_pages_get_a_punish_page_our_block_detection_recognises():
    with PlatformDouble(rate_limit_per_minute=1) as double:
        client = DoubleClient(double)
        assert client.get(ALIBABA_PAGE).status == 404
        answer = client.get(ALIBABA_PAGE)
        assert answer.status == 200 and answer.header("bxpunish") == "1"
        for marker in ("x5secdata", "nc_1_n1z", "punish", "<!--rgv587_flag:sm-->"):
            assert marker in answer.text
        response = HtmlResponse(ALIBABA_PAGE, status=answer.status, headers=dict(answer.headers), body=answer.body)
        assert classify_block(response) is not None


def test_the_rate_is_counted_per_session():
    with PlatformDouble(rate_limit_per_minute=2) as double:
        one, two = signed_in(double), signed_in(double)
        assert [one.get(PAST_THE_WALL).status for _ in range(2)] == [404, 404]
        assert two.get(PAST_THE_WALL).status == 404  # another account is under its own limit
        assert one.get(PAST_THE_WALL).status == 200  # the punish page


def test_slow_answers_take_the_set_time():
    with PlatformDouble(slow_seconds=0.4) as double:
        started = time.monotonic()
        DoubleClient(double).get(ALIBABA_PAGE)
        assert time.monotonic() - started >= 0.4


def test_every_nth_request_has_its_connection_dropped_without_an_answer():
    with PlatformDouble(drop_every=2) as double:
        client = DoubleClient(double)
        assert client.get(ALIBABA_PAGE).status == 404
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            client.get(ALIBABA_PAGE)
        assert client.get(ALIBABA_PAGE).status == 404
        assert [r.outcome for r in double.requests()] == ["missing", "dropped", "missing"]


def test_behaviour_changes_while_running():
    with PlatformDouble() as double:
        client = DoubleClient(double)
        assert client.get(TIMESTAMP).status == 200
        double.set(rate_limit_per_minute=1)
        assert client.get(TIMESTAMP).status == 429
        double.set(rate_limit_per_minute=None)
        assert client.get(TIMESTAMP).status == 200
        with pytest.raises(ValueError, match="unknown behaviour"):
            double.set(rate_limit=1)


def test_control_endpoints_do_from_outside_python_what_the_api_does():
    with PlatformDouble() as double:
        client = DoubleClient(double)
        assert json.loads(client.get("https://www.alibaba.com/__double__/set?drop_every=3").text)["drop_every"] == 3
        client.get("https://www.alibaba.com/__double__/set?drop_every=none")
        page = client.get("https://login.taobao.com/member/login.jhtml?redirectURL=https%3A%2F%2Fs.taobao.com%2F")
        token = page.text.split('var lgToken = "', 1)[1].split('"', 1)[0]
        poll = f"https://login.taobao.com/qrcodelogin/qrcodeLoginCheck.do?lgToken={token}"
        assert json.loads(client.get(poll).text)["status"] == "waiting"
        assert json.loads(client.get("https://s.taobao.com/__double__/scan?account=lumora_ip").text) == {"confirmed": 1}
        answer = client.get(poll)
        assert json.loads(answer.text)["success"] is True
        landed = client.get(json.loads(answer.text)["url"], follow=True)
        assert landed.url == "https://s.taobao.com/"
        assert client.cookies_for("list.tmall.com")["_nk_"] == "lumora_ip"
        assert client.cookies_for("s.1688.com")["__cn_logon__"] == "true"
        assert json.loads(client.get("https://s.taobao.com/__double__/expire").text) == {"expired": 1}
        records = json.loads(client.get("https://s.taobao.com/__double__/requests?host=login.taobao.com").text)
        assert [r["path"] for r in records] == ["/member/login.jhtml", "/qrcodelogin/qrcodeLoginCheck.do",
                                                "/qrcodelogin/qrcodeLoginCheck.do"]


def test_scan_without_a_sign_in_page_says_so():
    with PlatformDouble() as double, pytest.raises(LookupError, match="no sign-in page showed a QR code"):
        double.scan_qr(timeout=0.2)


def test_signed_in_cookie_sets_carry_the_markers_per_platform():
    with PlatformDouble() as double:
        taobao = {c["name"] for c in double.signed_in_cookies("taobao")}
        assert {"unb", "lgc", "tracknick", "_nk_", "cookie2", "_tb_token_", "sgcookie"} <= taobao
        assert {c["domain"] for c in double.signed_in_cookies("tmall")} == {".tmall.com", ".taobao.com"}
        assert {"__cn_logon__", "__cn_logon_id__"} <= {c["name"] for c in double.signed_in_cookies("1688")}
        only_cookie2 = DoubleClient(double)
        only_cookie2.add_cookies([c for c in double.signed_in_cookies("taobao") if c["name"] == "cookie2"])
        assert only_cookie2.get(PAST_THE_WALL).status == 302  # cookie2 alone is not a signed-in visitor
        assert read_reply(only_cookie2.get(TIMESTAMP).text).code == "FAIL_SYS_TOKEN_EMPTY"


def test_mtop_tokens_expire_after_their_lifetime():
    with PlatformDouble(token_lifetime_seconds=0.3) as double:
        client = DoubleClient(double)
        client.get(TIMESTAMP)
        assert double.requests()[0].outcome == "token"
        time.sleep(0.4)
        assert read_reply(client.get(TIMESTAMP + "?t=1&sign=x").text).code == "FAIL_SYS_TOKEN_EXOIRED"


def test_stopping_closes_idle_keep_alive_connections_at_once():
    import socket
    import ssl

    double = PlatformDouble().start()
    context = ssl.create_default_context(cafile=str(double.ca_path))
    raw = socket.create_connection((double.address, 443), 5)
    connection = context.wrap_socket(raw, server_hostname="www.alibaba.com")
    connection.sendall(b"GET /trade/search?SearchText=x HTTP/1.1\r\nHost: www.alibaba.com\r\n\r\n")
    assert connection.recv(12) == b"HTTP/1.1 404"
    started = time.monotonic()
    double.stop()  # the client keeps its connection open and idle
    assert time.monotonic() - started < 2.0
    connection.settimeout(5)
    while connection.recv(65536):  # the rest of the answer, then the end of the connection
        pass
    connection.close()


def _live_alibaba_crawl(double, workdir, *args, **settings):
    from tests.conftest import run_crawl

    return run_crawl(workdir, "alibaba", "-a", "query=LUMORA 冲锋衣", *args, replay=None,
                     settings={"HOST_MAP": json.dumps(double.host_map), "AUTOTHROTTLE_ENABLED": "0",
                               "DOWNLOAD_DELAY": "0", "ITEM_PIPELINES": "{}", **settings})


def test_a_live_crawl_gets_every_page_although_every_second_connection_is_dropped(tmp_path):
    with PlatformDouble(drop_every=2) as double:
        result = _live_alibaba_crawl(double, tmp_path, "-a", "pages=3")
        outcomes = [r.outcome for r in double.requests()]
    assert result.stats["search/pages"] == 3 and len(result.items) == 18
    assert outcomes.count("dropped") == 2 and outcomes.count("served") == 3


def test_a_double_slower_than_the_download_timeout_fails_the_page_with_a_message_naming_it(tmp_path):
    with PlatformDouble(slow_seconds=1) as double:  # twice the timeout: the page and its one retry time out
        result = _live_alibaba_crawl(double, tmp_path, DOWNLOAD_TIMEOUT="0.5", RETRY_TIMES="1")
    assert result.items == [] and result.stats["search/failed"] == 1
    assert "search page failed for query 'LUMORA 冲锋衣' page 1" in result.log
    assert "took longer than 0.5 seconds" in result.log


def test_the_qr_code_holds_the_phone_url_and_opening_it_signs_that_page_in():
    import io

    import qrcode
    from PIL import Image, ImageChops

    from fixtures.double.signin import PHONE_URL

    with PlatformDouble() as double:
        client = DoubleClient(double)
        page = client.get("https://login.1688.com/member/signin.htm?Done=https%3A%2F%2Fs.1688.com%2F")
        token = page.text.split('var lgToken = "', 1)[1].split('"', 1)[0]
        png = client.get(f"https://login.1688.com/qrcodelogin/qrcode.png?lgToken={token}")
        assert png.header("Content-Type") == "image/png"
        shown = Image.open(io.BytesIO(png.body)).convert("1")
        expected = qrcode.make(PHONE_URL.format(token=token)).get_image().convert("1")
        assert ImageChops.difference(shown, expected).getbbox() is None
        phone = DoubleClient(double)  # the phone is another client
        assert phone.get(PHONE_URL.format(token=token) + "&account=lumora_ip").status == 200
        assert phone.get(PHONE_URL.format(token=token)).status == 410  # a code is scanned once
        poll = client.get(f"https://login.1688.com/qrcodelogin/qrcodeLoginCheck.do?lgToken={token}")
        landed = client.get(json.loads(poll.text)["url"], follow=True)
        assert landed.url == "https://s.1688.com/"
        assert client.cookies_for("s.1688.com")["__cn_logon_id__"] == "lumora_ip"
        assert client.cookies_for("s.taobao.com")["_nk_"] == client.cookies_for("list.tmall.com")["_nk_"]
