"""``cases.csv``: IPP's outcomes kept in a sheet, imported into the store in one go.

One row per step, in the order they happened. Columns (a header row; extra columns are ignored, so a team's
own notes can stay in the sheet):

| column | meaning |
|---|---|
| ``case`` | the case id, ``C-0012`` (``scrapy cases list`` shows them) |
| ``event`` | ``filed``, ``result``, ``counter-notice``, ``reply``, ``withdraw``, ``outcome``, ``removed`` |
| ``listing`` | ``platform:listing_id``, or the listing id alone; empty for ``filed`` and for a result of the whole case |
| ``date`` | the day it happened, ``2026-11-30`` |
| ``outcome`` | ``supported`` / ``rejected`` for a result, ``upheld`` / ``reinstated`` for an outcome |
| ``ipp_number`` | IPP's complaint number, for ``filed`` |
| ``ipp_reason`` | IPP's words with a result, optional |
| ``kind`` | ``invoice``, ``authorization`` or ``other``, for a counter-notice |

The import is all or nothing: when any row is wrong, nothing is written and every wrong row is named with
its number and what is wrong, so the sheet can be fixed and imported again.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from enforcement.casebook import CaseBook, CaseError, ListingRef, parse_case_id
from enforcement.lifecycle import TransitionError

REQUIRED = ("case", "event", "date")
EVENTS = ("filed", "result", "counter-notice", "reply", "withdraw", "outcome", "removed")


@dataclass
class ImportResult:
    applied: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def import_cases_csv(path: str | Path, book: CaseBook) -> ImportResult:
    path = Path(path)
    result = ImportResult()
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        result.errors.append(f"{path}: cannot be read as a UTF-8 CSV: {exc}")
        return result
    header = {name.strip().lower() for name in (rows[0].keys() if rows else [])}
    missing = [name for name in REQUIRED if name not in header]
    if not rows:
        result.errors.append(f"{path}: no rows (a header row and one row per step)")
        return result
    if missing:
        result.errors.append(f"{path}: missing column(s) {', '.join(missing)}")
        return result
    with book.atomic(commit=lambda: result.ok):
        for number, raw in enumerate(rows, start=2):  # row 1 is the header
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
            try:
                _apply(book, row)
                result.applied += 1
            except (CaseError, TransitionError, ValueError) as exc:
                result.errors.append(f"{path.name} row {number}: {exc}")
    if not result.ok:
        result.applied = 0
    return result


def _apply(book: CaseBook, row: dict) -> None:
    event = row.get("event", "")
    if event not in EVENTS:
        raise CaseError(f"event {event!r}: choose one of {', '.join(EVENTS)}")
    case_id = parse_case_id(row.get("case", ""))
    day = row.get("date", "")
    if event == "filed":
        book.file(case_id, ipp_number=row.get("ipp_number", ""), on=day)
        return
    ref = _listing(book, case_id, row.get("listing", ""), required=event != "result")
    if event == "result":
        book.result(case_id, row.get("outcome", ""), on=day, listings=[ref] if ref else [],
                    ipp_reason=row.get("ipp_reason", ""))
    elif event == "removed":
        if not book.removed(ref, on=day):
            raise TransitionError(f"{ref}: not supported in any case, so it cannot be recorded removed")
    elif event == "counter-notice":
        files = [f for f in row.get("files", "").split(";") if f.strip()]
        book.counter_notice(case_id, ref, received=day, kind=row.get("kind", ""), files=files)
    elif event == "reply":
        book.reply(case_id, ref, on=day)
    elif event == "withdraw":
        book.withdraw(case_id, ref, on=day)
    else:
        book.outcome(case_id, ref, row.get("outcome", ""), on=day)


def _listing(book: CaseBook, case_id: int, text: str, *, required: bool) -> ListingRef | None:
    if not text:
        if required:
            raise CaseError("the listing is needed (platform:listing_id)")
        return None
    if ":" in text:
        platform, _, listing_id = text.partition(":")
        return ListingRef(platform.strip(), listing_id.strip())
    matches = [r for r in book.case(case_id)["listings"] if r["listing_id"] == text]
    if len(matches) != 1:
        raise CaseError(f"listing {text!r}: {'not in the case' if not matches else 'ambiguous'}; "
                        "write it as platform:listing_id")
    return ListingRef(matches[0]["platform"], matches[0]["listing_id"])
