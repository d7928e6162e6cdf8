"""The data contract decides once, and every part of the tool reads it the same way.

Each test here would have caught a disagreement that existed before the contract module: an image hit
without ``confident`` read four ways, seller names folded two ways, "removed" decided by two rules, the
citation rule written three times, and vocabularies spelled differently in different modules.
"""

from __future__ import annotations

import ast
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from contract import (
    CNIPA_ONLY_PLATFORMS,
    FLAGGED,
    PLATFORMS,
    ComplaintStatus,
    ImageHit,
    ListingStatus,
    Reason,
    Verdict,
    citation_problem,
    is_removed_url,
    normalize_seller,
    removal_outcome,
    removal_signs,
)
from contract.image_hit import CONFIDENT_DISTANCE, confident_registered_image, is_confident
from exports.complaints import refusal_reason
from exports.incremental import RelistIndex, title_key
from exports.report_html import _card
from matchers.score import Scorer
from registry import load_registry
from store import Store

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("contract", "crawlers", "pipelines", "store", "matchers", "exports", "enforcement", "workbench")


# --- an image hit that does not say whether it is confident -------------------------------------------


def _hit(distance: int) -> dict:
    # as an older listings.jsonl or a hand-made row has it: no "confident" key
    return {"product_id": "trail-jacket", "registered_image": "images/trail_jacket_1.jpg",
            "listing_image_url": "https://img.alicdn.com/a.jpg", "distance": distance, "stage": "phash"}


@pytest.mark.parametrize("distance", [0, CONFIDENT_DISTANCE, CONFIDENT_DISTANCE + 1, 14])
def test_a_hit_without_confident_reads_the_same_in_scorer_store_relisting_and_report(distance, tmp_path):
    expected = distance <= CONFIDENT_DISTANCE
    assert ImageHit.from_dict(_hit(distance)).confident is expected
    assert is_confident(_hit(distance)) is expected
    # the store's complaints on file carry the registered image only for a confident hit
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    listing = {"platform": "taobao", "listing_id": "1", "url": "https://item.taobao.com/item.htm?id=1",
               "title": "t", "seller_name": "店A", "crawled_at": "2026-11-02T00:00:00Z", "image_hit": _hit(distance),
               "images": [{"url": "https://img.alicdn.com/a.jpg", "path": "full/a.jpg", "phash": "ff00ff00ff00ff00"}]}
    store.save_listings("run-1", [listing])
    store.record_complaints([{"platform": "taobao", "listing_id": "1", "ipr_id": "LUMORA-CN-25",
                              "reason": "counterfeit", "batch": "b1"}])
    on_file = store.complaints_on_file()
    assert (on_file[0]["registered_image"] is not None) is expected
    assert (confident_registered_image(_hit(distance)) is not None) is expected
    # the HTML report's card says the same
    card = _card({**listing, "verdict": "suspect"}, None, lambda path: "", None, None)
    assert card["confident"] is expected


def test_relisting_uses_the_same_confidence_rule():
    # the brand's own photo used by another seller is not a re-listing, but only when the hit is confident
    complained = {"platform": "taobao", "listing_id": "1", "main_image_phash": "ff00ff00ff00ff00",
                  "seller_name": "店A", "registered_image": "images/trail_jacket_1.jpg",
                  "filed_at": "2026-11-02T10:00:00Z", "title_key": title_key("别的")}
    listing = {"platform": "taobao", "listing_id": "2", "title": "另一个标题", "seller_name": "店B",
               "images": [{"phash": "ff00ff00ff00ff00"}], "first_seen": "2026-11-09T00:00:00Z"}
    near = RelistIndex([complained]).match({**listing, "image_hit": _hit(2)})
    far = RelistIndex([complained]).match({**listing, "image_hit": _hit(20)})
    assert near is None  # a confident hit on the official photo: another seller using it
    assert far == ("taobao", "1")  # a weak hit names no registered photo, so the same picture is a re-listing


# --- one seller normaliser ---------------------------------------------------------------------------


