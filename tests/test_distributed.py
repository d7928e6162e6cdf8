"""Many workers: scrapy-redis queue in a real Redis, the store in a real PostgreSQL (tests/services.py).

The end-to-end test runs the coordinator (`scrapy monitor --redis-url`) and two `scrapy worker`s over
the replay fixtures, kills one worker with SIGKILL while it holds requests, and checks that every
listing is stored once with the scores a single-process SQLite monitor gives, and that the pages the
killed worker finished still count in the run's summary (tests/test_distributed_stats.py: how the
workers' stats add up).
"""

from __future__ import annotations

import functools
import json
import os
import pickle
import signal
import subprocess
import time
from pathlib import Path

import pytest
from scrapy.utils.request import request_from_dict

from crawlers.distributed import LeasedQueue, MtopDupeFilter, owners_key, queue_key, stats_key
from crawlers.spiders.taobao import TaobaoSpider
from tests.conftest import CASSETTES, DEMO_REGISTRY, REAL_SCRAPY, ROOT, SCRAPY, scrapy_env
from tests.services import postgres_server, postgres_url, redis_server, redis_url  # noqa: F401  (fixtures)

QUERIES = ["LUMORA 冲锋衣", "露莫拉"]
SCORE_FIELDS = ("score", "verdict", "reason", "ipr_id", "product_id", "explanation")


def _spider() -> TaobaoSpider:
    spider = TaobaoSpider(query="|".join(QUERIES), pages="3")
    spider._configure()
    return spider


@functools.cache
def _spider_loader():
    from scrapy.settings import Settings
    from scrapy.spiderloader import SpiderLoader

    settings = Settings()
    settings.setmodule("crawlers.settings", priority="project")
    return SpiderLoader.from_settings(settings)


def _search_spiders() -> list[str]:
    from crawlers.spiders.base import SearchSpider

    loader = _spider_loader()
    return sorted(name for name in loader.list() if issubclass(loader.load(name), SearchSpider))


@pytest.mark.parametrize("options", [{}, {"source": "html"}, {"render": "1"}], ids=["api", "html", "render"])
@pytest.mark.parametrize("name", _search_spiders())
def test_every_search_request_survives_scrapy_redis_serialisation(name, options):
    spider_cls = _spider_loader().load(name)
    spider = spider_cls(query="|".join(QUERIES), pages="3", **options)
    spider._configure()
    requests = [spider.search_request(QUERIES[0], 1, {}), spider.search_request(QUERIES[1], 2, {"page": 2})]
    if "mtop" in requests[0].meta:
        requests.append(spider.mtop.resign(requests[0]))
    for request in requests:
        back = request_from_dict(pickle.loads(pickle.dumps(request.to_dict(spider=spider), protocol=-1)),
                                 spider=spider)
        # repr: scrapy-playwright's PageMethod has no __eq__
        assert (back.url, back.method, back.body, repr(back.meta), back.dont_filter) == (
            request.url, request.method, request.body, repr(request.meta), request.dont_filter)
        assert back.callback == request.callback and back.errback == request.errback
        assert dict(back.headers) == dict(request.headers)


@pytest.mark.services
def test_a_request_whose_worker_vanished_is_leased_again_around_the_dupefilter(redis_url):  # noqa: F811
    import redis

    server = redis.Redis.from_url(redis_url)
    spider = _spider()
    key = queue_key("t1", spider.name)
    dead = LeasedQueue(server, spider, key, lease_seconds=1, worker="dead")
    alive = LeasedQueue(server, spider, key, lease_seconds=1, worker="alive")
    dupefilter = MtopDupeFilter(server, key="t1:dupefilter")
    request = spider.search_request(QUERIES[0], 1, {})
    assert not dupefilter.request_seen(request)
    dead.push(request)
    taken = dead.pop()
    assert taken is not None and alive.pop() is None
    assert dead.outstanding() == 1  # leased, not lost
    time.sleep(1.2)
    assert alive.requeue_expired() == 1
    again = alive.pop()
    assert again is not None and again.url == taken.url  # not stopped by the dupefilter
    assert dupefilter.request_seen(spider.search_request(QUERIES[0], 1, {}))  # a re-signed copy is a duplicate
    alive.ack([again.meta["work_id"]])
    dead.ack([taken.meta["work_id"]])  # the dead worker's late ack harms nothing
    assert alive.outstanding() == 0


