"""A monitor run reports the enforcement lifecycle: standing, replies due, listings to chase, sellers."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest

from fixtures.history.seed import seed
from tests.conftest import CASSETTES, DEMO_REGISTRY, ROOT, SCRAPY, built_once, scrapy_env


def _seeded_run(folder: Path) -> None:
    """The seeded enforcement history, then one monitor run of the demo on it, on the two platforms the history
    is on (Taobao and 1688); its stdout kept beside."""
    store = f"sqlite:///{folder / 'store.db'}"
    assert seed(store, DEMO_REGISTRY) == 7
    assert seed(store, DEMO_REGISTRY) == 0  # once only
    done = subprocess.run([SCRAPY, "monitor", "--registry", str(DEMO_REGISTRY), "--replay", str(CASSETTES),
                           "--platforms", "taobao,1688", "--out", str(folder / "reports"), "--store", store,
                           "--images-store", str(folder / "images"), "--no-progress"], cwd=ROOT, env=scrapy_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    (folder / "stdout.txt").write_text(done.stdout, encoding="utf-8")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The run the four tests read, made once per suite (on whichever worker asks first)."""
    folder = built_once(tmp_path_factory, "enforcement-run", _seeded_run)
    report = next((folder / "reports").iterdir())
    return (report, json.loads((report / "summary.json").read_text(encoding="utf-8")),
            (folder / "stdout.txt").read_text(encoding="utf-8"))


def test_the_summary_has_the_good_faith_standing_per_reason_code(run):
    _, summary, _ = run
    rows = {row["reason"]: row for row in summary["standing"]["reasons"]}
    assert rows["stolen_image"]["status"] == "below" and rows["trademark_misuse"]["status"] == "ok"
    assert summary["standing"]["below"] == ["stolen_image"]


def test_replies_due_and_listings_to_chase_are_in_the_summary_and_on_the_terminal(run):
    _, summary, stdout = run
    assert [(n["listing_id"], n["kind"]) for n in summary["cases"]["awaiting_reply"]] == [("188491505641", "invoice")]
    alerts = {(a["listing_id"], a["alert"]) for a in summary["cases"]["alerts"]}
    assert ("191705429157", "still-live") in alerts  # supported a month ago, seen live again by this run
    assert "counter-notice: C-0006 taobao 188491505641 (invoice) waits for your reply by" in stdout
    assert "alert: C-0006 taobao:191705429157: still live on" in stdout


def test_sellers_csv_ranks_the_repeat_infringer_first_and_offers_a_store_front(run):
    report, summary, _ = run
    rows = list(csv.DictReader((report / "sellers.csv").open(encoding="utf-8-sig")))
    assert rows[0]["seller_name"] == "莆田市沐岚服饰有限公司" and rows[0]["storefront_candidate"] == "yes"
    assert (rows[0]["filed"], rows[0]["removed"], rows[0]["confirmed_recent"]) == ("3", "3", "3")
    assert summary["sellers"]["storefront_candidates"] >= 1


def test_the_report_page_shows_the_standing_panel_and_the_seller_section(run):
    report, _, _ = run
    page = (report / "report.html").read_text(encoding="utf-8")
    assert "Good-Faith standing" in page and "Repeat infringers and seller networks" in page
    assert 'src="data:image/svg+xml;base64,' in page  # the monthly chart, allowed by the page's content policy
    assert "below: 83.3 % supported is below IPP&#39;s 90 % minimum" in page
