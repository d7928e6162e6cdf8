"""The monitor run refuses bad options before anything is crawled or locked: exit 2, one line saying what."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import DEMO_REGISTRY, SCRAPY, scrapy_env


def _monitor(workdir: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([SCRAPY, "monitor", "--registry", str(DEMO_REGISTRY), "--out", str(workdir / "reports"),
                           "--store", f"sqlite:///{workdir / 'store.db'}", "--no-progress", *extra],
                          cwd=workdir, env=scrapy_env(), capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("extra", "said"), [
    (("--platforms", "taobao,ebay"), "monitor: --platforms: unknown platform(s) ebay; choose from taobao, tmall"),
    (("--replay", "no-such-folder"), "monitor: --replay no-such-folder: folder not found"),
])
def test_a_bad_option_is_exit_2_with_one_line_and_nothing_crawled(tmp_path, extra, said):
    done = _monitor(tmp_path, *extra)
    assert done.returncode == 2, done.stderr[-2000:]
    assert said in done.stderr
    assert not (tmp_path / "reports").exists()  # no run was started, so no report folder


def test_a_broken_registry_is_exit_2_naming_the_key(tmp_path):
    broken = tmp_path / "registry.yaml"
    broken.write_text("rights_holder: {}\n", encoding="utf-8")
    done = subprocess.run([SCRAPY, "monitor", "--registry", str(broken), "--store", f"sqlite:///{tmp_path / 's.db'}",
                           "--no-progress"], cwd=tmp_path, env=scrapy_env(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and "rights_holder" in done.stderr
    assert not (tmp_path / "s.db").exists()  # refused before the store was opened
