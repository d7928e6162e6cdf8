"""IPR readiness: one test per rule, each checking what the rights holder is told."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
import yaml
from PIL import Image

from enforcement.readiness import check_registry, unusable
from registry import RegistryError, load_registry
from tests.conftest import DEMO_REGISTRY, ROOT, SCRAPY, scrapy_env

ON = date(2026, 12, 1)


@pytest.fixture
def make_registry(tmp_path):
    """A copy of the demo registry with its files, changed by ``edit(data)``."""
    folder = tmp_path / "registry"
    shutil.copytree(DEMO_REGISTRY.parent, folder)

    def make(edit=None) -> Path:
        data = yaml.safe_load((folder / "demo.yaml").read_text(encoding="utf-8"))
        if edit:
            edit(data)
        path = folder / "registry.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path
    make.folder = folder
    return make


def findings(path: Path, ipr_id: str, platform: str = "taobao", on: date = ON) -> tuple[bool, list[str]]:
    result = next(r for r in check_registry(load_registry(path), on=on) if r.ipr_id == ipr_id
                  and r.platform == platform)
    return result.usable, [f"{f.level}: {f.message}" for f in result.findings]


def test_the_demo_registry_is_ready_where_its_offices_allow(make_registry):
    results = check_registry(load_registry(make_registry()), on=ON)
    assert unusable(results) == {
        ("LUMORA-US-25", p): [f"LUMORA-US-25: registered at USPTO; {name} needs a mainland China (CNIPA) registration"]
        for p, name in (("taobao", "Taobao"), ("tmall", "Tmall"), ("1688", "1688"))}


def test_office_a_madrid_registration_needs_its_extension_to_china(make_registry):
    def wipo(data):
        data["trademarks"][1]["office"] = "WIPO"
    path = make_registry(wipo)
    assert findings(path, "LUMORA-US-25", "tmall") == (False, [
        "error: LUMORA-US-25: a Madrid (WIPO) registration needs its certificate of extension to China on Tmall "
        "(`extension_certificates`)"])
    assert findings(path, "LUMORA-US-25", "alibaba") == (True, [])


def test_validity_a_mark_expiring_within_180_days_is_a_warning(make_registry):
    def soon(data):
        data["trademarks"][0]["valid_until"] = date(2027, 3, 1)
    assert findings(make_registry(soon), "LUMORA-CN-25") == (True, [
        "warning: LUMORA-CN-25: expires on 2027-03-01, in 90 days; renew it before IPP's record lapses"])


def test_validity_an_expired_mark_cannot_be_cited(make_registry):
    def expired(data):
        data["trademarks"][0]["valid_until"] = date(2026, 11, 30)
    usable, messages = findings(make_registry(expired), "LUMORA-CN-25")
    assert not usable
    assert messages == ["error: LUMORA-CN-25: expired on 2026-11-30; renew it and add the renewal certificate"]


def test_validity_a_term_past_ten_years_needs_the_renewal_certificate(make_registry):
    def renewed(data):
        data["trademarks"][0]["valid_from"] = date(2010, 3, 14)
    assert findings(make_registry(renewed), "LUMORA-CN-25") == (True, [
        "warning: LUMORA-CN-25: valid until 2030-03-13, beyond its first ten-year term: IPP asks for the renewal "
        "certificate (`renewal_certificates`)"])


def test_classes_goods_outside_the_marks_classes_are_named(make_registry):
    def phone_case(data):
        data["products"][1]["keywords"] = ["手机壳", "phone case"]
    usable, messages = findings(make_registry(phone_case), "LUMORA-CN-25")
    assert usable
    assert messages == ["warning: LUMORA-CN-25: product summit-pack names goods of class 9, but the mark is "
                        "registered in 25, 18"]


def test_certificate_missing(make_registry):
    def none(data):
        del data["trademarks"][0]["certificates"]
    assert findings(make_registry(none), "LUMORA-CN-25") == (True, [
        "warning: LUMORA-CN-25: no certificate file (`certificates`): IPP needs a colour scan of the registration "
        "certificate, each class page; add it so it can be checked and attached to counter-notice replies"])


def test_certificate_black_and_white(make_registry):
    path = make_registry()
    scan = make_registry.folder / "certs" / "LUMORA-CN-25_certificate.png"
    Image.open(scan).convert("L").save(scan)
    assert findings(path, "LUMORA-CN-25") == (True, [
        "warning: LUMORA-CN-25: certificate LUMORA-CN-25_certificate.png: looks black and white; IPP needs a colour "
        "scan, or the registrant's seal or signature on the copy"])


def test_certificate_a_word_file_is_refused(make_registry):
    (make_registry.folder / "certs" / "cert.docx").write_bytes(b"PK\x03\x04 not really a scan")

    def word(data):
        data["trademarks"][0]["certificates"] = ["certs/cert.docx"]
    assert findings(make_registry(word), "LUMORA-CN-25") == (False, [
        "error: LUMORA-CN-25: certificate cert.docx: a Word file; IPP takes a scan (image or PDF)"])


def test_certificate_another_registrant_needs_the_assignment(make_registry):
    def assigned(data):
        data["trademarks"][0]["registrant"] = "Old Owner Trading Ltd."
    assert findings(make_registry(assigned), "LUMORA-CN-25") == (False, [
        "error: LUMORA-CN-25: registered to Old Owner Trading Ltd., not Lumora Outdoor Co., Ltd.: add the assignment "
        "or change-of-registrant certificate (`assignment_certificates`)"])


def test_agent_without_a_power_of_attorney(make_registry):
    def agent(data):
        data["rights_holder"]["agent"] = {"name": "Example IP Agency"}
    usable, messages = findings(make_registry(agent), "LUMORA-CN-25")
    assert not usable
    assert messages == ["error: agent Example IP Agency: no power of attorney (`power_of_attorney`): IPP needs it "
                        "signed or sealed by the rights holder"]


def test_agent_with_an_expired_power_of_attorney(make_registry):
    def agent(data):
        data["rights_holder"]["agent"] = {"name": "Example IP Agency", "valid_until": date(2026, 6, 30),
                                          "power_of_attorney": "certs/LUMORA-PHOTO_claim_statement.png"}
    usable, messages = findings(make_registry(agent), "LUMORA-PHOTO")
    assert not usable
    assert messages == ["error: agent Example IP Agency: the power of attorney expired on 2026-06-30"]


def test_copyright_needs_a_certificate_or_claim_statement_and_an_official_url(make_registry):
    def bare(data):
        del data["copyrights"][0]["claim_statement"]
        del data["copyrights"][0]["official_url"]
    usable, messages = findings(make_registry(bare), "LUMORA-PHOTO")
    assert not usable
    assert messages == [
        "warning: LUMORA-PHOTO: neither a registration certificate (`certificate`) nor a signed copyright claim "
        "statement (`claim_statement`): IPP needs one to approve the record",
        "error: LUMORA-PHOTO: no `official_url`: stolen-image complaints need the page where the original photos "
        "are published"]


def test_a_certificate_outside_the_registry_folder_is_a_registry_error(make_registry):
    def outside(data):
        data["trademarks"][0]["certificates"] = ["../../etc/passwd"]
    with pytest.raises(RegistryError, match=r"trademarks\[0\]\.certificates\[0\]: outside the registry's folder"):
        load_registry(make_registry(outside))


def test_ipr_check_command_prints_and_writes_the_report(make_registry, tmp_path):
    done = subprocess.run([SCRAPY, "ipr-check", "--registry", str(make_registry()), "--out", str(tmp_path),
                           "--date", "2026-12-01"], cwd=ROOT, env=scrapy_env(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "LUMORA-US-25 on taobao: CANNOT be cited" in done.stdout
    assert "ipr-check: 9 of 12 (right, platform) pairs can be cited" in done.stdout
    html = (tmp_path / "ipr-check.html").read_text(encoding="utf-8")
    assert "needs a mainland China (CNIPA) registration" in html and "9 of 12" in html