def test_authorization_and_relisting_fold_seller_names_the_same_way(tmp_path):
    registry_path = _registry_copy(tmp_path, authorized=[{"platform": "taobao", "seller": "lumora官方旗舰店"}])
    registry = load_registry(registry_path)
    written = "Lumora  官方旗艦店"  # spaces, capital letter, a traditional character
    assert registry.is_authorized("taobao", written)
    assert normalize_seller(written) == normalize_seller("lumora官方旗舰店")
    complained = {"platform": "taobao", "listing_id": "1", "main_image_phash": "ff00ff00ff00ff00",
                  "seller_name": "lumora官方旗舰店", "registered_image": "images/trail_jacket_1.jpg",
                  "filed_at": "2026-11-02T10:00:00Z"}
    listing = {"platform": "taobao", "listing_id": "2", "title": "t", "seller_name": written,
               "images": [{"phash": "ff00ff00ff00ff00"}], "first_seen": "2026-11-09T00:00:00Z",
               "image_hit": {**_hit(0), "confident": True}}
    # the same seller (as authorization reads it) with the same official photo: a re-listing
    assert RelistIndex([complained]).match(listing) == ("taobao", "1")


# --- one removal rule --------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_platforms_removal_page_is_removed_for_the_check_and_for_evidence(platform):
    signs = removal_signs()[platform]
    for marker in signs["url_markers"]:
        url = marker if marker.startswith("/") else f"https://{marker}"
        assert is_removed_url(url, platform), url
        assert is_removed_url(url), url  # evidence capture, which does not know the platform
        assert removal_outcome(platform, 302, "https://x.example/item", url, b"") == "removed"
    assert removal_outcome(platform, 200, "https://x.example/item", "", signs["body_markers"][0].encode()) == "removed"
    assert removal_outcome(platform, 200, "https://x.example/item", "", b"<html>on sale</html>") == "online"
    assert removal_outcome(platform, 503, "https://x.example/item", "", b"") == "unknown"


def test_a_listing_page_is_not_a_removal_page():
    for url in ("https://item.taobao.com/item.htm?id=1", "https://detail.1688.com/offer/1.html",
                "https://www.alibaba.com/product-detail/x_1.html"):
        assert not is_removed_url(url)


# --- one citation rule -------------------------------------------------------------------------------


@pytest.mark.parametrize(("office", "valid_from", "valid_until", "platform", "problem"), [
    ("CNIPA", date(2020, 1, 1), date(2030, 1, 1), "taobao", None),
    ("CNIPA", date(2020, 1, 1), date(2025, 1, 1), "taobao", "expired on 2025-01-01"),
    ("CNIPA", date(2027, 1, 1), date(2037, 1, 1), "tmall", "not valid before 2027-01-01"),
    ("USPTO", date(2020, 1, 1), date(2030, 1, 1), "1688", "accepts only CNIPA"),
    ("USPTO", date(2020, 1, 1), date(2030, 1, 1), "alibaba", None),
])
def test_registry_scorer_and_complaints_agree_on_whether_a_mark_can_be_cited(
        office, valid_from, valid_until, platform, problem, tmp_path):
    today = date(2026, 12, 1)
    path = _registry_copy(tmp_path, mark={"office": office, "valid_from": valid_from, "valid_until": valid_until})
    registry = load_registry(path)
    mark = registry.trademarks[0]
    said = citation_problem(mark, platform, today)
    assert (said is None) is (problem is None) and (problem is None or problem in said)
    assert mark.can_be_cited_on(platform, today) is (problem is None)
    # the scorer cites the mark only when it can be cited
    listing = {"platform": platform, "listing_id": "1", "title": f"{mark.mark} 冲锋衣 高仿", "seller_name": "店",
               "url": "https://item.taobao.com/item.htm?id=1", "price_min": 99.0, "price_max": 99.0}
    result = Scorer(registry, today=today).score(listing)
    assert (result["ipr_id"] == mark.id) is (problem is None)
    # a complaint citing it is refused with the same words
    refusal = refusal_reason({**listing, "reason": "counterfeit", "ipr_id": mark.id, "verdict": "infringing"},
                       registry, on=today)
    assert refusal == said


# --- vocabularies ------------------------------------------------------------------------------------


def test_vocabularies_are_the_strings_written_to_files():
    assert {"infringing", "suspect"} == FLAGGED
    assert {v.value for v in Verdict} == {"infringing", "suspect", "authorized", "clean"}
    assert {r.value for r in Reason} == {"counterfeit", "trademark_misuse", "stolen_image", ""}
    assert ListingStatus.RELISTED == "re-listed" and ComplaintStatus.RELISTED == "relisted"
    assert {"taobao", "tmall", "1688"} == CNIPA_ONLY_PLATFORMS


def _assigned_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_no_shipped_module_outside_the_contract_defines_its_own_flagged_set_platforms_or_fields():
    owned_by_contract = {"FLAGGED", "FLAGGED_VERDICTS", "PLATFORMS", "CNIPA_ONLY_PLATFORMS", "SCORE_FIELDS",
                         "LISTING_FIELDS"}
    offenders = []
    for package in SHIPPED[1:]:
        for path in (ROOT / package).rglob("*.py"):
            if clash := _assigned_names(path) & owned_by_contract:
                offenders.append(f"{path.relative_to(ROOT)}: {sorted(clash)}")
    assert offenders == []