@pytest.mark.services
def test_the_coordinator_puts_a_vanished_workers_lease_back_and_counts_it(redis_url):  # noqa: F811
    """The coordinator's own sweep, which a SIGKILL run reaches only when it looks before the surviving worker."""
    from crawlers.distributed.coordinator import Coordinator

    spider = _spider()
    coordinator = Coordinator(redis_url, "t-sweep", lease_seconds=1, poll_seconds=0.1)
    assert coordinator.seed(spider) == len(QUERIES)
    dead = LeasedQueue(coordinator.server, spider, queue_key("t-sweep", spider.name), lease_seconds=1, worker="dead")
    taken = dead.pop()
    assert taken is not None and coordinator.outstanding() == {spider.name: len(QUERIES)}
    assert coordinator.requeue_expired() == 0  # its lease still runs
    time.sleep(1.2)
    assert coordinator.requeue_expired() == 1
    stats = coordinator.server.hgetall(stats_key("t-sweep", spider.name))
    assert int(stats[b"work/requeued"]) == 1
    again = LeasedQueue(coordinator.server, spider, queue_key("t-sweep", spider.name), lease_seconds=60,
                        worker="alive").pop()
    assert again is not None and again.url == taken.url  # put back at the front of the queue


def test_a_retry_replaces_its_original_and_a_closing_worker_gives_its_work_back(redis_url):  # noqa: F811
    import redis

    server = redis.Redis.from_url(redis_url)
    spider = _spider()
    queue = LeasedQueue(server, spider, queue_key("t2", spider.name), lease_seconds=60, worker="w")
    for query in QUERIES:
        queue.push(spider.search_request(query, 1, {}))
    first, second = queue.pop(), queue.pop()
    retry = first.replace(dont_filter=True)  # what RetryMiddleware schedules: same meta, same work id
    queue.push(retry)
    assert (len(queue), queue.leased()) == (1, 1)  # the retry is queued; its original's lease is gone
    assert queue.give_back() == 1  # the second request, still in hand
    assert (len(queue), queue.leased(), queue.outstanding()) == (2, 0, 2)
    assert {queue.pop().url, queue.pop().url} == {retry.url, second.url}


@pytest.mark.services
def test_a_request_is_marked_seen_and_queued_in_one_step(redis_url):  # noqa: F811
    import redis

    server = redis.Redis.from_url(redis_url)
    spider = _spider()
    queue = LeasedQueue(server, spider, queue_key("t3", spider.name), worker="w")
    dupefilter = MtopDupeFilter(server, key="t3:dupefilter")
    first, copy = spider.search_request(QUERIES[0], 2, {}), spider.search_request(QUERIES[0], 2, {})
    assert first.url != copy.url  # signed anew each time
    fingerprint = dupefilter.request_fingerprint(first)
    assert dupefilter.request_fingerprint(copy) == fingerprint
    assert queue.push(first, seen_key=dupefilter.key, fingerprint=fingerprint)
    assert not queue.push(copy, seen_key=dupefilter.key, fingerprint=fingerprint)
    assert len(queue) == 1 and server.sismember(dupefilter.key, fingerprint)


@pytest.mark.services
def test_a_request_already_seen_is_not_queued_again_and_a_redirect_to_it_finishes_its_original(redis_url):  # noqa: F811
    """What a worker's scheduler does with a duplicate: a page redone after a worker died yields again the
    next page its first crawl queued; a redirect can lead to a page already crawled. Neither is queued twice,
    and the redirected request's own lease is acknowledged (it is done all the same)."""
    from scrapy.utils.test import get_crawler

    from crawlers.distributed import worker_settings
    from crawlers.distributed.queue import WORK_ID
    from crawlers.distributed.scheduler import LeasedScheduler

    spider = _spider()
    crawler = get_crawler(type(spider), settings_dict=worker_settings("t4", redis_url, {}))
    spider._set_crawler(crawler)
    scheduler = LeasedScheduler.from_crawler(crawler)
    scheduler.open(spider)
    first, again = spider.search_request(QUERIES[0], 2, {}), spider.search_request(QUERIES[0], 2, {})
    assert scheduler.enqueue_request(first) and not scheduler.enqueue_request(again)
    assert scheduler.queue.outstanding() == 1
    leased = scheduler.queue.pop()
    redirected = spider.search_request(QUERIES[0], 2, {}).replace(meta={**leased.meta})  # its work id kept
    assert redirected.meta[WORK_ID] in scheduler.queue.held
    assert not scheduler.enqueue_request(redirected)
    assert scheduler.queue.outstanding() == 0 and not scheduler.queue.held


