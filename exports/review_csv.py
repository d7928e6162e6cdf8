"""The review file (docs/contract.md §7): ``review.csv`` out, the reviewer's decisions back in.

``write_review_csv`` streams scored listings into the CSV a reviewer opens in Excel; ``read_decisions``
reads an edited copy back, including one that Excel (or WPS) re-saved with its own encoding, line
endings, quoting, delimiter and number formatting.
"""

from __future__ import annotations

import codecs
import csv
import heapq
import io
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from contract import FLAGGED

REVIEW_COLUMNS: tuple[str, ...] = (
    "decision",
    "score",
    "verdict",
    "reason",
    "platform",
    "listing_id",
    "url",
    "title",
    "price",
    "currency",
    "seller_name",
    "ipr_id",
    "registration_number",
    "explanation",
    "image_evidence",
    "first_seen",
    "last_seen",
    "status",
)
DECISIONS = frozenset({"approve", "reject", ""})
_DECISION_ALIASES = {"approved": "approve", "rejected": "reject"}

# A spreadsheet treats a cell starting with one of these as a formula (or DDE payload).
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


class ReviewFileError(ValueError):
    """An edited review file that cannot be trusted; the message names the file and row."""


def neutralise(value: Any) -> str:
    """The cell text with a leading ``'`` when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_TRIGGERS):
        return "'" + text
    return text


def unneutralise(text: str) -> str:
    """Undo ``neutralise``: a ``'`` followed by a formula trigger is our prefix, not data."""
    if len(text) >= 2 and text[0] == "'" and text[1] in "=+-@\t\r":
        return text[1:]
    return text


def format_price(price_min: Any, price_max: Any = None) -> str:
    """``59.00`` for a single price, ``12.50-18.00`` for a range, empty when unknown."""

    def as_float(value: Any) -> float | None:
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            return None

    low, high = as_float(price_min), as_float(price_max)
    if low is None and high is None:
        return ""
    if low is None or high is None or abs(low - high) < 0.005:
        return f"{low if low is not None else high:.2f}"
    low, high = min(low, high), max(low, high)
    return f"{low:.2f}-{high:.2f}"


def registration_number(registry: Any, ipr_id: str | None) -> str:
    """The registration number of a trademark or copyright id, empty when unknown."""
    if not ipr_id or registry is None:
        return ""
    for lookup in ("trademark", "copyright"):
        finder = getattr(registry, lookup, None)
        if finder is None:
            continue
        try:
            record = finder(ipr_id)
        except LookupError:
            continue
        if record is not None:
            return str(getattr(record, "registration_number", "") or "")
    return ""


SELLER_UNKNOWN_NOTE = "the page does not show the seller (unknown)"


def _with_seller_note(listing: dict[str, Any]) -> Any:
    """The explanation, saying so when the seller is unknown (seller_name stays empty for filing)."""
    explanation = listing.get("explanation")
    if not listing.get("seller_unknown"):
        return explanation
    return f"{explanation}; {SELLER_UNKNOWN_NOTE}" if explanation else SELLER_UNKNOWN_NOTE


def review_row(listing: dict[str, Any], registry: Any = None) -> list[str]:
    """One CSV row (already neutralised) for one scored listing."""
    score = listing.get("score")
    values = {
        "decision": "",
        "score": "" if score is None else _format_score(score),
        "verdict": listing.get("verdict"),
        "reason": listing.get("reason"),
        "platform": listing.get("platform"),
        "listing_id": listing.get("listing_id"),
        "url": listing.get("url"),
        "title": listing.get("title"),
        "price": format_price(listing.get("price_min"), listing.get("price_max")),
        "currency": listing.get("currency"),
        "seller_name": listing.get("seller_name"),
        "ipr_id": listing.get("ipr_id"),
        "registration_number": registration_number(registry, listing.get("ipr_id")),
        "explanation": _with_seller_note(listing),
        "image_evidence": listing.get("image_evidence"),
        "first_seen": listing.get("first_seen"),
        "last_seen": listing.get("last_seen"),
        "status": listing.get("status"),
    }
    return [neutralise(values[column]) for column in REVIEW_COLUMNS]


