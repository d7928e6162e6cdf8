"""What the workbench tests share: a store with two real monitor runs (built once per session), a copy of it
per test, and the real ``scrapy review`` started as a subprocess on a free port, stopped by itself."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import CASSETTES, DEMO_REGISTRY, ROOT, SCRAPY, MonitorRun, built_once, scrapy_env

START_TIMEOUT = 60  # seconds for `scrapy review` to print its URL (2 busy cores)


@dataclass
class DemoStore:
    """A copy of the two-run store for one test, with the folders its runs wrote."""

    db: Path
    images: Path
    reports: Path  # the monitor's reports (one folder per run, each with summary.json)
    out: Path  # where this test's workbench prepares complaints
    run_ids: list[str]

    @property
    def url(self) -> str:
        return f"sqlite:///{self.db}"

    def summaries(self) -> list[dict]:
        return [json.loads((self.reports / run / "summary.json").read_text(encoding="utf-8")) for run in self.run_ids]


def _monitor(base: Path) -> None:
    command = [SCRAPY, "monitor", "--registry", str(DEMO_REGISTRY), "--replay", str(CASSETTES), "--out",
               str(base / "reports"), "--store", f"sqlite:///{base / 'store.db'}", "--images-store",
               str(base / "images"), "--no-progress", "-L", "WARNING"]
    done = subprocess.run(command, cwd=ROOT, env=scrapy_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def two_run_base(tmp_path_factory, first: MonitorRun) -> Path:
    """Two `scrapy monitor` runs of the demo registry on the cassettes, once per suite (read-only: each test
    copies the store): Taobao alone (the suite's ``demo_monitor_run``, copied), then every platform. The tests
    decide in the latest run; the dashboard counts both, which differ."""
    return built_once(tmp_path_factory, "workbench-two-runs", lambda base: (first.copy_to(base), _monitor(base)))


def demo_store(tmp_path_factory, tmp_path: Path, first: MonitorRun) -> DemoStore:
    base = two_run_base(tmp_path_factory, first)
    shutil.copy(base / "store.db", tmp_path / "store.db")
    runs = sorted(p.name for p in (base / "reports").iterdir() if (p / "summary.json").is_file())
    return DemoStore(tmp_path / "store.db", base / "images", base / "reports", tmp_path / "out", runs)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@dataclass
class Running:
    url: str  # the URL `scrapy review` printed (with the token, off loopback)
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str | None:
        found = re.search(r"[?&]token=([^&\s]+)", self.url)
        return found.group(1) if found else None


@contextmanager
def workbench(store: DemoStore, *args: str, host: str = "127.0.0.1", reviewer: str = "tester") -> Iterator[Running]:
    """``scrapy review`` on ``store`` until the block ends; the printed URL is read from its output."""
    port = free_port()
    log = store.db.parent / f"review-{port}.log"
    command = [SCRAPY, "review", "--registry", str(DEMO_REGISTRY), "--store", store.url, "--images-store",
               str(store.images), "--out", str(store.out), "--replay", str(CASSETTES), "--host", host,
               "--port", str(port), "--reviewer", reviewer, "--no-browser", *args]
    with log.open("w", encoding="utf-8") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=scrapy_env(), stdout=output, stderr=subprocess.STDOUT)
    try:
        url = _wait_for_url(process, log, port)
        yield Running(url, port, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def _wait_for_url(process: subprocess.Popen, log: Path, port: int) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        found = re.search(r"open (http://\S+)", log.read_text(encoding="utf-8"))
        if found and _accepts(port):
            return found.group(1)
        if process.poll() is not None:
            raise AssertionError(f"scrapy review stopped ({process.returncode}): {log.read_text(encoding='utf-8')}")
        time.sleep(0.2)
    raise AssertionError(f"scrapy review did not start in {START_TIMEOUT}s: {log.read_text(encoding='utf-8')}")


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def card_states(html: str) -> dict[str, str]:
    """The queue page's cards: key → decision state (undecided, approve, reject, changed)."""
    return {key: state for state, key in re.findall(r'class="card decision-(\S+)" data-key="([^"]+)"', html)}
