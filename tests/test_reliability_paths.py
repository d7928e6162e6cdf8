"""A listing id, registry id or URL written by a seller never becomes a path outside the evidence, image
and complaint folders (RELIABILITY.md, "Ids and paths")."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy import Request

from crawlers.items import listing_problems
from exports.evidence import safe_component
from tests.export_fixtures import listing

HOSTILE_IDS = ["../../etc/passwd", "..", ".", "/abs/path", "a/b", "a\\b", "C:\\x", "..\\..\\x", "\x00", "id\x00.png",
               "~root", "%2e%2e%2f", "ａ/ｂ", "6000\u202e00001", "600000000001/../../x", " ", ""]


@pytest.mark.parametrize("listing_id", HOSTILE_IDS)
def test_validation_drops_a_listing_whose_id_is_not_a_plain_id(listing_id):
    problems = listing_problems(listing(listing_id=listing_id, url="https://item.taobao.com/item.htm?id=1"))
    assert {"bad_listing_id", "missing_listing_id"} & set(problems)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.one_of(st.sampled_from(HOSTILE_IDS), st.text(max_size=120)))
def test_any_text_becomes_one_safe_path_component_inside_its_folder(text):
    component = safe_component(text)
    assert component and component not in (".", "..") and not component.startswith(".")
    assert "/" not in component and "\\" not in component and "\x00" not in component
    base = Path("/srv/out/evidence")
    assert (base / f"taobao-{component}").resolve().parent == base


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text(max_size=30), st.sampled_from(["/", "\\", "..", "\x00", "\u202e", "露", " ", "_"]))
def test_ids_that_differ_only_in_unsafe_characters_never_share_an_evidence_folder(text, unsafe):
    assert safe_component(text) != safe_component(text + unsafe)


@pytest.mark.parametrize("url", ["https://img.alicdn.com/../../../etc/passwd", "https://img.alicdn.com/a/..%2f..%2fx.jpg",
                                 "https://img.alicdn.com/x.jpg/../../../../tmp/evil.png", "https://img.alicdn.com/%00.png",
                                 "https://img.alicdn.com/x.php", "https://img.alicdn.com/a.jpg?../../x"])
def test_a_stored_image_path_is_always_full_slash_a_hash_whatever_the_url(url):
    from pipelines.images import ListingImagesPipeline

    path = ListingImagesPipeline.file_path(object.__new__(ListingImagesPipeline), Request(url))
    parts = PurePosixPath(path).parts
    assert len(parts) == 2 and parts[0] == "full" and ".." not in path
    stem, _, ext = parts[1].partition(".")
    assert len(stem) == 40 and ext in ("jpg", "png", "webp", "gif", "bmp")


def _secret_image(folder: Path) -> Path:
    from tests.export_fixtures import draw_image

    return draw_image(folder / "outside" / "private.png", (200, 10, 10))


@pytest.mark.parametrize("how", ["absolute", "dot-dot"])
def test_an_image_path_outside_the_images_store_is_never_embedded_in_the_report(tmp_path, how):
    from exports.report_html import render_report_html

    secret = _secret_image(tmp_path)
    store = tmp_path / "store"
    (store / "full").mkdir(parents=True)
    path = str(secret) if how == "absolute" else "../outside/private.png"
    item = listing(images=[{"url": "https://img.alicdn.com/a.jpg", "path": path, "checksum": "c", "phash": "0" * 16}])
    page = render_report_html([item], images_store=store, report_dir=tmp_path / "reports")
    assert "data:image/jpeg;base64," not in page


def test_scrapy_match_never_reads_an_image_outside_the_images_store(tmp_path):
    import json
    import subprocess

    from tests.conftest import DEMO_REGISTRY, SCRAPY, scrapy_env

    registered = DEMO_REGISTRY.parent / "images" / "trail_jacket_1.jpg"  # hashes to an exact image hit if read
    store = tmp_path / "store"
    store.mkdir()
    item = listing(title="户外冲锋衣", images=[{"url": "https://img.alicdn.com/a.jpg", "path": str(registered),
                                             "checksum": "c", "phash": "0" * 16}])
    (tmp_path / "in.jsonl").write_text(json.dumps(item, ensure_ascii=False) + "\n", encoding="utf-8")
    run = subprocess.run([SCRAPY, "match", "--registry", str(DEMO_REGISTRY), "--images-store", str(store),
                          str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl")], cwd=tmp_path,
                         env=scrapy_env(), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    scored = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert not scored["signals"].get("image")


@pytest.mark.parametrize("how", ["absolute", "dot-dot"])
def test_a_complaint_comparison_never_uses_an_image_outside_the_images_store_or_report(tmp_path, how):
    from exports.filing_run import picture_source

    secret = _secret_image(tmp_path)
    store, report = tmp_path / "store", tmp_path / "reports" / "run"
    store.mkdir()
    report.mkdir(parents=True)
    path = str(secret) if how == "absolute" else "../../outside/private.png"
    item = listing(signals={"image": {"registered_image": "images/trail_jacket_1.png", "distance": 0,
                                      "listing_image_path": path}})
    source = picture_source(item, tmp_path / "registry", report, str(store))
    assert source is None  # no comparison rather than a picture of some other file on disk
