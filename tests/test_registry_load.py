"""One registry per process (``registry.load``): the same object while nothing changed, read again after a
change to the YAML or to a photo it names, never a failed load kept, safe from several threads, and found
one way by every spider and pipeline of a crawl. A four-platform monitor run reads the file once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image
from scrapy.settings import Settings

from crawlers.spiders.taobao import TaobaoSpider
from registry import (
    REGISTRY_SETTING,
    RegistryError,
    from_settings,
    load_registry,
    parse_count,
    path_from_settings,
)
from tests.conftest import CASSETTES, DEMO_REGISTRY, ROOT, scrapy_env

REGISTRY_TEXT = """\
rights_holder: {{name: Acme Outdoor, contact_email: ip@acme.example}}
trademarks:
  - id: tm-acme
    mark: {mark}
    registration_number: "12345678"
    office: CNIPA
    classes: [25]
    valid_from: 2020-01-01
    valid_until: 2099-12-31
products:
  - id: jacket
    name: Acme jacket
    trademarks: [tm-acme]
    images: [images/jacket.png]
"""


def _registry(folder: Path, mark: str = "ACME") -> Path:
    (folder / "images").mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (32, 32), (200, 30, 30)).save(folder / "images" / "jacket.png")
    path = folder / "registry.yaml"
    path.write_text(REGISTRY_TEXT.format(mark=mark), encoding="utf-8")
    return path


def test_the_same_registry_object_is_returned_while_nothing_changed(tmp_path):
    path = _registry(tmp_path)
    first = load_registry(path)
    assert load_registry(path) is first
    assert load_registry(str(path)) is first
    # another spelling of the same file is the same file
    assert load_registry(tmp_path / "images" / ".." / "registry.yaml") is first
    assert parse_count(path) == 1


def test_an_edit_to_the_yaml_is_read_on_the_next_call(tmp_path):
    path = _registry(tmp_path)
    first = load_registry(path)
    path.write_text(REGISTRY_TEXT.format(mark="ACMX"), encoding="utf-8")  # same size, new text
    second = load_registry(path)
    assert second is not first and second.trademarks[0].mark == "ACMX"
    assert load_registry(path) is second
    assert parse_count(path) == 2


def test_an_edit_that_keeps_the_modification_time_is_still_seen(tmp_path):
    path = _registry(tmp_path)
    before = path.stat()
    first = load_registry(path)
    path.write_text(REGISTRY_TEXT.format(mark="ACMY"), encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # as `cp -p` or an archive tool leaves it
    assert load_registry(path).trademarks[0].mark == "ACMY"
    assert load_registry(path) is not first


def test_a_file_replaced_by_a_rename_is_read_again(tmp_path):
    path = _registry(tmp_path)
    first = load_registry(path)
    other = tmp_path / "new.yaml"
    other.write_text(REGISTRY_TEXT.format(mark="ACMZ"), encoding="utf-8")
    os.replace(other, path)  # how editors and deploy tools save: a new inode under the old name
    assert load_registry(path) is not first
    assert load_registry(path).trademarks[0].mark == "ACMZ"


def test_a_changed_or_deleted_photo_makes_the_registry_be_read_and_checked_again(tmp_path):
    path = _registry(tmp_path)
    first = load_registry(path)
    Image.new("RGB", (48, 48), (10, 200, 10)).save(tmp_path / "images" / "jacket.png")
    second = load_registry(path)
    assert second is not first
    (tmp_path / "images" / "jacket.png").unlink()
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    assert any("products[0].images[0]: file not found" in e for e in caught.value.errors)


def test_a_registry_that_fails_to_load_is_not_kept_and_reports_again(tmp_path):
    path = _registry(tmp_path)
    path.write_text("rights_holder: [not, a, mapping\n", encoding="utf-8")
    for attempt in (1, 2):
        with pytest.raises(RegistryError) as caught:
            load_registry(path)
        assert "invalid YAML" in str(caught.value) and str(path) in str(caught.value)
        assert parse_count(path) == attempt
    path.write_text(REGISTRY_TEXT.format(mark="ACME"), encoding="utf-8")
    assert load_registry(path).trademarks[0].mark == "ACME"


def test_a_good_registry_broken_later_is_reported_not_served_from_memory(tmp_path):
    path = _registry(tmp_path)
    load_registry(path)
    path.write_text(REGISTRY_TEXT.format(mark="ACME").replace("    office: CNIPA\n", ""), encoding="utf-8")
    with pytest.raises(RegistryError, match=r"trademarks\[0\]\.office: missing required key"):
        load_registry(path)
    with pytest.raises(RegistryError):
        load_registry(path)


def test_threads_asking_at_once_share_one_read(tmp_path):
    path = _registry(tmp_path)
    start = threading.Barrier(8)
    results: list[object] = []

    def load() -> None:
        start.wait(timeout=10)
        results.append(load_registry(path))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 8 and all(r is results[0] for r in results)
    assert parse_count(path) == 1


def test_a_crawl_finds_its_registry_one_way_the_spiders_argument_first(tmp_path):
    path = _registry(tmp_path)
    other = _registry(tmp_path / "other")
    settings = Settings({REGISTRY_SETTING: str(other)})
    assert path_from_settings(Settings()) is None and from_settings(Settings()) is None
    assert path_from_settings(settings) == str(other)
    assert path_from_settings(settings, TaobaoSpider()) == str(other)  # no -a registry: the setting
    spider = TaobaoSpider(registry=str(path))  # `-a registry=PATH`
    assert path_from_settings(settings, spider) == str(path)
    assert from_settings(settings, spider) is load_registry(path)


# A monitor run in its own process, as a user starts it; the file's opens are counted by Python's audit
# hook (independent of our code), the reads by the loader's own counter, and who asked for the registry by
# a wrapper that only notes the caller's module and hands the call on to the loader.
MONITOR_RUN = """
import json, os, sys
from collections import Counter
target = os.path.realpath(sys.argv[1])
opens = []

