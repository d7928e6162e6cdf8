"""Which run a monitor start continues: only a recent one, of the same registry and platforms; SIGTERM
leaves the run resumable (``store.resume``; README, "Resuming a stopped run"). The run locks: test_store_locks.py."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from store import Store
from tests.conftest import CASSETTES, DEMO_REGISTRY, ROOT, SCRAPY, MonitorRun, scrapy_env

WEEK2 = ROOT / "fixtures" / "cassettes-week2"


def monitor_command(workdir: Path, replay: Path = CASSETTES, *extra: str, registry: Path = DEMO_REGISTRY) -> list[str]:
    return [SCRAPY, "monitor", "--registry", str(registry), "--replay", str(replay), "--out",
            str(workdir / "reports"), "--store", f"sqlite:///{workdir / 'store.db'}", "--images-store",
            str(workdir / "images"), "--no-progress", *extra]


def monitor(workdir: Path, replay: Path = CASSETTES, *extra: str,
            registry: Path = DEMO_REGISTRY) -> subprocess.CompletedProcess:
    return subprocess.run(monitor_command(workdir, replay, *extra, registry=registry), cwd=workdir, env=scrapy_env(),
                          capture_output=True, text=True, timeout=300)


def runs(workdir: Path) -> dict[str, dict]:
    with sqlite3.connect(workdir / "store.db") as connection:
        connection.row_factory = sqlite3.Row
        return {row["run_id"]: dict(row) for row in connection.execute("SELECT * FROM runs")}


def leave_open(workdir: Path, run_id: str, started_ago: timedelta) -> None:
    """The store as a SIGKILL before the run's end leaves it: still running, no finished_at."""
    started = (datetime.now(UTC) - started_ago).strftime("%Y-%m-%dT%H:%M:%SZ")
    with sqlite3.connect(workdir / "store.db") as connection:
        connection.execute("UPDATE runs SET status = 'running', finished_at = NULL, started_at = ? WHERE run_id = ?",
                           (started, run_id))


def monitor_ok(workdir: Path, replay: Path = CASSETTES, *extra: str) -> subprocess.CompletedProcess:
    result = monitor(workdir, replay, *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def killed_run(demo_monitor_run: MonitorRun, workdir: Path, started_ago: timedelta) -> str:
    """The session's replayed Taobao monitor run (``demo_monitor_run``, shared read-only) copied to ``workdir``
    and left as a SIGKILL ``started_ago`` leaves it; its run id. A run to completion stores what a killed one
    would have stored by then, and more: the next start must resume or close it all the same."""
    run_id = demo_monitor_run.copy_to(workdir).report.name
    leave_open(workdir, run_id, started_ago)
    return run_id


def report(workdir: Path, run_id: str) -> tuple[dict, dict[str, dict]]:
    folder = workdir / "reports" / run_id
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    lines = (folder / "listings.jsonl").read_text(encoding="utf-8").splitlines()
    return summary, {item["listing_id"]: item for item in map(json.loads, lines)}


def test_a_run_killed_last_week_is_closed_and_this_weeks_start_reports_only_what_it_saw(tmp_path, demo_monitor_run):
    last_week = killed_run(demo_monitor_run, tmp_path, timedelta(days=7))

    second = monitor_ok(tmp_path, WEEK2, "--platforms", "taobao")
    now = runs(tmp_path)
    assert now[last_week]["status"] == "interrupted" and now[last_week]["finished_at"]
    assert "RESUME_MAX_AGE" in json.loads(now[last_week]["stats"])["closed"]
    (this_week,) = set(now) - {last_week}
    assert now[this_week]["status"] == "finished"
    _, listings = report(tmp_path, this_week)
    assert "191705429157" not in listings  # gone in week 2: last week's sighting is not this week's news
    assert listings["958667946125"]["status"] == "seen"
    assert "is not resumed" in second.stderr


def test_a_run_of_other_platforms_is_not_resumed(tmp_path, demo_monitor_run):
    taobao_only = killed_run(demo_monitor_run, tmp_path, timedelta(minutes=10))
    monitor_ok(tmp_path, CASSETTES, "--platforms", "tmall")
    now = runs(tmp_path)
    assert len(now) == 2 and now[taobao_only]["status"] == "interrupted"
    assert "crawled taobao, not tmall" in json.loads(now[taobao_only]["stats"])["closed"]


def test_a_recent_killed_run_is_resumed_under_its_id(tmp_path, demo_monitor_run):
    this_morning = killed_run(demo_monitor_run, tmp_path, timedelta(hours=1))
    monitor_ok(tmp_path, CASSETTES, "--platforms", "taobao")
    assert list(runs(tmp_path)) == [this_morning] and runs(tmp_path)[this_morning]["status"] == "finished"
    summary, _ = report(tmp_path, this_morning)
    assert summary["statuses"] == {"new": 36}


def test_an_old_named_run_is_resumed_only_when_named_again(tmp_path, demo_monitor_run):
    named = killed_run(demo_monitor_run, tmp_path, timedelta(days=2))
    monitor_ok(tmp_path, CASSETTES, "--platforms", "taobao", "--run-id", named)
    assert list(runs(tmp_path)) == [named] and runs(tmp_path)[named]["status"] == "finished"
    assert report(tmp_path, named)[0]["statuses"] == {"new": 36}

    leave_open(tmp_path, named, timedelta(days=2))
    monitor_ok(tmp_path, CASSETTES, "--platforms", "taobao")  # no --run-id: no surprise resumption
    now = runs(tmp_path)
    assert len(now) == 2 and now[named]["status"] == "interrupted" and now[named]["finished_at"]


def test_sigterm_leaves_the_run_interrupted_and_the_next_start_resumes_it(tmp_path):
    process = subprocess.Popen(monitor_command(tmp_path, CASSETTES, "--platforms", "taobao", "-s",
                                               "DOWNLOAD_DELAY=0.6", "-s", "STORE_BATCH_SIZE=5"),
                               cwd=tmp_path, env=scrapy_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until some listings are stored (about 10 s of crawling in all)
        try:
            with sqlite3.connect(tmp_path / "store.db") as connection:
                if connection.execute("SELECT COUNT(*) FROM sightings").fetchone()[0]:
                    break
        except sqlite3.OperationalError:
            pass
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 1, output[-3000:]
    (stopped,) = runs(tmp_path).values()
    assert stopped["status"] == "interrupted" and stopped["finished_at"] is None, stopped
    assert "stopped before its end" in output

    monitor_ok(tmp_path, CASSETTES, "--platforms", "taobao")
    assert list(runs(tmp_path)) == [stopped["run_id"]]
    summary, _ = report(tmp_path, stopped["run_id"])
    assert summary["statuses"] == {"new": 36}  # what it found before SIGTERM is still new, not "seen"


def test_a_run_id_of_another_registrys_run_is_bad_input(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.ensure_run("other-brand", registry="/srv/brands/other/registry.yaml", platforms=["taobao"])
    store.close()
    result = monitor(tmp_path, CASSETTES, "--platforms", "taobao", "--run-id", "other-brand")
    assert result.returncode == 2
    assert "--run-id other-brand" in result.stderr and "/srv/brands/other/registry.yaml" in result.stderr
    assert runs(tmp_path)["other-brand"]["status"] == "running"  # another registry's run is left alone
