"""Filing and the enforcement lifecycle: one case per batch, rights IPP would not accept, and the Good-Faith hold."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import yaml

from enforcement.casebook import CaseBook, ListingRef
from registry import load_registry
from store import Store, rights_holder_key
from tests.conftest import SCRAPY
from tests.export_fixtures import listing

REPO = Path(__file__).resolve().parents[1]


def _complaints(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SCRAPY, "complaints", *args, "--no-evidence", "--nolog"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def _review(tmp_path: Path, registry, rows: list[tuple[dict, str]]) -> Path:
    from exports.review_csv import write_review_csv

    folder = tmp_path / "reports" / "run-1"
    folder.mkdir(parents=True)
    items = [item for item, _ in rows]
    write_review_csv(items, folder / "review.csv", registry)
    with (folder / "listings.jsonl").open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    lines = (folder / "review.csv").read_bytes().decode("utf-8-sig").split("\r\n")
    for index, line in enumerate(lines):
        for item, decision in rows:
            if decision and f",{item['listing_id']}," in line:
                lines[index] = decision + line
    (folder / "review.csv").write_bytes("\r\n".join(lines).encode("utf-8-sig"))
    return folder / "review.csv"


def _store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    Store(url).close()
    return url


def test_every_batch_opens_a_case_named_in_its_files(tmp_path, registry):
    store = _store(tmp_path)
    review = _review(tmp_path, registry, [(listing(listing_id="600000000001"), "approve"),
                                          (listing(listing_id="600000000002"), "approve")])
    done = _complaints("--registry", str(registry.path), "--review", str(review), "--out", str(tmp_path / "out"),
                       "--store", store)
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert [b["case"] for b in manifest["batches"]] == ["C-0001"]
    rows = list(csv.DictReader((tmp_path / "out" / manifest["batches"][0]["files"]["csv"]).open(encoding="utf-8-sig")))
    assert {row["case"] for row in rows} == {"C-0001"}
    engine = Store(store)
    case = CaseBook(engine.engine, rights_holder_key(registry)).case(1)
    engine.close()
    assert (case["state"], case["batch"], len(case["listings"])) == ("prepared", manifest["batches"][0]["id"], 2)


def test_a_batch_whose_right_ipp_would_not_accept_is_refused_with_the_reason(tmp_path, registry):
    data = yaml.safe_load(registry.path.read_text(encoding="utf-8"))
    data["rights_holder"]["agent"] = {"name": "Example IP Agency"}  # an agent without a power of attorney
    registry.path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    registry = load_registry(registry.path)
    review = _review(tmp_path, registry, [(listing(listing_id="600000000001"), "approve")])
    done = _complaints("--registry", str(registry.path), "--review", str(review), "--out", str(tmp_path / "out"),
                       "--store", "")
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["batches"] == []
    refusal = manifest["refused"][0]
    assert refusal["check"] == "ipr_not_ready"
    assert refusal["message"].startswith("LUMORA-CN-25 cannot be cited on taobao: agent Example IP Agency: no power "
                                         "of attorney")


def test_auto_approval_is_held_back_for_a_reason_code_below_ipps_threshold(tmp_path, registry):
    store = _store(tmp_path)
    engine = Store(store)
    book = CaseBook(engine.engine, rights_holder_key(registry))
    past = [{"platform": "taobao", "listing_id": f"5000000000{i:02d}"} for i in range(10)]
    case_id = book.open_case(platform="taobao", ipr_id="LUMORA-CN-25", reason="counterfeit", batch="old",
                             folder="", listings=past)
    book.file(case_id, ipp_number="IPP-1", on="2026-11-01")
    for i, item in enumerate(past):  # 7 of 10 supported: 70 %, below IPP's 90 %
        book.result(case_id, "supported" if i < 7 else "rejected", on="2026-11-02",
                    listings=[ListingRef("taobao", item["listing_id"])])
    engine.close()
    review = _review(tmp_path, registry, [(listing(listing_id="600000000001", score=95), ""),
                                          (listing(listing_id="600000000002", score=95), "approve")])
    done = _complaints("--registry", str(registry.path), "--review", str(review), "--out", str(tmp_path / "out"),
                       "--store", store, "--auto-approve-above", "90")
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    filed = [item["listing_id"] for batch in manifest["batches"] for item in batch["listings"]]
    assert filed == ["600000000002"]  # a person approved it: never held
    held = next(r for r in manifest["refused"] if r["listing_id"] == "600000000001")
    assert held["check"] == "standing"
    assert "not auto-approved: the Good-Faith standing for counterfeit is below IPP's threshold (70.0 % supported " \
           "is below IPP's 90 % minimum)" in held["message"]