def _format_score(score: Any) -> str:
    try:
        number = float(score)
    except (TypeError, ValueError):
        return str(score)
    return str(int(number)) if number.is_integer() else f"{number:.1f}"


def _sort_key(listing: dict[str, Any]) -> tuple[float, str, str]:
    try:
        score = float(listing.get("score") or 0)
    except (TypeError, ValueError):
        score = 0.0
    return (-score, str(listing.get("platform") or ""), str(listing.get("listing_id") or ""))


def write_review_csv(
    listings: Iterable[dict[str, Any]],
    path: str | Path,
    registry: Any = None,
    *,
    chunk_size: int = 5000,
) -> int:
    """Write ``review.csv`` from scored listings; returns the number of rows written.

    Keeps only ``infringing`` and ``suspect`` listings, highest score first. Memory stays bounded by
    ``chunk_size`` rows whatever the input size: larger inputs are sorted in runs spilled to temporary
    files and merged (an external sort), so the monitor can stream its whole store through here.
    """
    path = Path(path)
    runs: list[Path] = []
    chunk: list[tuple[tuple[float, str, str], list[str]]] = []
    with tempfile.TemporaryDirectory(prefix="review-sort-") as spill_dir:
        for listing in listings:
            if listing.get("verdict") not in FLAGGED:
                continue
            chunk.append((_sort_key(listing), review_row(listing, registry)))
            if len(chunk) >= chunk_size:
                runs.append(_spill(chunk, Path(spill_dir) / f"run-{len(runs):05d}.csv"))
                chunk = []
        chunk.sort(key=lambda pair: pair[0])
        if runs:
            if chunk:
                runs.append(_spill(chunk, Path(spill_dir) / f"run-{len(runs):05d}.csv"))
            rows: Iterable[list[str]] = (row for _, row in heapq.merge(*map(_read_run, runs)))
        else:
            rows = (row for _, row in chunk)
        return _write_rows(path, rows)


def _spill(chunk: list[tuple[tuple[float, str, str], list[str]]], run_path: Path) -> Path:
    chunk.sort(key=lambda pair: pair[0])
    with run_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        for (neg_score, platform, listing_id), row in chunk:
            writer.writerow([repr(neg_score), platform, listing_id, *row])
    return run_path


def _read_run(run_path: Path) -> Iterator[tuple[tuple[float, str, str], list[str]]]:
    with run_path.open(encoding="utf-8", newline="") as handle:
        for record in csv.reader(handle):
            yield (float(record[0]), record[1], record[2]), record[3:]


