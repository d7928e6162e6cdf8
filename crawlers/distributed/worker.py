"""The worker side: what ``scrapy worker`` changes in a platform spider, its store pipeline and its settings.

- ``WorkerSpiderMixin`` turns a platform spider into a worker: no start requests of its own (everything
  comes from the queue), mtop calls signed again with its own token, and ``worker_errback`` in place of
  each request's errback, so that the end of a download failure is seen (``completion``);
- ``WorkerStorePipeline`` is the store pipeline committing before each ack instead of by batch size;
- ``worker_settings`` is what ``scrapy worker`` sets on top of the project settings.
"""

from __future__ import annotations

import logging

from scrapy import Request
from scrapy.settings import Settings

from contract import stats as stat_keys
from crawlers.distributed.completion import ERRBACK_META, run_errback, store_flush, tracker_for
from crawlers.distributed.keys import dupefilter_key, queue_key
from pipelines.store import StorePipeline

logger = logging.getLogger(__name__)

STORE_PIPELINE = "pipelines.store.StorePipeline"
NEVER_BY_SIZE = 10**9  # a batch size no page reaches
PACKAGE = "crawlers.distributed"


class WorkerSpiderMixin:
    """Turns a platform spider into a worker: no start requests of its own, queries not required."""

    async def start(self):
        return
        yield

    def _configure(self) -> None:
        self.queries = self.queries or ["(from Redis)"]
        super()._configure()

    def adopt_request(self, request: Request) -> Request:
        """A request taken from the queue, made ready for this worker (called by the scheduler)."""
        if getattr(request.errback, "__func__", None) is not WorkerSpiderMixin.worker_errback:
            request.meta[ERRBACK_META] = request.errback.__name__ if request.errback else None
            request.errback = self.worker_errback
        spec, mtop = request.meta.get("mtop"), getattr(self, "mtop", None)
        if not spec or mtop is None:
            return request
        # an mtop call signed by another process is signed again with this worker's token
        return request.replace(url=mtop.url(spec["api"], spec["v"], spec["data"]))

    def worker_errback(self, failure):
        """Every leased request's errback: runs the spider's own (named in meta) and watches its output."""
        return run_errback(tracker_for(self.crawler), self, failure)


def worker_spider_class(spider_cls: type) -> type:
    return type(f"{spider_cls.__name__}Worker", (WorkerSpiderMixin, spider_cls), {"__module__": __name__})


class WorkerStorePipeline(StorePipeline):
    """The store pipeline of a worker: commits on ``store_flush`` (before each ack), not by batch size.

    The store unreachable (connection lost, deadlock): the flush fails, nothing is acked and the work is
    redone. A listing the store refuses (e.g. PostgreSQL and a NUL character): the others of its page are
    written one by one, it is logged and counted in ``store/failed``, and the page is acked — redoing it
    would fail the same way for ever.
    """

    def __init__(self, url: str, run_id: str | None, batch_size: int, stats, registry: str | None = None):
        # the scheduler decides when to commit (``store_flush``), never the number of listings held
        super().__init__(url, run_id, NEVER_BY_SIZE, stats, registry)
        self.closed_cleanly: bool | None = None  # after close: whether its last commit succeeded

    @classmethod
    def from_crawler(cls, crawler) -> WorkerStorePipeline:
        pipeline = super().from_crawler(crawler)
        crawler.signals.connect(pipeline.flush_for_ack, signal=store_flush)
        return pipeline

    def flush_for_ack(self) -> bool:
        """Commit what is held; False when the store could not take it (then nothing may be acked)."""
        if self.closed_cleanly is not None:  # an ack arriving after close: only what close wrote counts
            return self.closed_cleanly and not self.buffer
        batch = self.take_batch()
        if not batch:
            return True
        try:
            self.store.save_listings(self.run_id, batch)
        except Exception as exc:
            if _store_unavailable(exc):
                logger.error("store: could not write %d listings to %s: %s", len(batch), self.url, exc)
                return False
            return self._save_one_by_one(batch)
        self.stats.inc_value(stat_keys.STORE_SAVED, len(batch))
        return True

    def _save_one_by_one(self, batch: list[dict]) -> bool:
        for item in batch:
            try:
                self.store.save_listings(self.run_id, [item])
            except Exception as exc:
                if _store_unavailable(exc):
                    logger.error("store: could not write to %s: %s", self.url, exc)
                    return False
                self.stats.inc_value(stat_keys.STORE_FAILED)
                logger.error("store: refused listing %s %s: %s", item.get("platform"), item.get("listing_id"), exc)
                continue
            self.stats.inc_value(stat_keys.STORE_SAVED)
        return True

    def close_spider(self, spider=None):
        committed = self.flush_for_ack()
        super().close_spider(spider)
        self.closed_cleanly = committed


def _store_unavailable(exc: Exception) -> bool:
    from sqlalchemy import exc as sa

    return isinstance(exc, sa.OperationalError | sa.InterfaceError | sa.DisconnectionError | sa.TimeoutError)


def completion_middleware_order(spider_middlewares: dict) -> int:
    """Below every other spider middleware (Scrapy's own included): it must see the chain's final output."""
    orders = [order for order in {**Settings().getdict("SPIDER_MIDDLEWARES_BASE"), **spider_middlewares}.values()
              if isinstance(order, int)]
    return min([*orders, 1]) - 1


def worker_settings(run_id: str, redis_url: str, item_pipelines: dict, spider_middlewares: dict | None = None) -> dict:
    """What ``scrapy worker`` sets on top of the project settings (all of it off by default)."""
    pipelines = dict(item_pipelines)
    order = pipelines.pop(STORE_PIPELINE, 900)
    pipelines[f"{PACKAGE}.worker.WorkerStorePipeline"] = order
    middlewares = dict(spider_middlewares or {})
    middlewares[f"{PACKAGE}.completion.CompletionMiddleware"] = completion_middleware_order(middlewares)
    return {
        "REDIS_URL": redis_url,
        "RUN_ID": run_id,
        "SCHEDULER": f"{PACKAGE}.scheduler.LeasedScheduler",
        "SCHEDULER_QUEUE_CLASS": f"{PACKAGE}.queue.LeasedQueue",
        "SCHEDULER_QUEUE_KEY": queue_key(run_id),
        "SCHEDULER_DUPEFILTER_KEY": dupefilter_key(run_id),
        "DUPEFILTER_CLASS": f"{PACKAGE}.dupefilter.MtopDupeFilter",
        "SCHEDULER_PERSIST": True,  # a worker closing must never clear the shared queue
        "SCHEDULER_FLUSH_ON_START": False,
        "ITEM_PIPELINES": pipelines,
        "SPIDER_MIDDLEWARES": middlewares,
    }
