"""complaints.xlsx: nothing in it is ever evaluated as a formula, and a hostile title cannot break it."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from exports.complaints import Refusal
from exports.complaints_workbook import ComplaintWorkbook


def test_text_cells_are_strings_and_sheet_names_are_made_safe(tmp_path: Path):
    book = ComplaintWorkbook("=HYPERLINK(\"x\")", "a@example.com", "2026-12-01T00:00:00Z")
    book.add_batch("taobao counterfeit LUMORA/CN:25*[x]' and a very long name", ("url", "title"),
                   [["https://item.taobao.com/item.htm?id=1", "=1+1 露莫拉\x07"]], ["taobao/…/batch-001", 1])
    book.add_refused([Refusal("taobao", "2", "https://item.taobao.com/item.htm?id=2", "+not filed")])
    book.save(tmp_path / "complaints.xlsx")
    workbook = load_workbook(tmp_path / "complaints.xlsx")
    assert workbook.sheetnames[0] == "Summary" and workbook.sheetnames[-1] == "Refused"
    (batch_sheet,) = workbook.sheetnames[1:-1]
    assert len(batch_sheet) <= 31 and not set("[]:*?/\\'") & set(batch_sheet) and batch_sheet.startswith("001 ")
    rows = list(workbook[batch_sheet].iter_rows(values_only=True))
    assert rows[1] == ("https://item.taobao.com/item.htm?id=1", "'=1+1 露莫拉")  # neutralised, control char dropped
    summary = list(workbook["Summary"].iter_rows(values_only=True))
    assert summary[0][1].startswith("'=") and summary[-1][0] == batch_sheet and summary[-1][2] == 1
    assert all(cell.data_type != "f" for row in workbook.worksheets for line in row.iter_rows() for cell in line)
