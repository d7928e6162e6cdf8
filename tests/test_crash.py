"""A monitor run killed at a random point and run again loses and duplicates nothing; two runs on one
store never interleave (RELIABILITY.md)."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import CASSETTES, REAL_SCRAPY, SCRAPY, scrapy_env
from tests.monitor_runs import one_page_registry

# the one-page watch list on Taobao: 5 listings (Tmall ones included); slowed by DOWNLOAD_DELAY where a run must
# still be working when the test acts on it
LISTINGS = 5


def _monitor_command(workdir: Path, delay: float, scrapy: str = SCRAPY) -> list[str]:
    registry = workdir / "registry" / "one-page.yaml"
    if not registry.exists():
        one_page_registry(registry.parent)
    return [scrapy, "monitor", "--registry", str(registry), "--replay", str(CASSETTES), "--platforms", "taobao",
            "--out", str(workdir / "reports"), "--store", f"sqlite:///{workdir / 'store.db'}",
            "--images-store", str(workdir / "images"), "--no-progress", "-s", f"DOWNLOAD_DELAY={delay}",
            # a slowed run stores each listing as it comes, so a kill lands between writes, not before the first
            *(("-s", "STORE_BATCH_SIZE=1") if delay else ())]


def _start(workdir: Path, delay: float, scrapy: str = SCRAPY) -> subprocess.Popen:
    return subprocess.Popen(_monitor_command(workdir, delay, scrapy), cwd=workdir, env=scrapy_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _counts(db: Path) -> tuple[int, int, str]:
    with sqlite3.connect(db) as connection:
        listings = connection.execute("SELECT COUNT(*) FROM listings").fetchone()[0]
        distinct = connection.execute("SELECT COUNT(DISTINCT platform || ':' || listing_id) FROM listings").fetchone()[0]
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
    assert listings == distinct
    return listings, distinct, integrity


@pytest.mark.parametrize("seed", [11, 22, 33])
def test_a_run_killed_at_a_random_point_and_run_again_stores_every_listing_once(tmp_path, seed):
    kill_after = random.Random(seed).uniform(0.8, 4.0)
    # about 10 s of crawling: the kill lands mid-run, at once on the exec'd process doing the work
    process = _start(tmp_path, delay=1.5, scrapy=REAL_SCRAPY)
    time.sleep(0.1)
    time.sleep(kill_after)
    assert process.poll() is None, "the run ended before the kill"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    rerun = subprocess.run(_monitor_command(tmp_path, 0), cwd=tmp_path, env=scrapy_env(), capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-3000:]
    listings, _, integrity = _counts(tmp_path / "store.db")
    assert integrity == "ok"
    assert listings == LISTINGS  # every listing of the watch list, once
    reports = sorted((tmp_path / "reports").glob("*/summary.json"))
    summary = json.loads(reports[-1].read_text(encoding="utf-8"))
    assert summary["statuses"] == {"new": LISTINGS}  # the resumed run still reports what the killed one found as new
    with sqlite3.connect(tmp_path / "store.db") as connection:
        statuses = {row[0] for row in connection.execute("SELECT status FROM runs")}
        locks = connection.execute("SELECT COUNT(*) FROM run_locks").fetchone()[0]
    assert statuses == {"finished"} and locks == 0


def test_a_second_run_on_the_same_store_refuses_while_the_first_works(tmp_path):
    first = _start(tmp_path, delay=1.0)  # about 7 s of crawling after the lock is taken
    db = tmp_path / "store.db"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with sqlite3.connect(db) as connection:
                if connection.execute("SELECT COUNT(*) FROM run_locks").fetchone()[0]:
                    break
        except sqlite3.OperationalError:
            pass
        time.sleep(0.1)
    second = subprocess.run(_monitor_command(tmp_path, 0), cwd=tmp_path, env=scrapy_env(), capture_output=True,
                            text=True, timeout=120)
    assert second.returncode == 1
    assert "another run" in second.stderr and "is working on this registry" in second.stderr
    output, _ = first.communicate(timeout=300)
    assert first.returncode == 0, output[-3000:]
    assert _counts(db)[0] == LISTINGS