def _store_rows(url: str, run_id: str) -> tuple[dict, int]:
    from sqlalchemy import func, select

    from store import Store, listings, sightings

    store = Store(url)
    with store.engine.connect() as connection:
        rows = {(r["platform"], r["listing_id"]): dict(r) for r in connection.execute(select(listings)).mappings()}
        sighted = connection.execute(select(func.count()).select_from(sightings)
                                     .where(sightings.c.run_id == run_id)).scalar_one()
    store.close()
    return rows, sighted


def _worker(tmp_path: Path, name: str, redis: str, store: str, delay: float, scrapy: str = SCRAPY) -> subprocess.Popen:
    log = (tmp_path / f"{name}.log").open("w")
    return subprocess.Popen(
        [scrapy, "worker", "--redis-url", redis, "--store", store, "--wait", "60",
         "-s", f"DOWNLOAD_DELAY={delay}", "-s", "CONCURRENT_REQUESTS=1", "-s", "WORKER_LEASE_SECONDS=3",
         "-s", "WORKER_STATS_SECONDS=0.5", "-s", "MAX_IDLE_TIME_BEFORE_CLOSE=1",
         "-s", f"STATS_FILE={tmp_path / (name + '.stats.json')}", "-s", f"FORMAT_DIAG_DIR={tmp_path / 'diag'}"],
        cwd=tmp_path, env=scrapy_env(), stdout=log, stderr=subprocess.STDOUT)


