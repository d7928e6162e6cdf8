"""Listings per second: one process (`scrapy crawl`, SQLite) beside 1, 2 and 4 `scrapy worker`s
(scrapy-redis + PostgreSQL), all on the replay fixtures.

    .venv/bin/python -m bench.bench_workers [--copies 40] [--workers 1,2,4]

Starts its own redis-server and PostgreSQL on loopback (tests/services.py), and writes
bench/results/workers.md.

Workload: the demo registry's two Taobao queries, 3 pages each, repeated ``--copies`` times (the
replay serves a repeated request its last recording again). Every copy is crawled, parsed, validated,
scored and written to the store; duplicates are neither filtered by the dupefilter
(``KeepEveryRequest``) nor by the store, which upserts the same rows again. "Listings" counts
``search/listings`` (listings read from search pages, summed over workers); the time is wall-clock
from launching the processes to the work being done (the single process exits; the workers' queue
and leases are empty), so it includes Scrapy's start-up in every column.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CASSETTES = ROOT / "fixtures" / "cassettes"
REGISTRY = ROOT / "fixtures" / "registry" / "demo.yaml"
SCRAPY = str(Path(sys.executable).with_name("scrapy"))
QUERIES = ["LUMORA 冲锋衣", "露莫拉"]
PAGES = 3


class KeepEveryRequest:
    """A dupefilter (scrapy-redis scheduler interface) that lets every copy of the workload through."""

    @classmethod
    def from_spider(cls, spider):
        return cls()

    def request_seen(self, request) -> bool:
        return False

    def log(self, request, spider) -> None:
        pass

    def close(self, reason: str = "") -> None:
        pass

    def clear(self) -> None:
        pass


def _env() -> dict:
    env = dict(os.environ)
    env["SCRAPY_SETTINGS_MODULE"] = "crawlers.settings"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["LOG_LEVEL"] = "WARNING"
    return env


def single_process(workdir: Path, copies: int, delay: float) -> dict:
    stats_file = workdir / "single.stats.json"
    command = [SCRAPY, "crawl", "taobao", "-a", "query=" + "|".join(QUERIES * copies), "-a", f"pages={PAGES}",
               "-s", f"REPLAY_DIR={CASSETTES}", "-s", f"REGISTRY_PATH={REGISTRY}",
               "-s", f"STORE_URL=sqlite:///{workdir / 'single.db'}", "-s", f"STATS_FILE={stats_file}",
               "-s", f"FORMAT_DIAG_DIR={workdir / 'diag'}", "-s", f"DOWNLOAD_DELAY={delay}"]
    started = time.monotonic()
    subprocess.run(command, cwd=workdir, env=_env(), check=True, capture_output=True)
    elapsed = time.monotonic() - started
    stats = json.loads(stats_file.read_text())
    return {"listings": stats.get("search/listings", 0), "seconds": elapsed}


def distributed(workdir: Path, copies: int, workers: int, redis_url: str, store_url: str, delay: float) -> dict:
    import redis

    from crawlers.distributed import Coordinator, stats_key
    from crawlers.spiders.taobao import TaobaoSpider

    run_id = f"bench-{workers}-{time.time_ns()}"
    spider = TaobaoSpider(query="|".join(QUERIES), pages=str(PAGES))
    spider._configure()
    coordinator = Coordinator(redis_url, run_id, poll_seconds=0.05)
    coordinator.publish(platforms={"taobao": "taobao"}, registry=str(REGISTRY), pages=PAGES, replay=str(CASSETTES))
    coordinator.seed(spider, [spider.search_request(q, 1, {}) for q in QUERIES * copies])
    started = time.monotonic()
    processes = [subprocess.Popen(
        [SCRAPY, "worker", "--redis-url", redis_url, "--store", store_url, "--run-id", run_id, "--wait", "30",
         "-s", "DUPEFILTER_CLASS=bench.bench_workers.KeepEveryRequest", "-s", "MAX_IDLE_TIME_BEFORE_CLOSE=1",
         "-s", f"FORMAT_DIAG_DIR={workdir / 'diag'}", "-s", f"DOWNLOAD_DELAY={delay}"],
        cwd=workdir, env=_env(), stdout=subprocess.DEVNULL, stderr=(workdir / f"w{workers}-{n}.log").open("w"))
        for n in range(workers)]
    try:
        coordinator.wait(timeout=600)
        elapsed = time.monotonic() - started
        for process in processes:
            process.wait(timeout=60)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    server = redis.Redis.from_url(redis_url)
    listings = int(server.hget(stats_key(run_id, "taobao"), "search/listings") or 0)
    coordinator.finish()
    return {"listings": listings, "seconds": elapsed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=150, help="times the two queries are repeated (default 150)")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to measure (default 1,2,4)")
    parser.add_argument("--delay", type=float, default=0.25,
                        help="DOWNLOAD_DELAY of the second, latency-bound table (default 0.25 s; 0: skip it)")
    parser.add_argument("--delay-copies", type=int, default=30, help="copies for the latency-bound table")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "workers.md"))
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",")]

    from tests.services import create_database, postgres_service, redis_service

    tables = []
    setups = [(0.0, args.copies)] + ([(args.delay, args.delay_copies)] if args.delay else [])
    with TemporaryDirectory(prefix="ipwatch-bench-") as tmp, redis_service() as redis_url, \
            postgres_service() as pg_server:
        workdir = Path(tmp)
        for delay, copies in setups:
            rows = []
            result = single_process(workdir, copies, delay)
            rows.append(("1 process (`scrapy crawl`), SQLite", result))
            print(f"delay {delay}: single process: {result}", flush=True)
            for count in counts:
                result = distributed(workdir, copies, count, redis_url, create_database(pg_server), delay)
                rows.append((f"{count} worker{'s' if count > 1 else ''} (`scrapy worker`), Redis + PostgreSQL",
                             result))
                print(f"delay {delay}: {count} worker(s): {result}", flush=True)
            tables.append((delay, copies, rows))
    write_report(Path(args.out), tables, args)
    print(f"written: {args.out}")
    return 0


def write_report(path: Path, tables: list, args) -> None:
    lines = [
        "# Listings per second: one process vs. scrapy-redis workers",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {os.cpu_count()} CPU (`nproc`), {platform.machine()}, Python {platform.python_version()}, "
        f"load average at the end {os.getloadavg()[0]:.1f}",
        f"- command: `.venv/bin/python -m bench.bench_workers --copies {args.copies} --workers {args.workers} "
        f"--delay {args.delay} --delay-copies {args.delay_copies}`",
        f"- workload: Taobao replay fixtures, queries {' and '.join(QUERIES)}, {PAGES} pages, repeated; every "
        "listing parsed, validated, scored (demo registry) and stored",
    ]
    for delay, copies, rows in tables:
        base = rows[0][1]["listings"] / rows[0][1]["seconds"]
        title = ("CPU-bound: replay, no delay" if not delay else
                 f"latency-bound: replay with DOWNLOAD_DELAY={delay} s per process, as politeness imposes live")
        lines += ["", f"## {title} (x{copies} copies)", "",
                  "| configuration | listings | seconds | listings/s | vs. 1 process |", "|---|---:|---:|---:|---:|"]
        for name, result in rows:
            rate = result["listings"] / result["seconds"]
            lines.append(f"| {name} | {result['listings']} | {result['seconds']:.1f} | {rate:.0f} | "
                         f"{rate / base:.2f}x |")
    lines += ["", "Time is wall clock from launching the process(es) until the work is done (the single process "
              "exits; the workers' queue and leases are empty), Scrapy's start-up (~1.5-3 s per process) included.",
              "", "## What limits the figure", "",
              f"- On this {os.cpu_count()}-core machine the replay table is CPU-bound: with no network, parsing, "
              "scoring and the store's writes are all the work, every worker is a whole Python process (start-up, "
              "Scrapy, the registry and scorer loaded again), and Redis, PostgreSQL and the bench share the same "
              "cores. More workers than cores cannot go faster, and each worker adds a Redis round trip per "
              "request and one PostgreSQL transaction per page that one process writing SQLite in batches does "
              "not pay. The load average above says how much else ran on the machine at the time.",
              "- The latency-bound table is what workers are for: live, each process waits DOWNLOAD_DELAY / "
              "AutoThrottle between requests to a platform, so throughput grows with the number of workers "
              "(each on its own IP) until the platform's rate limits and blocks, not the CPU, set the ceiling.",
              "- Below linear there too: four Scrapy start-ups share two cores (seconds of a short run), each "
              "query is a chain of dependent pages, and a worker takes up to CONCURRENT_REQUESTS requests at "
              "once and works through them at its own delay, so near the end some wait in one worker while "
              "others are idle (lower CONCURRENT_REQUESTS on workers to share the tail more evenly).",
              ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
