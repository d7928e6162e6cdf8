"""Complaints that must never be filed: into the wrong store, twice, after a take-down, against a listing
that changed since it was reviewed, under another brand's decisions, or half-written on a full disk."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

import store as store_module
from crawlers.store_option import absolute_store_url, redact_store_url, resolve_store_url
from exports.filing_run import InputError, run_complaints
from exports.incremental import annotate
from store import MIGRATIONS, Store, complaints
from tests.conftest import CASSETTES, PYTHON, SCRAPY
from tests.export_fixtures import REGISTRY_YAML, draw_image, listing
from tests.services import postgres_server, postgres_url  # noqa: F401  (fixtures)
from tests.test_complaints import _report_folder

REPO = Path(__file__).resolve().parents[1]
FIRST = "600000000001"  # approved in every review below (row 2: the highest score)


def _store_with_report_listings(url: str, report: Path, run_id: str = "run-1") -> Store:
    store = Store(url)
    items = [json.loads(line) for line in (report / "listings.jsonl").read_text(encoding="utf-8").splitlines()]
    store.save_listings(run_id, items)
    return store


def _file(registry, report: Path, out: Path, store_url: str | None, **options) -> tuple[int, dict, str]:
    output = io.StringIO()
    code = run_complaints(registry_path=str(registry.path), review_path=str(report / "review.csv"),
                          out_dir=str(out), evidence=False, out=output, store_url=store_url, **options)
    return code, json.loads((out / "manifest.json").read_text(encoding="utf-8")), output.getvalue()


def _complaint_rows(store: Store, listing_id: str) -> int:
    with store.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(complaints).where(
            complaints.c.listing_id == listing_id)).scalar_one()


# --- which store -------------------------------------------------------------------------------


def test_a_relative_sqlite_store_is_the_project_folders_and_passwords_are_never_shown(tmp_path, monkeypatch):
    (tmp_path / "scrapy.cfg").write_text("[settings]\ndefault = crawlers.settings\n", encoding="utf-8")
    (tmp_path / "reports" / "run-1").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "reports" / "run-1")
    monkeypatch.delenv("STORE_URL", raising=False)
    assert resolve_store_url(None) == f"sqlite:///{tmp_path}/data/monitor.db"
    assert resolve_store_url("sqlite:///other.db") == f"sqlite:///{tmp_path}/other.db"
    assert resolve_store_url("sqlite:////abs/x.db") == "sqlite:////abs/x.db"
    assert resolve_store_url("") == ""  # no store
    monkeypatch.setenv("STORE_URL", "sqlite:///from-env.db")
    assert resolve_store_url(None) == f"sqlite:///{tmp_path}/from-env.db"
    assert resolve_store_url(None, {"STORE_URL": "sqlite:///from-setting.db"}) == f"sqlite:///{tmp_path}/from-setting.db"
    assert resolve_store_url("sqlite:///cli.db", {"STORE_URL": "sqlite:///x.db"}) == f"sqlite:///{tmp_path}/cli.db"
    assert absolute_store_url("postgresql://u:p@h/db") == "postgresql://u:p@h/db"
    assert redact_store_url("postgresql://ipwatch:SECRET@db-host/ipwatch") == "postgresql://ipwatch:***@db-host/ipwatch"


def test_complaints_run_from_the_report_folder_uses_the_monitors_store_and_says_which(tmp_path, registry):
    project = tmp_path / "project"
    project.mkdir()
    (project / "scrapy.cfg").write_text("[settings]\ndefault = crawlers.settings\n", encoding="utf-8")
    report = _report_folder(project, registry, {FIRST: "approve"})
    store_file = project / "data" / "monitor.db"
    _store_with_report_listings(f"sqlite:///{store_file}", report).close()
    env = {k: v for k, v in os.environ.items() if k not in ("STORE_URL", "SCRAPY_SETTINGS_MODULE")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    completed = subprocess.run(
        [SCRAPY, "complaints", "--registry", str(registry.path), "--review", "review.csv",
         "--out", str(tmp_path / "out"), "--no-evidence", "--nolog"],
        cwd=report, env=env, capture_output=True, text=True, timeout=90, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert f"store: sqlite:///{store_file}" in completed.stderr
    assert not (report / "data").exists(), "a second, empty store was made in the folder the command ran in"
    store = Store(f"sqlite:///{store_file}")
    assert _complaint_rows(store, FIRST) == 1
    assert ("taobao", FIRST) in store.review_decisions(registry=registry)


def test_a_sqlite_store_that_does_not_exist_is_bad_input_naming_it(tmp_path, registry):
    report = _report_folder(tmp_path, registry, {FIRST: "approve"})
    missing = tmp_path / "nowhere" / "monitor.db"
    with pytest.raises(InputError, match=rf"{missing}: no such store"):
        _file(registry, report, tmp_path / "out", f"sqlite:///{missing}")
    assert not missing.parent.exists() and not (tmp_path / "out").exists()


# --- where the listings come from --------------------------------------------------------------


def test_listings_are_read_from_the_store_when_listings_jsonl_is_not_beside_the_review(tmp_path, registry,
                                                                                      empty_store_url):
    report = _report_folder(tmp_path, registry, {FIRST: "approve"})
    url = empty_store_url
    _store_with_report_listings(url, report).close()
    elsewhere = tmp_path / "Downloads"
    elsewhere.mkdir()
    shutil.move(report / "review.csv", elsewhere / "review.csv")
    code, manifest, output = _file(registry, elsewhere, tmp_path / "out", url)
    assert code == 0, output
    assert manifest["counts"]["filed"] == 1
    assert manifest["sources"]["listings"].startswith("store ")
    with pytest.raises(InputError, match=r"listings\.jsonl: not found .* and no store"):
        _file(registry, elsewhere, tmp_path / "out2", "")


# --- never twice, never after a take-down, never a stale row -----------------------------------


def test_filing_twice_into_two_folders_refuses_what_is_already_on_file_unless_refile(tmp_path, registry):
    report = _report_folder(tmp_path, registry, {FIRST: "approve"})
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = _store_with_report_listings(url, report)
    code, first, _ = _file(registry, report, tmp_path / "week1", url)
    assert code == 0 and first["counts"]["filed"] == 1

    code, second, output = _file(registry, report, tmp_path / "week1-again", url)
    assert code == 0  # a safety refusal is not a failure of the tool; it is shown
    assert second["counts"]["filed"] == 0 and second["batches"] == []
    refusal = next(r for r in second["refused"] if r["listing_id"] == FIRST)
    assert refusal["check"] == "already_filed"
    assert "taobao/LUMORA-CN-25/counterfeit/batch-001" in refusal["message"]
    assert str(tmp_path / "week1") in refusal["message"] and "--refile" in refusal["message"]
    assert "refused for safety" in output and f"taobao {FIRST}" in output
    assert _complaint_rows(store, FIRST) == 1, "the store got a second complaint row for one listing"

    code, third, _ = _file(registry, report, tmp_path / "week1-refiled", url, refile=True)
    assert code == 0 and third["counts"]["filed"] == 1


def test_without_a_store_a_listing_the_monitor_reported_complained_is_refused_unless_refile(tmp_path, registry):
    report = _report_folder(tmp_path, registry, {FIRST: "approve"})
    lines = [json.loads(line) for line in (report / "listings.jsonl").read_text(encoding="utf-8").splitlines()]
    lines[0]["status"] = "complained"
    (report / "listings.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    code, manifest, output = _file(registry, report, tmp_path / "out", "")
    assert code == 0 and manifest["counts"]["filed"] == 0
    assert manifest["refused"][0]["check"] == "already_filed" and "no store" in output
    assert _file(registry, report, tmp_path / "again", "", refile=True)[1]["counts"]["filed"] == 1


def test_a_listing_taken_down_is_never_filed_with_or_without_evidence_or_refile(tmp_path, registry):
    report = _report_folder(tmp_path, registry, {FIRST: "approve", "600000000004": "approve"})
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = _store_with_report_listings(url, report)
    assert _file(registry, report, tmp_path / "week1", url)[1]["counts"]["filed"] == 2
    store.set_complaint_status("taobao", FIRST, "removed")
    code, manifest, _ = _file(registry, report, tmp_path / "again", url, refile=True)
    assert code == 0
    refused = {r["listing_id"]: r for r in manifest["refused"]}
    assert refused[FIRST]["check"] == "removed" and "taken down" in refused[FIRST]["message"]
    filed = [item["listing_id"] for batch in manifest["batches"] for item in batch["listings"]]
    assert filed == ["600000000004"]  # refiled on purpose, still online

    # without a store, the row's own status from the monitor is enough
    gone = _report_folder(tmp_path / "b", registry, {FIRST: "approve"})
    lines = [json.loads(line) for line in (gone / "listings.jsonl").read_text(encoding="utf-8").splitlines()]
    lines[0]["status"] = "removed"
    (gone / "listings.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    _, manifest, _ = _file(registry, gone, tmp_path / "b-out", "")
    assert manifest["counts"]["filed"] == 0 and manifest["refused"][0]["check"] == "removed"

    # listings read from the store: the review row's status says it
    review = (gone / "review.csv").read_bytes().replace(b",new\r\n", b",removed\r\n", 1)
    assert b",removed\r\n" in review
    (gone / "review.csv").write_bytes(review)
    (gone / "listings.jsonl").unlink()
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"  # a store with no complaint about it
    Store(fresh).save_listings("run-1", [listing(listing_id=FIRST, score=95)])
    _, manifest, _ = _file(registry, gone, tmp_path / "c-out", fresh)
    assert manifest["counts"]["filed"] == 0 and manifest["refused"][0]["check"] == "removed"


def test_a_review_row_older_than_what_the_store_knows_is_refused_with_its_row_and_what_changed(tmp_path, registry):
    report = _report_folder(tmp_path, registry, {FIRST: "approve", "600000000004": "approve"})
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = _store_with_report_listings(url, report)
    # a week later the seller changed the price and the title of the approved listing
    store.save_listings("run-2", [listing(listing_id=FIRST, score=95, price_min=199.0, price_max=199.0,
                                          title="露莫拉 LUMORA 冲锋衣 正品")])
    code, manifest, output = _file(registry, report, tmp_path / "out", url)
    assert code == 0
    refusal = next(r for r in manifest["refused"] if r["listing_id"] == FIRST)
    assert refusal["check"] == "changed"
    assert "review row 2" in refusal["message"] and "price 59.00 → 199.00" in refusal["message"]
    assert "title" in refusal["message"]
    assert [i["listing_id"] for b in manifest["batches"] for i in b["listings"]] == ["600000000004"]
    assert "review row 2" in output


# --- one store, two brands ---------------------------------------------------------------------


def _second_brand(tmp_path: Path):
    from registry import load_registry

    folder = tmp_path / "other-brand"
    draw_image(folder / "images" / "trail_jacket_1.png", (30, 90, 160))
    text = REGISTRY_YAML.replace("Lumora Outdoor Co., Ltd.", "Northpeak Gear Ltd.")
    (folder / "registry.yaml").write_text(text, encoding="utf-8")
    return load_registry(folder / "registry.yaml")


def test_two_registries_in_one_store_keep_their_own_decisions_and_complaints(tmp_path, registry):
    other = _second_brand(tmp_path)
    report = _report_folder(tmp_path, registry, {FIRST: "approve", "600000000004": "reject"})
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = _store_with_report_listings(url, report)
    assert _file(registry, report, tmp_path / "lumora", url)[1]["counts"]["filed"] == 1
    assert store_module.rights_holder_key(registry) != store_module.rights_holder_key(other)

    def statuses(brand) -> dict[str, tuple[str, bool]]:
        seen = annotate(store.run_listings("run-1"), run_id="run-2",
                        complained=store.complaints_on_file(registry=brand),
                        decisions=store.review_decisions(registry=brand))
        return {item["listing_id"]: (item["status"], item["review_again"]) for item in seen}

    lumora, northpeak = statuses(registry), statuses(other)
    assert lumora[FIRST] == ("complained", False)
    assert lumora["600000000004"][1] is False  # rejected, unchanged: not asked again
    assert northpeak[FIRST] == ("seen", True), "another brand's complaint marked this listing complained"
    assert northpeak["600000000004"] == ("seen", True), "another brand's rejection hid this listing"

    # and the second brand may file the listing the first brand already filed
    other_report = _report_folder(tmp_path / "np", other, {FIRST: "approve"})
    code, manifest, _ = _file(other, other_report, tmp_path / "northpeak", url)
    assert code == 0 and manifest["counts"]["filed"] == 1


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgresql", id="postgresql", marks=pytest.mark.services)])
def empty_store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return request.getfixturevalue("postgres_url")


def test_decisions_and_complaints_of_a_store_made_before_registries_were_kept_apart_survive(
        tmp_path, registry, empty_store_url):
    from sqlalchemy import create_engine, text

    engine = create_engine(empty_store_url)
    with engine.begin() as connection:  # the store as version 2 left it
        connection.execute(text("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at VARCHAR(32))"))
        for version, migration in enumerate(MIGRATIONS[:2], start=1):
            migration(connection)
            connection.execute(text("INSERT INTO schema_version VALUES (:v, '2026-01-01T00:00:00Z')"), {"v": version})
        connection.execute(text("INSERT INTO reviews VALUES ('taobao', '1', 'reject', '2026-01-01T00:00:00Z', 'f', NULL)"))
        connection.execute(text("INSERT INTO complaints (platform, listing_id, ipr_id, reason, batch, filed_at, status) "
                                "VALUES ('taobao', '2', 'LUMORA-CN-25', 'counterfeit', 'b', '2026-01-01T00:00:00Z', 'filed')"))
    engine.dispose()
    store = Store(empty_store_url)
    # rows from before belong to no brand in particular: every registry still sees them
    assert store.review_decisions(registry=registry)[("taobao", "1")]["decision"] == "reject"
    assert [c["listing_id"] for c in store.complaints_on_file(registry=registry)] == ["2"]
    store.record_reviews([{"platform": "taobao", "listing_id": "1", "decision": "approve", "fingerprint": "g"}],
                         registry=registry)
    assert store.review_decisions(registry=registry)[("taobao", "1")]["decision"] == "approve"
    assert store.review_decisions(registry=_second_brand(tmp_path))[("taobao", "1")]["decision"] == "reject"


# --- evidence and the output folder ------------------------------------------------------------


def test_no_evidence_creates_no_evidence_folder(tmp_path, registry):
    report = _report_folder(tmp_path, registry, {FIRST: "approve"})
    code, manifest, _ = _file(registry, report, tmp_path / "out", "")
    assert code == 0 and manifest["counts"]["filed"] == 1
    assert not (tmp_path / "out" / "evidence").exists()
    assert not any(name.startswith("evidence/") for name in manifest["files"])


_FILE_IN_SUBPROCESS = """
import resource, sys
from exports.filing_run import exit_code_of, run_complaints
limit = int(sys.argv[4])
if limit:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
code = exit_code_of(lambda: run_complaints(registry_path=sys.argv[1], review_path=sys.argv[2],
                                                 out_dir=sys.argv[3], evidence=False, store_url=""))
