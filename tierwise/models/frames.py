"""Query results as pandas frames, fast: ``COPY ... TO STDOUT`` on PostgreSQL.

Feature extraction returns a row per customer; at a million customers, fetching
rows through the DB-API and building Python tuples costs more than the query.
COPY streams CSV that pandas parses in C.  The statement runs on the session's
connection, so it sees exactly what the session sees: the same transaction and
the same row-level-security tenant.
"""
from __future__ import annotations

import io

import pandas as pd
import sqlalchemy as sa

from tierwise.platform.db import db


def read_frame(select: sa.Select, *, dtypes: dict[str, str] | None = None,
               dates: tuple[str, ...] = ()) -> pd.DataFrame:
    """The rows of ``select`` as a DataFrame; ``dates`` are parsed as UTC timestamps."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        sql = select.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
        buffer = io.BytesIO()
        with connection.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
                for chunk in copy:
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
