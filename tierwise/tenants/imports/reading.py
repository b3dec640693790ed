"""Reading CSV and XLSX exports as they come out of banks' and utilities' systems.

Text encodings: UTF-8 with or without BOM, UTF-16 with BOM, and GBK/GB18030
(detected when the bytes are not UTF-8).  Delimiters: comma, semicolon or tab,
sniffed from the header.  Every cell is read as text, so ids keep their leading
zeros, and in chunks, so memory stays flat whatever the file size.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Iterator

import pandas as pd
from flask_babel import lazy_gettext as _l  # kept by the errors: a run's outcome is said again to its reader

from tierwise.errors import Phrases, ValidationError

#: What an import reads, by the end of the file's name (CSV text often comes as .txt).  The upload
#: page, the API and the CLI all refuse any other file, before anything is stored.
FILE_EXTENSIONS = ("csv", "txt", "xlsx")
CHUNK_ROWS = 100_000
SAMPLE_BYTES = 64 * 1024
_NON_ASCII = re.compile(rb"[\x80-\xff]")


@dataclass(frozen=True)
class Chunk:
    frame: pd.DataFrame  # text cells, stripped; columns as in the header
    rows: pd.Series  # spreadsheet row numbers (header = 1)


@dataclass
class TableSource:
    path: Path
    columns: list[str]
    format: str
    encoding: str | None = None
    delimiter: str | None = None

    def chunks(self, chunk_rows: int = CHUNK_ROWS) -> Iterator[Chunk]:
        reader = _csv_chunks if self.format == "csv" else _xlsx_chunks
        for frame, row_numbers in reader(self, chunk_rows):
            frame = frame.reset_index(drop=True).apply(lambda column: column.str.strip())
            yield Chunk(frame=frame, rows=pd.Series(row_numbers, index=frame.index, dtype="int64"))


def open_table(path: str | Path) -> TableSource:
    """Inspect ``path`` (encoding, delimiter, header) without reading it all."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError(_l("no such file: %(path)s", path=path), field="file")
    check_file_name(path.name)
    if path.suffix.lower() == ".xlsx":
        return TableSource(path=path, columns=_xlsx_header(path), format="xlsx")
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
        encoding = detect_encoding(sample, _first_non_ascii_block(handle, sample))
    text = _decode_sample(sample, encoding)
    if not text.strip():
        raise ValidationError(_l("the file is empty"), field="file")
    delimiter = detect_delimiter(text)
    header = next(csv.reader(io.StringIO(text.splitlines()[0]), delimiter=delimiter))
    return TableSource(path=path, columns=_check_header(header), format="csv", encoding=encoding, delimiter=delimiter)


def check_file_name(name: str) -> None:
    """Refuse a file whose name does not end in one of ``FILE_EXTENSIONS`` (as the upload form's check reads it)."""
    if name.lower().endswith(".xls"):
        raise ValidationError(_l("old .xls workbooks are not supported: save as .xlsx or CSV"), field="file")
    if not name.lower().endswith(tuple(f".{extension}" for extension in FILE_EXTENSIONS)):
        raise ValidationError(_l("'%(name)s' cannot be imported: an import reads %(extensions)s files",
                                name=name, extensions=Phrases(f".{e}" for e in FILE_EXTENSIONS)), field="file")


def _first_non_ascii_block(handle, sample: bytes) -> bytes:
    """The file from its first non-ASCII byte on (a bounded stretch): exports often start
    with pages of plain digits, and the encoding only shows where the Chinese begins."""
    block, offset = sample, 0
    while block:
        found = _NON_ASCII.search(block)
        if found:
            stretch = block[found.start():found.start() + SAMPLE_BYTES]
            return stretch + handle.read(max(0, SAMPLE_BYTES - len(stretch))) if offset else stretch
        block, offset = handle.read(1024 * 1024), offset + 1
    return b""