def count_opens(event, args):
    if event == "open" and isinstance(args[0], str | bytes | os.PathLike):
        if os.path.realpath(os.fsdecode(args[0])) == target:
            opens.append(args[1])

sys.addaudithook(count_opens)
from scrapy.cmdline import execute
import registry, registry.load
lookups = Counter()
load_registry = registry.load.load_registry

def noted(path):
    frame = sys._getframe(1)
    while frame.f_globals.get("__name__", "").startswith("registry"):  # from_settings: its caller
        frame = frame.f_back
    lookups[frame.f_globals["__name__"]] += 1
    return load_registry(path)

registry.load_registry = registry.load.load_registry = noted  # before the command imports its modules
try:
    execute(["scrapy", "monitor", "--registry", sys.argv[1], *sys.argv[3:]])
except SystemExit as exc:
    code = exc.code
with open(sys.argv[2], "w") as out:
    json.dump({"exit_code": code, "opens": len(opens), "parses": registry.parse_count(), "lookups": lookups}, out)
"""


def _one_page_of_one_query(registry_file: Path) -> None:
    """The copied demo registry's watch list cut to one query and one page: each platform still crawls, scores
    and hashes listings, so every lookup is made (the count does not depend on how many pages)."""
    text = registry_file.read_text(encoding="utf-8")
    for demo, small in (('  queries: ["LUMORA 冲锋衣", "露莫拉"]\n', '  queries: ["露莫拉"]\n'),
                        ("  pages: 3\n", "  pages: 1\n")):
        assert text.count(demo) == 1, f"the demo's watch list no longer has {demo!r}"
        text = text.replace(demo, small)
    registry_file.write_text(text, encoding="utf-8")


def test_a_four_platform_monitor_run_reads_the_registry_once(tmp_path):
    folder = tmp_path / "registry"
    shutil.copytree(DEMO_REGISTRY.parent, folder)
    _one_page_of_one_query(folder / DEMO_REGISTRY.name)
    result_file = tmp_path / "counts.json"
    run = subprocess.run(  # a fresh interpreter: the count replaces load_registry before anything imports it
        [sys.executable, "-c", MONITOR_RUN, str(folder / DEMO_REGISTRY.name), str(result_file),
         "--replay", str(CASSETTES), "--platforms", "taobao,tmall,1688,alibaba", "--out", str(tmp_path / "reports"),
         "--store", f"sqlite:///{tmp_path / 'store.db'}", "--images-store", str(tmp_path / "images"),
         "--no-progress"],
        cwd=ROOT, env=scrapy_env(), capture_output=True, text=True, timeout=600,
    )
    assert result_file.exists(), run.stderr[-4000:]
    counts = json.loads(result_file.read_text(encoding="utf-8"))
    summary = json.loads(next((tmp_path / "reports").glob("*/summary.json")).read_text(encoding="utf-8"))
    assert counts["exit_code"] == 0, run.stderr[-4000:]
    assert sorted(summary["platforms"]) == sorted(["taobao", "tmall", "1688", "alibaba"])
    assert all(p["listings"] > 0 for p in summary["platforms"].values())
    # one command, four spiders, four scoring and four image pipelines: 13 reads before, one now
    lookups = {"crawlers.monitor_run": 1, "crawlers.spiders.base": 4, "pipelines.scoring": 4,
               "pipelines.image_match": 4}
    assert counts == {"exit_code": 0, "opens": 1, "parses": 1, "lookups": lookups}
