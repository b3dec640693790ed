"""The rejects file of an import run with ``skip_invalid``: every refused cell, for the admin to correct."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterable

from tierwise.tenants.imports.errors import RowError


class RejectsFile:
    """Every rejected cell, streamed to CSV as it is found (UTF-8 with BOM, for Excel), in the file's row order.

    Cells are refused chunk by chunk as they are read, and references (an unknown customer) once the
    whole file is staged: those came after every bad cell, so an admin working down the file met row 2
    after row 90,000.  A file written out of order is put in row order when it is closed.
    """

    HEADER = ["row", "column", "value", "reason"]

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._handle = path.open("w", newline="", encoding="utf-8-sig")
        self._writer = csv.writer(self._handle)
        self._writer.writerow(self.HEADER)
        self._last_row = -1
        self._in_order = True

    def write(self, errors: Iterable[RowError]) -> None:
        rows = [[e.row, e.column, e.value, e.reason] for e in errors]
        if rows:
            self._in_order = self._in_order and min(r[0] for r in rows) >= self._last_row
            self._last_row = max(self._last_row, max(r[0] for r in rows))
        self._writer.writerows(rows)

    def close(self) -> None:
        self._handle.close()
        if self._in_order:
            return
        with self.path.open(newline="", encoding="utf-8-sig") as handle:
            written = list(csv.reader(handle))[1:]
        written.sort(key=lambda r: int(r[0]))  # stable: a row's cells keep the order they were refused in
        with self.path.open("w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.writer(handle)
            writer.writerow(self.HEADER)
            writer.writerows(written)
