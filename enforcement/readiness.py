"""IPR readiness: can each right in the registry be cited on each platform, and if not, why not?

IPP accepts a complaint only for an IPR record it has approved, and approves a record only with the right
proof. These rules check what the registry holds against what IPP asks for, before the first complaint:

- **office**: Taobao, Tmall and 1688 need a right registered in mainland China (CNIPA); a Madrid (WIPO)
  registration needs its certificate of extension to China there; Alibaba.com accepts foreign rights;
- **validity**: an expired or not yet valid mark is never cited; one expiring within ``EXPIRY_WARNING_DAYS``
  is a warning; a term longer than the first ten years needs the renewal certificate;
- **classes**: the Nice classes of the goods a citing product names, against the mark's classes;
- **certificate**: a certificate file is present (a warning when not: IPP may hold it already, but nothing can
  be checked or attached), is not a Word file, and is a colour scan (a black-and-white copy needs the
  registrant's seal or signature); a registrant other than the rights holder needs the assignment certificate;
- **agent**: when an agent files, the power of attorney is present and still valid;
- **copyright**: a registration certificate or a signed claim statement, and the URL where the originals are
  published (stolen-image complaints need it).

An ``error`` makes the IPR unusable on that platform (``scrapy complaints`` refuses its batches); a
``warning`` is something to fix before IPP asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from PIL import Image, ImageStat

EXPIRY_WARNING_DAYS = 180
FIRST_TERM_YEARS = 10
CHINA_PLATFORMS = ("taobao", "tmall", "1688")
CNIPA, WIPO = "CNIPA", "WIPO"
WORD_FILES = (".doc", ".docx", ".odt", ".rtf")
# Mean HSV saturation (0-255) below which a scan reads as black and white.
GREY_SATURATION = 12
PLATFORM_NAMES = {"taobao": "Taobao", "tmall": "Tmall", "1688": "1688", "alibaba": "Alibaba.com"}


@dataclass(frozen=True)
class Finding:
    level: str  # error | warning
    rule: str  # office | validity | classes | certificate | agent | copyright
    message: str


@dataclass
class Readiness:
    ipr_id: str
    kind: str  # trademark | copyright
    platform: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not any(f.level == "error" for f in self.findings)

    @property
    def reasons(self) -> list[str]:
        return [f.message for f in self.findings if f.level == "error"]

    def as_dict(self) -> dict:
        return {"ipr_id": self.ipr_id, "kind": self.kind, "platform": self.platform, "usable": self.usable,
                "findings": [f.__dict__ for f in self.findings]}


def check_registry(registry, *, on: date, platforms: tuple[str, ...] | None = None, goods=None) -> list[Readiness]:
    """One ``Readiness`` per (IPR, platform) of the watch list (or ``platforms``)."""
    platforms = tuple(platforms or registry.watch.platforms)
    goods = goods if goods is not None else _goods_classifier()
    shared = _agent_findings(getattr(registry.rights_holder, "agent", None), on)
    results = []
    for mark in registry.trademarks:
        common = shared + _validity(mark, on) + _certificates(mark, registry, on) + _classes(mark, registry, goods)
        for platform in platforms:
            results.append(Readiness(mark.id, "trademark", platform, _office(mark, platform) + common))
    for right in registry.copyrights:
        common = shared + _copyright(right)
        for platform in platforms:
            results.append(Readiness(right.id, "copyright", platform, list(common)))
    return results


def unusable(results: list[Readiness]) -> dict[tuple[str, str], list[str]]:
    """(ipr_id, platform) -> why it cannot be cited, for the complaint step."""
    return {(r.ipr_id, r.platform): r.reasons for r in results if not r.usable}


# --- the rules ---------------------------------------------------------------------------------
def _office(mark, platform: str) -> list[Finding]:
    office = mark.office.upper()
    if platform not in CHINA_PLATFORMS or office == CNIPA:
        return []
    name = PLATFORM_NAMES.get(platform, platform)
    if office == WIPO:
        if getattr(mark, "extension_certificates", ()):
            return []
        return [Finding("error", "office", f"{mark.id}: a Madrid (WIPO) registration needs its certificate of "
                                           f"extension to China on {name} (`extension_certificates`)")]
    return [Finding("error", "office", f"{mark.id}: registered at {mark.office}; {name} needs a mainland China "
                                       "(CNIPA) registration")]


def _validity(mark, on: date) -> list[Finding]:
    if on < mark.valid_from:
        return [Finding("error", "validity", f"{mark.id}: not valid until {mark.valid_from.isoformat()}")]
    if on > mark.valid_until:
        return [Finding("error", "validity", f"{mark.id}: expired on {mark.valid_until.isoformat()}; "
                                             "renew it and add the renewal certificate")]
    findings = []
    left = (mark.valid_until - on).days
    if left <= EXPIRY_WARNING_DAYS:
        findings.append(Finding("warning", "validity", f"{mark.id}: expires on {mark.valid_until.isoformat()}, "
                                                       f"in {left} days; renew it before IPP's record lapses"))
    first_term_end = _add_years(mark.valid_from, FIRST_TERM_YEARS)
    if mark.valid_until > first_term_end + timedelta(days=31) and not getattr(mark, "renewal_certificates", ()):
        findings.append(Finding("warning", "certificate", f"{mark.id}: valid until {mark.valid_until.isoformat()}, "
                                                          "beyond its first ten-year term: IPP asks for the renewal "
                                                          "certificate (`renewal_certificates`)"))
    return findings


def _certificates(mark, registry, on: date) -> list[Finding]:
    files = tuple(getattr(mark, "certificates", ()) or ())
    if not files:
        # IPP may hold the scan already (an approved record); without a copy here nothing can be checked or
        # attached to a counter-notice reply, so it is a warning, not a refusal
        return [Finding("warning", "certificate", f"{mark.id}: no certificate file (`certificates`): IPP needs a "
                                                  "colour scan of the registration certificate, each class page; add "
                                                  "it so it can be checked and attached to counter-notice replies")]
    findings = [finding for path in files for finding in _scan(path, f"{mark.id}: certificate {path.name}")]
    registrant = getattr(mark, "registrant", None)
    holder = registry.rights_holder.name
    if registrant and _fold(registrant) != _fold(holder) and not getattr(mark, "assignment_certificates", ()):
        findings.append(Finding("error", "certificate", f"{mark.id}: registered to {registrant}, not {holder}: "
                                                        "add the assignment or change-of-registrant certificate "
                                                        "(`assignment_certificates`)"))
    return findings


def _classes(mark, registry, goods) -> list[Finding]:
    findings = []
    for product in registry.products_for_trademark(mark.id):
        text = " ".join((product.name, *product.keywords))
        outside = set(goods.classes(text)) - set(mark.classes)
        if outside:
            findings.append(Finding("warning", "classes", f"{mark.id}: product {product.id} names goods of class "
                                                          f"{', '.join(map(str, sorted(outside)))}, but the mark is "
                                                          f"registered in {', '.join(map(str, mark.classes))}"))
    return findings


def _agent_findings(agent, on: date) -> list[Finding]:
    if agent is None:
        return []
    poa = getattr(agent, "power_of_attorney", None)
    if not poa:
        return [Finding("error", "agent", f"agent {agent.name}: no power of attorney (`power_of_attorney`): IPP "
                                          "needs it signed or sealed by the rights holder")]
    findings = list(_scan(poa, f"agent {agent.name}: power of attorney {Path(poa).name}", colour=False))
    until = getattr(agent, "valid_until", None)
    if until is None:
        findings.append(Finding("warning", "agent", f"agent {agent.name}: the power of attorney has no "
                                                    "`valid_until`; IPP rejects an expired one"))
    elif on > until:
        findings.append(Finding("error", "agent", f"agent {agent.name}: the power of attorney expired on "
                                                  f"{until.isoformat()}"))
    elif (until - on).days <= EXPIRY_WARNING_DAYS:
        findings.append(Finding("warning", "agent", f"agent {agent.name}: the power of attorney expires on "
                                                    f"{until.isoformat()}, in {(until - on).days} days"))
    return findings


def _copyright(right) -> list[Finding]:
    findings = []
    certificate = getattr(right, "certificate", None)
    statement = getattr(right, "claim_statement", None)
    if not certificate and not statement:
        findings.append(Finding("warning", "copyright", f"{right.id}: neither a registration certificate "
                                                        "(`certificate`) nor a signed copyright claim statement "
                                                        "(`claim_statement`): IPP needs one to approve the record"))
    for path, label in ((certificate, "certificate"), (statement, "claim statement")):
        if path:
            findings.extend(_scan(path, f"{right.id}: {label} {Path(path).name}", colour=False))
    if not right.official_url:
        findings.append(Finding("error", "copyright", f"{right.id}: no `official_url`: stolen-image complaints "
                                                      "need the page where the original photos are published"))
    return findings


def _scan(path: Path, label: str, *, colour: bool = True) -> list[Finding]:
    path = Path(path)
    if path.suffix.lower() in WORD_FILES:
        return [Finding("error", "certificate", f"{label}: a Word file; IPP takes a scan (image or PDF)")]
    if not colour or path.suffix.lower() == ".pdf":
        return []
    try:
        with Image.open(path) as image:
            if image.mode in ("1", "L", "LA", "I", "I;16", "F"):
                grey = True
            else:
                saturation = ImageStat.Stat(image.convert("RGB").convert("HSV")).mean[1]
                grey = saturation < GREY_SATURATION
    except (OSError, ValueError) as exc:
        return [Finding("error", "certificate", f"{label}: cannot be read as an image ({exc})")]
    if grey:
        return [Finding("warning", "certificate", f"{label}: looks black and white; IPP needs a colour scan, or "
                                                  "the registrant's seal or signature on the copy")]
    return []


def _goods_classifier():
    from matchers.context import GoodsClassifier

    return GoodsClassifier.default()


def _fold(text: str) -> str:
    return "".join(str(text).split()).casefold()


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
