"""Run locks (``store.locks``): one monitor run at a time per registry, a dead holder's lock taken over, a
stale one never blocking for ever, and the heartbeat that keeps a live one fresh."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time

from store import Heartbeat, Store, run_locks
from tests.conftest import CASSETTES, DEMO_REGISTRY
from tests.monitor_runs import one_page_registry
from tests.test_run_resume import monitor


def test_a_lock_whose_pid_now_belongs_to_another_live_process_is_stale_by_its_heartbeat(tmp_path):
    registry = one_page_registry(tmp_path / "registry").resolve()  # the run is whole, the watch list short
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    with store.engine.begin() as connection:  # as a run on this host left it before a reboot
        connection.execute(run_locks.insert().values(
            name=f"monitor:{registry}", run_id="before-the-reboot", pid=os.getpid(),  # a live process
            host=socket.gethostname(), heartbeat=time.time() - 3600))
    store.close()
    result = monitor(tmp_path, CASSETTES, "--platforms", "taobao", registry=registry)
    assert result.returncode == 0, result.stderr[-3000:]
    with sqlite3.connect(tmp_path / "store.db") as connection:
        assert connection.execute("SELECT COUNT(*) FROM run_locks").fetchone()[0] == 0


def test_a_live_lock_with_a_fresh_heartbeat_still_refuses(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    acquired, _ = store.acquire_lock(f"monitor:{DEMO_REGISTRY}", "working")
    assert acquired
    result = monitor(tmp_path, CASSETTES, "--platforms", "taobao")
    assert result.returncode == 1 and "another run (working" in result.stderr


def test_the_heartbeat_thread_keeps_the_lock_fresh(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    assert store.acquire_lock("monitor:x", "beating")[0]

    def beat_time() -> float:
        with store.engine.connect() as connection:
            return connection.execute(run_locks.select()).mappings().one()["heartbeat"]

    first = beat_time()
    heartbeat = Heartbeat(lambda: store.heartbeat("monitor:x", "beating"), every=0.05)
    heartbeat.start()
    deadline = time.time() + 10
    while beat_time() == first and time.time() < deadline:
        time.sleep(0.05)
    heartbeat.stop()
    assert beat_time() > first


def _dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(child.stdout)


def test_a_lock_of_a_process_killed_a_moment_ago_is_taken_at_once_and_reported(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    with store.engine.begin() as connection:
        connection.execute(run_locks.insert().values(name="monitor:x", run_id="killed", pid=_dead_pid(),
                                                     host=socket.gethostname(), heartbeat=time.time()))
    acquired, holder = store.acquire_lock("monitor:x", "next")
    assert acquired and holder["run_id"] == "killed"
    refused, live = store.acquire_lock("monitor:x", "third")  # the new holder is alive: this process
    assert not refused and (live["run_id"], live["pid"]) == ("next", os.getpid())
    store.close()


def test_a_renamed_lock_is_released_under_its_new_run_id(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    assert store.acquire_lock("monitor:x", "token")[0]
    store.rename_lock("monitor:x", "token", "resumed-run")
    store.release_lock("monitor:x", "token")  # the old name no longer holds it
    assert not store.acquire_lock("monitor:x", "other")[0]
    store.release_lock("monitor:x", "resumed-run")
    assert store.acquire_lock("monitor:x", "other") == (True, None)
    store.close()