sys.exit(code)
"""


def _file_in_subprocess(registry, report: Path, out: Path, size_limit: int = 0) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-B", "-c", _FILE_IN_SUBPROCESS, str(registry.path),
                           str(report / "review.csv"), str(out), str(size_limit)],
                          cwd=REPO, capture_output=True, text=True, timeout=90, check=False)


def test_an_output_file_that_cannot_grow_is_one_line_naming_it_and_exit_1(tmp_path, registry):
    # RLIMIT_FSIZE: the kernel refuses to let any file grow past 3 kB, as a nearly full disk would
    report = _report_folder(tmp_path, registry, {FIRST: "approve"})
    completed = _file_in_subprocess(registry, report, tmp_path / "out", size_limit=3000)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot write ")
    assert str(tmp_path / "out") in lines[0] and "File too large" in lines[0]


@pytest.fixture
def read_only_folder(tmp_path: Path):
    folder = tmp_path / "readonly"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)  # permissions bind an ordinary user
        yield folder
        folder.chmod(0o755)
        return
    # root ignores permissions: a real read-only file system
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_read_only_output_folder_is_one_line_naming_it_and_exit_1(tmp_path, registry, read_only_folder):
    report = _report_folder(tmp_path, registry, {FIRST: "approve"})
    completed = _file_in_subprocess(registry, report, read_only_folder / "complaints")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(read_only_folder / "complaints") in lines[0]
    assert "Read-only file system" in lines[0] or "Permission denied" in lines[0]


def test_a_worker_says_which_store_it_writes_to_with_a_relative_path_made_the_projects(tmp_path):
    project = tmp_path / "project"
    (project / "logs").mkdir(parents=True)
    (project / "scrapy.cfg").write_text("[settings]\ndefault = crawlers.settings\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("STORE_URL", "SCRAPY_SETTINGS_MODULE")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    completed = subprocess.run(  # nothing listens on port 1: the worker stops right after naming its store
        [SCRAPY, "worker", "--redis-url", "redis://127.0.0.1:1/0", "--store",
         "sqlite:///data/shared.db", "--wait", "0"],
        cwd=project / "logs", env=env, capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert f"worker: store: sqlite:///{project}/data/shared.db" in completed.stderr


def test_one_brands_review_and_complaints_never_change_another_brands_monitor_report(tmp_path, demo_monitor_run):
    """Two rights holders watching the same listings, one store: each report shows its own statuses.

    Lumora's first week is the session's replayed monitor of the demo registry (``demo_monitor_run``), copied
    here because its review, complaints and later runs write to it."""
    import csv

    from tests.conftest import DEMO_REGISTRY, monitor, read_listings, read_review

    lumora_week1 = demo_monitor_run.copy_to(tmp_path).report
    other = tmp_path / "northpeak"
    shutil.copytree(DEMO_REGISTRY.parent, other)
    text = DEMO_REGISTRY.read_text(encoding="utf-8").replace("Lumora Outdoor Co., Ltd.", "Northpeak Gear Ltd.")
    (other / "demo.yaml").write_text(text, encoding="utf-8")
    approved, rejected = "769468703124", "646038746196"

    rows = read_review(lumora_week1 / "review.csv")
    assert {approved, rejected} <= {row["listing_id"] for row in rows}
    for row in rows:
        row["decision"] = {approved: "approve", rejected: "reject"}.get(row["listing_id"], "")
    with (lumora_week1 / "review.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    output = io.StringIO()  # the filing step in-process: the command itself is run above and in test_complaints.py
    filed = run_complaints(registry_path=str(DEMO_REGISTRY), review_path=str(lumora_week1 / "review.csv"),
                           out_dir=str(tmp_path / "complaints"), evidence=False, out=output,
                           store_url=f"sqlite:///{tmp_path / 'store.db'}")
    assert filed == 0, output.getvalue()

    code, northpeak, log = monitor(tmp_path, CASSETTES, registry=other / "demo.yaml")
    assert code == 0, log[-3000:]
    theirs = read_listings(northpeak)
    assert theirs[approved]["status"] == "seen", "Lumora's complaint showed as Northpeak's"
    review = {row["listing_id"] for row in read_review(northpeak / "review.csv")}
    assert {approved, rejected} <= review, "Lumora's decisions hid listings from Northpeak's review"

    code, lumora_week2, log = monitor(tmp_path, CASSETTES)
    assert code == 0, log[-3000:]
    ours = read_listings(lumora_week2)
    assert ours[approved]["status"] == "complained"
    review = {row["listing_id"] for row in read_review(lumora_week2 / "review.csv")}
    assert approved not in review and rejected not in review  # filed; rejected and unchanged


def test_a_review_file_reduced_to_its_key_columns_is_filed_from_the_store_without_false_changes(tmp_path, registry):
    report = _report_folder(tmp_path, registry, {FIRST: "approve"})
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _store_with_report_listings(url, report).close()
    elsewhere = tmp_path / "Downloads"
    elsewhere.mkdir()
    (elsewhere / "review.csv").write_text(f"decision,platform,listing_id\r\napprove,taobao,{FIRST}\r\n", encoding="utf-8")
    code, manifest, output = _file(registry, elsewhere, tmp_path / "out", url)
    assert code == 0 and manifest["counts"]["filed"] == 1, output
