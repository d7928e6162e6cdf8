"""`scrapy monitor` end to end on replayed fixtures: reports, exit codes, and the incremental states
across two runs with a review and complaints in between (docs/contract.md §6-§8)."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
import yaml

from tests.conftest import CASSETTES, DEMO_REGISTRY, WEEK2, monitor, read_listings, read_review, scrapy


@pytest.fixture(scope="module")
def first_run(demo_monitor_run):
    return demo_monitor_run.workdir, demo_monitor_run.report


def test_a_run_writes_the_four_reports_and_a_summary_per_platform(first_run):
    _, report = first_run
    for name in ("review.csv", "report.html", "listings.jsonl", "summary.json"):
        assert (report / name).is_file()
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    taobao = summary["platforms"]["taobao"]
    assert taobao["pages"] == 6 and taobao["replay_misses"] == 0 and taobao["blocked"] == 0
    assert taobao["listings"] + summary["platforms"]["tmall"]["listings"] == 36
    assert taobao["new"] == taobao["listings"]
    assert summary["exit_code"] == 0


def test_review_csv_has_the_contract_columns_with_a_bom_highest_score_first(first_run):
    _, report = first_run
    raw = (report / "review.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = read_review(report / "review.csv")
    assert list(rows[0]) == ["decision", "score", "verdict", "reason", "platform", "listing_id", "url", "title",
                             "price", "currency", "seller_name", "ipr_id", "registration_number", "explanation",
                             "image_evidence", "first_seen", "last_seen", "status"]
    scores = [float(row["score"]) for row in rows]
    assert scores == sorted(scores, reverse=True)
    assert all(row["verdict"] in ("infringing", "suspect") and row["status"] == "new" for row in rows)
    assert all(row["explanation"] for row in rows)


def test_the_holders_own_flagship_store_is_never_in_the_review(first_run):
    _, report = first_run
    listings = read_listings(report)
    official = [item for item in listings.values() if item["seller_name"] == "lumora官方旗舰店"]
    assert official and all(item["verdict"] == "authorized" for item in official)
    assert not {row["listing_id"] for row in read_review(report / "review.csv")} & {i["listing_id"] for i in official}


def test_a_malformed_registry_exits_2_and_crawls_nothing(tmp_path):
    bad = tmp_path / "registry.yaml"
    bad.write_text("rights_holder: {name: X}\ntrademarks: [{id: A}]\ncolour: blue\n", encoding="utf-8")
    code, report, log = monitor(tmp_path, CASSETTES, registry=bad)
    assert code == 2 and report is None
    assert "registry.yaml" in log


def test_an_unknown_platform_is_bad_input(tmp_path):
    result = scrapy(tmp_path, "monitor", "--registry", str(DEMO_REGISTRY), "--platforms", "ebay",
                    "--replay", str(CASSETTES), "--store", f"sqlite:///{tmp_path / 's.db'}")
    assert result.returncode == 2 and "ebay" in result.stderr


def test_every_platform_blocked_exits_3(tmp_path):
    folder = tmp_path / "registry"
    shutil.copytree(DEMO_REGISTRY.parent, folder)
    registry = yaml.safe_load((folder / "demo.yaml").read_text(encoding="utf-8"))
    registry["watch"] = {"platforms": ["taobao"], "queries": ["LUMORA 羽绒服", "LUMORA 背包"], "pages": 1}
    (folder / "demo.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    code, report, log = monitor(tmp_path, CASSETTES, registry=folder / "demo.yaml")
    assert code == 3, log[-3000:]
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert summary["platforms"]["taobao"]["blocked"] > 0 and summary["platforms"]["taobao"]["listings"] == 0


APPROVE = {"191705429157", "769468703124", "278513131215"}  # gone in week 2, still up, re-listed in week 2
REJECT = {"646038746196", "842078053583"}  # unchanged in week 2, price changed in week 2


def test_second_run_reports_seen_complained_relisted_removed_and_remembers_decisions(tmp_path, demo_monitor_run):
    report = demo_monitor_run.copy_to(tmp_path).report  # the first week, run once for the session
    rows = read_review(report / "review.csv")
    assert {row["listing_id"] for row in rows} >= APPROVE | REJECT
    for row in rows:
        row["decision"] = "approve" if row["listing_id"] in APPROVE else "reject" if row["listing_id"] in REJECT else ""
    edited = report / "review.csv"
    with edited.open("w", encoding="utf-8-sig", newline="") as handle:  # as a spreadsheet saves it
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    filed = scrapy(tmp_path, "complaints", "--registry", str(DEMO_REGISTRY), "--review", str(edited),
                   "--out", str(tmp_path / "complaints"), "--no-evidence",
                   "-s", f"STORE_URL=sqlite:///{tmp_path / 'store.db'}")
    assert filed.returncode == 0, filed.stdout + filed.stderr
    manifest = json.loads((tmp_path / "complaints" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["filed"] == len(APPROVE)

    code, week2, log = monitor(tmp_path, WEEK2)
    assert code == 0, log[-3000:]
    listings = read_listings(week2)
    assert listings["191705429157"]["status"] == "removed"  # complained, gone, detail page says no item
    assert listings["278513131215"]["status"] == "removed"
    assert listings["769468703124"]["status"] == "complained"  # complained and still online
    assert listings["278513139999"]["status"] == "re-listed"  # same title under a new id, another seller
    assert listings["900000000001"]["status"] == "new"
    assert listings["958667946125"]["status"] == "seen"
    review = {row["listing_id"]: row for row in read_review(week2 / "review.csv")}
    assert "646038746196" not in review  # rejected, unchanged: not asked again
    assert "842078053583" in review  # rejected, but its price changed: asked again
    assert review["278513139999"]["status"] == "re-listed"
    assert review["191705429157"]["status"] == "removed"
    summary = json.loads((week2 / "summary.json").read_text(encoding="utf-8"))
    assert summary["statuses"]["removed"] == 2 and summary["statuses"]["re-listed"] == 1
