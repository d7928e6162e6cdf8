"""Many workers: scrapy-redis's shared scheduler in Redis, a shared PostgreSQL store.

Switched on per run, never in settings.py:

    scrapy monitor --registry REG --redis-url redis://… --store postgresql://…   # the coordinator
    scrapy worker --redis-url redis://… --store postgresql://… [--platforms taobao]   # anywhere, any number

**Seeding.** The coordinator builds each platform spider's own first search requests (exactly what
``scrapy crawl`` would start with) and pushes them into that platform's request queue in Redis,
serialised the way scrapy-redis serialises every request (``Request.to_dict(spider=…)``, pickled:
spider-method callbacks and plain-data meta only). Workers run the same spider classes with
``start()`` yielding nothing: everything they crawl, seeds and next pages alike, comes from the queue.

**Kill safety.** scrapy-redis pops a request when the engine schedules it, so a request in flight in a
killed worker would be lost. Here a pop is a *lease* instead (``LeasedQueue``, one Lua script each, so
atomic in Redis and timed by Redis's clock):

- ``pop`` moves the request's id from the queue to a ``leases`` sorted set scored by its deadline
  (now + ``WORKER_LEASE_SECONDS``); the worker renews its leases every third of that period;
- the lease is *acked* only when the response is completely done: the callback (or errback) has
  run, every request it yielded is pushed to Redis, every listing has passed the item pipelines, and
  the store has committed them (``store_flush`` below). Only then is the request removed;
- a lease whose deadline passed (the worker died, or hangs) is put back in the queue by whichever
  worker or coordinator looks next — directly, around the dupefilter, so it is never "seen already";
- a retry or redirect made by a downloader middleware replaces its original in one step (push the
  new request, drop the old lease), so neither is lost nor both done;
- a worker that stops cleanly (Ctrl-C, idle, store failure) gives back its unfinished leases at once.

So work is done *at least once*; the store makes it count *once*: listings are upserted on
(platform, listing_id) and sightings on (run_id, platform, listing_id) (pipelines/store.py), so a page
crawled twice writes the same rows. A run is drained when the queue and the leases are both empty;
because children are pushed before their parent is acked, that state cannot be seen too early.

The queue is persistent (``SCHEDULER_PERSIST``): a closing worker never clears it. Keys are per run:
``ipwatch:<run_id>:<spider>:{requests,payload,leases,owners,dupefilter}``, the run's description is
``ipwatch:run:<run_id>`` and ``ipwatch:current`` names the run being crawled.

The dupefilter is scrapy-redis's Redis set, fingerprinting mtop calls by (api, version, data) rather
than by URL (whose ``t`` and ``sign`` change on every signing), so a next page re-yielded by a redone
parent is dropped: its first copy is queued, leased or done. Marking a request seen and queueing it is
one Lua step, so a worker dying between the two cannot leave a page marked seen but never queued; lost
leases go back to the queue without passing the dupefilter at all.

The one private hook: ``Scraper.slot.finish_response`` is wrapped to learn when Scrapy is completely done
with a response (Scrapy has no signal for it); a worker on a Scrapy without it refuses to take work.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.misc import load_object
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import Base
from scrapy_redis.scheduler import Scheduler

logger = logging.getLogger(__name__)

WORK_ID = "work_id"  # request.meta key: the id of the queue entry this request came from
CURRENT_RUN_KEY = "ipwatch:current"
REQUEUE_SCORE = -1_000_000  # lost work goes to the front of the queue

# Sent by the scheduler before it acks: the worker's store pipeline commits what it holds and
# returns True, or False when the write failed (then nothing is acked).
store_flush = object()


def run_key(run_id: str) -> str:
    return f"ipwatch:run:{run_id}"


def queue_key(run_id: str, spider: str = "%(spider)s") -> str:
    return f"ipwatch:{run_id}:{spider}:requests"


def dupefilter_key(run_id: str, spider: str = "%(spider)s") -> str:
    return f"ipwatch:{run_id}:{spider}:dupefilter"


def stats_key(run_id: str, spider: str) -> str:
    return f"ipwatch:{run_id}:{spider}:stats"


def running_workers_key(run_id: str, spider: str) -> str:
    """Set: workers that published stats for this spider and have not closed (still running, or killed)."""
    return f"ipwatch:{run_id}:{spider}:stats:running"


def workers_key(run_id: str) -> str:
    """Hash: worker id -> Redis time of its last heartbeat, while it runs."""
    return f"ipwatch:{run_id}:workers"


def worker_id() -> str:
    """Unique per process, readable in Redis: host, a random tag (containers may share host names), pid."""
    return f"{socket.gethostname()}-{os.urandom(2).hex()}:{os.getpid()}"


# --- the leased queue ---------------------------------------------------------------------------
# KEYS: 1 queue (zset id -> -priority), 2 payload (hash id -> request), 3 leases (zset id -> deadline),
#       4 owners (hash id -> worker)
_NOW = "local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1000000\n"

# KEYS[5], ARGV[5] (optional): the dupefilter's set and this request's fingerprint; "seen" and "queued"
# are one step, so a worker dying in between cannot leave a request marked seen but never queued.
_PUSH = """
if KEYS[5] and redis.call('SADD', KEYS[5], ARGV[5]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if ARGV[4] ~= '' then
  redis.call('ZREM', KEYS[3], ARGV[4]); redis.call('ZREM', KEYS[1], ARGV[4])
  redis.call('HDEL', KEYS[2], ARGV[4]); redis.call('HDEL', KEYS[4], ARGV[4])
end
return 1
"""

_POP = _NOW + """
while true do
  local popped = redis.call('ZPOPMIN', KEYS[1])
  if #popped == 0 then return false end
  local id = popped[1]
  local data = redis.call('HGET', KEYS[2], id)
  if data then
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[1]), id)
    redis.call('HSET', KEYS[4], id, ARGV[2])
    return {id, data}
  end
