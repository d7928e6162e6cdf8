"""The filing step of ``scrapy complaints``, through the real command: the batches are planned once, after
the evidence showed which listings were taken down, and the run report's comparison picture is reused."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from exports.review_csv import write_review_csv
from tests.conftest import SCRAPY
from tests.export_fixtures import draw_image, listing, write_cassette

REPO = Path(__file__).resolve().parents[1]
PAGE = "<html><head><meta charset='utf-8'></head><body><h1>露莫拉 冲锋衣</h1></body></html>".encode()


def _hit(path: str) -> dict:
    return {"product_id": "trail-jacket", "registered_image": "images/trail_jacket_1.png",
            "listing_image_path": path, "distance": 5, "stage": "phash", "confident": True, "is_logo": False}


def _report(tmp_path: Path, registry) -> tuple[Path, bytes]:
    """A run's report folder: three listings to auto-approve, one of them drawn by the report already."""
    report = tmp_path / "reports" / "run-1"
    draw_image(report / "full" / "a.jpg", (200, 40, 40))
    drawn = draw_image(report / "comparisons" / "taobao-600000000001.png", (0, 200, 0), size=(64, 32))
    items = [
        listing(listing_id="600000000001", score=95, image_hit=_hit("full/a.jpg"),
                image_evidence="comparisons/taobao-600000000001.png"),
        listing(listing_id="600000000002", score=93),  # taken down: its page redirects to the no-item page
        listing(listing_id="600000000005", score=92, image_hit=_hit("full/a.jpg")),  # no picture in the report
    ]
    write_review_csv(items, report / "review.csv", registry)
    with (report / "listings.jsonl").open("w", encoding="utf-8") as handle:
        for item in items:
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")
    return report, drawn.read_bytes()


@pytest.mark.browser
def test_scrapy_complaints_plans_once_and_draws_each_comparison_picture_once(tmp_path, registry):
    report, drawn = _report(tmp_path, registry)
    listed = [{"uri": f"https://item.taobao.com/item.htm?id={i}", "headers": {"Content-Type": "text/html"},
               "body": PAGE} for i in ("600000000001", "600000000005")]
    write_cassette(tmp_path / "cassettes" / "detail.yaml", [*listed, {
        "uri": "https://item.taobao.com/item.htm?id=600000000002", "status": 302,
        "headers": {"Location": "https://error.item.taobao.com/error/noitem"}}])
    mtime = (report / "comparisons" / "taobao-600000000001.png").stat().st_mtime_ns
    out = tmp_path / "complaints"
    run = subprocess.run(
        [SCRAPY, "complaints", "--registry", str(registry.path), "--review",
         str(report / "review.csv"), "--out", str(out), "--auto-approve-above", "90", "--replay",
         str(tmp_path / "cassettes"), "--store", "", "--nolog"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    planned = [line for line in run.stdout.splitlines() if "complaints: planned" in line]
    assert len(planned) == 1 and planned[0].endswith("planned 1 batch(es) of 2 listing(s)")
    assert "complaints: 2 comparison picture(s): 1 drawn, 1 reused from the run's report" in run.stdout
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [entry["listing_id"] for entry in manifest["batches"][0]["listings"]] == ["600000000001", "600000000005"]
    assert [(r["listing_id"], r["check"]) for r in manifest["refused"]] == [("600000000002", "removed")]
    # the report's own picture, not a new drawing of the same pair; the report's file is left as it was
    assert (out / "evidence/taobao-600000000001/comparison.png").read_bytes() == drawn
    assert (report / "comparisons" / "taobao-600000000001.png").stat().st_mtime_ns == mtime
    assert (out / "evidence/taobao-600000000005/comparison.png").read_bytes() != drawn
