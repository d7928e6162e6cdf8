"""`scrapy monitor` takes its store the way every command does, and says which one it used."""

from __future__ import annotations

import subprocess

from tests.conftest import CASSETTES, DEMO_REGISTRY, ROOT, SCRAPY, scrapy_env
from tests.monitor_runs import one_page_registry


def _monitor(tmp_path, *store: str, cwd=ROOT, registry=DEMO_REGISTRY) -> subprocess.CompletedProcess:
    return subprocess.run([SCRAPY, "monitor", "--registry", str(registry), "--replay", str(CASSETTES),
                           "--platforms", "alibaba", "--out", str(tmp_path / "reports"), "--images-store",
                           str(tmp_path / "images"), "--no-progress", *store], cwd=cwd, env=scrapy_env(),
                          capture_output=True, text=True, timeout=300)


def test_the_monitor_says_which_store_it_used(tmp_path):
    done = _monitor(tmp_path, "--store", f"sqlite:///{tmp_path / 'store.db'}", cwd=ROOT / "fixtures",
                    registry=one_page_registry(tmp_path / "registry"))  # a whole run, of one result page
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"monitor: store: sqlite:///{tmp_path / 'store.db'}" in done.stderr
    assert (tmp_path / "store.db").is_file()


def test_a_monitor_without_a_store_is_refused_as_bad_input(tmp_path):
    done = _monitor(tmp_path, "--store", "")
    assert done.returncode == 2
    assert "a monitor run needs a store" in done.stderr
