"""The exports' XLSX writer: what goes in comes out, as text or as numbers, column for column."""
from __future__ import annotations

import io
import zipfile

from openpyxl import load_workbook

from tierwise.tenants import xlsx


def read(data: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))


def test_text_and_numbers_come_back_as_written_with_empty_cells_keeping_their_column():
    rows = [["007", "客户 <A&B> \"引号\"", None, 1.5, 12], ["", " 前后空格 ", "x", 0.000001, -3]]
    assert read(xlsx.write(["id", "name", "rm", "p", "n"], rows)) == [
        ("id", "name", "rm", "p", "n"),
        ("007", '客户 <A&B> "引号"', None, 1.5, 12),  # an id keeps its zeros: it is text
        (None, " 前后空格 ", "x", 0.000001, -3)]


def test_a_decimal_is_a_number_shown_with_its_decimals_and_other_numbers_stay_general():
    from decimal import Decimal

    rows = [[Decimal("0.8110"), Decimal("63498.00"), 1.5, Decimal("7")], [Decimal("0.2000"), None, "0.5", Decimal("NaN")]]
    sheet = load_workbook(io.BytesIO(xlsx.write(["p", "v", "f", "n"], rows))).active
    assert [[(c.value, c.number_format) for c in row] for row in sheet.iter_rows(min_row=2)] == [
        [(0.811, "0.0000"), (63498, "0.00"), (1.5, "General"), (7, "0")],
        [(0.2, "0.0000"), (None, "General"), ("0.5", "General"), (None, "General")]]  # text stays text
    assert "<numFmts" not in zipfile.ZipFile(io.BytesIO(xlsx.write(["a"], [[1.5]]))).read("xl/styles.xml").decode()


def test_characters_xml_cannot_hold_are_dropped_not_a_broken_file():
    assert read(xlsx.write(["name"], [["bell\x07 and nul\x00"]]))[1] == ("bell and nul",)


def test_the_package_is_a_workbook_a_spreadsheet_recognises():
    names = set(zipfile.ZipFile(io.BytesIO(xlsx.write(["a"], []))).namelist())
    assert {"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
            "xl/worksheets/sheet1.xml", "xl/styles.xml"} <= names


def test_a_sheet_is_named_within_what_spreadsheets_accept():
    from tierwise.tenants.xlsx import valid_sheet_name

    assert valid_sheet_name("贵宾客户") == "贵宾客户"
    assert valid_sheet_name("North [VIP]: 2026/12?") == "North _VIP__ 2026_12_"
    assert len(valid_sheet_name("x" * 40)) == 31 and valid_sheet_name("  ") == "Sheet1"
    assert valid_sheet_name("a" * 30 + "'b") == "a" * 30  # cut first: no apostrophe left at the end
    assert valid_sheet_name("History") == "Sheet1"  # Excel keeps the name for itself
