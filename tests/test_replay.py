"""Replay from vcrpy cassettes and recording new ones (docs/contract.md §3)."""

from __future__ import annotations

import asyncio
import gzip
import http.server
import json
import os
import re
import subprocess
import threading
from pathlib import Path

import pytest
import requests
import vcr
import yaml

from crawlers.replay import CassetteLibrary, request_key
from crawlers.replay import library as replay_library
from crawlers.replay.recorder import scrub_url
from tests.conftest import CASSETTES, ROOT, SCRAPY, scrapy_env

MTOP = "https://h5api.m.taobao.com/h5/mtop.relationrecommend.wirelessrecommend.recommend/2.0/"
DATA = '{"appId":"34385","params":"{\\"q\\":\\"%E9%9C%B2%E8%8E%AB%E6%8B%89\\",\\"page\\":1,\\"myCNA\\":\\"x1\\"}"}'


def test_key_ignores_volatile_mtop_parameters_and_json_keys():
    from urllib.parse import quote

    a = f"{MTOP}?jsv=2.7.2&appKey=12574478&t=1&sign=aa&api=x&v=2.0&callback=mtopjsonp2&data={quote(DATA)}"
    other_data = DATA.replace("x1", "y2")  # myCNA is a device id: volatile
    b = f"{MTOP}?jsv=2.6.1&appKey=12574478&t=2&sign=bb&api=x&v=2.0&callback=mtopjsonp6&data={quote(other_data)}&spm=a.b"
    assert request_key("GET", a) == request_key("GET", b)
    assert '"q":"露莫拉"' in request_key("GET", a)  # percent-encoded UTF-8 inside the JSON, decoded


def test_key_keeps_what_selects_the_content():
    from urllib.parse import quote

    page1 = f"{MTOP}?api=x&data={quote(DATA)}"
    second_page = DATA.replace(":1,", ":2,")
    page2 = f"{MTOP}?api=x&data={quote(second_page)}"
    assert request_key("GET", page1) != request_key("GET", page2)
    assert request_key("GET", "https://s.1688.com/s?keywords=%CA%D6%BB%FA") != request_key(
        "GET", "https://s.1688.com/s?keywords=%E6%89%8B%E6%9C%BA")  # GBK and UTF-8 keywords differ
    assert request_key("POST", "https://x.com/a", b"data=1&t=5") == request_key("POST", "https://x.com/a", b"t=9&data=1")
    assert request_key("POST", "https://x.com/a", b"data=1") != request_key("POST", "https://x.com/a", b"data=2")


def _cassette(path: Path, bodies: list[str], uri: str = "https://example.alicdn.com/a?t=1") -> None:
    interactions = [{"request": {"method": "GET", "uri": uri, "body": None, "headers": {}},
                     "response": {"status": {"code": 200, "message": "OK"}, "headers": {},
                                  "body": {"string": body}}} for body in bodies]
    path.write_text(yaml.safe_dump({"interactions": interactions, "version": 1}), encoding="utf-8")


def test_identical_requests_replay_in_recorded_order_then_the_last_repeats(tmp_path):
    _cassette(tmp_path / "a.yaml", ["first", "second"])
    library = CassetteLibrary(tmp_path)
    bodies = [library.lookup("GET", "https://example.alicdn.com/a?t=9").body for _ in range(3)]
    assert bodies == [b"first", b"second", b"second"]
    strict = CassetteLibrary(tmp_path, allow_repeats=False)
    assert [strict.lookup("GET", "https://example.alicdn.com/a").body for _ in range(2)] == [b"first", b"second"]
    assert strict.lookup("GET", "https://example.alicdn.com/a") is None


def test_a_broken_cassette_is_reported_and_the_others_still_load(tmp_path):
    _cassette(tmp_path / "good.yaml", ["ok"])
    (tmp_path / "bad.yaml").write_text("interactions: [ {request: ", encoding="utf-8")
    library = CassetteLibrary(tmp_path)
    assert library.lookup("GET", "https://example.alicdn.com/a").body == b"ok"
    assert len(library.errors) == 1 and "bad.yaml" in library.errors[0]


def test_kept_parses_serve_later_libraries_until_the_cassette_changes(tmp_path, monkeypatch):
    """``keep_parsed`` (the suite's fork server parses the bundled cassettes once): a library made later reads the
    kept parse, and a cassette changed since, in size or modification time, is parsed again."""
    monkeypatch.setattr(replay_library, "_KEPT", {})
    path = tmp_path / "a.yaml"
    _cassette(path, ["kept"])
    assert replay_library.keep_parsed(tmp_path) == 1
    when = path.stat().st_mtime_ns

    def replayed() -> bytes:
        return CassetteLibrary(tmp_path).lookup("GET", "https://example.alicdn.com/a").body

    _cassette(path, ["same"])  # the same size, and its modification time put back: the kept parse is read
    os.utime(path, ns=(when, when))
    assert replayed() == b"kept"
    _cassette(path, ["newr"])  # the same size, later
    os.utime(path, ns=(when + 10**9, when + 10**9))
    assert replayed() == b"newr"
    _cassette(path, ["longer"])
    os.utime(path, ns=(when, when))
    assert replayed() == b"longer"


