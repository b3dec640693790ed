"""Query results as pandas frames, fast: ``COPY ... TO STDOUT`` on PostgreSQL.

Feature extraction returns a row per customer; at a million customers, fetching
rows through the DB-API and building Python tuples costs more than the query.
COPY streams CSV that pandas parses in C.  The statement runs on the session's
connection, so it sees exactly what the session sees: the same transaction and
the same row-level-security tenant.

Raw rows by the tens of millions (``stream_binary``) come as binary COPY
instead, parsed by numpy straight from the wire format: no text at all.
"""
from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pandas as pd
import sqlalchemy as sa

from tierwise.platform.db import db


def read_frame(select: sa.Select, *, dtypes: dict[str, str] | None = None,
               dates: tuple[str, ...] = ()) -> pd.DataFrame:
    """The rows of ``select`` as a DataFrame; ``dates`` are parsed as UTC timestamps."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        buffer = io.BytesIO()
        for chunk in _copy(connection, _sql(connection, select), "csv, HEADER"):
            buffer.write(chunk)
        buffer.seek(0)
        text_columns = {name: "string" for name, kind in (dtypes or {}).items() if kind == "string"}
        frame = pd.read_csv(buffer, dtype=text_columns or None, keep_default_na=False,
                            na_values=[""]) if buffer.getbuffer().nbytes else pd.DataFrame(
            columns=[c.name for c in select.selected_columns])
    else:
        result = db.session.execute(select.execution_options(tenant_filtered=True))
        frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    for name in dates:
        frame[name] = pd.to_datetime(frame[name], utc=True, format="ISO8601")
    for name, kind in (dtypes or {}).items():
        if kind != "string":
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(kind)
        elif frame[name].dtype == object:  # the DB-API path gives UUID objects: spell them as COPY does
            frame[name] = frame[name].where(frame[name].isna(), frame[name].astype(str)).astype("string")
    return frame


#: PostgreSQL's binary timestamps count microseconds from 2000-01-01 UTC; this is that moment in Unix microseconds.
PG_EPOCH_MICROSECONDS = 946_684_800_000_000
PAGES_PER_MESSAGE = 256  # heap pages (2 MB) whose rows travel together, about 1 MB of column arrays
PGCOPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"  # binary COPY's first bytes (flags and extension follow)
PGCOPY_TRAILER = b"\xff\xff"  # binary COPY's last bytes
_MISFIT = "binary COPY: a row has a NULL or a value of another width than its column's"


def stream_binary(select: sa.Select, columns: list[tuple[str, str | np.dtype]]) -> Iterator[dict[str, np.ndarray]]:
    """The rows of ``select`` (PostgreSQL only), chunk by chunk, as one big-endian array per column.

    ``columns`` names each selected column with its binary layout as PostgreSQL
    sends it: ``">i8"`` for a bigint or a timestamp (microseconds since
    ``PG_EPOCH_MICROSECONDS``), ``">f8"`` for a double, ``">i2"`` for a smallint, a
    16-byte dtype for a uuid.  Columns must be fixed-width and NOT NULL; a value that
    does not fit the layout raises instead of being misread.

    COPY sends one message per row, and a client pays about a microsecond for each
    message: at 22 million rows that alone was 25 s, ten times what the server
    spent.  So when PostgreSQL would read the whole table anyway (its plan is a
    sequential scan: a tenant holding much of the table), the rows of every
    ``PAGES_PER_MESSAGE`` heap pages travel as one row of arrays (TID range scans,
    PostgreSQL 14 on); a small tenant's rows, found through an index, come row by row.
    """
    connection = db.session.connection()
    if _reads_whole_table(connection, select):
        yield from _page_batches(connection, select, columns)
    else:
        yield from _fixed_rows(connection, select, columns)


def _copy(connection, sql: str, options: str = "binary") -> Iterator[bytes]:
    """The output of ``COPY (sql) TO STDOUT WITH (FORMAT options)`` on the session's connection, as it comes."""
    with connection.connection.driver_connection.cursor() as cursor:
        with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT {options})") as copy:
            yield from copy


