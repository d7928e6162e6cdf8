"""Shared test helpers: paths, and running a real `scrapy crawl` or `scrapy monitor` in a subprocess (once per
suite, on whichever xdist worker asks first, for the runs several test files read)."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

from contract import PLATFORMS

pytest_plugins = ["tests.export_fixtures"]  # the export tests' registry and builders

ROOT = Path(__file__).resolve().parents[1]
CASSETTES = ROOT / "fixtures" / "cassettes"
EXPECTED = ROOT / "fixtures" / "expected"
DEMO_REGISTRY = ROOT / "fixtures" / "registry" / "demo.yaml"
WEEK2 = ROOT / "fixtures" / "cassettes-week2"
# `scrapy` exec'd as a user runs it; SCRAPY, the same command forked from the test worker's server, which has
# the libraries imported already (tests/forkserver.py: what that changes, and which tests use REAL_SCRAPY).
REAL_SCRAPY = str(Path(sys.executable).with_name("scrapy"))
SCRAPY = str(ROOT / "tests" / "bin" / "scrapy")
PYTHON = str(ROOT / "tests" / "bin" / "python")  # the same for `python SCRIPT | -c CODE | -m MODULE` crawl scripts
os.environ.setdefault("IPWATCH_TEST_PYTHON", sys.executable)
os.environ.setdefault("IPWATCH_TEST_REAL_SCRAPY", REAL_SCRAPY)


@dataclass
class CrawlResult:
    returncode: int
    items: list[dict]
    stats: dict
    log: str

    def by_id(self) -> dict[str, dict]:
        return {item["listing_id"]: item for item in self.items}


def scrapy_env(**extra: str) -> dict:
    env = dict(os.environ)
    env["SCRAPY_SETTINGS_MODULE"] = "crawlers.settings"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def shared_temp(tmp_path_factory) -> Path:
    """The temporary folder every xdist worker of this session sees: the parent of the workers' own."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def built_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder ``name`` that ``build(folder)`` fills, built once per suite and shared read-only.

    Under xdist every worker has a base temp folder of its own inside one shared parent: the first worker to
    ask builds there under a file lock, the others wait for it and read the same folder. A build that fails
    leaves no mark, so the next test to ask builds again (and fails with its own message).
    """
    shared = shared_temp(tmp_path_factory)
    folder, done = shared / name, shared / f"{name}.done"
    with FileLock(str(shared / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            build(folder)
            done.touch()
    return folder


def run_crawl(workdir: Path, spider: str, *args: str, settings: dict | None = None, replay: Path | None = CASSETTES,
              timeout: int = 120) -> CrawlResult:
    """`scrapy crawl SPIDER ARGS -s REPLAY_DIR=… -O items.jsonl` in ``workdir``; items, stats and log back."""
    out, stats_file = workdir / "items.jsonl", workdir / "stats.json"
    command = [SCRAPY, "crawl", spider, *args, "-O", str(out), "-s", f"STATS_FILE={stats_file}",
               "-s", f"STORE_URL=sqlite:///{workdir / 'store.db'}", "-s", f"FORMAT_DIAG_DIR={workdir / 'diag'}"]
    if replay is not None:
        command += ["-s", f"REPLAY_DIR={replay}"]
    for name, value in (settings or {}).items():
        command += ["-s", f"{name}={value}"]
    process = subprocess.run(command, cwd=workdir, env=scrapy_env(), capture_output=True, text=True, timeout=timeout)
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    return CrawlResult(process.returncode, items, stats, process.stdout + process.stderr)


# Test files that share a costly build run first (xdist hands each worker a run of consecutive tests): one
# worker builds and runs them while the others go on with the rest. Sorted last by name, every worker reached
# the workbench's two-run store at the end and two of them waited for the third to build it.
FIRST = ("tests/test_workbench.py", "tests/test_workbench_browser.py")


def pytest_collection_modifyitems(items) -> None:
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in FIRST)  # stable: the rest keep their order


_FORK_SERVER: dict = {}
FORK_SERVER_WAIT = 60.0  # seconds the workers' start waits for the fork server's preload (about 7 s here)


def _measured() -> bool:
    try:
        import coverage
    except ImportError:
        return False
    return coverage.Coverage.current() is not None


def pytest_configure(config) -> None:
    """One fork server for SCRAPY for the whole run (tests/forkserver.py), started by the process that starts the
    xdist workers, before it starts them: they inherit its socket's path and, once it is ready, are forked from it
    themselves (:func:`_fork_the_workers`); a command run before it is ready is exec'd. None under coverage, whose
    measuring of each `scrapy` process starts with the process (SCRAPY then execs the real one)."""
    if os.environ.get("PYTEST_XDIST_WORKER") or _measured() or os.environ.get("IPWATCH_TEST_NO_FORKSERVER"):
        return
    folder = Path(tempfile.mkdtemp(prefix="ipwatch-fork-"))  # short: a socket's path has at most 107 bytes
    path = folder / "scrapy.sock"
    status, log = (folder / "status").open("w"), (folder / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "tests.forkserver", str(path)], cwd=ROOT, env=scrapy_env(),
                              stdin=subprocess.PIPE, stdout=status, stderr=log)
    _FORK_SERVER.update(server=server, folder=folder, files=(status, log))
    os.environ["IPWATCH_TEST_FORKSERVER"] = str(path)
    _fork_the_workers(config)


def _fork_the_workers(config) -> None:
    """The xdist workers forked from the fork server too (``popen//python=PYTHON``), once it is ready: each then
    starts with the libraries and our modules imported, and collects the tests in about a second instead of
    importing them again (5-7 s of CPU a worker). Waiting for it costs one core the 7 s of its preload; the
    workers' imports would have taken both cores longer. Without a server ready in time they are exec'd."""
    workers = getattr(config.option, "tx", None) or []
    if not workers or any(spec != "popen" for spec in workers):  # no xdist, or workers the user chose
        return
    if fork_server_said(wait=FORK_SERVER_WAIT) == "ready":
        config.option.tx = [f"popen//python={PYTHON}"] * len(workers)


def pytest_unconfigure(config) -> None:
    if not _FORK_SERVER:
        return
    os.environ.pop("IPWATCH_TEST_FORKSERVER", None)
    server = _FORK_SERVER["server"]
    server.stdin.close()  # the server's signal to kill what it still runs and stop
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
    for file in _FORK_SERVER["files"]:
        file.close()
    shutil.rmtree(_FORK_SERVER["folder"], ignore_errors=True)
    _FORK_SERVER.clear()


def fork_server_said(wait: float = 0.0) -> str:
    """What the run's fork server said: "ready", why it could not start, or "" (none, or not yet after
    ``wait`` seconds). Until it is ready, SCRAPY execs the real `scrapy`: slower, the same tests."""
    path = os.environ.get("IPWATCH_TEST_FORKSERVER")
    if not path:
        return ""
    status = Path(path).with_name("status")
    deadline = time.monotonic() + wait
    while True:
        said = status.read_text(encoding="utf-8") if status.exists() else ""
        if said.endswith("\n") or time.monotonic() >= deadline:
            return said.strip()
        time.sleep(0.05)


def pytest_terminal_summary(terminalreporter) -> None:
    said = fork_server_said() if _FORK_SERVER else "ready"
    if said == "" and _FORK_SERVER["server"].poll() is None:  # a short run, over before the preload
        terminalreporter.write_line("tests/forkserver.py was still preloading: this run's scrapy commands were "
                                    "exec'd")
    elif said != "ready":
        terminalreporter.write_line(f"tests/forkserver.py did not start ({said or 'see its log'}): "
                                    "the suite's scrapy commands were exec'd", yellow=True)


@pytest.fixture(scope="session", autouse=True)
def shared_image_caches(tmp_path_factory):
    """One OCR cache (``OCR_CACHE_DIR``), one image memo (``IMAGE_MEMO_DIR``) and one cache of the registered
    photos' hashes (``IMAGE_HASH_CACHE_DIR``) for every process the suite starts, as workers and brands can
    share them: each fixture picture is read, hashed, matched, looked inside and drawn beside its registered
    photo once per suite, not once per run. The reading, hashing, matching and drawing themselves are tested
    in-process with caches and memos of their own (test_scoring_pipeline.py, test_ocr.py, test_image_cache.py,
    test_image_memo.py), and a replayed run reusing a memo is checked to report exactly what the run that
    filled it did. And one compile cache for Node (``NODE_COMPILE_CACHE``), where Playwright's driver, which
    every browser a test starts begins with, keeps its compiled scripts (0.1 s of its 0.7 s of CPU)."""
    folder = shared_temp(tmp_path_factory)
    names = {"OCR_CACHE_DIR": "ocr-cache", "IMAGE_MEMO_DIR": "image-memo", "IMAGE_HASH_CACHE_DIR": "registered-hashes",
             "NODE_COMPILE_CACHE": "node-compile-cache"}
    for name, sub in names.items():
        os.environ[name] = str(folder / sub)
    yield folder
    for name in names:
        os.environ.pop(name, None)


@pytest.fixture
def crawl(tmp_path):
    def _crawl(spider: str, *args: str, **kwargs) -> CrawlResult:
        return run_crawl(tmp_path, spider, *args, **kwargs)

    return _crawl


DEMO_QUERIES = "LUMORA 冲锋衣|露莫拉"  # the demo registry's watch list


class ReplayedCrawls:
    """Integration crawls on the fixture cassettes, each run once per suite and shared read-only.

    ``get(platform, *args)`` runs ``scrapy crawl platform args`` (or reads the earlier result, which another
    xdist worker may have made); ``prefetch`` runs several at once in their own folders.
    """

    def __init__(self, tmp_path_factory) -> None:
        self._factory = tmp_path_factory
        self._done: dict[tuple[str, ...], CrawlResult] = {}

    def _run(self, key: tuple[str, ...]) -> CrawlResult:
        def build(folder: Path) -> None:
            result = run_crawl(folder, *key)
            (folder / "crawl.json").write_text(json.dumps({"returncode": result.returncode, "log": result.log}),
                                               encoding="utf-8")

        name = "crawl-" + hashlib.sha256("\0".join(key).encode()).hexdigest()[:16]
        folder = built_once(self._factory, name, build)
        run = json.loads((folder / "crawl.json").read_text(encoding="utf-8"))
        out, stats = folder / "items.jsonl", folder / "stats.json"
        items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
        result = CrawlResult(run["returncode"], items, json.loads(stats.read_text()) if stats.exists() else {},
                             run["log"])
        result.workdir = folder
        return result

    def prefetch(self, *crawls: tuple[str, ...]) -> None:
        missing = [key for key in dict.fromkeys(crawls) if key not in self._done]
        with ThreadPoolExecutor(max_workers=3) as pool:
            for key, result in zip(missing, pool.map(self._run, missing), strict=True):
                self._done[key] = result

    def get(self, platform: str, *args: str) -> CrawlResult:
        self.prefetch((platform, *args))
        return self._done[(platform, *args)]

    def demo(self, platform: str) -> CrawlResult:
        """Both demo queries, three pages each."""
        return self.get(platform, *demo_args())

    def prefetch_demos(self) -> None:
        self.prefetch(*((name, *demo_args()) for name in PLATFORMS))


def demo_args() -> tuple[str, ...]:
    return ("-a", f"query={DEMO_QUERIES}", "-a", "pages=3")


@pytest.fixture(scope="session")
def replayed_crawls(tmp_path_factory) -> ReplayedCrawls:
    return ReplayedCrawls(tmp_path_factory)


# --- `scrapy monitor` ------------------------------------------------------------------------------------


def scrapy(workdir: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([SCRAPY, *args], cwd=workdir, env=scrapy_env(), capture_output=True, text=True,
                          timeout=timeout)


def monitor(workdir: Path, replay: Path, *extra: str, registry: Path = DEMO_REGISTRY) -> tuple[int, Path | None, str]:
    """A replayed Taobao `scrapy monitor` with its store, images and reports in ``workdir``: (exit code, the new
    report folder, the output)."""
    before = set((workdir / "reports").glob("*")) if (workdir / "reports").exists() else set()
    result = scrapy(workdir, "monitor", "--registry", str(registry), "--replay", str(replay), "--platforms", "taobao",
                    "--out", str(workdir / "reports"), "--store", f"sqlite:///{workdir / 'store.db'}",
                    "--images-store", str(workdir / "images"), "--no-progress", *extra)
    after = set((workdir / "reports").glob("*")) if (workdir / "reports").exists() else set()
    new = sorted(after - before)
    return result.returncode, (new[-1] if new else None), result.stdout + result.stderr


def read_review(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def read_listings(report: Path) -> dict[str, dict]:
    lines = (report / "listings.jsonl").read_text(encoding="utf-8").splitlines()
    return {item["listing_id"]: item for item in map(json.loads, lines)}


@dataclass
class MonitorRun:
    """A finished replayed monitor run: its folder (store.db, images/, reports/) and its report folder."""

    workdir: Path
    report: Path

    def copy_to(self, folder: Path) -> MonitorRun:
        """The same run in ``folder``, for a test that goes on from it (a review, a second week)."""
        shutil.copytree(self.workdir, folder, dirs_exist_ok=True)
        return MonitorRun(folder, folder / self.report.relative_to(self.workdir))


@pytest.fixture(scope="session")
def demo_monitor_run(tmp_path_factory) -> MonitorRun:
    """One replayed `scrapy monitor` of the demo registry on Taobao, run once per suite. Read-only: a test
    that writes (a review, complaints, another run) works on ``copy_to(tmp_path)``."""

    def build(folder: Path) -> None:
        code, _, log = monitor(folder, CASSETTES)
        assert code == 0, log[-4000:]

    workdir = built_once(tmp_path_factory, "demo-monitor", build)
    (report,) = sorted((workdir / "reports").iterdir())
    return MonitorRun(workdir, report)
