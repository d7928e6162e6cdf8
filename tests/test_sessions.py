"""Sign-in sessions without a platform: the three cookie formats, `scrapy session import/status/clear`,
private files, pacing, proxies and log redaction (RELIABILITY.md, "Live crawling")."""

from __future__ import annotations

import io
import itertools
import json
import logging
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest
import qrcode

from crawlers.extensions import install_log_redaction, redact
from crawlers.sessions.formats import CookieFormatError, parse_cookies
from crawlers.sessions.pacing import Pacer, spend_daily_page
from crawlers.sessions.proxy import ProxyError, playwright_proxy, proxy_url
from crawlers.sessions.qr import draw, module_grid
from crawlers.sessions.state import assess, mask, readiness
from crawlers.sessions.store import SessionStore
from tests.conftest import ROOT, SCRAPY, scrapy_env

YEAR_2030 = 1893456000
SIGNED_IN = {"unb": "2200012345", "cookie2": "1a2b3c4d5e6f7a8b", "tracknick": "lumora_ip", "_tb_token_": "e5f6a7b8"}


def _extension_json(cookies: dict, domain: str = ".taobao.com") -> str:
    return json.dumps([{"domain": domain, "name": name, "value": value, "path": "/", "expirationDate": YEAR_2030,
                        "secure": True, "httpOnly": name == "cookie2", "sameSite": "no_restriction",
                        "session": False} for name, value in cookies.items()])


def _netscape(cookies: dict, domain: str = ".taobao.com") -> str:
    lines = ["# Netscape HTTP Cookie File", "# exported by a browser extension", ""]
    for name, value in cookies.items():
        prefix = "#HttpOnly_" if name == "cookie2" else ""
        lines.append(f"{prefix}{domain}\tTRUE\t/\tTRUE\t{YEAR_2030}\t{name}\t{value}")
    return "\n".join(lines) + "\n"


def _header(cookies: dict) -> str:
    return "Cookie: " + "; ".join(f"{name}={value}" for name, value in cookies.items())


FORMATS = {"browser-extension JSON": _extension_json, "Netscape cookies.txt": _netscape, "Cookie header": _header}


def session_command(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SCRAPY, "session", *args, "-s", f"SESSIONS_DIR={tmp_path / 'sessions'}"], cwd=ROOT,
                          env=scrapy_env(), capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name", FORMATS)
