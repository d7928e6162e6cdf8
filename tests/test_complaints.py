"""Complaint batches: what IPP receives, what is refused, and what the manifest proves."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from exports.complaints import (
    CARRIED_FIELDS,
    MAX_URLS_PER_BATCH,
    REASONS,
    plan_batches,
    select_for_filing,
    seller_groups,
    write_complaints,
)
from exports.evidence import EvidenceResult
from registry import load_registry
from tests.export_fixtures import REGISTRY_YAML, draw_image, listing


def _many(count: int, *, prefix: str = "7", same_seller: bool = False, **extra) -> list[dict]:
    return [
        listing(
            listing_id=f"{prefix}{i:011d}",
            seller_id="one-seller" if same_seller else f"seller-{prefix}-{i}",
            seller_name="同一个店" if same_seller else f"店铺{i}",
            **extra,
        )
        for i in range(count)
    ]


def _urls(plan) -> list[str]:
    return [item["url"] for batch in plan.batches for item in batch.listings]


def test_more_than_300_urls_are_split_into_batches_of_at_most_300(registry):
    items = _many(301)
    plan = plan_batches(items, registry)
    assert [len(b.listings) for b in plan.batches] == [300, 1]
    assert [b.name for b in plan.batches] == ["batch-001", "batch-002"]
    assert sorted(_urls(plan)) == sorted(i["url"] for i in items)
    assert plan.refused == []


def test_one_sellers_listings_within_three_days_stay_in_one_batch(registry):
    strangers = _many(297)
    seller = [
        listing(listing_id=f"8{i:011d}", seller_id="big-shop", seller_name="大店",
                first_seen=f"2026-11-2{i}T10:00:00Z")
        for i in range(1, 5)  # 21st..24th: all within three days of the 21st
    ]
    plan = plan_batches(strangers + seller, registry)
    holding = [b for b in plan.batches if any(i["seller_id"] == "big-shop" for i in b.listings)]
    assert len(holding) == 1, "a seller's group was split across batches"
    assert all(len(b.listings) <= MAX_URLS_PER_BATCH for b in plan.batches)
    assert sum(len(b.listings) for b in plan.batches) == 301


def test_a_sellers_listings_further_apart_than_three_days_form_separate_groups():
    items = [
        listing(listing_id="1", seller_id="s", first_seen="2026-11-01T00:00:00Z"),
        listing(listing_id="2", seller_id="s", first_seen="2026-11-03T23:00:00Z"),
        listing(listing_id="3", seller_id="s", first_seen="2026-11-09T00:00:00Z"),
        listing(listing_id="4", seller_id="other", first_seen="2026-11-01T00:00:00Z"),
    ]
    groups = sorted(sorted(i["listing_id"] for i in g) for g in seller_groups(items))
    assert groups == [["1", "2"], ["3"], ["4"]]


def test_only_a_seller_group_larger_than_300_is_split(registry):
    plan = plan_batches(_many(350, same_seller=True), registry)
    assert sorted(len(b.listings) for b in plan.batches) == [50, 300]


def test_each_batch_has_one_platform_one_ipr_and_one_reason(registry):
    items = (
        _many(3, prefix="1")
        + _many(2, prefix="2", reason="trademark_misuse")
        + _many(2, prefix="3", reason="stolen_image", ipr_id="LUMORA-PHOTO")
        + _many(2, prefix="4", platform="alibaba", ipr_id="LUMORA-US", currency="USD")
        + _many(2, prefix="5", platform="1688")
    )
    plan = plan_batches(items, registry)
    assert plan.refused == []
    claims = [(b.platform, b.ipr_id, b.reason) for b in plan.batches]
    assert len(claims) == len(set(claims)) == 5
    for batch in plan.batches:
        assert {(i["platform"], i["ipr_id"], i["reason"]) for i in batch.listings} == {
            (batch.platform, batch.ipr_id, batch.reason)
        }


@pytest.mark.parametrize(
    ("overrides", "message_part"),
    [
        ({"ipr_id": "LUMORA-OLD"}, "expired on 2015-01-01"),
        ({"ipr_id": "LUMORA-US"}, "accepts only CNIPA"),
        ({"platform": "tmall", "seller_name": "Lumora 官方旗舰店"}, "authorized seller"),
        ({"verdict": "authorized"}, "authorized seller"),
        ({"reason": "", "ipr_id": ""}, "no complaint reason"),
        ({"reason": "stolen_image", "ipr_id": "LUMORA-CN-25"}, "not a copyright"),
        ({"ipr_id": "NOPE"}, "not a trademark in the registry"),
        ({"platform": "ebay"}, "unknown platform"),
    ],
)
def test_unfileable_listings_are_refused_with_a_message(registry, overrides, message_part):
    plan = plan_batches([listing(**overrides)], registry)
    assert plan.batches == []
    assert len(plan.refused) == 1
    assert message_part in plan.refused[0].message


def test_a_non_cnipa_mark_is_fine_on_alibaba_com(registry):
    plan = plan_batches([listing(platform="alibaba", ipr_id="LUMORA-US")], registry)
    assert plan.refused == [] and len(plan.batches) == 1


def test_approved_rows_and_rows_above_the_auto_approve_bar_are_filed_but_never_rejected_ones():
    def row(decision, score, n):
        return {"decision": decision, "score": score, "row": n, "url": ""}

    decisions = {
        ("taobao", "1"): row("approve", 40.0, 2),
        ("taobao", "2"): row("reject", 99.0, 3),
        ("taobao", "3"): row("", 95.0, 4),
        ("taobao", "4"): row("", 60.0, 5),
        ("taobao", "5"): row("approve", 80.0, 6) | {"ipr_id": "LUMORA-US"},
        ("taobao", "6"): row("approve", 80.0, 7),
    }
    listings = [listing(listing_id=str(n)) for n in range(1, 6)]
    chosen, refused = select_for_filing(decisions, iter(listings), auto_approve_above=90)
    assert sorted(i["listing_id"] for i in chosen) == ["1", "3", "5"]
    assert next(i for i in chosen if i["listing_id"] == "5")["ipr_id"] == "LUMORA-US"  # reviewer's correction
    assert [(r.listing_id, "row 7" in r.message and "listings.jsonl" in r.message) for r in refused] == [("6", True)]
    chosen, _ = select_for_filing(decisions, iter(listings))
    assert sorted(i["listing_id"] for i in chosen) == ["1", "5"]


def test_filed_listings_carry_only_what_filing_needs(registry):
    # the scorer's signals (all but the image hit) and the crawl's extras are not kept for 100,000 listings
    hit = {"product_id": "trail-jacket", "registered_image": "images/a.png", "distance": 4, "stage": "crop"}
    item = listing(listing_id="42", signals={"brand": {"all": ["x"] * 50}, "image": hit}, query="q", rank=3,
                   images=[{"url": "https://img.alicdn.com/a.jpg", "path": "full/a.jpg"}])  # fmt: skip
    chosen, _ = select_for_filing({("taobao", "42"): {"decision": "approve", "score": 90.0, "row": 2}}, [item])
    kept = chosen[0]
    assert kept["signals"] == {"image": hit} and "query" not in kept and "rank" not in kept
    assert kept["review_row"] == 2 and kept["url"] == item["url"] and kept["images"] == item["images"]
    from exports.comparison_picture import image_hit_of

    assert image_hit_of(kept)["listing_image_path"] == "full/a.jpg"  # the evidence still finds its picture
    plan = plan_batches([item], registry)
    assert set(plan.batches[0].listings[0]) <= set(CARRIED_FIELDS) | {"signals"}


def _write(tmp_path: Path, registry, items, evidence=None):
    out = tmp_path / "out"
    plan = plan_batches(items, registry)
    manifest = write_complaints(plan, out, registry, evidence=evidence, created_at="2026-11-29T08:00:00Z")
    return out, plan, manifest


def test_manifest_lists_batches_refusals_and_a_correct_sha256_of_every_file(tmp_path, registry):
    items = [*_many(4), listing(listing_id="99", ipr_id="LUMORA-OLD")]
    out, _, manifest = _write(tmp_path, registry, items)
    on_disk = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk == manifest
    assert manifest["rights_holder"]["name"] == "Lumora Outdoor Co., Ltd."
    assert manifest["created_at"] == "2026-11-29T08:00:00Z"
    assert manifest["counts"]["filed"] == 4 and manifest["counts"]["refused"] == 1
    assert manifest["refused"][0]["listing_id"] == "99" and "expired" in manifest["refused"][0]["message"]
    batch = manifest["batches"][0]
    assert batch["files"]["txt"] == "taobao/LUMORA-CN-25/counterfeit/batch-001.txt"
    assert batch["registration_number"] == "40123456" and batch["urls"] == 4
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(manifest["files"]) == files
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest


def test_batch_txt_has_one_url_per_line_and_csv_has_the_columns_ipp_needs(tmp_path, registry):
    items = [*_many(2), listing(listing_id="55", title="=HYPERLINK(\"http://evil\",\"x\")")]
    out, plan, _ = _write(tmp_path, registry, items)
    folder = out / "taobao" / "LUMORA-CN-25" / "counterfeit"
    assert (folder / "batch-001.txt").read_text(encoding="utf-8").splitlines() == _urls(plan)
    raw = (folder / "batch-001.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert list(rows[0])[:6] == ["url", "listing_id", "seller", "title", "price", "explanation"]
    assert "evidence" in rows[0]
    hostile = next(r for r in rows if r["listing_id"] == "55")
    assert hostile["title"].startswith("'=") and hostile["price"] == "59.00"


def test_xlsx_has_a_summary_with_ipr_details_and_reason_texts_and_no_formulas(tmp_path, registry):
    items = [
        listing(listing_id="1", title="=1+1 \x07bell"),
        listing(listing_id="2", platform="alibaba", ipr_id="LUMORA-US", seller_name="@SUM(A1)"),
    ]
    out, plan, _ = _write(tmp_path, registry, items)
    book = load_workbook(out / "complaints.xlsx")
    assert book.sheetnames[0] == "Summary" and len(book.sheetnames) == 2 + len(plan.batches)
    summary = [[c.value for c in row] for row in book["Summary"].iter_rows()]
    flat = [str(v) for row in summary for v in row if v is not None]
    header = next(row for row in summary if row and row[0] == "sheet")
    taobao = next(row for row in summary if row and row[2] == "taobao")
    record = dict(zip(header, taobao, strict=True))
    assert record["registration_number"] == "40123456"
    assert record["office"] == "CNIPA" and record["classes"] == "25, 18" and record["valid_until"] == "2099-03-13"
    assert record["reason (中文)"] == REASONS["counterfeit"]["zh"]
    assert record["reason (English)"] == REASONS["counterfeit"]["en"]
    assert "Lumora Outdoor Co., Ltd." in flat
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert all(cell.data_type != "f" for cell in cells)
    values = {str(cell.value) for cell in cells}
    assert "'=1+1 bell" in values  # neutralised, control character dropped
    assert "'@SUM(A1)" in values
    assert "'=HYPERLINK(\"http://evil\")" in values  # a hostile registration number from the registry


def test_hostile_listing_and_registry_ids_never_create_paths_outside_the_output(tmp_path):
    folder = tmp_path / "registry"
    draw_image(folder / "images" / "trail_jacket_1.png", (30, 90, 160))
    hostile_yaml = REGISTRY_YAML.replace("id: LUMORA-PHOTO", "id: ../../../escaped-photo").replace(
        "copyright: LUMORA-PHOTO", "copyright: ../../../escaped-photo"
    )
    (folder / "registry.yaml").write_text(hostile_yaml, encoding="utf-8")
    registry = load_registry(folder / "registry.yaml")
    out = tmp_path / "deep" / "out"
    items = [
        listing(listing_id="../../etc/passwd", reason="stolen_image", ipr_id="../../../escaped-photo"),
        listing(listing_id="/abs/path", url="https://item.taobao.com/item.htm?id=2"),
    ]
    plan = plan_batches(items, registry)
    evidence_dir = out / "evidence" / "x"
    evidence_dir.mkdir(parents=True)
    evidence = {("taobao", "../../etc/passwd"): EvidenceResult("taobao", "../../etc/passwd", evidence_dir, "ok")}
    manifest = write_complaints(plan, out, registry, evidence=evidence)
    created = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_relative_to(folder)]
    assert created and all(p.resolve().is_relative_to(out.resolve()) for p in created)
    assert not (tmp_path / "escaped-photo").exists()
    assert all(".." not in name.split("/") for name in manifest["files"])


# --- the `scrapy complaints` command -----------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]


def _report_folder(tmp_path: Path, registry, decisions: dict[str, str]) -> Path:
    from exports.review_csv import write_review_csv

    report = tmp_path / "reports" / "run-1"
    report.mkdir(parents=True)
    draw_image(report / "full" / "a.jpg", (200, 40, 40))
    hit = {"product_id": "trail-jacket", "registered_image": "images/trail_jacket_1.png",
           "listing_image_url": "https://img.alicdn.com/a.jpg", "listing_image_path": "full/a.jpg",
           "distance": 5, "stage": "phash", "confident": True, "is_logo": False}
    items = [
        listing(listing_id="600000000001", score=95, image_hit=hit),
        listing(listing_id="600000000002", score=91, url="https://item.taobao.com/item.htm?id=600000000002"),
        listing(listing_id="600000000003", score=70, verdict="suspect", ipr_id="LUMORA-OLD"),
        listing(listing_id="600000000004", score=60, verdict="suspect"),
    ]
    write_review_csv(items, report / "review.csv", registry)
    with (report / "listings.jsonl").open("w", encoding="utf-8") as handle:
        for item in items:
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")
    text = (report / "review.csv").read_bytes().decode("utf-8-sig")
    lines = text.split("\r\n")
    for index, line in enumerate(lines):
        for listing_id, decision in decisions.items():
            if f",{listing_id}," in line:
                lines[index] = decision + line
    (report / "review.csv").write_bytes("\r\n".join(lines).encode("utf-8-sig"))
    return report


def _scrapy(*args: str) -> tuple[int, str]:
    import subprocess

    from tests.conftest import SCRAPY

    completed = subprocess.run(  # no store: these tests are about the files (the store: test_complaints_safety.py)
        [SCRAPY, "complaints", *args, "--store", "", "--nolog"],
        cwd=REPO, capture_output=True, text=True, timeout=90, check=False,
    )
    return completed.returncode, completed.stdout + completed.stderr


@pytest.mark.browser
def test_scrapy_complaints_files_approved_rows_with_replayed_evidence(tmp_path, registry):
    from tests.export_fixtures import write_cassette

    report = _report_folder(tmp_path, registry, {"600000000001": "approve", "600000000003": " Approve",
                                                  "600000000004": "reject"})
    page = "<html><head><meta charset='utf-8'></head><body><h1>露莫拉 冲锋衣</h1></body></html>".encode()
    write_cassette(tmp_path / "cassettes" / "detail.yaml", [
        {"uri": "https://item.taobao.com/item.htm?id=600000000001",
         "headers": {"Content-Type": "text/html; charset=utf-8"}, "body": page},
        {"uri": "https://item.taobao.com/item.htm?id=600000000002", "status": 302,
         "headers": {"Location": "https://error.item.taobao.com/error/noitem"}},
    ])
    out = tmp_path / "complaints"
    code, output = _scrapy("--registry", str(registry.path), "--review", str(report / "review.csv"),
                           "--out", str(out), "--auto-approve-above", "90", "--replay", str(tmp_path / "cassettes"))
    assert code == 0, output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [b["urls"] for b in manifest["batches"]] == [1]
    assert (out / "taobao/LUMORA-CN-25/counterfeit/batch-001.txt").read_text().split() == [
        "https://item.taobao.com/item.htm?id=600000000001"
    ]
    refused = {r["listing_id"]: r["message"] for r in manifest["refused"]}
    assert set(refused) == {"600000000002", "600000000003"}  # taken down; expired mark
    assert "error/noitem" in refused["600000000002"] and "expired" in refused["600000000003"]
    assert manifest["counts"]["evidence_ok"] == 1
    evidence = out / "evidence/taobao-600000000001"
    assert (evidence / "screenshot.png").is_file() and (evidence / "comparison.png").is_file()
    batch = (out / "taobao/LUMORA-CN-25/counterfeit/batch-001.csv").read_text(encoding="utf-8-sig")
    assert "evidence/taobao-600000000001/comparison.png" in batch
    assert "evidence/taobao-600000000001/screenshot.png" in batch
    assert "refused taobao 600000000003" in output


def test_scrapy_complaints_exits_2_naming_the_row_of_a_bad_decision(tmp_path, registry):
    report = _report_folder(tmp_path, registry, {"600000000001": "yes please"})
    code, output = _scrapy("--registry", str(registry.path), "--review", str(report / "review.csv"),
                           "--out", str(tmp_path / "out"), "--no-evidence")
    assert code == 2
    assert "review.csv: row 2: unknown decision 'yes please'" in output
    assert not (tmp_path / "out").exists()


def test_complaints_command_refuses_bad_registry_missing_listings_and_a_non_empty_out(tmp_path, registry):
    from exports.filing_run import InputError, run_complaints

    report = _report_folder(tmp_path, registry, {"600000000001": "approve"})
    args = {"registry_path": str(registry.path), "review_path": str(report / "review.csv"), "evidence": False}
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "old.txt").write_text("x")
    with pytest.raises(InputError, match="not empty"):
        run_complaints(out_dir=str(busy), **args)
    broken = tmp_path / "broken.yaml"
    broken.write_text("rights_holder: {name: x}\ntrademarks: []\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"contact_email: missing required key"):
        run_complaints(out_dir=str(tmp_path / "o1"), **{**args, "registry_path": str(broken)})
    (report / "listings.jsonl").unlink()
    with pytest.raises(InputError, match=r"listings\.jsonl: not found"):
        run_complaints(out_dir=str(tmp_path / "o2"), **args)


def test_complaints_without_evidence_still_writes_the_batches(tmp_path, registry):
    from exports.filing_run import run_complaints

    report = _report_folder(tmp_path, registry, {"600000000001": "approve"})
    out = tmp_path / "out"
    output = io.StringIO()
    code = run_complaints(registry_path=str(registry.path), review_path=str(report / "review.csv"),
                          out_dir=str(out), evidence=False, out=output)
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["filed"] == 1 and manifest["counts"]["evidence_failed"] == 0
    assert "taobao/LUMORA-CN-25/counterfeit/batch-001.txt" in manifest["files"]
    assert "1 listing(s) filed" in output.getvalue()
