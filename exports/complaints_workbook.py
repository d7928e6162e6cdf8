"""``complaints.xlsx``: a Summary sheet (the rights holder, one row per batch with the right it cites and
the reason in IPP's words), one sheet per batch with its rows, and a Refused sheet.

Every text cell is typed as a string and neutralised like the CSVs, so no spreadsheet evaluates a hostile
title as a formula; the control characters the format cannot hold are dropped rather than aborting the file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from exports.evidence import writing
from exports.review_csv import neutralise

SUMMARY_HEADER = (
    "sheet", "batch", "platform", "ipr_id", "ipr_type", "mark / work", "registration_number", "office",
    "classes", "valid_until", "official_url", "reason", "reason (中文)", "reason (English)", "urls",
    "url_file", "case",
)  # fmt: skip
REFUSED_HEADER = ("platform", "listing_id", "url", "message")

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\']")


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    # openpyxl stores "=…" as a formula; neutralise like the CSVs, and drop the control characters
    # the xlsx format cannot hold (a hostile title must not abort the whole workbook).
    return ILLEGAL_CHARACTERS_RE.sub("", neutralise(value))


def _append(sheet: Any, values: Iterable[Any]) -> None:
    """One row; every text cell typed as a string, so no spreadsheet evaluates it."""
    row: list[Any] = []
    for value in values:
        value = _xlsx_value(value)
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            row.append(cell)
        else:
            row.append(value)
    sheet.append(row)


class ComplaintWorkbook:
    """complaints.xlsx, written as it is filled (write-only: rows stream out as they are added, so 100,000
    listings do not sit in memory twice)."""

    def __init__(self, holder_name: str, contact_email: str, created_at: str):
        self.workbook = Workbook(write_only=True)
        self.summary = self.workbook.create_sheet("Summary")
        for row in (["Rights holder", holder_name], ["Contact", contact_email], ["Created (UTC)", created_at], []):
            _append(self.summary, row)
        _append(self.summary, SUMMARY_HEADER)
        self.sheets = 0

    def add_batch(self, label: str, header: Iterable[str], rows: list[list[str]], summary_row: list[Any]) -> None:
        """A sheet for one batch (named from ``label``), and its line in the Summary sheet."""
        self.sheets += 1
        title = _SHEET_FORBIDDEN.sub("_", f"{self.sheets:03d} {label}")[:31]
        sheet = self.workbook.create_sheet(title)
        _append(sheet, header)
        for row in rows:
            _append(sheet, row)
        _append(self.summary, [title, *summary_row])

    def add_refused(self, refused: Iterable[Any]) -> None:
        sheet = self.workbook.create_sheet("Refused")
        _append(sheet, REFUSED_HEADER)
        for refusal in refused:
            _append(sheet, [refusal.platform, refusal.listing_id, refusal.url, refusal.message])

    def save(self, path: Path) -> None:
        # Built in memory (compressed, a few MB for 100,000 rows), then written: a zip that fails half-way
        # to disk would fail again as it is garbage-collected, with a traceback after our message.
        packed = io.BytesIO()
        self.workbook.save(packed)
        with writing(path):
            path.write_bytes(packed.getbuffer())
