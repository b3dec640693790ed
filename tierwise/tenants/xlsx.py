"""A one-sheet XLSX file of text and numbers, written as its XML directly.

Exports are the only XLSX Tierwise writes, and they are plain tables: a header
row, then text and numbers.  openpyxl (write-only) builds a Python object per
cell and took 7 s for a 50,000-customer list (xlsxwriter, 4.4 s); a list of a
million would keep the request waiting minutes.  Here each row is one string
join: cells are inline strings (``t="inlineStr"``) or numbers, the minimum
SpreadsheetML that Excel, LibreOffice, WPS and openpyxl all read.  A number
given as a ``Decimal`` has fixed decimals (a churn probability 0.8110, an
amount 63498.00): its cell stays a number, with a number format of as many
decimals (``0.0000``, ``0.00``), so the sheet shows the zeros a float would drop.
"""
from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal
from numbers import Real

# Characters XML 1.0 cannot carry at all (control characters other than tab and newline).
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '</Types>')
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'styles" Target="styles.xml"/></Relationships>')
# Custom number formats are numbered from 164 (below are Excel's built-in ones).
_FIRST_CUSTOM_FORMAT = 164


def _styles(formats: list[str]) -> str:
    """The style part: the default style (some readers want the part even when no cell names a style), then one
    style per number format in ``formats``; a cell's ``s="n"`` names ``formats[n - 1]``."""
    custom = "".join(f'<numFmt numFmtId="{_FIRST_CUSTOM_FORMAT + i}" formatCode="{code}"/>'
                     for i, code in enumerate(formats))
    styled = "".join(f'<xf numFmtId="{_FIRST_CUSTOM_FORMAT + i}" fontId="0" fillId="0" borderId="0" xfId="0" '
                     'applyNumberFormat="1"/>' for i in range(len(formats)))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            + (f'<numFmts count="{len(formats)}">{custom}</numFmts>' if formats else "")
            + '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
            '</fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            f'<cellXfs count="{len(formats) + 1}"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            f'{styled}</cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')


def _workbook(sheet_name: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name="{_escape(sheet_name)}" sheetId="1" r:id="rId1"/></sheets></workbook>')


def _escape(text: str) -> str:
    text = _ILLEGAL.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _cell(value, formats: list[str]) -> str:
    """One cell; a Decimal's number format is added to ``formats`` the first time one of its decimals is seen."""
    if value is None or value == "":
        return "<c/>"
    if isinstance(value, Decimal):
        if not value.is_finite():
            return "<c/>"
        places = max(0, -value.as_tuple().exponent)
        code = "0." + "0" * places if places else "0"
        if code not in formats:
            formats.append(code)
        return f'<c s="{formats.index(code) + 1}"><v>{value:f}</v></c>'
    if isinstance(value, Real) and not isinstance(value, bool):
        return f"<c><v>{value!r}</v></c>" if value == value else "<c/>"  # NaN is an empty cell
    text = _escape(str(value))
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return f'<c t="inlineStr"><is><t{space}>{text}</t></is></c>'


def valid_sheet_name(name: str) -> str:
    """``name`` as a sheet may be named: at most 31 characters, none of ``[]:*?/\\``, no apostrophe at either
    end, not blank and not Excel's reserved "History"."""
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31].strip().strip("'").strip()
    return cleaned if cleaned and cleaned.lower() != "history" else "Sheet1"


def write(header: list[str], rows, sheet_name: str = "customers") -> bytes:
    """The XLSX file of ``header`` and ``rows`` (lists of text, numbers, Decimals and None), its sheet named
    ``sheet_name`` as far as a sheet may be (``valid_sheet_name``)."""
    sheet_name = valid_sheet_name(sheet_name)
    formats: list[str] = []  # the Decimals' number formats, as the rows bring them
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        package.writestr("[Content_Types].xml", _CONTENT_TYPES)
        package.writestr("_rels/.rels", _ROOT_RELS)
        package.writestr("xl/workbook.xml", _workbook(sheet_name))
        package.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with package.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            for line in ([header], rows):
                for row in line:
                    sheet.write(("<row>" + "".join(_cell(value, formats) for value in row) + "</row>").encode("utf-8"))
            sheet.write(b"</sheetData></worksheet>")
        package.writestr("xl/styles.xml", _styles(formats))  # after the sheet: its rows name the formats
    return out.getvalue()
