"""`scrapy cases`, `scrapy standing`: the lifecycle from the command line, as a rights holder types it."""

from __future__ import annotations

import json
import subprocess

import pytest

from enforcement.casebook import CaseBook, ListingRef
from registry import load_registry
from store import Store, rights_holder_key
from tests.conftest import CASSETTES, DEMO_REGISTRY, ROOT, SCRAPY, scrapy_env

LISTING = "394096041694"  # a Taobao listing whose detail page is recorded in the cassettes


def scrapy(*args: str, store: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([SCRAPY, *args, "--registry", str(DEMO_REGISTRY), "--store", store], cwd=cwd,
                          env=scrapy_env(), capture_output=True, text=True, timeout=180)


def casebook(url: str) -> tuple[Store, CaseBook]:
    store = Store(url)
    return store, CaseBook(store.engine, rights_holder_key(load_registry(DEMO_REGISTRY)))


def filed_and_decided(url: str, *results: tuple[str, str | None]) -> None:
    """C-0001 filed on 2026-11-02 and IPP's ``(outcome, listing or None for every pending one)`` results of
    2026-11-03, recorded in-process: the steps a test starts from, not what it runs on the command line
    (``test_filing_a_result_and_listing_cases`` does)."""
    store, book = casebook(url)
    book.file(1, ipp_number="IPP-1", on="2026-11-02")
    for outcome, listing in results:
        book.result(1, outcome, on="2026-11-03", listings=[ListingRef("taobao", listing)] if listing else [])
    store.close()


@pytest.fixture
def store_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store, book = casebook(url)
    folder = tmp_path / "complaints"
    book.open_case(platform="taobao", ipr_id="LUMORA-CN-25", reason="counterfeit",
                   batch="taobao/LUMORA-CN-25/counterfeit/batch-001", folder=str(folder),
                   listings=[{"platform": "taobao", "listing_id": LISTING,
                              "url": f"https://item.taobao.com/item.htm?id={LISTING}", "seller": "露莫拉户外店"},
                             {"platform": "taobao", "listing_id": "646648609621",
                              "url": "https://item.taobao.com/item.htm?id=646648609621", "seller": "某店"}])
    store.close()
    return url


def test_filing_a_result_and_listing_cases(store_url):
    done = scrapy("cases", "filed", "C-0001", "--ipp-number", "IPP-2026-1188", "--date", "2026-11-02",
                  store=store_url)
    assert done.returncode == 0, done.stderr
    assert "C-0001 filed as IPP complaint IPP-2026-1188" in done.stdout
    assert "cases: store: sqlite:///" in done.stderr
    done = scrapy("cases", "result", "C-0001", "--outcome", "supported", "--listing", LISTING, "--date",
                  "2026-11-03", store=store_url)
    assert done.returncode == 0 and "1 listing(s) supported" in done.stdout
    listed = scrapy("cases", "list", store=store_url)
    assert "C-0001  taobao" in listed.stdout and "1 pending, 1 supported" in listed.stdout


def test_a_step_out_of_order_is_exit_2_with_the_reason(store_url):
    done = scrapy("cases", "reply", "C-0001", "--listing", LISTING, store=store_url)
    assert done.returncode == 2
    assert "the case is not filed yet" in done.stderr and "Traceback" not in done.stderr


def test_a_counter_notice_writes_a_response_pack_with_a_fresh_capture(store_url, tmp_path):
    filed_and_decided(store_url, ("supported", None))
    out = tmp_path / "packs"
    done = scrapy("cases", "counter-notice", "C-0001", "--listing", LISTING, "--received", "2026-11-06",
                  "--kind", "invoice", "--files", "invoice.pdf", "--out", str(out), "--replay", str(CASSETTES),
                  store=store_url)
    assert done.returncode == 0, done.stderr
    assert "reply by 2026-11-11" in done.stdout
    pack = out / f"C-0001-taobao-{LISTING}-2026-11-06"
    manifest = json.loads((pack / "pack.json").read_text(encoding="utf-8"))
    assert manifest["deadline"] == "2026-11-11" and manifest["fresh_capture"] == "ok"
    assert {"fresh/screenshot.png", "fresh/page.html", "reply-en.txt", "reply-zh.txt"} <= set(manifest["files"])
    english = (pack / "reply-en.txt").read_text(encoding="utf-8")
    assert "a purchase contract or invoice with the rights holder" in english
    assert "[TO FILL: whether the rights holder's sales records show any sale to this seller" in english
    assert "【待填写：" in (pack / "reply-zh.txt").read_text(encoding="utf-8")
    waiting = scrapy("cases", "alerts", "--date", "2026-11-07", store=store_url)
    assert f"C-0001 taobao:{LISTING} (invoice) waits for a reply by 2026-11-11" in waiting.stdout


def test_cases_import_names_bad_rows_and_exits_2(store_url, tmp_path):
    sheet = tmp_path / "cases.csv"
    sheet.write_text("case,event,listing,date,outcome,ipp_number\nC-0001,filed,,2026-11-02,,IPP-7\n"
                     "C-0001,outcome,taobao:1,2026-11-03,upheld,\n", encoding="utf-8")
    done = scrapy("cases", "import", str(sheet), store=store_url)
    assert done.returncode == 2
    assert "cases.csv row 3:" in done.stderr and "nothing imported" in done.stderr


def test_standing_from_the_command_line(store_url):
    filed_and_decided(store_url, ("supported", LISTING), ("rejected", "646648609621"))
    done = scrapy("standing", "--as-of", "2026-12-01", "--json", store=store_url)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    counterfeit = next(r for r in figures["reasons"] if r["reason"] == "counterfeit")
    assert (counterfeit["decided"], counterfeit["success_rate"], counterfeit["status"]) == (2, 0.5, "below")
    text = scrapy("standing", "--as-of", "2026-12-01", store=store_url).stdout
    assert "counterfeit: 50.0 % supported (1 of 2 decided)" in text and "BELOW IPP's thresholds" in text
