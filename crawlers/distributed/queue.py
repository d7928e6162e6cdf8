"""The leased queue: scrapy-redis's queue, except that a pop is a lease, not a removal.

One Lua script per step (``lua/*.lua``), so every step is atomic in Redis and timed by Redis's clock:

- ``push`` queues a request (with a dupefilter's set: only if its fingerprint was new, in the same step);
  a request carrying the id of a lease this worker holds (a retry or redirect) replaces that lease;
- ``pop`` moves the request's id from the queue to the ``leases`` sorted set, scored by its deadline
  (now + ``WORKER_LEASE_SECONDS``), and records its owner;
- ``renew`` pushes the deadlines of the worker's leases back; ``ack`` forgets requests that are done;
- ``requeue_expired`` puts every lease whose deadline passed back at the front of the queue, around the
  dupefilter; ``give_back`` does the same at once for the leases of a worker that stops cleanly.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from functools import cache
from importlib import resources

from scrapy import Request
from scrapy_redis.queue import Base

from crawlers.distributed.keys import queue_keys

WORK_ID = "work_id"  # request.meta key: the id of the queue entry this request came from
REQUEUE_SCORE = -1_000_000  # lost work goes to the front of the queue
DEFAULT_LEASE_SECONDS = 60.0


@cache
def lua_script(name: str) -> str:
    """The text of ``lua/<name>.lua``, shipped with the package."""
    return resources.files(__package__).joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")


def worker_id() -> str:
    """Unique per process, readable in Redis: host, a random tag (containers may share host names), pid."""
    return f"{socket.gethostname()}-{os.urandom(2).hex()}:{os.getpid()}"


class LeasedQueue(Base):
    """scrapy-redis queue whose pop is a lease: see the module docstring.

    ``key`` is the queue's key (``…:requests``); the payload, leases and owners live beside it.
    ``spider`` is only needed to serialise requests (push, pop); the coordinator passes None to count,
    requeue and clear.
    """

    def __init__(self, server, spider, key, serializer=None, *, lease_seconds: float | None = None,
                 worker: str | None = None):
        if spider is None:  # scrapy-redis's Base formats the key with the spider's name
            self.server, self.spider, self.key, self.serializer = server, None, key, serializer
        else:
            super().__init__(server, spider, key, serializer)
        self.keys = queue_keys(self.key)
        settings = getattr(spider, "settings", None)
        if lease_seconds is None:
            lease_seconds = (settings.getfloat("WORKER_LEASE_SECONDS", DEFAULT_LEASE_SECONDS) if settings is not None
                             else DEFAULT_LEASE_SECONDS)
        self.lease_seconds = float(lease_seconds)
        self.worker = worker or worker_id()
        self.held: set[str] = set()  # ids this process popped and has not acked
        self._push, self._pop, self._ack, self._renew, self._requeue = (
            server.register_script(lua_script(name)) for name in ("push", "pop", "ack", "renew", "requeue"))

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
