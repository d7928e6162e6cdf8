"""Complaint batches for Alibaba's IP Protection Platform (docs/contract.md §8).

Approved listings are checked (refusals: expired or not-yet-valid marks, a non-CNIPA mark on
Taobao/Tmall/1688, an authorized seller, nothing citable), then packed into batches: one platform, one
IPR, one reason, at most 300 URLs (IPP's limit per complaint). One seller's listings for one IPR first
seen within three days form a group that Taobao counts as one complaint; a group is never split across
batches unless it alone exceeds 300 URLs.

Output under DIR: ``<platform>/<ipr_id>/<reason>/batch-NNN.txt`` + ``.csv``, ``complaints.xlsx`` and
``manifest.json`` (with the sha256 of every other file). Every path component made from data goes
through ``safe_component``, so no listing or registry id can write outside DIR.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from contract import PLATFORMS, Reason, Verdict, citation_problem, normalize_seller
from exports.complaints_workbook import ComplaintWorkbook
from exports.evidence import EvidenceResult, inside, sha256_file, utc_now, writing
from exports.review_csv import format_price, neutralise
from registry import Registry

MAX_URLS_PER_BATCH = 300  # IPP accepts at most 300 listing links per complaint
SELLER_WINDOW = timedelta(days=3)  # Taobao counts one seller's listings for one IPR within 3 days as one

# The complaint reason as IPP's form words it, and the kind of right it cites.
REASONS: dict[str, dict[str, str]] = {
    Reason.COUNTERFEIT: {
        "right": "trademark",
        "zh": "商标侵权：销售假冒注册商标的商品（售假）",
        "en": "Trademark infringement: sale of counterfeit goods bearing the registered trademark",
    },
    Reason.TRADEMARK_MISUSE: {
        "right": "trademark",
        "zh": "商标侵权：在商品标题、描述或图片中未经授权使用注册商标",
        "en": "Trademark infringement: unauthorised use of the registered trademark in the listing's "
        "title, description or images",
    },
    Reason.STOLEN_IMAGE: {
        "right": "copyright",
        "zh": "著作权侵权：未经授权使用权利人的商品图片（盗图）",
        "en": "Copyright infringement: unauthorised use of the rights holder's product photography",
    },
}

BATCH_COLUMNS = ("url", "listing_id", "seller", "title", "price", "explanation", "evidence", "currency", "case")


class RefusalCheck(StrEnum):
    """Which check refused a listing (``Refusal.check``, the manifest's ``refused[].check``)."""

    NOT_FILEABLE = "not_fileable"  # the registry's rules (refusal_reason)
    NOT_FOUND = "not_found"  # the review row's listing is not in listings.jsonl or the store
    REMOVED = "removed"  # taken down (exports/filing_guard.py, or the evidence shows it)
    ALREADY_FILED = "already_filed"
    CHANGED = "changed"  # since the review
    IPR_NOT_READY = "ipr_not_ready"  # the right cannot be cited (enforcement/filing.py)
    STANDING = "standing"  # an auto-approval held back by the Good-Faith standing


@dataclass(frozen=True)
class Refusal:
    platform: str
    listing_id: str
    url: str
    message: str
    check: str = RefusalCheck.NOT_FILEABLE

    def as_dict(self) -> dict[str, str]:
        return {"platform": self.platform, "listing_id": self.listing_id, "url": self.url, "message": self.message,
                "check": self.check}


@dataclass
class Batch:
    platform: str
    ipr_id: str
    reason: str
    number: int
    listings: list[dict[str, Any]] = field(default_factory=list)
    case: str = ""  # the complaint case opened for it in the store (enforcement/filing.py), e.g. C-0012

    @property
    def name(self) -> str:
        return f"batch-{self.number:03d}"

    @property
    def id(self) -> str:
        return f"{self.platform}/{self.ipr_id}/{self.reason}/{self.name}"


@dataclass
class Plan:
    batches: list[Batch]
    refused: list[Refusal]


# --- choosing what to file ---------------------------------------------------------------------

# What a filed listing carries from here on: the batch files, the manifest, the evidence (the image hit,
# which may sit in ``signals.image`` and name its file through ``images``) and the store's record. A
# listing from listings.jsonl has twice as many fields and the scorer's whole ``signals``; keeping only
# these cuts what 100,000 approved listings hold in memory by about two thirds. ``image_evidence`` names the
# run report's comparison picture, which the evidence reuses.
CARRIED_FIELDS = (
    "platform", "listing_id", "url", "seller_id", "seller_name", "title", "price_min", "price_max",
    "currency", "explanation", "ipr_id", "reason", "score", "verdict", "status", "first_seen",
    "relisted_from", "first_run", "previous_decision", "review_again", "review_row", "image_hit",
    "images", "main_image_phash", "image_evidence",
)  # fmt: skip


def carried(item: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``item`` that filing needs (:data:`CARRIED_FIELDS`, and ``signals.image``)."""
    out = {name: item[name] for name in CARRIED_FIELDS if name in item}
    signals = item.get("signals")
    if isinstance(signals, dict) and isinstance(signals.get("image"), dict):
        out["signals"] = {"image": signals["image"]}
    return out


def select_for_filing(
    decisions: dict[tuple[str, str], dict[str, Any]],
    listings: Iterable[dict[str, Any]],
    *,
    auto_approve_above: float | None = None,
    source: str = "listings.jsonl",
) -> tuple[list[dict[str, Any]], list[Refusal]]:
    """Join the review decisions with the full listings; returns (to file, refused).

    A row is filed when its decision is ``approve``, or when it is not ``reject`` and its score is above
    ``auto_approve_above``. The reviewer's ``reason`` and ``ipr_id`` win over the scorer's, so a reviewer
    can correct them in the CSV. ``listings`` is streamed; only the wanted ones are kept. ``source``
    names where the listings came from, for the refusal of a row whose listing is not there.
    """
    wanted = {key: decisions[key] for key in wanted_for_filing(decisions, auto_approve_above)}
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for item in listings:
        key = (str(item.get("platform", "")).lower(), str(item.get("listing_id", "")))
        if key in wanted and key not in found:
            merged = carried(item)
            row = wanted[key]
            for column in ("reason", "ipr_id"):
                if row.get(column):
                    merged[column] = row[column]
            merged["review_row"] = row.get("row")
            found[key] = merged
    selected, refused = [], []
    for key, row in wanted.items():
        if key in found:
            selected.append(found[key])
        else:
            refused.append(
                Refusal(key[0], key[1], row.get("url", ""), f"review row {row.get('row')}: listing not found in {source}",
                        RefusalCheck.NOT_FOUND)
            )
    return selected, refused


def wanted_for_filing(decisions: dict[tuple[str, str], dict[str, Any]], auto_approve_above: float | None) -> list:
    """The (platform, listing_id) of the review rows to file, in review order."""
    return [key for key, row in decisions.items() if _should_file(row, auto_approve_above)]


def _should_file(row: dict[str, Any], auto_approve_above: float | None) -> bool:
    if row["decision"] == "approve":
        return True
    if row["decision"] == "reject" or auto_approve_above is None or row.get("score") is None:
        return False
    return row["score"] > auto_approve_above


def refusal_reason(listing: dict[str, Any], registry: Registry, on: date | None = None) -> str | None:
    """Why this listing must not be filed, or None when it can be."""
    platform = str(listing.get("platform") or "")
    seller = str(listing.get("seller_name") or "")
    reason = str(listing.get("reason") or "")
    ipr_id = str(listing.get("ipr_id") or "")
    if platform not in PLATFORMS:
        return f"unknown platform {platform!r}"
    if not str(listing.get("url") or "").startswith(("https://", "http://")):
        return f"no usable listing URL ({listing.get('url')!r})"
    if listing.get("verdict") == Verdict.AUTHORIZED or registry.is_authorized(platform, seller):
        return f"seller {seller!r} is an authorized seller on {platform}; authorized sellers are never filed"
    if reason not in REASONS:
        if not reason:
            return "no complaint reason; write counterfeit, trademark_misuse or stolen_image in the review file"
        return f"unknown complaint reason {reason!r} (counterfeit, trademark_misuse or stolen_image)"
    if not ipr_id:
        return f"no ipr_id to cite for reason {reason}"
    if REASONS[reason]["right"] == "copyright":
        try:
            registry.copyright(ipr_id)
        except KeyError:
            return f"ipr_id {ipr_id!r} is not a copyright in the registry; {reason} cites a copyright"
        return None
    try:
        mark = registry.trademark(ipr_id)
    except KeyError:
        return f"ipr_id {ipr_id!r} is not a trademark in the registry; {reason} cites a trademark"
    return citation_problem(mark, platform, on or datetime.now(UTC).date())


# --- batching ----------------------------------------------------------------------------------


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def seller_key(listing: dict[str, Any]) -> str:
    if listing.get("seller_id"):
        return f"id:{listing['seller_id']}"
    if listing.get("seller_name"):
        return f"name:{normalize_seller(str(listing['seller_name']))}"
    return f"listing:{listing.get('listing_id')}"  # unknown seller: a group of its own


def seller_groups(listings: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split one (platform, IPR, reason) into groups: one seller, first seen within SELLER_WINDOW."""
    by_seller: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in listings:
        by_seller[seller_key(item)].append(item)
    groups: list[list[dict[str, Any]]] = []
    far_future = datetime.max.replace(tzinfo=UTC)
    for items in by_seller.values():
        items.sort(key=lambda item: (_parse_time(item.get("first_seen")) or far_future, str(item.get("listing_id"))))
        current: list[dict[str, Any]] = []
        anchor: datetime | None = None
        for item in items:
            seen = _parse_time(item.get("first_seen"))
            if current and seen is not None and anchor is not None and seen - anchor > SELLER_WINDOW:
                groups.append(current)
                current, anchor = [], None
            current.append(item)
            if anchor is None:
                anchor = seen
        groups.append(current)
    return groups


def pack_groups(groups: list[list[dict[str, Any]]], limit: int = MAX_URLS_PER_BATCH) -> list[list[dict[str, Any]]]:
    """Pack seller groups into as few batches of at most ``limit`` as first-fit decreasing allows."""
    pieces: list[list[dict[str, Any]]] = []
    batches: list[list[dict[str, Any]]] = []
    for group in groups:
        while len(group) > limit:  # only a group larger than a whole batch is ever split
            batches.append(group[:limit])
            group = group[limit:]
        if group:
            pieces.append(group)
    pieces.sort(key=lambda group: (-len(group), str(group[0].get("first_seen") or ""), seller_key(group[0])))
    open_batches: list[list[dict[str, Any]]] = []
    for group in pieces:
        for batch in open_batches:
            if len(batch) + len(group) <= limit:
                batch.extend(group)
                break
        else:
            open_batches.append(list(group))
    return batches + open_batches


def plan_batches(
    listings: Iterable[dict[str, Any]],
    registry: Registry,
    *,
    on: date | None = None,
    limit: int = MAX_URLS_PER_BATCH,
) -> Plan:
    """Check every listing and pack the fileable ones into batches."""
    return pack_claims(claim_plan(listings, registry, on=on), limit)


def claim_plan(listings: Iterable[dict[str, Any]], registry: Registry, *, on: date | None = None) -> Plan:
    """Check every listing; the fileable ones in one unpacked batch (number 0) per claim: one platform, one
    IPR, one reason. The filing step refuses and drops listings from these before packing them once."""
    refused: list[Refusal] = []
    by_claim: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    seen_keys: set[tuple[str, str]] = set()
    seen_urls: set[str] = set()
    for item in listings:
        key = (str(item.get("platform") or ""), str(item.get("listing_id") or ""))
        url = str(item.get("url") or "")
        if key in seen_keys or url in seen_urls:
            continue  # the same listing twice is filed once
        seen_keys.add(key)
        seen_urls.add(url)
        message = refusal_reason(item, registry, on)
        if message:
            refused.append(Refusal(key[0], key[1], url, message))
            continue
        by_claim[(key[0], str(item["ipr_id"]), str(item["reason"]))].append(carried(item))
    claims = [Batch(platform, ipr_id, reason, 0, items) for (platform, ipr_id, reason), items in sorted(by_claim.items())]
    return Plan(claims, refused)


def pack_claims(plan: Plan, limit: int = MAX_URLS_PER_BATCH) -> Plan:
    """Each claim's listings packed into numbered batches of at most ``limit`` (seller groups kept whole)."""
    batches: list[Batch] = []
    for claim in plan.batches:
        for number, members in enumerate(pack_groups(seller_groups(claim.listings), limit), start=1):
            batches.append(Batch(claim.platform, claim.ipr_id, claim.reason, number, members))
    return Plan(batches, plan.refused)


# --- writing -----------------------------------------------------------------------------------


def _evidence_paths(out_dir: Path, result: EvidenceResult | None) -> list[str]:
    if result is None:
        return []
    names = [*result.files, "meta.json"]
    return [(result.folder / name).relative_to(out_dir).as_posix() for name in names if (result.folder / name).is_file()]


def _batch_rows(batch: Batch, out_dir: Path, evidence: dict[tuple[str, str], EvidenceResult]) -> list[list[str]]:
    rows = []
    for item in batch.listings:
        key = (str(item["platform"]), str(item["listing_id"]))
        rows.append(
            [
                str(item.get("url") or ""),
                str(item.get("listing_id") or ""),
                str(item.get("seller_name") or ""),
                str(item.get("title") or ""),
                format_price(item.get("price_min"), item.get("price_max")),
                str(item.get("explanation") or ""),
                "; ".join(_evidence_paths(out_dir, evidence.get(key))),
                str(item.get("currency") or ""),
                batch.case,
            ]
        )
    return rows


def _ipr_details(registry: Registry, ipr_id: str, reason: str) -> dict[str, Any]:
    if REASONS[reason]["right"] == "copyright":
        work = registry.copyright(ipr_id)
        return {
            "ipr_type": "copyright",
            "name": work.title,
            "registration_number": work.registration_number or "",
            "office": "",
            "classes": "",
            "valid_until": "",
            "official_url": work.official_url or "",
        }
    mark = registry.trademark(ipr_id)
    return {
        "ipr_type": "trademark",
        "name": mark.mark,
        "registration_number": mark.registration_number,
        "office": mark.office,
        "classes": ", ".join(str(c) for c in mark.classes),
        "valid_until": mark.valid_until.isoformat(),
        "official_url": "",
    }


def write_complaints(
    plan: Plan,
    out_dir: str | Path,
    registry: Registry,
    *,
    evidence: dict[tuple[str, str], EvidenceResult] | None = None,
    sources: dict[str, str] | None = None,
    extra_counts: dict[str, int] | None = None,
    created_at: str | None = None,
) -> dict[str, Any]:
    """Write the batches, complaints.xlsx and manifest.json under ``out_dir``; returns the manifest."""
    out_dir = Path(out_dir)
    with writing(out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)
    evidence = evidence or {}
    created_at = created_at or utc_now()
    holder = registry.rights_holder
    workbook = ComplaintWorkbook(holder.name, holder.contact_email, created_at)
    manifest_batches = [_write_batch(batch, out_dir, registry, evidence, workbook) for batch in plan.batches]
    workbook.add_refused(plan.refused)
    workbook.save(out_dir / "complaints.xlsx")
    manifest: dict[str, Any] = {
        "created_at": created_at,
        "rights_holder": {"name": holder.name, "contact_email": holder.contact_email},
        "sources": {"registry": str(registry.path), **(sources or {})},
        "counts": {**(extra_counts or {}), **_counts(plan, evidence)},
        "batches": manifest_batches,
        "refused": [refusal.as_dict() for refusal in plan.refused],
        "files": {
            path.relative_to(out_dir).as_posix(): sha256_file(path)
            for path in sorted(out_dir.rglob("*"))
            if path.is_file() and path.name != "manifest.json"
        },
    }
    _write_manifest(manifest, out_dir)
    return manifest


def _write_batch(batch: Batch, out_dir: Path, registry: Registry, evidence: dict[tuple[str, str], EvidenceResult],
                 workbook: ComplaintWorkbook) -> dict[str, Any]:
    """The batch's .txt (one URL a line) and .csv, its sheet in complaints.xlsx; its manifest entry."""
    folder = inside(out_dir, batch.platform, batch.ipr_id, batch.reason)
    txt_path, csv_path = folder / f"{batch.name}.txt", folder / f"{batch.name}.csv"
    urls = [str(item["url"]) for item in batch.listings]
    rows = _batch_rows(batch, out_dir, evidence)
    with writing(folder):
        folder.mkdir(parents=True, exist_ok=True)
    with writing(txt_path):
        txt_path.write_text("\n".join(urls) + "\n", encoding="utf-8")
    with writing(csv_path), csv_path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(BATCH_COLUMNS)
        writer.writerows([neutralise(cell) for cell in row] for row in rows)
    details = _ipr_details(registry, batch.ipr_id, batch.reason)
    reason_text = REASONS[batch.reason]
    files = {"txt": txt_path.relative_to(out_dir).as_posix(), "csv": csv_path.relative_to(out_dir).as_posix()}
    workbook.add_batch(f"{batch.platform} {batch.reason} {batch.ipr_id}", BATCH_COLUMNS, rows, [
        batch.id, batch.platform, batch.ipr_id, details["ipr_type"], details["name"], details["registration_number"],
        details["office"], details["classes"], details["valid_until"], details["official_url"], batch.reason,
        reason_text["zh"], reason_text["en"], len(urls), files["txt"], batch.case,
    ])  # fmt: skip
    return {
        "id": batch.id, "case": batch.case, "platform": batch.platform, "ipr_id": batch.ipr_id, **details,
        "reason": batch.reason, "reason_zh": reason_text["zh"], "reason_en": reason_text["en"], "urls": len(urls),
        "sellers": len({seller_key(item) for item in batch.listings}), "files": files,
        "listings": [_manifest_listing(item, evidence, out_dir) for item in batch.listings],
    }  # fmt: skip


def _counts(plan: Plan, evidence: dict[tuple[str, str], EvidenceResult]) -> dict[str, Any]:
    return {
        "batches": len(plan.batches),
        "filed": sum(len(batch.listings) for batch in plan.batches),
        "refused": len(plan.refused),
        "refused_by_check": dict(sorted(Counter(refusal.check for refusal in plan.refused).items())),
        "evidence_ok": sum(1 for result in evidence.values() if result.status == "ok"),
        "evidence_failed": sum(1 for result in evidence.values() if result.status == "failed"),
    }


def _write_manifest(manifest: dict[str, Any], out_dir: Path) -> None:
    tmp = out_dir / "manifest.json.part"
    with writing(tmp), tmp.open("w", encoding="utf-8") as handle:  # written as it is encoded, not built as one string
        json.dump(manifest, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    with writing(out_dir / "manifest.json"):
        tmp.replace(out_dir / "manifest.json")


def _manifest_listing(
    item: dict[str, Any], evidence: dict[tuple[str, str], EvidenceResult], out_dir: Path
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "listing_id": item.get("listing_id"),
        "url": item.get("url"),
        "seller_name": item.get("seller_name"),
        "first_seen": item.get("first_seen"),
        "score": item.get("score"),
    }
    result = evidence.get((str(item["platform"]), str(item["listing_id"])))
    if result is not None:
        entry["evidence"] = {
            "folder": result.folder.relative_to(out_dir).as_posix(),
            "status": result.status,
            "error": result.error or None,
        }
    return entry
