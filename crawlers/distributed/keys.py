"""Every Redis key of a distributed run is named here, and nowhere else.

All keys but ``ipwatch:current`` are per run, so two runs never share state:

- ``ipwatch:current``: the run being crawled;
- ``ipwatch:run:<run_id>``: the run's description (platforms, registry, pages, replay);
- ``ipwatch:<run_id>:<spider>:requests``, ``:payload``: the queue (ids by priority) and the requests;
- ``ipwatch:<run_id>:<spider>:leases``, ``:owners``: leased ids by deadline, and which worker holds each;
- ``ipwatch:<run_id>:<spider>:dupefilter``: fingerprints seen;
- ``ipwatch:<run_id>:<spider>:stats``, ``:stats:running``: the workers' summed counters, and the workers
  that published counts but have not closed;
- ``ipwatch:<run_id>:workers``: live workers and their heartbeats.
"""

from __future__ import annotations

PREFIX = "ipwatch"
CURRENT_RUN_KEY = f"{PREFIX}:current"
SPIDER_PLACEHOLDER = "%(spider)s"  # scrapy-redis fills in the spider's name
QUEUE_PARTS = ("requests", "payload", "leases", "owners")  # the leased queue's keys, in its Lua scripts' order


def run_key(run_id: str) -> str:
    return f"{PREFIX}:run:{run_id}"


def _spider_base(run_id: str, spider: str) -> str:
    return f"{PREFIX}:{run_id}:{spider}"


def queue_key(run_id: str, spider: str = SPIDER_PLACEHOLDER) -> str:
    return f"{_spider_base(run_id, spider)}:requests"


def queue_keys(queue: str) -> list[str]:
    """The leased queue's four keys (requests, payload, leases, owners), from its ``…:requests`` key."""
    base = queue.removesuffix(":requests")
    return [f"{base}:{part}" for part in QUEUE_PARTS]


def dupefilter_key(run_id: str, spider: str = SPIDER_PLACEHOLDER) -> str:
    return f"{_spider_base(run_id, spider)}:dupefilter"


def owners_key(run_id: str, spider: str) -> str:
    """Hash: leased request id -> the worker holding it."""
    return queue_keys(queue_key(run_id, spider))[3]


def stats_key(run_id: str, spider: str) -> str:
    return f"{_spider_base(run_id, spider)}:stats"


def running_workers_key(run_id: str, spider: str) -> str:
    """Set: workers that published stats for this spider and have not closed (still running, or killed)."""
    return f"{stats_key(run_id, spider)}:running"


def workers_key(run_id: str) -> str:
    """Hash: worker id -> Redis time of its last heartbeat, while it runs."""
    return f"{PREFIX}:{run_id}:workers"