end
"""

_ACK = """
for i = 1, #ARGV do
  redis.call('ZREM', KEYS[3], ARGV[i]); redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('HDEL', KEYS[2], ARGV[i]); redis.call('HDEL', KEYS[4], ARGV[i])
end
return #ARGV
"""

_RENEW = _NOW + """
local renewed = 0
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[4], ARGV[i]) == ARGV[2] then
    redis.call('ZADD', KEYS[3], 'XX', now + tonumber(ARGV[1]), ARGV[i]); renewed = renewed + 1
  end
end
return renewed
"""

# ARGV[1]: score for requeued ids; ARGV[2]: 'expired' (deadline passed) or a worker giving back ARGV[3..]
_REQUEUE = _NOW + """
local ids
if ARGV[2] == 'expired' then
  ids = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
else
  ids = {}
  for i = 3, #ARGV do
    if redis.call('HGET', KEYS[4], ARGV[i]) == ARGV[2] then table.insert(ids, ARGV[i]) end
  end
end
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[3], id); redis.call('HDEL', KEYS[4], id)
  if redis.call('HEXISTS', KEYS[2], id) == 1 then redis.call('ZADD', KEYS[1], ARGV[1], id) end
end
return #ids
"""


class LeasedQueue(Base):
    """scrapy-redis queue whose pop is a lease: see the module docstring.

    ``key`` is the queue's key (``…:requests``); the payload, leases and owners live beside it.
    """

    def __init__(self, server, spider, key, serializer=None, *, lease_seconds: float | None = None,
                 worker: str | None = None):
        super().__init__(server, spider, key, serializer)
        base = self.key.removesuffix(":requests")
        self.keys = [self.key, f"{base}:payload", f"{base}:leases", f"{base}:owners"]
        settings = getattr(spider, "settings", None)
        if lease_seconds is None:
            lease_seconds = settings.getfloat("WORKER_LEASE_SECONDS", 60.0) if settings is not None else 60.0
        self.lease_seconds = float(lease_seconds)
        self.worker = worker or worker_id()
        self.held: set[str] = set()  # ids this process popped and has not acked
        self._push, self._pop = server.register_script(_PUSH), server.register_script(_POP)
        self._ack, self._renew = server.register_script(_ACK), server.register_script(_RENEW)
        self._requeue = server.register_script(_REQUEUE)

    def __len__(self) -> int:
        return self.server.zcard(self.key)

    def leased(self) -> int:
        return self.server.zcard(self.keys[2])

    def outstanding(self) -> int:
        """Requests queued or leased: zero means this spider's part of the run is done."""
        with self.server.pipeline() as pipe:
            pipe.zcard(self.keys[0]).zcard(self.keys[2])
            queued, leased = pipe.execute()
        return queued + leased

    def push(self, request: Request, *, seen_key: str | None = None, fingerprint: str = "") -> bool:
        """Queue ``request``; with ``seen_key``, only if its fingerprint was not in that set (added atomically).

        A request carrying the id of a lease this worker holds (a retry or redirect) replaces it.
        """
        replaces = request.meta.get(WORK_ID) or ""
        new_id = os.urandom(8).hex()
        request.meta[WORK_ID] = new_id
        keys = [*self.keys, seen_key] if seen_key else self.keys
        args = [new_id, -request.priority, self._encode_request(request), replaces, fingerprint]
        if not self._push(keys=keys, args=args):
            del request.meta[WORK_ID]
            return False
        if replaces:
            self.held.discard(replaces)
        return True

    def pop(self, timeout=0) -> Request | None:
        popped = self._pop(keys=self.keys, args=[self.lease_seconds, self.worker])
        if not popped:
            return None
        work_id, data = popped
        work_id = work_id.decode() if isinstance(work_id, bytes) else work_id
        request = self._decode_request(data)
        request.meta[WORK_ID] = work_id
        self.held.add(work_id)
        return request

    def ack(self, work_ids: Iterable[str]) -> None:
        ids = list(work_ids)
        if ids:
            self._ack(keys=self.keys, args=ids)
            self.held.difference_update(ids)

    def renew(self) -> int:
        if not self.held:
            return 0
        return self._renew(keys=self.keys, args=[self.lease_seconds, self.worker, *sorted(self.held)])

    def requeue_expired(self) -> int:
        return self._requeue(keys=self.keys, args=[REQUEUE_SCORE, "expired"])

    def give_back(self) -> int:
        """Put this worker's unfinished leases back in the queue now."""
        ids, self.held = sorted(self.held), set()
        if not ids:
            return 0
        return self._requeue(keys=self.keys, args=[REQUEUE_SCORE, self.worker, *ids])

    def clear(self) -> None:
        self.server.delete(*self.keys)


