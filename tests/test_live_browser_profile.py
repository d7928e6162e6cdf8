"""`scrapy session import PLATFORM --from-browser` (or a profile folder as the FILE): the cookies of the
analyst's own chromium profile, read from a real profile chromium wrote, with no D-Bus session (a server
or container; RELIABILITY.md, "Live crawling: socks5, render cookies, exit codes")."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from crawlers.sessions.store import SessionStore
from fixtures.double import PlatformDouble
from tests.conftest import SCRAPY, scrapy_env


@pytest.fixture(scope="module")
def profile(tmp_path_factory) -> tuple[Path, list[dict]]:
    """A chromium user-data folder holding the double's signed-in Taobao cookies and an unrelated site's."""
    from playwright.sync_api import sync_playwright

    from crawlers.browser import DEBIAN_CHROMIUM

    home = tmp_path_factory.mktemp("home")
    user_data = home / ".config" / "chromium"
    with PlatformDouble() as double:
        cookies = double.signed_in_cookies("taobao")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(str(user_data), executable_path=DEBIAN_CHROMIUM,
                                                                args=["--no-sandbox", "--disable-gpu"])
        context.add_cookies([{k: c[k] for k in ("name", "value", "domain", "path", "expires")} for c in cookies]
                            + [{"name": "other", "value": "elsewhere1", "domain": ".example.org", "path": "/"}])
        context.close()  # chromium writes its Cookies database, values encrypted
    return home, cookies


def session_command(home: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = scrapy_env()
    env["HOME"] = str(home)
    for name in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    return subprocess.run([SCRAPY, "session", *args, "-s", f"SESSIONS_DIR={tmp_path / 'sessions'}"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.browser
def test_from_browser_reads_the_default_chromium_profile_without_d_bus(profile, tmp_path):
    home, cookies = profile
    database = home / ".config" / "chromium" / "Default"
    assert b"elsewhere1" not in next(database.rglob("Cookies")).read_bytes()  # encrypted on disk
    result = session_command(home, tmp_path, "import", "taobao", "--from-browser")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "(chromium profile)" in result.stdout and "taobao/default: signed in as lu*****ip" in result.stdout
    saved = SessionStore(tmp_path / "sessions").load("taobao")
    assert {(c["name"], c["value"]) for c in saved.cookies} == {(c["name"], c["value"]) for c in cookies}
    assert "elsewhere1" not in json.dumps(saved.cookies)  # only the sign-in's own domains
    assert all(c["value"] not in result.stdout + result.stderr for c in cookies if len(c["value"]) >= 8)


@pytest.mark.browser
def test_a_profile_folder_can_be_given_as_the_file(profile, tmp_path):
    home, _cookies = profile
    result = session_command(home, tmp_path, "import", "taobao", str(home / ".config" / "chromium"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "signed in as lu*****ip" in result.stdout


def test_no_browser_profile_is_a_clear_message_and_exit_2(tmp_path):
    result = session_command(tmp_path, tmp_path, "import", "taobao", "--from-browser")
    assert result.returncode == 2
    assert "no chromium cookie database in" in result.stderr and "Traceback" not in result.stderr
