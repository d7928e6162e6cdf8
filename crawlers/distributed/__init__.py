"""Many workers: scrapy-redis's shared scheduler in Redis, a shared PostgreSQL store.

Switched on per run, never in settings.py:

    scrapy monitor --registry REG --redis-url redis://… --store postgresql://…   # the coordinator
    scrapy worker --redis-url redis://… --store postgresql://… [--platforms taobao]   # anywhere, any number

One module per component, as scrapy-redis is split:

- ``keys``: every Redis key name (the only place they are built);
- ``queue`` (and its Lua scripts in ``lua/``): the leased queue, whose pop is a lease acked when done;
- ``dupefilter``: scrapy-redis's Redis set, fingerprinting mtop calls by what they ask for;
- ``completion``: learns, through public Scrapy seams (a spider middleware, the errback, signals), when
  a request is completely handled;
- ``scheduler``: scrapy-redis's scheduler over the leased queue, acking what ``completion`` reports done;
- ``worker``: the worker spider mixin, the worker's store pipeline and the worker's settings;
- ``stats``: a worker's counters added to the run's totals as it goes;
- ``coordinator``: seeding, waiting for the run to drain, the run's stats.

So work is done *at least once* (a request in flight in a killed worker is leased again once its lease
expires) and the store makes it count *once*: listings are upserted on (platform, listing_id) and
sightings on (run_id, platform, listing_id), so a page crawled twice writes the same rows.
The design for users: docs/distributed.md.
"""

from crawlers.distributed.completion import CompletionMiddleware, CompletionTracker, store_flush, tracker_for
from crawlers.distributed.coordinator import Coordinator, DrainTimeout, coordinate
from crawlers.distributed.dupefilter import MtopDupeFilter
from crawlers.distributed.keys import (
    CURRENT_RUN_KEY,
    dupefilter_key,
    owners_key,
    queue_key,
    run_key,
    running_workers_key,
    stats_key,
    workers_key,
)
from crawlers.distributed.queue import REQUEUE_SCORE, WORK_ID, LeasedQueue, worker_id
from crawlers.distributed.scheduler import LeasedScheduler
from crawlers.distributed.stats import publish_stats
from crawlers.distributed.worker import (
    WorkerSpiderMixin,
    WorkerStorePipeline,
    worker_settings,
    worker_spider_class,
)

__all__ = [
    "CURRENT_RUN_KEY", "REQUEUE_SCORE", "WORK_ID", "CompletionMiddleware", "CompletionTracker", "Coordinator",
    "DrainTimeout", "LeasedQueue", "LeasedScheduler", "MtopDupeFilter", "WorkerSpiderMixin",
    "WorkerStorePipeline", "coordinate", "dupefilter_key", "owners_key", "publish_stats", "queue_key", "run_key",
    "running_workers_key", "stats_key", "store_flush", "tracker_for", "worker_id", "worker_settings",
    "worker_spider_class", "workers_key",
]