class MtopDupeFilter(RFPDupeFilter):
    """scrapy-redis's dupefilter; an mtop call is identified by (api, version, data), not by its signed URL."""

    def request_fingerprint(self, request: Request) -> str:
        spec = request.meta.get("mtop")
        if not spec:
            return super().request_fingerprint(request)
        import hashlib

        key = json.dumps([spec.get("api"), spec.get("v"), spec.get("data")], ensure_ascii=False)
        return hashlib.sha1(key.encode()).hexdigest()


class LeasedScheduler(Scheduler):
    """scrapy-redis's scheduler over a ``LeasedQueue``, which acks each request once it is completely done.

    Settings: ``WORKER_LEASE_SECONDS`` (how long a silent worker keeps its requests),
    ``MAX_IDLE_TIME_BEFORE_CLOSE`` (seconds with the whole run drained before the worker closes; 0: never),
    ``WORKER_STATS_SECONDS`` (default 5: how often the worker's counters are added to the run's totals in
    Redis; they are also added after each acknowledged request and at close, so a worker killed with
    SIGKILL loses none of the work it acknowledged).
    """

    def __init__(self, server, *args, **kwargs):
        super().__init__(server, *args, **kwargs)
        self.crawler = None
        self.queue: LeasedQueue
        self._idle_since: float | None = None
        self._last_requeue = 0.0
        self._heartbeat = None
        self._poll = None
        self._stats_loop = None
        self._published: dict[str, int] = {}  # counters already added to the run's totals
        self._acks_ready = False

    @classmethod
    def from_crawler(cls, crawler):
        scheduler = super().from_crawler(crawler)
        scheduler.crawler = crawler
        settings = crawler.settings
        scheduler.max_idle = settings.getfloat("MAX_IDLE_TIME_BEFORE_CLOSE", 0)
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

    # --- requests in and out ------------------------------------------------------------
    def enqueue_request(self, request: Request) -> bool:
        work_id = request.meta.get(WORK_ID)
        if work_id and (work_id not in self.queue.held or work_id in self._being_scraped()):
            # yielded by a callback (e.g. with the response's meta): new work, acked apart from its parent.
            # A held id not being scraped is a retry or redirect from a downloader middleware: it
            # replaces its original in the queue (LeasedQueue.push).
            del request.meta[WORK_ID]
        replaces = request.meta.get(WORK_ID)
        if request.dont_filter:
            pushed = self.queue.push(request)
        elif isinstance(self.df, RFPDupeFilter):  # scrapy-redis's set: seen-and-queued in one step
            pushed = self.queue.push(request, seen_key=self.df.key, fingerprint=self.df.request_fingerprint(request))
        else:
            pushed = not self.df.request_seen(request) and self.queue.push(request)
        if not pushed:
            if replaces:  # a redirect to a page already crawled: its original is done all the same
                self.queue.ack([replaces])
            self.df.log(request, self.spider)
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def _being_scraped(self) -> set[str]:
        slot = self.crawler.engine.scraper.slot
        return {r.meta.get(WORK_ID) for r in slot.active} if slot is not None else set()

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
        adopt = getattr(self.spider, "adopt_request", None)
        return adopt(request) if adopt else request

    def has_pending_requests(self) -> bool:
        # work leased by other workers counts: if one dies, its requests come back here
        return self.queue.outstanding() > 0

    # --- acks ---------------------------------------------------------------------------
    def _spider_opened(self, spider) -> None:
        from twisted.internet import task

        slot = getattr(getattr(self.crawler.engine, "scraper", None), "slot", None)
        if slot is None or not hasattr(slot, "finish_response"):
            from scrapy.utils.defer import deferred_from_coro

            logger.error("this Scrapy version has no Scraper.slot.finish_response, so requests cannot be "
                         "acknowledged safely; the worker takes no work and stops")
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="unsupported_scrapy"))
            return
        finish_response = slot.finish_response

        def finished(result, request):
            finish_response(result, request)
            self._done(request)

        # The one point where Scrapy is done with a response: its callback/errback ran, each request it
        # yielded is scheduled and each item went through every pipeline.
        slot.finish_response = finished
        self._acks_ready = True
        self._heartbeat = task.LoopingCall(self._renew)
        self._heartbeat.start(max(self.queue.lease_seconds / 3, 0.5), now=True)
        self._poll = task.LoopingCall(self._wake)
        self._poll.start(self.crawler.settings.getfloat("WORKER_POLL_SECONDS", 0.5), now=False)
        self._stats_loop = task.LoopingCall(self._publish_stats)
        self._stats_loop.start(self.crawler.settings.getfloat("WORKER_STATS_SECONDS", 5.0), now=False)

    def _done(self, request: Request) -> None:
        work_id = request.meta.get(WORK_ID)
        if work_id not in self.queue.held:
            return
        try:
            results = self.crawler.signals.send_catch_log(signal=store_flush)
            if any(result is False or hasattr(result, "getErrorMessage") for _, result in results):
                self.stats.inc_value("work/store_failed")
                logger.error("store write failed: %s not acknowledged; this worker stops and gives its "
                             "work back", request.url[:200])
                from scrapy.utils.defer import deferred_from_coro

                deferred_from_coro(self.crawler.engine.close_spider_async(reason="store_failed"))
                return
            self.queue.ack([work_id])
            self.stats.inc_value("work/acked")
            self._publish_stats()  # what is acknowledged is never redone, so its counts must not be lost
        except Exception:
            logger.exception("could not acknowledge %s; its lease will expire and it will be redone", request.url)
            self.queue.held.discard(work_id)

    def _publish_stats(self, reason: str | None = None) -> None:
        try:
            self._published = publish_stats(self.server, self.spider.settings.get("RUN_ID") or "", self.spider.name,
                                            self.stats.get_stats(), self._published, worker=self.queue.worker,
                                            reason=reason)
        except Exception as exc:  # Redis away for a moment: the counts go with the next update
            logger.warning("could not publish this worker's stats: %s", exc)

    def _wake(self) -> None:
        """Work pushed by other processes: ask the engine for it now, not at its next 5 s heartbeat."""
        slot = getattr(self.crawler.engine, "_slot", None)
        try:
            if slot is not None and len(self.queue) > 0:
                slot.nextcall.schedule()
        except Exception as exc:
            logger.debug("poll failed: %s", exc)

    def _renew(self) -> None:
        try:
            self.queue.renew()
            self.server.hset(workers_key(self.spider.settings.get("RUN_ID") or ""), self.queue.worker,
                             self.server.time()[0])
        except Exception as exc:  # Redis away for a moment: leases may expire, work is redone, nothing lost
            logger.warning("could not renew leases: %s", exc)

    # --- closing ------------------------------------------------------------------------
    def _spider_idle(self, spider) -> None:
        if self.queue.outstanding() > 0:
            self._idle_since = None
            raise DontCloseSpider
        now = time.monotonic()
        self._idle_since = self._idle_since or now
        if self.max_idle == 0 or now - self._idle_since < self.max_idle:
            raise DontCloseSpider

    def _spider_closed(self, spider, reason) -> None:
        for loop in (self._heartbeat, self._poll, self._stats_loop):
            if loop is not None and loop.running:
                loop.stop()
        given = self.queue.give_back()
        if given:
            logger.warning("gave %d unfinished request(s) back to the queue", given)
        run_id = spider.settings.get("RUN_ID") or ""
        self._publish_stats(reason=reason)
        self.server.hdel(workers_key(run_id), self.queue.worker)