@pytest.mark.services
def test_two_workers_one_killed_midway_store_every_listing_once_with_single_process_scores(
        tmp_path, redis_url, postgres_url, demo_monitor_run, replayed_crawls):  # noqa: F811
    """One distributed run proves both halves of a SIGKILL mid-run: every listing is stored once with the
    scores the single-process monitor of the same registry gives (the session's ``demo_monitor_run``), and the
    pages the killed worker finished still count in ``summary.json`` (RELIABILITY.md, "Workers' stats") as
    many as a single-process crawl of the same queries counts (the session's ``replayed_crawls.demo``)."""
    import redis
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import ProgrammingError

    single_rows, _ = _store_rows(f"sqlite:///{demo_monitor_run.workdir / 'store.db'}", demo_monitor_run.report.name)
    expected = sorted((i["platform"], i["listing_id"]) for i in map(
        json.loads, (demo_monitor_run.report / "listings.jsonl").read_text(encoding="utf-8").splitlines()))
    single_crawl = replayed_crawls.demo("taobao")
    pages = single_crawl.stats["search/pages"]
    assert single_crawl.returncode == 0 and pages >= 4, single_crawl.log[-2000:]
    assert expected and set(single_rows) == set(expected)

    run_id = "distributed-run"
    coordinator_log = (tmp_path / "coordinator.log").open("w")
    coordinator = subprocess.Popen(
        [SCRAPY, "monitor", "--registry", str(DEMO_REGISTRY), "--replay", str(CASSETTES), "--platforms", "taobao",
         "--store", postgres_url, "--redis-url", redis_url, "--run-id", run_id, "--out", str(tmp_path / "reports"),
         "--no-progress", "-s", "MAX_IDLE_TIME_BEFORE_CLOSE=1", "-s", "WORKER_LEASE_SECONDS=3"],
        cwd=ROOT, env=scrapy_env(), stdout=coordinator_log, stderr=subprocess.STDOUT)
    server = redis.Redis.from_url(redis_url)
    owners = owners_key(run_id, "taobao")
    # exec'd: its pid is the one it leases requests under, and the SIGKILL lands on it at once
    victim = _worker(tmp_path, "victim", redis_url, postgres_url, delay=1.5, scrapy=REAL_SCRAPY)
    survivor = None

    def victim_holds_a_request() -> bool:
        return any(v.decode().endswith(f":{victim.pid}") for v in server.hvals(owners))

    store = create_engine(postgres_url)

    def a_page_is_stored() -> bool:
        try:
            with store.connect() as connection:
                return bool(connection.execute(text("SELECT count(*) FROM sightings WHERE run_id = :run"),
                                               {"run": run_id}).scalar_one())
        except ProgrammingError:  # the coordinator has not created the tables yet
            return False

    try:
        deadline = time.monotonic() + 60
        first_stored = None
        while True:
            # kill the victim while it holds a request, once it has stored (so acknowledged) a page and two
            # WORKER_STATS_SECONDS periods later: its counts reach Redis only through its running updates
            if survivor is None and victim_holds_a_request():
                survivor = _worker(tmp_path, "survivor", redis_url, postgres_url, delay=0.5)
            if survivor is not None and first_stored is None and a_page_is_stored():
                first_stored = time.monotonic()
            if (first_stored is not None and time.monotonic() - first_stored >= 1.0
                    and victim_holds_a_request()):
                break
            assert victim.poll() is None, (tmp_path / "victim.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the victim never held a request after a page was stored"
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        assert coordinator.wait(timeout=90) == 0, (tmp_path / "coordinator.log").read_text()[-3000:]
        assert survivor.wait(timeout=30) == 0
    finally:
        for process in (coordinator, victim, survivor):
            if process is not None and process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
        store.dispose()

    rows, sighted = _store_rows(postgres_url, run_id)
    assert sorted(rows) == expected  # every listing, each once (primary key)
    assert sighted == len(expected)
    for key, row in rows.items():
        assert {f: row[f] for f in SCORE_FIELDS} == {f: single_rows[key][f] for f in SCORE_FIELDS}, key
    assert {row["verdict"] for row in rows.values()} >= {"infringing", "clean"}
    assert int(server.hget(stats_key(run_id, "taobao"), "work/requeued") or 0) >= 1  # the victim's request
    reported = [json.loads(line) for line in
                (tmp_path / "reports" / run_id / "listings.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted((i["platform"], i["listing_id"]) for i in reported) == expected

    # every page was crawled by one worker or the other and acknowledged once; without the victim's
    # running updates, the pages it finished would be missing here
    taobao = json.loads((tmp_path / "reports" / run_id / "summary.json").read_text(encoding="utf-8"))[
        "platforms"]["taobao"]
    assert taobao["pages"] >= pages, (taobao, pages)
    totals = {k.decode(): int(v) for k, v in server.hgetall(stats_key(run_id, "taobao")).items()}
    assert totals["workers/finished"] == 1 and totals["search/pages"] == taobao["pages"]


@pytest.mark.services
def test_a_listing_the_store_refuses_does_not_fail_its_page_for_ever(postgres_url):  # noqa: F811
    from scrapy.utils.test import get_crawler

    from crawlers.distributed import WorkerStorePipeline, store_flush
    from store import Store, listings

    crawler = get_crawler(settings_dict={"STORE_URL": postgres_url, "RUN_ID": "r1"})
    pipeline = WorkerStorePipeline.from_crawler(crawler)
    pipeline.open_spider(None)
    # the middle one has an id longer than the column (varchar(64)): PostgreSQL refuses it
    for listing_id, title in (("0", "LUMORA 冲锋衣"), ("9" * 80, "too long an id"), ("2", "露莫拉")):
        pipeline.process_item({"platform": "taobao", "listing_id": listing_id, "title": title,
                               "url": f"https://item.taobao.com/item.htm?id={listing_id}",
                               "crawled_at": "2026-11-02T00:00:00Z"})
    results = crawler.signals.send_catch_log(signal=store_flush)
    assert [result for _, result in results] == [True]  # acked: redoing the page would fail again
    assert (crawler.stats.get_value("store/saved"), crawler.stats.get_value("store/failed")) == (2, 1)
    pipeline.close_spider(None)
    assert Store(postgres_url).count(listings) == 2
