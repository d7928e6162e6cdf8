"""The coordinator's side: seed a run's search requests into Redis, wait until workers have drained them,
read their stats, and mark the run finished.

The coordinator builds each platform spider's own first search requests (exactly what ``scrapy crawl``
would start with) and pushes them into that platform's leased queue, serialised the way scrapy-redis
serialises every request. A run is drained when every queue and every lease is empty; because a worker
pushes the requests a response yields before it acknowledges the response, that state cannot be seen
too early. While waiting, the coordinator also puts expired leases back in the queue.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from scrapy import Request

from crawlers.distributed.keys import (
    CURRENT_RUN_KEY,
    dupefilter_key,
    queue_key,
    run_key,
    running_workers_key,
    stats_key,
    workers_key,
)
from crawlers.distributed.queue import LeasedQueue

logger = logging.getLogger(__name__)

KEEP_STATS_SECONDS = 7 * 24 * 3600  # a finished run's stats stay a week for inspection


class DrainTimeout(RuntimeError):
    pass


class Coordinator:
    """Seeds a run's search requests into Redis, waits until workers have drained them, reads their stats."""

    def __init__(self, redis_url: str, run_id: str, *, lease_seconds: float = 60.0, poll_seconds: float = 1.0):
        import redis

        self.server = redis.Redis.from_url(redis_url)
        self.server.ping()
        self.run_id = run_id
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.spiders: list[str] = []

    def _queue(self, spider) -> LeasedQueue:
        return LeasedQueue(self.server, spider, queue_key(self.run_id, spider.name),
                           lease_seconds=self.lease_seconds, worker="coordinator")

    def publish(self, *, platforms: dict[str, str], registry: str | None, pages: int | None,
                replay: str | None, images_store: str | None = None) -> None:
        """Describe the run for workers (no store credentials: each worker is given its own --store)."""
        description = {"run_id": self.run_id, "state": "crawling", "platforms": json.dumps(platforms),
                       "registry": str(Path(registry).resolve()) if registry else "",
                       "pages": str(pages or ""), "replay": str(Path(replay).resolve()) if replay else "",
                       "images_store": _absolute(images_store),
                       "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self.server.hset(run_key(self.run_id), mapping=description)
        self.server.set(CURRENT_RUN_KEY, self.run_id)

    def seed(self, spider, requests: Iterable[Request] | None = None) -> int:
        """Push ``requests`` (default: the spider's first search request per query) into its queue."""
        if requests is None:
            requests = [spider.search_request(query, 1, {}) for query in spider.queries]
        queue, count = self._queue(spider), 0
        for request in requests:
            queue.push(request)
            count += 1
        self.spiders.append(spider.name)
        logger.info("coordinator: seeded %d %s request(s) into %s", count, spider.name, queue.key)
        return count

    def _spider_queue(self, name: str) -> LeasedQueue:
        """A spider's queue seen by the coordinator: counted, requeued and cleared, never popped."""
        return LeasedQueue(self.server, None, queue_key(self.run_id, name), lease_seconds=self.lease_seconds,
                           worker="coordinator")

    def outstanding(self) -> dict[str, int]:
        return {name: self._spider_queue(name).outstanding() for name in self.spiders}

    def requeue_expired(self) -> int:
        total = 0
        for name in self.spiders:
            requeued = self._spider_queue(name).requeue_expired()
            if requeued:
                self.server.hincrby(stats_key(self.run_id, name), "work/requeued", requeued)
                logger.warning("coordinator: %d expired %s lease(s) put back in the queue (a worker stopped "
                               "mid-request)", requeued, name)
            total += requeued
        return total

    def live_workers(self) -> list[str]:
        """Workers of this run that sent a heartbeat within a lease period and have not closed."""
        now = self.server.time()[0]
        return [w.decode() for w, beat in self.server.hgetall(workers_key(self.run_id)).items()
                if now - int(beat) <= self.lease_seconds]

    def wait(self, *, timeout: float = 0, log_every: float = 30.0, settle_seconds: float = 0.0,
             heartbeat: Callable[[], None] | None = None) -> int:
        """Block until every queue and lease is gone; returns how many expired leases were requeued.

        Then waits up to ``settle_seconds`` for the live workers to close, so that their stats are in.
        """
        started = last_log = time.monotonic()
        requeued = 0
        while True:
            requeued += self.requeue_expired()
            left = self.outstanding()
            if not any(left.values()):
                settle_until = time.monotonic() + settle_seconds
                while self.live_workers() and time.monotonic() < settle_until:
                    time.sleep(self.poll_seconds / 2)
                return requeued
            now = time.monotonic()
            if now - last_log >= log_every:
                last_log = now
                if heartbeat is not None:
                    heartbeat()
                logger.info("coordinator: waiting for workers; requests queued or in progress: %s",
                            ", ".join(f"{k} {v}" for k, v in left.items()))
            if timeout and now - started > timeout:
                raise DrainTimeout(f"run {self.run_id}: work not drained after {timeout:.0f} s: {left}")
            time.sleep(self.poll_seconds)

    def stats(self) -> dict[str, dict]:
        """Per spider, the workers' totals; ``workers/unfinished``: workers that published counts but never
        closed (killed, or still running)."""
        out = {}
        for name in self.spiders:
            raw = self.server.hgetall(stats_key(self.run_id, name))
            out[name] = {k.decode(): int(v) for k, v in raw.items()}
            out[name]["workers/unfinished"] = self.server.scard(running_workers_key(self.run_id, name))
        return out

    def finish(self, state: str = "done") -> None:
        """Mark the run finished and drop its queues; the stats stay a week for inspection."""
        self.server.hset(run_key(self.run_id), mapping={"state": state})
        if (self.server.get(CURRENT_RUN_KEY) or b"").decode() == self.run_id:
            self.server.delete(CURRENT_RUN_KEY)
        for name in self.spiders:
            self._spider_queue(name).clear()
            self.server.delete(dupefilter_key(self.run_id, name))
            self.server.expire(stats_key(self.run_id, name), KEEP_STATS_SECONDS)
            self.server.expire(running_workers_key(self.run_id, name), KEEP_STATS_SECONDS)
        self.server.expire(run_key(self.run_id), KEEP_STATS_SECONDS)
        self.server.expire(workers_key(self.run_id), KEEP_STATS_SECONDS)


def coordinate(redis_url: str, run_id: str, *, spider_classes: dict[str, type], registry: str,
               settings, replay: str | None = None, heartbeat: Callable[[], None] | None = None) -> dict[str, dict]:
    """The coordinator's part of ``scrapy monitor --redis-url``: seed, wait, return per-platform stats."""
    coordinator = Coordinator(redis_url, run_id, lease_seconds=settings.getfloat("WORKER_LEASE_SECONDS", 60.0))
    pages = None
    built = {}
    for platform, spider_cls in spider_classes.items():
        spider = spider_cls(registry=registry)
        spider._configure()
        built[platform] = spider
        pages = spider.pages
    coordinator.publish(platforms={p: s.name for p, s in built.items()}, registry=registry, pages=pages,
                        replay=replay, images_store=settings.get("IMAGES_STORE"))
    for spider in built.values():
        coordinator.seed(spider)
    logger.info("coordinator: run %s seeded; start workers with: scrapy worker --redis-url %s --store URL",
                run_id, _redact(redis_url))
    try:
        idle = settings.getfloat("MAX_IDLE_TIME_BEFORE_CLOSE", 0)
        requeued = coordinator.wait(timeout=settings.getfloat("COORDINATOR_TIMEOUT", 0),
                                    settle_seconds=(idle + 10) if idle else 0, heartbeat=heartbeat)
    except BaseException:
        coordinator.finish("failed")
        raise
    stats = coordinator.stats()
    coordinator.finish()
    if requeued:
        logger.info("coordinator: %d request(s) of stopped workers were redone", requeued)
    return {platform: stats.get(spider.name, {}) for platform, spider in built.items()}


def _absolute(store: str | None) -> str:
    """A local images folder as an absolute path (workers run elsewhere); s3://, gs://… as given."""
    if not store:
        return ""
    return store if "://" in store else str(Path(store).resolve())


def _redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"