def publish_stats(server, run_id: str, spider: str, stats: dict, published: dict[str, int], *, worker: str,
                  reason: str | None = None) -> dict[str, int]:
    """Add to the run's totals for ``spider`` what a worker counted since its last update; returns the new
    ``published`` (pass it to the next call).

    Called as the worker goes and once more at close (``reason``: its finish reason). Only the difference
    is added, in one MULTI/EXEC, so the totals hold each worker's latest counts once, and a worker killed
    between two updates loses only what it counted since the last one.
    """
    counters = {k: v for k, v in stats.items() if isinstance(v, int) and not isinstance(v, bool)}
    totals, running = stats_key(run_id, spider), running_workers_key(run_id, spider)
    with server.pipeline() as pipe:
        for name, value in counters.items():
            if value != published.get(name, 0):
                pipe.hincrby(totals, name, value - published.get(name, 0))
        if reason is None:
            pipe.sadd(running, worker)
        else:
            pipe.hincrby(totals, "workers/finished", 1)
            pipe.hincrby(totals, f"workers/finish_reason/{reason}", 1)
            pipe.srem(running, worker)
        pipe.execute()
    return counters


# --- worker side ----------------------------------------------------------------------------------
class WorkerSpiderMixin:
    """Turns a platform spider into a worker: no start requests of its own, queries not required."""

    async def start(self):
        return
        yield

    def _configure(self) -> None:
        self.queries = self.queries or ["(from Redis)"]
        super()._configure()

    def adopt_request(self, request: Request) -> Request:
        """An mtop call signed by another process is signed again with this worker's token."""
        spec, mtop = request.meta.get("mtop"), getattr(self, "mtop", None)
        if not spec or mtop is None:
            return request
        return request.replace(url=mtop.url(spec["api"], spec["v"], spec["data"]))


