"""`scrapy monitor` takes its store the way every command does, and says which one it used."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess

from tests.conftest import CASSETTES, DEMO_REGISTRY, PYTHON, ROOT, SCRAPY, scrapy_env
from tests.monitor_runs import one_page_registry


def _monitor(tmp_path, *store: str, cwd=ROOT, platforms="alibaba") -> subprocess.CompletedProcess:
    return subprocess.run([SCRAPY, "monitor", "--registry", str(DEMO_REGISTRY), "--replay", str(CASSETTES),
                           "--platforms", platforms, "--out", str(tmp_path / "reports"), "--images-store",
                           str(tmp_path / "images"), "--no-progress", *store], cwd=cwd, env=scrapy_env(),
                          capture_output=True, text=True, timeout=300)


def test_the_monitor_says_which_store_it_used(tmp_path):
    # Alibaba.com and 1688 at the demo watch list's full depth (their last result pages, an ad without an id):
    # the other monitor tests of the run read one page of them, or none
    done = _monitor(tmp_path, "--store", f"sqlite:///{tmp_path / 'store.db'}", cwd=ROOT / "fixtures",
                    platforms="alibaba,1688")
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"monitor: store: sqlite:///{tmp_path / 'store.db'}" in done.stderr
    assert (tmp_path / "store.db").is_file()


def test_a_monitor_without_a_store_is_refused_as_bad_input(tmp_path):
    done = _monitor(tmp_path, "--store", "")
    assert done.returncode == 2
    assert "a monitor run needs a store" in done.stderr


# The monitor in a process that ends without the interpreter's shutdown (os._exit: as a container stopped the
# moment the command returns), so that only what the run itself closed is closed.
UNFINALISED = """
import os, sys
from scrapy.cmdline import execute
try:
    execute(["scrapy", *sys.argv[1:]])
except SystemExit as stop:
    os._exit(stop.code or 0)
"""


def test_the_store_file_alone_has_the_whole_run_once_the_monitor_returns(tmp_path):
    registry = one_page_registry(tmp_path / "registry")
    db = tmp_path / "store.db"
    done = subprocess.run([PYTHON, "-c", UNFINALISED, "monitor", "--registry", str(registry), "--replay",
                           str(CASSETTES), "--platforms", "taobao", "--out", str(tmp_path / "reports"), "--store",
                           f"sqlite:///{db}", "--images-store", str(tmp_path / "images"), "--no-progress"],
                          cwd=tmp_path, env=scrapy_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (tmp_path / "store.db-wal").exists()  # folded back into the file: the run closed its store
    copy = tmp_path / "copy.db"
    shutil.copy(db, copy)  # what a backup of the file alone takes
    with sqlite3.connect(copy) as connection:
        assert connection.execute("SELECT status FROM runs").fetchall() == [("finished",)]
        assert connection.execute("SELECT COUNT(*) FROM listings").fetchone()[0] == 5
