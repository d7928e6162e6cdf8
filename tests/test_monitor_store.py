"""`scrapy monitor` takes its store the way every command does, and says which one it used."""

from __future__ import annotations

import subprocess

from tests.conftest import CASSETTES, DEMO_REGISTRY, ROOT, SCRAPY, scrapy_env


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