def _sql(connection, element) -> str:
    """``element`` as SQL with its values written in, for COPY (which takes no parameters).

    Compiled for the named paramstyle: psycopg's own (pyformat) doubles every ``%``
    for a parameter pass that COPY never makes, and ``'50%off'`` would reach the
    server as ``'50%%off'``.
    """
    dialect = type(connection.dialect)(paramstyle="named")
    return str(element.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _reads_whole_table(connection, select: sa.Select) -> bool:
    """Whether the plan of ``select`` reads one table sequentially (and TID range scans exist to batch it)."""
    froms = select.get_final_froms()
    if (connection.dialect.server_version_info or (0,)) < (14,) or len(froms) != 1 \
            or not isinstance(froms[0], sa.Table):
        return False
    with connection.connection.driver_connection.cursor() as cursor:  # no parameters: a % is itself
        [plan] = cursor.execute(f"EXPLAIN (FORMAT JSON) {_sql(connection, select)}").fetchone()[0]
    nodes = [plan["Plan"]]
    while nodes:
        node = nodes.pop()
        if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") == froms[0].name:
            return True
        nodes += node.get("Plans", [])
    return False


def _page_batches(connection, select: sa.Select, columns) -> Iterator[dict[str, np.ndarray]]:
    """``select``'s rows as arrays per ``PAGES_PER_MESSAGE`` heap pages: one COPY row of arrays per range.

    The page count is read inside the statement, after its snapshot is taken: any row
    the snapshot sees is on a page that existed by then.
    """
    table = select.get_final_froms()[0].name
    values = ", ".join(f"array_agg({_sql(connection, getattr(c, 'element', c))})" for c in select.selected_columns)
    pages, step = f"pg_relation_size('{table}') / current_setting('block_size')::int", PAGES_PER_MESSAGE
    batched = (f"SELECT arrays.* FROM generate_series(0, ({pages})::int, {step}) AS pages(page), LATERAL ("
               f"SELECT {values} FROM {table} WHERE ({_sql(connection, select.whereclause)}) "
               f"AND {table}.ctid >= format('(%s,0)', pages.page)::tid "
               f"AND {table}.ctid < format('(%s,0)', pages.page + {step})::tid) AS arrays")
    buffer, header_done = bytearray(), False
    element = {name: np.dtype([("width", ">i4"), ("value", dtype)]) for name, dtype in columns}
    for data in _copy(connection, batched):
        buffer += data
        if not header_done:
            header_done = _skip_header(buffer)
            if not header_done:
                continue
        offset, view = 0, memoryview(buffer)
        while True:
            parsed = _array_row(view, offset, element)
            if parsed is None:
                break
            offset, chunk = parsed
            if chunk:
                yield chunk
        view.release()
        del buffer[:offset]
    if bytes(buffer) != PGCOPY_TRAILER:
        raise ValueError("binary COPY: the stream did not end where its rows did")


def _array_row(view: memoryview, offset: int, element: dict[str, np.dtype]):
    """One COPY row of one-dimensional arrays at ``offset``: (the next offset, arrays by name), or None if
    the row is not all there yet.  A range without rows has NULLs: its arrays are empty."""
    if len(view) - offset < 2 or bytes(view[offset:offset + 2]) == PGCOPY_TRAILER:
        return None
    position = offset + 2
    if int.from_bytes(view[offset:offset + 2], "big") != len(element):
        raise ValueError("binary COPY: a row has another number of columns than asked for")
    chunk = {}
    for name, dtype in element.items():
        if len(view) - position < 4:
            return None
        size = int.from_bytes(view[position:position + 4], "big", signed=True)
        position += 4
        if size < 0:
            continue  # array_agg of no rows
        if len(view) - position < size:
            return None
        dimensions = int.from_bytes(view[position:position + 4], "big")
        has_nulls = int.from_bytes(view[position + 4:position + 8], "big")
        count = int.from_bytes(view[position + 12:position + 16], "big") if dimensions else 0
        if dimensions > 1 or has_nulls or size != (20 if dimensions else 12) + count * dtype.itemsize:
            raise ValueError(f"binary COPY: column {name} has a NULL or values of another width than asked for")
        values = np.frombuffer(view, dtype=dtype, count=count, offset=position + 20)
        if not (values["width"] == dtype["value"].itemsize).all():
            raise ValueError(f"binary COPY: column {name} has values of another width than asked for")
        chunk[name] = values["value"].copy()
        position += size
    return position, chunk


def _fixed_rows(connection, select: sa.Select, columns, chunk_bytes: int = 32 << 20
                ) -> Iterator[dict[str, np.ndarray]]:
    """``select``'s rows as they come, one message each, parsed by numpy a chunk at a time."""
    layout = [("fields", ">i2")]
    for name, dtype in columns:
        layout += [(f"{name}_width", ">i4"), (name, dtype)]
    row = np.dtype(layout)
    widths = {name: np.dtype(dtype).itemsize for name, dtype in columns}
    buffer, header_done = bytearray(), False
    for data in _copy(connection, _sql(connection, select)):
        buffer += data
        if not header_done:
            header_done = _skip_header(buffer)
        if header_done and len(buffer) >= chunk_bytes:
            yield _rows(buffer, row, widths, len(buffer) // row.itemsize)
    if not header_done and not _skip_header(buffer):
        raise ValueError("binary COPY: the stream ended inside its header")
    if buffer[-2:] != PGCOPY_TRAILER or (len(buffer) - 2) % row.itemsize:
        raise ValueError(_MISFIT)
    if len(buffer) > 2:
        yield _rows(buffer, row, widths, (len(buffer) - 2) // row.itemsize)


def _skip_header(buffer: bytearray) -> bool:
    """Drop the binary COPY header from the front of ``buffer`` once it is all there."""
    if len(buffer) < 19:
        return False
    if bytes(buffer[:11]) != PGCOPY_SIGNATURE:
        raise ValueError("binary COPY: not a PGCOPY stream")
    extension = int.from_bytes(buffer[15:19], "big")
    if len(buffer) < 19 + extension:
        return False
    del buffer[:19 + extension]
    return True


def _rows(buffer: bytearray, row: np.dtype, widths: dict[str, int], count: int) -> dict[str, np.ndarray]:
    """The first ``count`` rows of ``buffer``, copied out (the buffer then drops them)."""
    rows = np.frombuffer(buffer, dtype=row, count=count).copy()
    del buffer[:count * row.itemsize]
    if count and not ((rows["fields"] == len(widths)).all()
                      and all((rows[f"{name}_width"] == width).all() for name, width in widths.items())):
        raise ValueError(_MISFIT)
    return {name: rows[name] for name in widths}
