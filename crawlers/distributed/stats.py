"""A worker's counters, added to the run's totals in Redis as the worker goes.

The scheduler publishes every ``WORKER_STATS_SECONDS`` (default 5), after each acknowledged request and
at close, so a worker killed with SIGKILL loses none of the work it acknowledged. The coordinator reads
the totals (``Coordinator.stats``).
"""

from __future__ import annotations

from crawlers.distributed.keys import running_workers_key, stats_key


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