def test_the_contract_imports_nothing_from_the_rest_of_ipwatch():
    for path in (ROOT / "contract").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module.split(".")[0] not in SHIPPED[1:], f"{path.name} imports {node.module}"



def _bound_names(init: Path) -> set[str]:
    """The names a package's ``__init__`` binds, but a submodule it imports as itself (``from . import x``)."""
    package = ".".join(init.parent.relative_to(ROOT).parts)
    names = set()
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom):
            itself = (node.level == 1 and not node.module) or node.module == package
            names |= {a.asname or a.name for a in node.names if not (itself and a.asname in (None, a.name))}
        elif isinstance(node, ast.Import):
            names |= {a.asname or a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
    return names | _assigned_names(init)


def test_no_package_exports_a_name_one_of_its_submodules_has():
    """``store`` exported the ``runs`` table and had a ``store/runs.py``: once anything imported that module, Python
    put it in the table's place, and ``from store import runs`` handed a module to SQLAlchemy."""
    offenders = []
    for package in (*SHIPPED, "registry"):
        for init in (ROOT / package).rglob("__init__.py"):
            submodules = {p.stem for p in init.parent.glob("*.py") if p.name != "__init__.py"}
            submodules |= {p.parent.name for p in init.parent.glob("*/__init__.py")}
            if clash := _bound_names(init) & submodules:
                offenders.append(f"{init.relative_to(ROOT)}: {sorted(clash)}")
    assert offenders == []


# --- the complaint status "relisted" is set -----------------------------------------------------------


def test_a_relisting_of_a_removed_listing_marks_its_complaint_relisted(tmp_path):
    from exports.run_report import ReportFailures, write_run_reports

    registry = load_registry(_registry_copy(tmp_path))
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    old = {"platform": "taobao", "listing_id": "1", "url": "https://item.taobao.com/item.htm?id=1",
           "title": "LUMORA 冲锋衣 高仿", "seller_name": "店A", "crawled_at": "2026-11-01T00:00:00Z",
           "images": [{"url": "https://img.alicdn.com/a.jpg", "path": "full/a.jpg", "phash": "ff00ff00ff00ff00"}],
           "verdict": "infringing"}
    store.save_listings("run-1", [old])
    store.record_complaints([{"platform": "taobao", "listing_id": "1", "ipr_id": "LUMORA-CN-25",
                              "reason": "counterfeit", "batch": "b1", "title_key": title_key(old["title"]),
                              "main_image_phash": "ff00ff00ff00ff00"}], registry)
    store.set_complaint_status("taobao", "1", ComplaintStatus.REMOVED)
    store.ensure_run("run-2")
    store.save_listings("run-2", [{**old, "listing_id": "2", "url": "https://item.taobao.com/item.htm?id=2",
                                   "crawled_at": "2099-01-01T00:00:00Z"}])
    summary = write_run_reports(store, registry, "run-2", tmp_path / "out", str(tmp_path / "images"),
                                {"taobao": {}}, store.complaints_on_file(registry), set(), ReportFailures())
    assert summary["statuses"].get(ListingStatus.RELISTED) == 1
    assert [c["status"] for c in store.complaints_on_file(registry)] == [ComplaintStatus.RELISTED]


def _registry_copy(tmp_path: Path, *, authorized: list | None = None, mark: dict | None = None) -> Path:
    folder = tmp_path / "registry"
    shutil.copytree(ROOT / "fixtures" / "registry", folder, dirs_exist_ok=True)
    path = folder / "demo.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if authorized is not None:
        data["authorized_sellers"] = authorized
    if mark is not None:
        data["trademarks"] = [{**data["trademarks"][0], **mark}]
        first = data["trademarks"][0]["id"]
        for product in data["products"]:
            product["trademarks"] = [first]
        data["copyrights"] = data.get("copyrights", [])
        data.pop("watch", None)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_stats_keys_are_built_in_one_place_with_the_names_the_reports_read():
    from contract import stats as keys

    assert keys.blocked("tmall") == "blocked/tmall" and keys.blocked("tmall", "slider") == "blocked/tmall/slider"
    assert keys.session("expired", "taobao") == "session/expired/taobao"
    assert keys.pace("paused", "1688") == "pace/paused/1688"
    assert keys.score(Verdict.SUSPECT) == "score/suspect"
    assert keys.check_removed("removed") == "check_removed/removed"