def _write_rows(path: Path, rows: Iterable[list[str]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    count = 0
    # utf-8-sig writes the BOM Excel needs to open Chinese text correctly; CRLF as RFC 4180 says.
    with tmp.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(REVIEW_COLUMNS)
        for row in rows:
            writer.writerow(row)
            count += 1
    tmp.replace(path)
    return count


# --- reading the reviewer's copy back -------------------------------------------------------------

_REQUIRED = ("decision", "platform", "listing_id")
# Excel writes long numbers in its "General" format: 985061667610 -> 9.85062E+11.
_EXCEL_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?E\+?\d+$", re.IGNORECASE)
_ID_IN_URL = (
    re.compile(r"[?&]id=(\d+)"),  # item.taobao.com/item.htm?id=…, detail.tmall.com/item.htm?id=…
    re.compile(r"/offer/(\d+)\.html"),  # detail.1688.com/offer/<id>.html
    re.compile(r"_(\d+)\.html"),  # alibaba.com/product-detail/<slug>_<id>.html
)


def _decode(path: Path, data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")  # Excel's "Unicode Text" save
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        # Excel/WPS re-saves "CSV" in the ANSI code page: GBK on a Chinese Windows, cp1252 on a
        # Western one (Chinese text is then lost, but the ASCII key columns still read correctly).
        for encoding in ("gb18030", "cp1252"):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
        row = data[: utf8_error.start].count(b"\n") + 1
        raise ReviewFileError(
            f"{path}: line {row}: cannot decode the file as UTF-8, GB18030 or cp1252 "
            f"(byte {utf8_error.start}); save it again as 'CSV UTF-8'"
        ) from None


def _header_key(cell: str) -> str:
    return cell.strip().strip("\ufeff").strip().lower().replace(" ", "_")


def _pick_dialect(path: Path, text: str) -> tuple[str, list[str]]:
    first_line = text.split("\n", 1)[0]
    for delimiter in (",", ";", "\t"):
        header = next(csv.reader(io.StringIO(first_line), delimiter=delimiter), [])
        keys = [_header_key(cell) for cell in header]
        if all(name in keys for name in _REQUIRED):
            return delimiter, keys
    raise ReviewFileError(
        f"{path}: row 1: header must contain the columns {', '.join(_REQUIRED)} (found {first_line[:200]!r})"
    )


def normalise_decision(path: Path, row_number: int, raw: str) -> str:
    decision = unneutralise(raw).strip().lower()
    decision = _DECISION_ALIASES.get(decision, decision)
    if decision not in DECISIONS:
        raise ReviewFileError(
            f"{path}: row {row_number}: unknown decision {raw!r} (write approve, reject or leave it empty)"
        )
    return decision


def _recover_listing_id(path: Path, row_number: int, listing_id: str, url: str) -> str:
    if not _EXCEL_NUMBER.match(listing_id):
        return listing_id
    for pattern in _ID_IN_URL:
        match = pattern.search(url)
        if match:
            return match.group(1)
    raise ReviewFileError(
        f"{path}: row {row_number}: listing_id {listing_id!r} was turned into a number by the spreadsheet "
        "and the url does not contain the id; re-export the review file or format the column as Text"
    )


def _parse_score(path: Path, row_number: int, raw: str) -> float | None:
    text = raw.strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ReviewFileError(f"{path}: row {row_number}: score {raw!r} is not a number") from None


def read_decisions(path: str | Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Read an edited ``review.csv``; returns ``{(platform, listing_id): row}``.

    Each row is a dict keyed by the lower-case column names with our ``'`` formula prefix removed,
    ``decision`` normalised to ``approve``/``reject``/``""``, ``score`` as float or None, and ``row``
    (the spreadsheet row number, header = 1). Raises ``ReviewFileError`` naming the file and row.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ReviewFileError(f"{path}: cannot read the review file: {error.strerror or error}") from None
    text = _decode(path, data)
    delimiter, keys = _pick_dialect(path, text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next(reader, None)
    decisions: dict[tuple[str, str], dict[str, Any]] = {}
    for row_number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue  # blank line or a row of empty cells Excel kept
        row: dict[str, Any] = {}
        for key, cell in zip(keys, cells, strict=False):
            if key and key not in row:
                row[key] = unneutralise(cell).strip()
        for key in keys:
            if key:
                row.setdefault(key, "")
        platform = row["platform"].lower()
        listing_id = row["listing_id"]
        if not platform or not listing_id:
            raise ReviewFileError(f"{path}: row {row_number}: platform and listing_id must not be empty")
        listing_id = _recover_listing_id(path, row_number, listing_id, row.get("url", ""))
        row.update(
            platform=platform,
            listing_id=listing_id,
            decision=normalise_decision(path, row_number, row["decision"]),
            score=_parse_score(path, row_number, row.get("score", "")),
            row=row_number,
        )
        key = (platform, listing_id)
        earlier = decisions.get(key)
        if earlier is not None:
            if earlier["decision"] != row["decision"]:
                raise ReviewFileError(
                    f"{path}: row {row_number}: {platform} {listing_id} already appears in row "
                    f"{earlier['row']} with decision {earlier['decision']!r}, here {row['decision']!r}"
                )
            continue
        decisions[key] = row
    return decisions
