"""review.csv: what the reviewer opens in Excel, and reading their edited copy back."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exports.review_csv import (
    REVIEW_COLUMNS,
    ReviewFileError,
    format_price,
    neutralise,
    read_decisions,
    write_review_csv,
)
from tests.export_fixtures import listing

CONTRACT_COLUMNS = ["decision", "score", "verdict", "reason", "platform", "listing_id", "url", "title", "price", "currency", "seller_name", "ipr_id", "registration_number", "explanation", "image_evidence", "first_seen", "last_seen", "status"]


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


def _sample() -> list[dict]:
    return [
        listing(listing_id="600000000001", score=72, verdict="suspect", price_min=12.5, price_max=18),
        listing(listing_id="600000000002", score=97),
        listing(listing_id="600000000003", score=40, verdict="clean"),
        listing(listing_id="600000000004", score=0, verdict="authorized"),
        listing(listing_id="600000000005", score=88, reason="stolen_image", ipr_id="LUMORA-PHOTO",
                image_evidence="evidence/600000000005.png"),
    ]


def test_columns_are_in_contract_order_with_a_bom_for_excel(tmp_path, registry):
    out = tmp_path / "review.csv"
    write_review_csv(_sample(), out, registry)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert list(REVIEW_COLUMNS) == CONTRACT_COLUMNS
    assert raw.decode("utf-8-sig").split("\r\n", 1)[0].split(",") == CONTRACT_COLUMNS
    assert "露莫拉" in raw.decode("utf-8-sig")


def test_only_flagged_listings_highest_score_first_with_registration_numbers(tmp_path, registry):
    out = tmp_path / "review.csv"
    assert write_review_csv(iter(_sample()), out, registry) == 3
    rows = _rows(out)
    assert [r["listing_id"] for r in rows] == ["600000000002", "600000000005", "600000000001"]
    assert [r["decision"] for r in rows] == ["", "", ""]
    assert rows[0]["registration_number"] == "40123456"
    assert rows[1]["registration_number"] == "国作登字-2024-F-00012345"
    assert rows[2]["price"] == "12.50-18.00" and rows[0]["price"] == "59.00"
    assert rows[0]["first_seen"] == "2026-11-20T08:00:00Z" and rows[0]["status"] == "new"


@pytest.mark.parametrize(
    ("low", "high", "text"),
    [(59, 59, "59.00"), (12.5, 18, "12.50-18.00"), (18, 12.5, "12.50-18.00"), (None, None, ""), (3, None, "3.00")],
)
def test_price_cells_are_formatted_as_money(low, high, text):
    assert format_price(low, high) == text


@pytest.mark.parametrize("payload", ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"])
def test_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised(tmp_path, payload):
    out = tmp_path / "review.csv"
    write_review_csv([listing(title=payload, seller_name=payload, explanation=payload)], out)
    row = _rows(out)[0]
    for column in ("title", "seller_name", "explanation"):
        assert row[column] == "'" + payload
    assert neutralise("露莫拉 =1") == "露莫拉 =1"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=100), max_size=40))
def test_rows_are_sorted_by_score_even_when_the_input_is_streamed_in_chunks(scores):
    import tempfile

    items = [listing(listing_id=str(i), score=s) for i, s in enumerate(scores)]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "review.csv"
        write_review_csv(iter(items), out, chunk_size=3)  # forces the spill-and-merge path
        written = [int(r["score"]) for r in _rows(out)]
    assert written == sorted(scores, reverse=True)


def _excel_resave(source: Path, target: Path, *, encoding: str, delimiter: str = ",", edits: dict) -> None:
    """What Excel does on "Save": no BOM or ANSI, CRLF, every cell quoted, our ' prefixes kept or
    stripped, long ids in scientific notation, trailing empty columns."""
    rows = list(csv.reader(io.StringIO(source.read_bytes().decode("utf-8-sig"), newline="")))
    header, body = rows[0], rows[1:]
    for row in body:
        listing_id = row[header.index("listing_id")]
        if listing_id in edits:
            row[0] = edits[listing_id]
        row[header.index("title")] = row[header.index("title")].lstrip("'")
        if listing_id == "600000000002":
            row[header.index("listing_id")] = "6E+11"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([*header, "", ""])
    for row in body:
        writer.writerow([*row, "", ""])
    writer.writerow(["", "", ""])
    target.write_bytes(buffer.getvalue().encode(encoding, errors="replace"))


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ","), ("utf-8-sig", ","), ("gb18030", ","), ("cp1252", ","), ("utf-16", "\t"), ("utf-8-sig", ";")],
)
def test_decisions_survive_an_excel_style_resave(tmp_path, registry, encoding, delimiter):
    original = tmp_path / "review.csv"
    write_review_csv([*_sample(), listing(listing_id="600000000009", score=50, title="=HYPERLINK(1)",
                                          seller_name="Café Outlet")],
                     original, registry)
    edited = tmp_path / "edited.csv"
    edits = {"600000000002": " Approve ", "600000000005": "REJECT", "600000000001": "approved"}
    _excel_resave(original, edited, encoding=encoding, delimiter=delimiter, edits=edits)
    decisions = read_decisions(edited)
    assert {key: row["decision"] for key, row in decisions.items()} == {
        ("taobao", "600000000002"): "approve",  # id recovered from the URL after Excel's 6E+11
        ("taobao", "600000000005"): "reject",
        ("taobao", "600000000001"): "approve",
        ("taobao", "600000000009"): "",
    }
    row = decisions[("taobao", "600000000009")]
    assert row["title"] == "=HYPERLINK(1)" and row["score"] == 50.0 and row["row"] == 5
    assert decisions[("taobao", "600000000005")]["ipr_id"] == "LUMORA-PHOTO"
    assert row["seller_name"] == "Café Outlet"


def test_our_formula_prefix_is_removed_when_reading_back(tmp_path):
    out = tmp_path / "review.csv"
    write_review_csv([listing(title="=1+1", seller_name="-店")], out)
    row = next(iter(read_decisions(out).values()))
    assert row["title"] == "=1+1" and row["seller_name"] == "-店"


def test_an_unknown_decision_names_the_file_and_row(tmp_path):
    out = tmp_path / "review.csv"
    write_review_csv([listing(listing_id="1", score=90), listing(listing_id="2", score=80)], out)
    text = out.read_bytes().replace(b"\r\n,80,", b"\r\nmaybe,80,")
    out.write_bytes(text)
    with pytest.raises(ReviewFileError, match=r"review\.csv: row 3: unknown decision 'maybe'"):
        read_decisions(out)


def test_an_unreadable_file_names_the_file_and_line(tmp_path):
    bad = tmp_path / "review.csv"
    header = ",".join(REVIEW_COLUMNS).encode()
    bad.write_bytes(header + b"\r\n,90,infringing\r\n\x81\x20broken\xff\xff\r\n")
    with pytest.raises(ReviewFileError, match=r"review\.csv: line 3: cannot decode"):
        read_decisions(bad)


def test_a_file_without_the_key_columns_is_rejected(tmp_path):
    bad = tmp_path / "review.csv"
    bad.write_text("a,b,c\r\n1,2,3\r\n", encoding="utf-8")
    with pytest.raises(ReviewFileError, match=r"row 1: header must contain the columns decision, platform, listing_id"):
        read_decisions(bad)


def test_the_same_listing_with_two_different_decisions_is_an_error(tmp_path):
    out = tmp_path / "review.csv"
    header = ",".join(REVIEW_COLUMNS)
    out.write_text(
        f"{header}\napprove,90,infringing,counterfeit,taobao,1\nreject,90,infringing,counterfeit,taobao,1\n",
        encoding="utf-8",
    )
    with pytest.raises(ReviewFileError, match="row 3: taobao 1 already appears in row 2"):
        read_decisions(out)