def test_each_cookie_format_is_read_with_names_values_and_domains(name):
    cookies, found = parse_cookies(FORMATS[name](SIGNED_IN), default_domain="taobao.com")
    assert found == name
    assert {c["name"]: c["value"] for c in cookies} == SIGNED_IN
    assert {c["domain"] for c in cookies} == {".taobao.com"}
    if name != "Cookie header":  # a header carries no expiry
        assert {c["expires"] for c in cookies} == {YEAR_2030}
        assert next(c for c in cookies if c["name"] == "cookie2")["httpOnly"] is True


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("[{\"name\": \"unb\"}]", "cookie 1: needs name, value and domain"),
    ("# Netscape HTTP Cookie File\n.taobao.com\tTRUE\t/\n", "line 2: 3 tab-separated fields"),
    ("unb=1; justaword", "part 2 ('justaword') is not name=value"),
    ("{\"not\": \"cookies\"}", "not a list of cookies"),
])
def test_a_broken_cookie_file_says_where_it_breaks(text, message):
    with pytest.raises(CookieFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_cookies(text, default_domain="taobao.com")


@pytest.mark.parametrize("name", FORMATS)
def test_session_import_says_signed_in_which_account_and_when_the_key_cookies_expire(tmp_path, name):
    export = tmp_path / "export.txt"
    export.write_text(FORMATS[name](SIGNED_IN), encoding="utf-8")
    result = session_command(tmp_path, "import", "taobao", str(export))
    assert result.returncode == 0, result.stderr
    assert f"({name})" in result.stdout
    assert "signed in as lu*****ip" in result.stdout
    expiry = "2030-01-01T00:00:00Z" if name != "Cookie header" else "with the browser"
    assert f"key cookies expire {expiry}" in result.stdout
    assert "used by taobao,tmall" in result.stdout
    for value in SIGNED_IN.values():  # a credential is never printed, nor the account's full name
        assert value not in result.stdout + result.stderr


def test_importing_an_anonymous_visitors_cookies_says_not_signed_in_and_exits_1(tmp_path):
    export = tmp_path / "anonymous.txt"
    export.write_text("cookie2=1a2b3c4d5e6f; _tb_token_=e5f6a7b8; cna=abcdefgh", encoding="utf-8")
    result = session_command(tmp_path, "import", "tmall", str(export))
    assert result.returncode == 1
    assert "NOT signed in: no sign-in cookie (unb, lgc, tracknick, _nk_)" in result.stdout
    assert "scrapy login tmall" in result.stdout


def test_an_unreadable_file_or_unknown_platform_is_exit_2_with_a_message(tmp_path):
    missing = session_command(tmp_path, "import", "taobao", str(tmp_path / "nope.txt"))
    assert missing.returncode == 2 and "nope.txt: cannot read" in missing.stderr
    unknown = session_command(tmp_path, "import", "ebay", str(tmp_path / "nope.txt"))
    assert unknown.returncode == 2 and "unknown platform 'ebay'" in unknown.stderr


def test_session_status_lists_every_session_and_clear_removes_one(tmp_path):
    export = tmp_path / "export.json"
    export.write_text(_extension_json(SIGNED_IN), encoding="utf-8")
    assert session_command(tmp_path, "import", "taobao", str(export)).returncode == 0
    assert session_command(tmp_path, "import", "taobao", str(export), "--profile", "spare").returncode == 0
    logon = {"__cn_logon__": "false", "cookie2": "1a2b3c4d5e6f"}
    (tmp_path / "b2b.json").write_text(_extension_json(logon, ".1688.com"), encoding="utf-8")
    assert session_command(tmp_path, "import", "1688", str(tmp_path / "b2b.json")).returncode == 1
    status = session_command(tmp_path, "status")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0].split()[:4] == ["platforms", "profile", "signed", "in"]
    rows = {tuple(line.split()[:3]) for line in lines[1:4]}
    assert ("taobao,tmall", "default", "yes") in rows and ("taobao,tmall", "spare", "yes") in rows
    assert ("1688", "default", "NO") in rows
    assert "1688/default: no sign-in cookie (__cn_logon__)" in status.stdout
    assert "2030-01-01T00:00:00Z" in status.stdout and "lu*****ip" in status.stdout
    cleared = session_command(tmp_path, "clear", "tmall", "--profile", "spare")
    assert "taobao/spare: session cleared" in cleared.stdout
    assert not (tmp_path / "sessions" / "taobao" / "spare").exists()
    assert "spare" not in session_command(tmp_path, "status").stdout


