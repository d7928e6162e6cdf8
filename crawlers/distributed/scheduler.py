"""The workers' scheduler: scrapy-redis's, over a ``LeasedQueue``, acking each request once it is done.

Requests in: a request yielded by a callback is new work (``completion`` has removed any work id it
copied from its parent); a request still carrying the id of a lease this worker holds is a retry or
redirect made by a downloader middleware, and replaces its original in the queue in one step.

Requests out: ``next_request`` leases the next request, first putting back every expired lease of the run.

Acks: ``CompletionTracker`` says when a request is completely handled; the scheduler then asks the store
pipeline to commit (``store_flush``) and only then acks. A store write that fails acks nothing and stops
the worker, which gives its unfinished leases back. The heartbeat renews the worker's leases every third
of ``WORKER_LEASE_SECONDS``.
"""

from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError
from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.misc import load_object
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler

from crawlers.distributed.completion import store_flush, tracker_for
from crawlers.distributed.keys import workers_key
from crawlers.distributed.queue import WORK_ID, LeasedQueue
from crawlers.distributed.stats import publish_stats

logger = logging.getLogger(__name__)


class LeasedScheduler(Scheduler):
    """scrapy-redis's scheduler over a ``LeasedQueue``, which acks each request once it is completely done.

    Settings: ``WORKER_LEASE_SECONDS`` (how long a silent worker keeps its requests),
    ``MAX_IDLE_TIME_BEFORE_CLOSE`` (seconds with the whole run drained before the worker closes; 0: never),
    ``WORKER_STATS_SECONDS`` (default 5: how often the worker's counters are added to the run's totals in
    Redis; they are also added after each acknowledged request and at close, so a worker killed with
    SIGKILL loses none of the work it acknowledged), ``WORKER_POLL_SECONDS`` (default 0.5: how often an
    idle worker looks for work pushed by others, and whether it has been idle long enough to close).
    """

    def __init__(self, server, *args, **kwargs):
        super().__init__(server, *args, **kwargs)
        self.crawler = None
        self.tracker = None
        self.queue: LeasedQueue
        self.max_idle = 0.0
        self._idle_since: float | None = None
        self._last_requeue = 0.0
        self._loops: list = []
        self._published: dict[str, int] = {}  # counters already added to the run's totals
        self._acks_ready = False

    @classmethod
    def from_crawler(cls, crawler):
        scheduler = super().from_crawler(crawler)
        scheduler.crawler = crawler
        scheduler.tracker = tracker_for(crawler)
        scheduler.max_idle = crawler.settings.getfloat("MAX_IDLE_TIME_BEFORE_CLOSE", 0)
        crawler.signals.connect(scheduler._spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(scheduler._spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(scheduler._spider_closed, signal=signals.spider_closed)
        return scheduler

    def open(self, spider) -> None:
        self.spider = spider
        self.queue = load_object(self.queue_cls)(server=self.server, spider=spider,
                                                 key=self.queue_key % {"spider": spider.name},
                                                 serializer=self.serializer)
        if not self.df:
            self.df = load_object(self.dupefilter_cls).from_spider(spider)
        if self.flush_on_start:
            self.flush()
        logger.info("worker %s: %d request(s) queued, %d in progress for %s", self.queue.worker,
                    len(self.queue), self.queue.leased(), spider.name)

    @property
    def run_id(self) -> str:
        return self.crawler.settings.get("RUN_ID") or ""

    # --- requests in and out ------------------------------------------------------------
    def enqueue_request(self, request: Request) -> bool:
        if request.meta.get(WORK_ID) not in self.queue.held:
            request.meta.pop(WORK_ID, None)  # an id this worker no longer holds names nothing to replace
        replaces = request.meta.get(WORK_ID)
        try:
            pushed = self._push(request)
        except RedisError as exc:
            logger.error("could not queue %s in Redis (%s); the request it came from will be redone",
                         request.url[:200], exc)
            if replaces:
                self.queue.held.discard(replaces)  # not renewed any more: its lease expires, it is redone
            self.tracker.child_lost(request)
            return False
        except Exception:  # not serialisable (a callback that is no spider method…): redoing cannot help
            self.stats.inc_value("work/unqueueable")
            logger.exception("%s cannot be queued in Redis and is dropped", request.url[:200])
            return False
        if not pushed:
            if replaces:  # a redirect to a page already crawled: its original is done all the same
                self.queue.ack([replaces])
            self.df.log(request, self.spider)
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def _push(self, request: Request) -> bool:
        if request.dont_filter:
            return self.queue.push(request)
        if isinstance(self.df, RFPDupeFilter):  # scrapy-redis's set: seen-and-queued in one step
            return self.queue.push(request, seen_key=self.df.key, fingerprint=self.df.request_fingerprint(request))
        return not self.df.request_seen(request) and self.queue.push(request)

    def next_request(self) -> Request | None:
        now = time.monotonic()
        if now - self._last_requeue >= 1.0:
            self._last_requeue = now
            requeued = self.queue.requeue_expired()
            if requeued:
                self.stats.inc_value("work/requeued", requeued)
                logger.warning("%d expired lease(s) put back in the queue (a worker stopped mid-request)",
                               requeued)
        if not self._acks_ready:
            return None
        request = self.queue.pop()
        if request is None:
            return None
        self._idle_since = None
        self.stats.inc_value("scheduler/dequeued/redis")
        return self.spider.adopt_request(request)

    def has_pending_requests(self) -> bool:
        # work leased by other workers counts: if one dies, its requests come back here
        return self.queue.outstanding() > 0

    # --- acks ---------------------------------------------------------------------------
    def _spider_opened(self, spider) -> None:
        from twisted.internet import task

        if not self.tracker.middleware_installed or not hasattr(spider, "adopt_request"):
            logger.error("this worker cannot tell when a request is done (%s), so it cannot acknowledge "
                         "requests safely; it takes no work and stops",
                         "crawlers.distributed.CompletionMiddleware is not in SPIDER_MIDDLEWARES"
                         if not self.tracker.middleware_installed else "the spider is not a worker spider")
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="unsupported_setup"))
            return
        self.tracker.on_done, self.tracker.on_lost = self._done, self._lost
        self._acks_ready = True
        settings = self.crawler.settings
        for call, period, now in ((self._renew, max(self.queue.lease_seconds / 3, 0.5), True),
                                  (self._wake, settings.getfloat("WORKER_POLL_SECONDS", 0.5), False),
                                  (self._publish_stats, settings.getfloat("WORKER_STATS_SECONDS", 5.0), False)):
            loop = task.LoopingCall(call)
            loop.start(period, now=now)
            self._loops.append(loop)

    def _done(self, work_id: str, url: str) -> None:
        if work_id not in self.queue.held:
            return
        try:
            results = self.crawler.signals.send_catch_log(signal=store_flush, work_id=work_id, url=url)
            if any(result is False or hasattr(result, "getErrorMessage") for _, result in results):
                self.stats.inc_value("work/store_failed")
                logger.error("store write failed: %s not acknowledged; this worker stops and gives its "
                             "work back", url[:200])
                deferred_from_coro(self.crawler.engine.close_spider_async(reason="store_failed"))
                return
            self.queue.ack([work_id])
            self.stats.inc_value("work/acked")
            self._publish_stats()  # what is acknowledged is never redone, so its counts must not be lost
        except Exception:
            logger.exception("could not acknowledge %s; its lease will expire and it will be redone", url)
            self.queue.held.discard(work_id)

    def _lost(self, work_id: str, url: str) -> None:
        """A request it yielded never reached Redis: stop renewing this one, so it expires and is redone."""
        self.stats.inc_value("work/lost_children")
        self.queue.held.discard(work_id)
        logger.error("%s: not acknowledged (a request it yielded could not be queued); it will be redone",
                     url[:200])

    def _publish_stats(self, reason: str | None = None) -> None:
        try:
            self._published = publish_stats(self.server, self.run_id, self.spider.name, self.stats.get_stats(),
                                            self._published, worker=self.queue.worker, reason=reason)
        except Exception as exc:  # Redis away for a moment: the counts go with the next update
            logger.warning("could not publish this worker's stats: %s", exc)

    def _wake(self) -> None:
        """Ask the engine to look again now, not at its next 5 s heartbeat: for work pushed by other
        processes, and once the run has been drained for ``MAX_IDLE_TIME_BEFORE_CLOSE``, so that the worker
        closes then (the engine decides to close only when it looks, in ``_spider_idle``).

        The engine's loop has no public trigger; without ``_slot`` (another Scrapy) the engine's own
        heartbeat still picks the work up, and closes the worker, only later.
        """
        slot = getattr(self.crawler.engine, "_slot", None)
        try:
            if slot is not None and (len(self.queue) > 0 or self._idle_long_enough(time.monotonic())):
                slot.nextcall.schedule()
        except Exception as exc:
            logger.debug("poll failed: %s", exc)

    def _renew(self) -> None:
        try:
            self.queue.renew()
            self.server.hset(workers_key(self.run_id), self.queue.worker, self.server.time()[0])
        except Exception as exc:  # Redis away for a moment: leases may expire, work is redone, nothing lost
            logger.warning("could not renew leases: %s", exc)

    # --- closing ------------------------------------------------------------------------
    def _spider_idle(self, spider) -> None:
        if self.queue.outstanding() > 0:
            self._idle_since = None
            raise DontCloseSpider
        now = time.monotonic()
        self._idle_since = self._idle_since or now
        if not self._idle_long_enough(now):
            raise DontCloseSpider

    def _idle_long_enough(self, now: float) -> bool:
        """The run has been drained for ``MAX_IDLE_TIME_BEFORE_CLOSE`` (never, when it is 0)."""
        return self.max_idle > 0 and self._idle_since is not None and now - self._idle_since >= self.max_idle

    def _spider_closed(self, spider, reason) -> None:
        for loop in self._loops:
            if loop.running:
                loop.stop()
        given = self.queue.give_back()
        if given:
            logger.warning("gave %d unfinished request(s) back to the queue", given)
        self._publish_stats(reason=reason)
        self.server.hdel(workers_key(self.run_id), self.queue.worker)