def test_integration_a_miss_is_counted_logged_with_its_key_and_fails_only_that_request(crawl):
    result = crawl("taobao", "-a", "query=露莫拉|nothing recorded for this", "-a", "pages=1")
    assert result.stats["replay/miss"] == 1
    assert "replay miss: no recording for https://h5api.m.taobao.com" in result.log
    assert '"q":"nothing recorded for this"' in result.log  # the normalised key is in the log line
    assert len(result.items) > 0  # the other query went on


def test_replay_honours_download_maxsize(caplog):
    from scrapy import Spider
    from scrapy.utils.test import get_crawler

    from crawlers.replay.handler import ReplayDownloadHandler, ResponseTooLarge
    from tests.replayed import make_spider

    crawler = get_crawler(Spider, {"REPLAY_DIR": str(CASSETTES), "DOWNLOAD_MAXSIZE": 1000})
    crawler.stats.open_spider()
    handler = ReplayDownloadHandler(crawler)
    request = make_spider("taobao", query="露莫拉").search_request("露莫拉", 1, {})  # its page is 5.7 kB
    with pytest.raises(ResponseTooLarge):
        asyncio.run(handler.download_request(request))
    assert crawler.stats.get_value("replay/too_large") == 1
    assert "over DOWNLOAD_MAXSIZE" in caplog.text


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"<html><body>蓝色 page for {self.path}</body></html>".encode()
        if self.path.startswith("/gz"):
            payload = gzip.compress(body)
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
        else:
            payload = body
            self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Set-Cookie", "cookie2=SECRETSESSIONVALUE123; Path=/")
        self.send_header("Set-Cookie", "_m_h5_tk=abcdefabcdefabcdefabcdefabcdef12_1793611800000; Path=/")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_recorded_cassettes_are_scrubbed_and_replay_in_vcrpy_and_in_scrapy(tmp_path, local_server):
    base = f"http://127.0.0.1:{local_server.server_address[1]}"
    urls = [f"{base}/plain?q=1&t=123", f"{base}/gz?sid=SLIDERSESSIONBLOB"]
    record_dir = tmp_path / "recorded"
    command = [SCRAPY, "runspider", str(ROOT / "tests" / "spiders" / "echo.py"), "-a", "urls=" + " ".join(urls),
               "-s", f"RECORD_DIR={record_dir}", "-s", "STORE_URL=", "-O", str(tmp_path / "live.jsonl")]
    live = subprocess.run(command, cwd=tmp_path, env=scrapy_env(), capture_output=True, text=True, timeout=120)
    assert live.returncode == 0, live.stderr[-2000:]
    cassettes = list(record_dir.rglob("*.yaml"))
    assert len(cassettes) == 1
    text = cassettes[0].read_text(encoding="utf-8")
    assert "SECRETSESSIONVALUE123" not in text and "abcdefabcdefabcdef" not in text
    assert "SLIDERSESSIONBLOB" not in text
    assert not re.search(r"^\s+Cookie:", text, re.M) and "Content-Encoding" not in text
    assert "蓝色 page for /gz" in text  # stored decompressed, readable
    local_server.shutdown()  # from here on nothing can answer: only the cassette can

    with vcr.use_cassette(str(cassettes[0]), record_mode="none"):
        answer = requests.get(urls[0], timeout=5)
    assert answer.status_code == 200 and "蓝色 page for /plain?q=1&t=123" in answer.text
    assert "cookie2" not in answer.headers.get("Set-Cookie", "")

    replay = [SCRAPY, "runspider", str(ROOT / "tests" / "spiders" / "echo.py"), "-a", "urls=" + " ".join(urls),
              "-s", f"REPLAY_DIR={record_dir}", "-s", "STORE_URL=", "-O", str(tmp_path / "replayed.jsonl")]
    replayed = subprocess.run(replay, cwd=tmp_path, env=scrapy_env(), capture_output=True, text=True, timeout=120)
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    live_bodies = sorted(json.loads(line)["body"].replace("SLIDERSESSIONBLOB", "redacted")  # scrubbed on record
                         for line in (tmp_path / "live.jsonl").read_text().splitlines())
    replay_bodies = sorted(json.loads(line)["body"] for line in (tmp_path / "replayed.jsonl").read_text().splitlines())
    assert live_bodies == replay_bodies and len(live_bodies) == 2


def test_secret_query_parameters_are_scrubbed():
    assert "x5secdata=redacted" in scrub_url("https://a.taobao.com/p?x5secdata=abc&q=1")
    assert "q=1" in scrub_url("https://a.taobao.com/p?x5secdata=abc&q=1")
