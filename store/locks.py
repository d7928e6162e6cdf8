"""One monitor run at a time per registry: run locks in the store, and the heartbeat that keeps one alive.

A lock names its holder (run id, process id, host) and when it last beat. A holder is alive while its
heartbeat is fresher than ``LOCK_STALE_SECONDS`` and, on this host, its process exists; a dead holder's
lock may be taken over.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.engine import Engine

from store.schema import run_locks

logger = logging.getLogger(__name__)

# A lock whose heartbeat is older than this is stale; the holder beats every tenth of it.
LOCK_STALE_SECONDS = 300.0
HEARTBEAT_SECONDS = LOCK_STALE_SECONDS / 10


def _alive(holder: dict, stale_after: float) -> bool:
    if time.time() - float(holder["heartbeat"]) >= stale_after:
        return False  # silent too long: dead, even if its PID now names a live process
    if holder["host"] == socket.gethostname():
        try:
            os.kill(int(holder["pid"]), 0)
        except ProcessLookupError:
            return False  # killed a moment ago: no need to wait for its heartbeat to age
        except PermissionError:
            return True
    return True


class RunLocks:
    """The lock methods of ``store.Store`` (which supplies ``engine``)."""

    engine: Engine

    def acquire_lock(self, name: str, run_id: str, *,
                     stale_after: float = LOCK_STALE_SECONDS) -> tuple[bool, dict | None]:
        """Take the lock ``name`` for ``run_id``. Returns (acquired, previous holder).

        A holder is alive while its heartbeat is fresher than ``stale_after`` seconds and, on this host,
        its process exists. A heartbeat older than that is stale whatever ``kill(pid, 0)`` says: after a
        reboot or a container restart the PID may belong to another process. A dead holder's lock is
        taken over with a compare-and-swap on (run_id, pid), so two starters can never both win.
        """
        from sqlalchemy.exc import IntegrityError

        me = {"name": name, "run_id": run_id, "pid": os.getpid(), "host": socket.gethostname(),
              "heartbeat": time.time()}
        try:
            with self.engine.begin() as connection:
                connection.execute(run_locks.insert().values(**me))
            return True, None
        except IntegrityError:
            pass
        with self.engine.connect() as connection:
            holder = connection.execute(select(run_locks).where(run_locks.c.name == name)).mappings().first()
        if holder is None:  # released in between: try once more
            return self.acquire_lock(name, run_id, stale_after=stale_after)
        holder = dict(holder)
        if _alive(holder, stale_after):
            return False, holder
        with self.engine.begin() as connection:
            taken = connection.execute(run_locks.update().where(
                (run_locks.c.name == name) & (run_locks.c.run_id == holder["run_id"])
                & (run_locks.c.pid == holder["pid"])).values(**me)).rowcount
        return (taken == 1), holder

    def heartbeat(self, name: str, run_id: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(run_locks.update().where(
                (run_locks.c.name == name) & (run_locks.c.run_id == run_id)).values(heartbeat=time.time()))

    def rename_lock(self, name: str, run_id: str, new_run_id: str) -> None:
        """The lock held by ``run_id`` now names ``new_run_id`` (the run it resumed)."""
        with self.engine.begin() as connection:
            connection.execute(run_locks.update().where(
                (run_locks.c.name == name) & (run_locks.c.run_id == run_id)).values(run_id=new_run_id))

    def release_lock(self, name: str, run_id: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(run_locks.delete().where((run_locks.c.name == name) & (run_locks.c.run_id == run_id)))


class Heartbeat:
    """Refreshes the lock's heartbeat every ``every`` seconds in a thread of its own, so a run busy writing
    its reports (the reactor stopped) still shows it is alive."""

    def __init__(self, beat: Callable[[], None], every: float = HEARTBEAT_SECONDS) -> None:
        self.beat = beat
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lock-heartbeat", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.beat()
            except Exception as exc:  # the store may be busy for a moment; the next beat will do
                logger.debug("heartbeat failed: %s", exc)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
