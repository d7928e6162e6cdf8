"""A monitor run that lost something never ends like a success: exit code 1, a count in summary.json
`errors`, a line in `problems`, and a run status in the store that is not plain "finished"."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest

from exports.run_report import ReportFailures, assess, platform_problems
from tests.conftest import CASSETTES, DEMO_REGISTRY, SCRAPY, scrapy_env
from tests.monitor_runs import one_page_registry


def monitor_command(workdir: Path, *extra: str, store: Path | None = None, registry: Path = DEMO_REGISTRY) -> list[str]:
    return [SCRAPY, "monitor", "--registry", str(registry), "--out", str(workdir / "reports"),
            "--store", f"sqlite:///{store or workdir / 'store.db'}", "--images-store", str(workdir / "images"),
            "--no-progress", *extra]


def summary_of(workdir: Path) -> dict:
    (path,) = (workdir / "reports").glob("*/summary.json")
    return json.loads(path.read_text(encoding="utf-8"))


def run_statuses(db: Path) -> list[str]:
    with sqlite3.connect(db) as connection:
        return [row[0] for row in connection.execute("SELECT status FROM runs")]


def test_a_run_whose_every_search_page_failed_exits_1_and_says_why(tmp_path):
    # no network: every request goes to a proxy on a loopback port that refuses connections
    with socket.socket() as refusing:
        refusing.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{refusing.getsockname()[1]}"
        # sessions off: the subject is the network, not the sign-in (a missing one skips the platform first)
        result = subprocess.run(monitor_command(tmp_path, "--platforms", "taobao", "-s", "RETRY_TIMES=0",
                                                "-s", "SESSIONS_ENABLED=False"),
                                cwd=tmp_path, env=scrapy_env(https_proxy=proxy, http_proxy=proxy),
                                capture_output=True, text=True, timeout=180)
    assert result.returncode == 1, result.stderr[-3000:]
    summary = summary_of(tmp_path)
    assert summary["exit_code"] == 1 and summary["platforms"]["taobao"]["listings"] == 0
    assert summary["errors"] >= 2 and summary["platforms"]["taobao"]["errors"] == summary["errors"]
    assert any("taobao: every search page failed" in problem for problem in summary["problems"])
    assert "every search page failed" in result.stdout  # printed at the end of the run too
    assert run_statuses(tmp_path / "store.db") == ["finished_with_errors"]


def test_a_full_disk_under_the_store_exits_1_and_counts_every_unstored_listing(tmp_path):
    # the store on a 300 kB tmpfs of its own (room for the empty store, not for the run; a private mount
    # namespace: no root needed, gone at exit);
    # what SQLite managed to write is copied out before the namespace ends;
    # every platform, one result page each (4 + 5 + 5 + 4 listings): room for one platform's batch, not for
    # releasing the lock
    registry = one_page_registry(tmp_path / "registry")
    (tmp_path / "disk").mkdir()
    db = tmp_path / "disk" / "store.db"
    script = 'mount -t tmpfs -o size=300k tmpfs "$DISK" && "$0" "$@"; code=$?; cp "$DISK"/store.db* "$OUT"; exit $code'
    result = subprocess.run(
        ["unshare", "--mount", "--map-root-user", "sh", "-c", script,
         *monitor_command(tmp_path, "--replay", str(CASSETTES), "-s", "STORE_BATCH_SIZE=10", store=db,
                          registry=registry)],
        cwd=tmp_path, env=scrapy_env(DISK=str(tmp_path / "disk"), OUT=str(tmp_path)), capture_output=True,
        text=True, timeout=300)
    assert result.returncode == 1, result.stderr[-3000:]
    summary = summary_of(tmp_path)
    with sqlite3.connect(tmp_path / "store.db") as connection:
        stored = connection.execute("SELECT COUNT(*) FROM listings").fetchone()[0]
        statuses = [row[0] for row in connection.execute("SELECT status FROM runs")]
    unstored = 18 - stored
    assert unstored > 0, "the disk did not fill: make the tmpfs smaller"
    problems = [p for p in summary["problems"] if "gathered but not stored" in p]
    assert sum(int(p.split(": ")[1].split()[0]) for p in problems) == unstored
    assert summary["errors"] >= unstored and summary["exit_code"] == 1
    assert "finished" not in statuses  # running (the end could not be written either) or finished_with_errors
    assert "gathered but not stored" in result.stdout


def test_a_comparison_picture_that_cannot_be_written_is_a_reported_error(tmp_path):
    run_folder = tmp_path / "reports" / "week-1"
    run_folder.mkdir(parents=True)
    (run_folder / "comparisons").write_text("a file where the pictures' folder belongs", encoding="utf-8")
    result = subprocess.run(monitor_command(tmp_path, "--replay", str(CASSETTES), "--platforms", "taobao",
                                            "--run-id", "week-1", registry=one_page_registry(tmp_path / "registry")),
                            cwd=tmp_path, env=scrapy_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr[-3000:]
    summary = summary_of(tmp_path)
    (problem,) = [p for p in summary["problems"] if "comparison pictures could not be made" in p]
    missing = int(problem.split()[0])
    listings = [json.loads(line) for line in (run_folder / "listings.jsonl").read_text(encoding="utf-8").splitlines()]
    with_hit = [item for item in listings if item.get("verdict") in ("infringing", "suspect")
                and isinstance(item.get("image_hit"), dict) and item["image_hit"].get("listing_image_path")]
    assert missing == len(with_hit) > 0 and summary["errors"] == missing
    assert run_statuses(tmp_path / "store.db") == ["finished_with_errors"]


def test_an_image_failure_is_counted_once_through_its_parent_key():
    stats = {"search/pages": 3, "images/failed": 2, "images/failed/decode": 1, "images/failed/too_large": 1}
    assert platform_problems("taobao", stats) == [
        (2, "taobao: 2 listings whose image could not be saved or hashed")]
    errors, problems, interrupted = assess({"taobao": stats}, ReportFailures())
    assert (errors, len(problems), interrupted) == (2, 1, False)
    only_children = {"images/failed/decode": 1, "images/failed/too_large": 2}
    assert platform_problems("tmall", only_children)[0][0] == 3


def test_a_clean_run_has_no_errors_and_finishes(tmp_path):
    result = subprocess.run(monitor_command(tmp_path, "--replay", str(CASSETTES), "--platforms", "tmall",
                                            "-s", "PROGRESS_INTERVAL=0.02",
                                            registry=one_page_registry(tmp_path / "registry")),
                            cwd=tmp_path, env=scrapy_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    # off a terminal, a progress line every PROGRESS_INTERVAL s (a short one: a one-page replay takes well under 1 s)
    assert "progress tmall: " in result.stderr
    summary = summary_of(tmp_path)
    assert summary["errors"] == 0 and summary["problems"] == []
    assert run_statuses(tmp_path / "store.db") == ["finished"]


@pytest.mark.parametrize("named", ["../outside/private.png", "ABSOLUTE"])
def test_a_report_picture_never_draws_an_image_outside_the_images_store(tmp_path, named):
    # the same path check as the complaint evidence: listing data naming another file on disk gets no picture
    from exports.run_report import write_run_reports
    from registry import load_registry
    from store import Store
    from tests.export_fixtures import draw_image, listing

    private = draw_image(tmp_path / "outside" / "private.png", (0, 0, 0))
    images = tmp_path / "images"
    images.mkdir()
    registry = load_registry(DEMO_REGISTRY)
    hit = {"registered_image": "images/trail_jacket_1.jpg", "distance": 0, "stage": "phash",
           "listing_image_path": str(private) if named == "ABSOLUTE" else named}
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        store.ensure_run("run-1", registry=str(registry.path), platforms=["taobao"])
        store.save_listings("run-1", [listing(image_hit=hit)])
        failures = ReportFailures()
        write_run_reports(store, registry, "run-1", tmp_path / "report", str(images), {"taobao": {}}, [], set(),
                          failures)
    finally:
        store.close()
    assert failures.comparisons == 1  # said in the run's problems, exit code 1
    assert not (tmp_path / "report" / "comparisons").exists()
    (line,) = (tmp_path / "report" / "listings.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["image_evidence"] == ""