def worker_spider_class(spider_cls: type) -> type:
    return type(f"{spider_cls.__name__}Worker", (WorkerSpiderMixin, spider_cls), {"__module__": __name__})


class WorkerStorePipeline:
    """The store pipeline of a worker: commits on ``store_flush`` (before each ack), not by batch size.

    The store unreachable (connection lost, deadlock): the flush fails, nothing is acked and the work is
    redone. A listing the store refuses (e.g. PostgreSQL and a NUL character): the others of its page are
    written one by one, it is logged and counted in ``store/failed``, and the page is acked — redoing it
    would fail the same way for ever.
    """

    @classmethod
    def from_crawler(cls, crawler):
        from pipelines.store import StorePipeline

        pipeline = StorePipeline.from_crawler(crawler)
        pipeline.batch_size = 10**9  # the scheduler decides when to commit

        def flush() -> bool:
            if not pipeline.buffer or pipeline.store is None:
                return True
            batch, pipeline.buffer = pipeline.buffer, []
            try:
                pipeline.store.save_listings(pipeline.run_id, batch)
            except Exception as exc:
                if _store_unavailable(exc):
                    logger.error("store: could not write %d listings to %s: %s", len(batch), pipeline.url, exc)
                    return False
                return _save_one_by_one(pipeline, batch)
            pipeline.stats.inc_value("store/saved", len(batch))
            return True

        pipeline.flush_for_ack = flush
        crawler.signals.connect(flush, signal=store_flush, weak=False)
        return pipeline


