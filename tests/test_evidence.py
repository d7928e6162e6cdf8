"""Evidence capture: real Chromium screenshots of replayed detail pages, hashed in meta.json."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image

from contract import is_removed_url
from exports.evidence import (
    MAX_SCREENSHOT_HEIGHT,
    EvidenceRequest,
    capture_evidence,
    evidence_folder,
    replay_fetch,
    safe_component,
)
from tests.export_fixtures import write_cassette

ITEM_URL = "https://item.taobao.com/item.htm?id=600000000001"
GONE_URL = "https://item.taobao.com/item.htm?id=600000000002"
BROKEN_URL = "https://detail.tmall.com/item.htm?id=600000000003"
TALL_URL = "https://detail.1688.com/offer/600000000004.html"
NOITEM_URL = "https://error.item.taobao.com/error/noitem?itemid=600000000002"
CJK_TITLE = "露莫拉冲锋衣"
GLYPH = 64  # px; CJK glyphs advance one em

CJK_PAGE = f"""<!DOCTYPE html>
<html><head><meta charset="gbk"><title>{CJK_TITLE}</title>
<script src="https://g.alicdn.com/tracker/aplus.js"></script></head>
<body style="margin:0;background:#fff">
<div id="t" style="position:absolute;left:0;top:0;font:{GLYPH}px/{GLYPH}px sans-serif;color:#000;white-space:nowrap">{CJK_TITLE}</div>
<img src="https://img.alicdn.com/imgextra/i1/unrecorded.jpg" style="position:absolute;top:200px">
<div style="height:2400px"></div><p>页面底部 bottom of a long page</p>
</body></html>""".encode("gbk")


@pytest.fixture(scope="module")
def replay_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cassettes")
    write_cassette(
        folder / "detail" / "taobao_items.yaml",
        [
            {"uri": ITEM_URL, "headers": {"Content-Type": "text/html; charset=GBK",
                                          "Set-Cookie": "cookie2=secret-session; Path=/"}, "body": CJK_PAGE},
            {"uri": GONE_URL, "status": 302, "headers": {"Location": NOITEM_URL}, "body": b""},
            {"uri": TALL_URL, "headers": {"Content-Type": "text/html; charset=utf-8"},
             "body": '<html><body><div style="height:40000px">无尽的页面</div></body></html>'.encode()},
        ],
    )
    return folder


@pytest.fixture(scope="module")
def captured(replay_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("complaints")
    requests = [
        EvidenceRequest("taobao", "600000000001", ITEM_URL),
        EvidenceRequest("taobao", "600000000002", GONE_URL),
        EvidenceRequest("tmall", "600000000003", BROKEN_URL),
        EvidenceRequest("taobao", "../../etc/passwd", ITEM_URL),
        EvidenceRequest("1688", "600000000004", TALL_URL),
    ]
    return out, capture_evidence(requests, out, fetch=replay_fetch(replay_dir), timeout_ms=10_000)


def _meta(folder: Path) -> dict:
    return json.loads((folder / "meta.json").read_text(encoding="utf-8"))


@pytest.mark.browser
def test_screenshot_of_a_replayed_gbk_page_renders_chinese_glyphs_not_tofu(captured):
    _out, results = captured
    result = results[("taobao", "600000000001")]
    assert result.status == "ok", result.error
    shot = Image.open(result.folder / "screenshot.png").convert("L")
    assert shot.height > 2400  # full page, not just the viewport
    cells = [shot.crop((i * GLYPH, 0, (i + 1) * GLYPH, GLYPH)) for i in range(len(CJK_TITLE))]
    inked = [sum(cell.histogram()[:128]) for cell in cells]
    assert all(count > 40 for count in inked), inked
    # Missing-glyph boxes ("tofu") are identical for every character; real glyphs differ.
    assert len({cell.tobytes() for cell in cells}) == len(CJK_TITLE)


@pytest.mark.browser
def test_meta_json_holds_the_url_time_and_a_correct_sha256_of_every_file(captured):
    out, results = captured
    folder = results[("taobao", "600000000001")].folder
    assert folder == out / "evidence" / "taobao-600000000001"
    meta = _meta(folder)
    assert meta["url"] == ITEM_URL and meta["status"] == "ok"
    assert meta["captured_at"].endswith("Z")
    assert set(meta["files"]) == {"screenshot.png", "page.html"}
    for name, digest in meta["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    assert (folder / "page.html").read_bytes() == CJK_PAGE  # the document exactly as served


@pytest.mark.browser
def test_unrecorded_sub_requests_are_aborted_and_no_cookie_reaches_the_evidence(captured):
    _, results = captured
    folder = results[("taobao", "600000000001")].folder
    meta = _meta(folder)
    assert meta["blocked_requests"] == 2  # the tracker script and the unrecorded image
    text = (folder / "meta.json").read_text(encoding="utf-8")
    assert "secret-session" not in text and "cookie" not in text.lower()


@pytest.mark.browser
def test_a_removed_item_is_recorded_as_failed_and_the_batch_goes_on(captured):
    _, results = captured
    gone = results[("taobao", "600000000002")]
    assert gone.status == "failed" and gone.removed
    assert "error/noitem" in gone.error
    assert _meta(gone.folder)["status"] == "failed"
    missing = results[("tmall", "600000000003")]
    assert missing.status == "failed" and not missing.removed
    assert _meta(missing.folder)["error"]
    # the listing after the failures was still captured
    assert results[("taobao", "../../etc/passwd")].status == "ok"


@pytest.mark.browser
def test_a_hostile_listing_id_never_leaves_the_evidence_folder(captured):
    out, results = captured
    folder = results[("taobao", "../../etc/passwd")].folder
    assert folder.resolve().is_relative_to((out / "evidence").resolve())
    assert folder.parent == out / "evidence"
    assert (folder / "screenshot.png").is_file()


@pytest.mark.browser
def test_an_endless_page_is_cut_instead_of_producing_a_giant_screenshot(captured):
    _, results = captured
    result = results[("1688", "600000000004")]
    assert result.status == "ok"
    assert Image.open(result.folder / "screenshot.png").height == MAX_SCREENSHOT_HEIGHT
    assert _meta(result.folder)["screenshot_cut_at_px"] == MAX_SCREENSHOT_HEIGHT


def test_safe_component_keeps_plain_ids_and_separates_lookalikes():
    assert safe_component("600000000001") == "600000000001"
    assert safe_component("LUMORA-CN-25") == "LUMORA-CN-25"
    for hostile in ("..", ".", "", "a/b", "a\\b", "../../etc/passwd", "x\x00y", "露莫拉"):
        component = safe_component(hostile)
        assert "/" not in component and "\\" not in component and not component.startswith(".")
        assert component not in ("", ".", "..")
    assert safe_component("a/b") != safe_component("a_b")
    assert evidence_folder(Path("/out"), "taobao", "../x").parent == Path("/out/evidence")


def test_the_noitem_redirect_is_recognised_as_a_removed_listing():
    assert is_removed_url(NOITEM_URL)
    assert not is_removed_url(ITEM_URL)


def test_evidence_without_screenshots_still_writes_meta(tmp_path: Path):
    results = capture_evidence([EvidenceRequest("taobao", "1", ITEM_URL)], tmp_path, screenshots=False)
    result = results[("taobao", "1")]
    assert result.status == "skipped"
    assert _meta(result.folder)["files"] == {}


def test_a_missing_browser_fails_each_listing_with_a_message_instead_of_crashing(tmp_path: Path):
    requests = [EvidenceRequest("taobao", str(n), ITEM_URL) for n in (1, 2)]
    results = capture_evidence(requests, tmp_path, fetch=lambda url: None, executable_path="/nonexistent/chromium")
    assert [r.status for r in results.values()] == ["failed", "failed"]
    assert all("cannot start Chromium (/nonexistent/chromium)" in r.error for r in results.values())
    assert _meta(results[("taobao", "2")].folder)["status"] == "failed"


def test_an_image_hit_adds_a_hashed_side_by_side_comparison(tmp_path: Path):
    from exports.comparison_picture import ComparisonSource
    from tests.export_fixtures import draw_image

    listing_image = draw_image(tmp_path / "store" / "full" / "a.jpg", (200, 40, 40))
    registered = draw_image(tmp_path / "registry" / "images" / "jacket.png", (30, 90, 160))
    source = ComparisonSource(listing_image, registered, 6, "phash", "taobao 1 · 小店", "images/jacket.png", "露莫拉冲锋衣")
    missing = ComparisonSource(tmp_path / "nope.jpg", registered, 6, "phash")
    results = capture_evidence(
        [EvidenceRequest("taobao", "1", ITEM_URL, source), EvidenceRequest("taobao", "2", ITEM_URL, missing)],
        tmp_path / "out",
        screenshots=False,
    )
    folder = results[("taobao", "1")].folder
    picture = Image.open(folder / "comparison.png")
    assert picture.width > 2 * 240  # two panels side by side
    meta = _meta(folder)
    assert meta["files"]["comparison.png"] == hashlib.sha256((folder / "comparison.png").read_bytes()).hexdigest()
    other = _meta(results[("taobao", "2")].folder)
    assert "comparison.png" not in other["files"]
    assert any("image missing" in note for note in other["notes"])
