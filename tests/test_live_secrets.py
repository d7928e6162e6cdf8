"""A live monitor run with a signed-in session: the session's values (the double's own sign-in cookies and
planted ones under the other login-cookie names) are nowhere in what the run writes or logs, at DEBUG, with
a recording made and a proxy with a password in use (RELIABILITY.md, "Live crawling")."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from fixtures.double import PlatformDouble
from fixtures.double.proxy import CountingProxy
from tests.conftest import DEMO_REGISTRY, SCRAPY, scrapy_env
from tests.test_live_sessions import live_settings, plant_session

PLANTED = "PLANTEDl1veQ9"
EXTRA = {name: f"{PLANTED}{name.strip('_')}" for name in ("cookie17", "x5sec", "enc", "cna", "cookie1")}
PROXY_PASSWORD = f"{PLANTED}proxypw"


def _leaks(folder: Path, secrets: set[str], skip: Path) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and skip not in path.parents:
            data = path.read_bytes()
            found += [f"{path.relative_to(folder)}: {secret[:6]}…" for secret in secrets if secret.encode() in data]
    return found


def test_planted_session_values_and_the_proxy_password_are_absent_from_every_output(tmp_path):
    with PlatformDouble() as double, CountingProxy(username="ops", password=PROXY_PASSWORD) as proxy:
        session = plant_session(double, tmp_path, "taobao", extra=EXTRA)
        secrets = {str(c["value"]) for c in session.cookies if len(str(c["value"])) >= 8} | {PROXY_PASSWORD}
        settings = live_settings(double, tmp_path, RECORD_DIR=str(tmp_path / "recorded"), PROXY_URL=proxy.url)
        settings.pop("ITEM_PIPELINES")  # the whole chain: images, scores, store
        settings.pop("STORE_URL")
        command = [SCRAPY, "monitor", "--registry", str(DEMO_REGISTRY), "--platforms", "taobao", "--no-progress",
                   "--out", str(tmp_path / "reports"), "--store", f"sqlite:///{tmp_path / 'store.db'}",
                   "--images-store", str(tmp_path / "images"), "-L", "DEBUG"]
        for name, value in settings.items():
            command += ["-s", f"{name}={value}"]
        run = subprocess.run(command, cwd=tmp_path, env=scrapy_env(), capture_output=True, text=True, timeout=240)
        assert proxy.count > 0
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(next((tmp_path / "reports").glob("*/summary.json")).read_text())
    assert summary["platforms"]["taobao"]["listings"] > 0  # the session was used: the trap was on the wire
    assert summary["platforms"]["taobao"]["session"]["state"] == "ok"
    assert list((tmp_path / "recorded").rglob("*.yaml")), "nothing was recorded: the test would prove nothing"
    (tmp_path / "monitor.log").write_text(run.stdout + run.stderr, encoding="utf-8")
    saved = json.loads((tmp_path / "sessions" / "taobao" / "default" / "state.json").read_text())["cookies"]
    assert EXTRA["x5sec"] in {c["value"] for c in saved}  # the session itself keeps them, of course
    # and what the platform set during the run (the mtop token pair), written back to the session
    secrets |= {str(c["value"]).split("_")[0] for c in saved if c["name"].startswith("_m_h5_tk")}
    assert _leaks(tmp_path, secrets, skip=tmp_path / "sessions") == []