def _store_unavailable(exc: Exception) -> bool:
    from sqlalchemy import exc as sa

    return isinstance(exc, sa.OperationalError | sa.InterfaceError | sa.DisconnectionError | sa.TimeoutError)


def _save_one_by_one(pipeline, batch: list[dict]) -> bool:
    for item in batch:
        try:
            pipeline.store.save_listings(pipeline.run_id, [item])
        except Exception as exc:
            if _store_unavailable(exc):
                logger.error("store: could not write to %s: %s", pipeline.url, exc)
                return False
            pipeline.stats.inc_value("store/failed")
            logger.error("store: refused listing %s %s: %s", item.get("platform"), item.get("listing_id"), exc)
            continue
        pipeline.stats.inc_value("store/saved")
    return True


def worker_settings(run_id: str, redis_url: str, item_pipelines: dict) -> dict:
    """What ``scrapy worker`` sets on top of the project settings (all of it off by default)."""
    pipelines = dict(item_pipelines)
    order = pipelines.pop("pipelines.store.StorePipeline", 900)
    pipelines["crawlers.distributed.WorkerStorePipeline"] = order
    return {
        "REDIS_URL": redis_url,
        "RUN_ID": run_id,
        "SCHEDULER": "crawlers.distributed.LeasedScheduler",
        "SCHEDULER_QUEUE_CLASS": "crawlers.distributed.LeasedQueue",
        "SCHEDULER_QUEUE_KEY": queue_key(run_id),
        "SCHEDULER_DUPEFILTER_KEY": dupefilter_key(run_id),
        "DUPEFILTER_CLASS": "crawlers.distributed.MtopDupeFilter",
        "SCHEDULER_PERSIST": True,  # a worker closing must never clear the shared queue
        "SCHEDULER_FLUSH_ON_START": False,
        "ITEM_PIPELINES": pipelines,
    }


# --- coordinator side -------------------------------------------------------------------------------
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

    def outstanding(self) -> dict[str, int]:
        totals = {}
        for name in self.spiders:
            base = f"ipwatch:{self.run_id}:{name}"
            with self.server.pipeline() as pipe:
                pipe.zcard(f"{base}:requests").zcard(f"{base}:leases")
                totals[name] = sum(pipe.execute())
        return totals

    def requeue_expired(self) -> int:
        script, total = self.server.register_script(_REQUEUE), 0
        for name in self.spiders:
            base = f"ipwatch:{self.run_id}:{name}"
            requeued = script(keys=[f"{base}:requests", f"{base}:payload", f"{base}:leases", f"{base}:owners"],
                              args=[REQUEUE_SCORE, "expired"])
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
            base = f"ipwatch:{self.run_id}:{name}"
            self.server.delete(*(f"{base}:{part}" for part in ("requests", "payload", "leases", "owners",
                                                                "dupefilter")))
            self.server.expire(stats_key(self.run_id, name), 7 * 24 * 3600)
            self.server.expire(running_workers_key(self.run_id, name), 7 * 24 * 3600)
        self.server.expire(run_key(self.run_id), 7 * 24 * 3600)
        self.server.expire(workers_key(self.run_id), 7 * 24 * 3600)


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