def test_session_files_are_0600_in_0700_folders_and_data_is_kept_out_of_git(tmp_path):
    export = tmp_path / "export.txt"
    export.write_text(_netscape(SIGNED_IN), encoding="utf-8")
    assert session_command(tmp_path, "import", "taobao", str(export)).returncode == 0
    root = tmp_path / "sessions"
    for folder in (root, root / "taobao", root / "taobao" / "default"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for name in ("state.json", "meta.json"):
        assert stat.S_IMODE((root / "taobao" / "default" / name).stat().st_mode) == 0o600, name
    ignored = subprocess.run(["git", "check-ignore", "-q", "data/sessions/taobao/default/state.json"], cwd=ROOT)
    assert ignored.returncode == 0


def test_expired_marker_cookies_are_not_a_usable_session(tmp_path):
    store = SessionStore(tmp_path)
    session = store.create("taobao")
    session.cookies, _ = parse_cookies(_extension_json(SIGNED_IN), "taobao.com")
    for cookie in session.cookies:
        cookie["expires"] = time.time() - 60
    session.save()
    assert assess(session).reason == "its sign-in cookies have expired"
    ready = readiness(store, "taobao")
    assert not ready.can_crawl
    assert ready.message == ("taobao needs a sign-in (the stored session taobao/default: its sign-in cookies have "
                             "expired): run `scrapy login taobao`")


def test_1688_takes_the_shared_taobao_sign_in_and_alibaba_needs_none(tmp_path):
    store = SessionStore(tmp_path)
    assert not readiness(store, "1688").can_crawl
    assert readiness(store, "alibaba").can_crawl and readiness(store, "alibaba").sessions == []
    session = store.create("taobao")
    session.cookies, _ = parse_cookies(_netscape(SIGNED_IN), "taobao.com")
    session.save()
    assert [s.key for s in readiness(store, "1688").sessions] == ["taobao/default"]


def test_account_names_are_masked():
    assert mask("lumora_ip") == "lu*****ip"
    assert mask("abc") == "a**"


def test_pacing_spaces_one_sessions_requests_with_jitter_and_queues_concurrent_ones():
    now = [1000.0]
    pacer = Pacer(per_minute=6, jitter=0.3, clock=lambda: now[0])
    waits = [pacer.reserve() for _ in range(50)]  # fifty requests asked for at the same instant
    gaps = [b - a for a, b in itertools.pairwise(waits)]
    assert waits[0] == 0
    assert all(7.0 <= gap <= 13.0 for gap in gaps)  # 10 s ± 30 %
    assert len({round(gap, 3) for gap in gaps}) > 10  # not a machine's even beat


def test_the_daily_page_budget_is_counted_per_day_and_refuses_when_spent():
    meta: dict = {}
    assert all(spend_daily_page(meta, 3) for _ in range(3))
    assert not spend_daily_page(meta, 3)
    meta["pages_day"] = "2000-01-01"  # a new day
    assert spend_daily_page(meta, 3) and meta["pages_today"] == 1


def test_proxy_per_platform_before_the_global_one_and_a_bad_one_is_named(monkeypatch):
    from scrapy.settings import Settings

    settings = Settings({"PROXY_URL": "http://all.example:3128", "PROXY_URLS": {"1688": "socks5://b2b.example:1080"}})
    monkeypatch.setenv("PROXY_URL_TAOBAO", "http://user:pa55w0rd@tb.example:8080")
    assert proxy_url(settings, "taobao") == ("http://user:pa55w0rd@tb.example:8080", "PROXY_URL_TAOBAO")
    assert proxy_url(settings, "1688")[0] == "socks5://b2b.example:1080"
    assert proxy_url(settings, "alibaba") == ("http://all.example:3128", "PROXY_URL")
    assert playwright_proxy("http://user:pa55w0rd@tb.example:8080") == {
        "server": "http://tb.example:8080", "username": "user", "password": "pa55w0rd"}
    with pytest.raises(ProxyError, match=r"PROXY_URL: a proxy is http \| https \| socks5") as error:
        proxy_url(Settings({"PROXY_URL": "ftp://u:hunter22@x.example"}), "tmall")
    assert "hunter22" not in str(error.value)


def test_log_lines_never_show_login_cookies_tokens_or_proxy_passwords(caplog, monkeypatch):
    from scrapy.settings import Settings

    install_log_redaction()
    proxy_url(Settings({"PROXY_URL": "http://ops:S3cretProxyPw@proxy.example:3128"}), "taobao")
    names = ["_nk_", "dnk", "uc1", "cna", "enc", "unb", "lgc", "tracknick", "cookie2", "_tb_token_", "sgcookie",
             "_m_h5_tk", "_m_h5_tk_enc", "__cn_logon_id__", "__last_loginid__", "__last_memberid__"]
    line = "; ".join(f"{name}=V{index}planted" for index, name in enumerate(names))
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").debug("Cookie: %s via http://ops:S3cretProxyPw@proxy.example:3128", line)
        logging.getLogger("test").debug("password alone: S3cretProxyPw")
    text = caplog.text
    assert "planted" not in text and "S3cretProxyPw" not in text
    assert redact("sort=price&at=3") == "sort=price&at=3"  # ordinary parameters stay readable


def test_a_record_no_handler_writes_is_never_formatted_and_one_written_is_redacted(monkeypatch):
    """Redaction reads a record's message when a handler writes it, not when it is made: Scrapy's loggers let
    DEBUG through to handlers at INFO, and it makes a DEBUG record with the whole item for every listing."""
    install_log_redaction()
    formatted = []

    class Item:
        def __str__(self) -> str:
            formatted.append(1)
            return "{'url': 'https://s.taobao.com/search?q=x&_m_h5_tk=planted1234'}"

    logger = logging.getLogger("scrapy.core.scraper")
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setLevel(logging.INFO)
    monkeypatch.setattr(logger, "propagate", False)  # this handler alone, not the suite's capture
    monkeypatch.setattr(logger, "level", logging.DEBUG)
    logger.addHandler(handler)
    try:
        logger.debug("Scraped from <200 x>\n%s", Item())
        assert formatted == []  # made, and written by no handler
        handler.setLevel(logging.DEBUG)
        logger.debug("Scraped from <200 x>\n%s", Item())
    finally:
        logger.removeHandler(handler)
    assert written.getvalue() == "Scraped from <200 x>\n{'url': 'https://s.taobao.com/search?q=x&_m_h5_tk=<redacted>'}\n"


def test_a_qr_screenshot_is_read_back_to_its_module_grid_and_drawn_in_half_blocks(tmp_path):
    code = qrcode.QRCode(border=4, box_size=7)
    code.add_data("https://login.m.taobao.com/qrcodeCheck.htm?lgToken=0123456789abcdef")
    code.make()
    picture = tmp_path / "qr.png"
    code.make_image().save(picture)
    expected = [row[4:-4] for row in code.get_matrix()[4:-4]]
    assert module_grid(picture) == expected
    drawing = draw(expected, colour=False).splitlines()
    assert len(drawing) == (len(expected) + 4 + 1) // 2  # two module rows per line, quiet zone of two
    assert drawing[1].startswith("  █▀▀▀▀▀█")  # the finder pattern's top edge


def test_replayed_crawls_need_no_session(tmp_path):
    from tests.conftest import run_crawl

    result = run_crawl(tmp_path, "taobao", "-a", "query=LUMORA 冲锋衣",
                       settings={"SESSIONS_DIR": str(tmp_path / "no-sessions")})
    assert result.returncode == 0
    assert result.stats.get("search/listings", 0) > 0
    assert not any(key.startswith("session/") for key in result.stats)
    assert not os.path.exists(tmp_path / "no-sessions")


def test_a_loaded_sessions_values_are_redacted_whatever_name_they_appear_under(tmp_path, caplog):
    from crawlers.extensions import register_secret_values

    install_log_redaction()
    session = SessionStore(tmp_path).create("taobao")
    session.cookies, _ = parse_cookies("t=9f8e7d6c5b4a39281706f5e4d3c2b1a0; unb=2200012345", "taobao.com")
    register_secret_values(session.secret_values())  # what the session middleware does when it loads one
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").debug("echoed: 9f8e7d6c5b4a39281706f5e4d3c2b1a0 and uid 2200012345")
        logging.getLogger("test").debug("mtop ?t=1764582000000&sign=abc")
    assert "9f8e7d6c5b4a39281706f5e4d3c2b1a0" not in caplog.text and "2200012345" not in caplog.text
    assert "t=1764582000000" in caplog.text  # mtop's timestamp parameter stays readable