def detect_encoding(sample: bytes, evidence: bytes | None = None) -> str:
    """BOMs first; otherwise UTF-8 if ``evidence`` (the first non-ASCII stretch) decodes as it, else GB18030."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    evidence = sample if evidence is None else evidence
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(evidence, final=False)
            return encoding
        except UnicodeDecodeError:
            continue
    raise ValidationError(_l("the file is neither UTF-8 nor GBK/GB18030 text"), field="file")


def _decode_sample(sample: bytes, encoding: str) -> str:
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, final=False)


def detect_delimiter(text: str) -> str:
    header = text.splitlines()[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _check_header(header: list[str]) -> list[str]:
    columns = [str(c).strip() for c in header]
    seen: set[str] = set()
    for position, column in enumerate(columns, start=1):
        if not column:
            raise ValidationError(_l("column %(position)s of the header is blank", position=position), field="header", row=1)
        if column in seen:
            raise ValidationError(_l("column '%(column)s' appears twice in the header", column=column), field=column, row=1)
        seen.add(column)
    return columns


def _csv_chunks(source: TableSource, chunk_rows: int) -> Iterator[tuple[pd.DataFrame, range]]:
    next_row = 2
    try:
        reader = pd.read_csv(
            source.path, sep=source.delimiter, encoding=source.encoding, dtype=str, keep_default_na=False,
            na_filter=False, chunksize=chunk_rows, skipinitialspace=False, engine="c",
        )
        for frame in reader:
            frame.columns = source.columns
            yield frame, range(next_row, next_row + len(frame))
            next_row += len(frame)
    except UnicodeDecodeError as exc:
        raise ValidationError(_l("the file is not valid %(encoding)s text near byte %(byte)s", encoding=source.encoding,
                                byte=exc.start), field="file") from None
    except pd.errors.ParserError as exc:
        raise _malformed(exc) from None


FIELD_COUNT = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
UNCLOSED_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")  # its rows count from the header's 0


def _malformed(exc: pd.errors.ParserError) -> ValidationError:
    """The parser's complaint in the reader's words, naming the row where it says which (its "line" counts
    the header as 1, as a spreadsheet numbers rows, quoted line breaks aside)."""
    unclosed = UNCLOSED_QUOTE.search(str(exc))
    if unclosed is not None:
        return ValidationError(_l("a quoted value that starts in row %(row)s is never closed: a quote (\") is "
                                  "missing, so the rest of the file reads as one value", row=int(unclosed[1]) + 1),
                               field="file")
    found = FIELD_COUNT.search(str(exc))
    if found is None:
        return ValidationError(_l("the file is not a well-formed table: %(error)s", error=exc), field="file")
    expected, row, saw = (int(n) for n in found.groups())
    return ValidationError(_l("row %(row)s has %(saw)s values where the header has %(expected)s columns: "
                             "a separator or quote is out of place", row=row, saw=saw, expected=expected),
                           field="file")


def _xlsx_rows(path: Path):
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise ValidationError(_l("not a readable .xlsx workbook (%(error)s)", error=type(exc).__name__),
                              field="file") from None
    try:
        yield from workbook.worksheets[0].iter_rows(values_only=True)
    finally:
        workbook.close()


def _xlsx_header(path: Path) -> list[str]:
    header = next(_xlsx_rows(path), None)
    if header is None:
        raise ValidationError(_l("the workbook's first sheet is empty"), field="file")
    while header and header[-1] is None:
        header = header[:-1]
    return _check_header([_cell_text(c) for c in header])


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") if (value.hour, value.minute, value.second) != (0, 0, 0) \
            else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _xlsx_chunks(source: TableSource, chunk_rows: int) -> Iterator[tuple[pd.DataFrame, list[int]]]:
    width = len(source.columns)
    rows = _xlsx_rows(source.path)
    next(rows)  # header
    batch: list[list[str]] = []
    numbers: list[int] = []
    for row_number, values in enumerate(rows, start=2):
        cells = [_cell_text(v) for v in values[:width]]
        if not any(cells):
            continue  # blank rows in spreadsheets
        batch.append(cells + [""] * (width - len(cells)))
        numbers.append(row_number)
        if len(batch) >= chunk_rows:
            yield pd.DataFrame(batch, columns=source.columns, dtype=str), numbers
            batch, numbers = [], []
    if batch:
        yield pd.DataFrame(batch, columns=source.columns, dtype=str), numbers
