"""`scrapy monitor` on the live path (no --replay) against the platform double: reports come out."""

from __future__ import annotations

import json
import subprocess

from fixtures.double import PlatformDouble
from tests.conftest import DEMO_REGISTRY, SCRAPY, scrapy_env


def test_a_live_monitor_run_against_the_double_reports_alibaba_listings_and_the_taobao_login_wall(tmp_path):
    with PlatformDouble() as double:
        # the session layer off: with it, Taobao is skipped before any request (test_live_sessions.py)
        settings = {**double.scrapy_settings(), "AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0,
                    "BLOCK_BACKOFF_BASE": 0, "SESSIONS_ENABLED": False}
        command = [SCRAPY, "monitor", "--registry", str(DEMO_REGISTRY), "--platforms", "alibaba,taobao",
                   "--out", str(tmp_path / "reports"), "--store", f"sqlite:///{tmp_path / 'store.db'}",
                   "--images-store", str(tmp_path / "images"), "--no-progress"]
        for name, value in settings.items():
            command += ["-s", f"{name}={json.dumps(value) if isinstance(value, dict | list) else value}"]
        run = subprocess.run(command, cwd=tmp_path, env=scrapy_env(), capture_output=True, text=True, timeout=300)
        served_images = [r for r in double.requests(host="*.alicdn.com") if r.outcome == "served"]
        wall = [r for r in double.requests(host="h5api.m.taobao.com") if r.outcome == "login-wall"]
    assert run.returncode == 0, run.stderr[-2000:]
    (report,) = (tmp_path / "reports").iterdir()
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert summary["replay"] is None
    assert summary["platforms"]["alibaba"]["listings"] > 0 and summary["platforms"]["alibaba"]["blocked"] == 0
    assert summary["platforms"]["taobao"]["listings"] == 0 and summary["platforms"]["taobao"]["blocked"] > 0
    assert {"listings.jsonl", "review.csv", "report.html"} <= {p.name for p in report.iterdir()}
    assert served_images and wall
