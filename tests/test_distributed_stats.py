"""A worker's counters (pages, blocks, errors) reach the coordinator as the worker goes, so a worker killed with
SIGKILL still counts in the run's stats and summary.json (RELIABILITY.md, "Workers' stats"). Real Redis and
PostgreSQL (tests/services.py), real `scrapy monitor` and `scrapy worker` processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from crawlers.distributed import Coordinator, publish_stats, stats_key
from tests.conftest import CASSETTES, DEMO_REGISTRY, ROOT, SCRAPY, run_crawl, scrapy_env
from tests.services import postgres_server, postgres_url, redis_server, redis_url  # noqa: F401  (fixtures)

QUERIES = ["LUMORA 冲锋衣", "露莫拉"]


@pytest.mark.services
def test_stats_published_again_and_again_add_up_to_the_workers_totals_once(redis_url):  # noqa: F811
    import redis

    server = redis.Redis.from_url(redis_url)
    published: dict = {}
    published = publish_stats(server, "r1", "taobao", {"search/pages": 2, "finish_reason": "x"}, published,
                              worker="w1")
    published = publish_stats(server, "r1", "taobao", {"search/pages": 5, "blocked/taobao": 1}, published,
                              worker="w1")
    publish_stats(server, "r1", "taobao", {"search/pages": 3}, {}, worker="w2")  # another worker
    coordinator = Coordinator(redis_url, "r1")
    coordinator.spiders = ["taobao"]
    stats = coordinator.stats()["taobao"]
    assert (stats["search/pages"], stats["blocked/taobao"]) == (8, 1)
    assert stats["workers/unfinished"] == 2  # published, never closed: killed, or still running
    publish_stats(server, "r1", "taobao", {"search/pages": 5, "blocked/taobao": 1}, published, worker="w1",
                  reason="finished")
    stats = coordinator.stats()["taobao"]
    assert (stats["search/pages"], stats["workers/finished"], stats["workers/unfinished"]) == (8, 1, 1)


def _worker(tmp_path: Path, name: str, redis: str, store: str, delay: float) -> subprocess.Popen:
    log = (tmp_path / f"{name}.log").open("w")
    return subprocess.Popen(
        [SCRAPY, "worker", "--redis-url", redis, "--store", store, "--wait", "60",
         "-s", f"DOWNLOAD_DELAY={delay}", "-s", "CONCURRENT_REQUESTS=1", "-s", "WORKER_LEASE_SECONDS=3",
         "-s", "WORKER_STATS_SECONDS=0.5", "-s", "MAX_IDLE_TIME_BEFORE_CLOSE=1",
         "-s", f"FORMAT_DIAG_DIR={tmp_path / 'diag'}"],
        cwd=tmp_path, env=scrapy_env(), stdout=log, stderr=subprocess.STDOUT)


@pytest.mark.services
def test_a_worker_killed_with_sigkill_still_counts_its_pages_in_the_summary(tmp_path, redis_url, postgres_url):  # noqa: F811
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import ProgrammingError

    single = tmp_path / "single"
    single.mkdir()
    reference = run_crawl(single, "taobao", "-a", "query=" + "|".join(QUERIES), "-a", "pages=3")
    pages = reference.stats["search/pages"]
    assert reference.returncode == 0 and pages >= 4, reference.log[-2000:]

    run_id = "killed-worker-stats"
    coordinator = subprocess.Popen(
        [SCRAPY, "monitor", "--registry", str(DEMO_REGISTRY), "--replay", str(CASSETTES), "--platforms", "taobao",
         "--store", postgres_url, "--redis-url", redis_url, "--run-id", run_id, "--out", str(tmp_path / "reports"),
         "--no-progress", "-s", "MAX_IDLE_TIME_BEFORE_CLOSE=1", "-s", "WORKER_LEASE_SECONDS=3"],
        cwd=ROOT, env=scrapy_env(), stdout=(tmp_path / "coordinator.log").open("w"), stderr=subprocess.STDOUT)
    victim = _worker(tmp_path, "victim", redis_url, postgres_url, delay=1.5)
    survivor = None
    store = create_engine(postgres_url)
    try:
        deadline = time.monotonic() + 90
        while True:  # the victim has stored (so acknowledged) a page: its count must not be lost with it
            try:
                with store.connect() as connection:
                    stored = connection.execute(text("SELECT count(*) FROM sightings WHERE run_id = :run"),
                                                {"run": run_id}).scalar_one()
            except ProgrammingError:  # the coordinator has not created the tables yet
                stored = 0
            if stored:
                break
            assert victim.poll() is None, (tmp_path / "victim.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the victim never stored a page"
            time.sleep(0.1)
        time.sleep(1.0)  # two WORKER_STATS_SECONDS periods: no close, no clean exit, only the running updates
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        survivor = _worker(tmp_path, "survivor", redis_url, postgres_url, delay=0.2)
        assert coordinator.wait(timeout=120) == 0, (tmp_path / "coordinator.log").read_text()[-3000:]
        assert survivor.wait(timeout=30) == 0
    finally:
        for process in (coordinator, victim, survivor):
            if process is not None and process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
        store.dispose()

    summary = json.loads((tmp_path / "reports" / run_id / "summary.json").read_text(encoding="utf-8"))
    taobao = summary["platforms"]["taobao"]
    # every page was crawled by one worker or the other and acknowledged once; without the victim's
    # running updates, the pages it finished would be missing here
    assert taobao["pages"] >= pages, (taobao, pages)
    import redis

    raw = redis.Redis.from_url(redis_url).hgetall(stats_key(run_id, "taobao"))
    totals = {k.decode(): int(v) for k, v in raw.items()}
    assert totals["workers/finished"] == 1 and totals["search/pages"] == taobao["pages"]
