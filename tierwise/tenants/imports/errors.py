"""What a rejected import tells the user: row, column, value and reason."""
from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd
from flask_babel import gettext as _

from tierwise.errors import ValidationError

SHOWN_IN_MESSAGE = 20


@dataclass(frozen=True)
class RowError:
    row: int  # a file's row as a spreadsheet shows it (the header is row 1); a JSON batch's index, from 0
    column: str
    value: str
    reason: str
    batch: bool = False  # the row is an index into a JSON batch's ``rows``

    def __str__(self) -> str:
        shown = self.value[:60].replace("\r", "\\r").replace("\n", "\\n")
        where = f"rows[{self.row}]" if self.batch else _("row %(row)s", row=self.row)  # rows[n]: the JSON's path
        return _("%(where)s, column '%(column)s', value '%(value)s': %(reason)s", where=where, column=self.column,
                 value=shown, reason=self.reason)

    def in_batch(self) -> "RowError":
        """The same error, its row an index into a JSON batch."""
        return replace(self, batch=True)


def row_errors(rows: pd.Series, column: str, values: pd.Series, reason: str) -> list[RowError]:
    """Errors for every row in ``rows`` (row numbers) with their raw ``values``; ``reason`` is said now."""
    reason = str(reason)  # a lazy string (a module constant) said in the importing user's language, once
    return [RowError(int(r), column, str(v), reason) for r, v in zip(rows.tolist(), values.tolist())]


class ImportRejected(ValidationError):
    """The file was refused as a whole; ``errors`` lists every bad cell (nothing was written)."""

    def __init__(self, errors: list[RowError], *, total: int | None = None) -> None:
        self.errors = sorted(errors, key=lambda e: (e.row, e.column))
        self.total = total if total is not None else len(errors)
        shown = "; ".join(str(e) for e in self.errors[:SHOWN_IN_MESSAGE])
        if self.total > SHOWN_IN_MESSAGE:
            message = _("%(count)s invalid value(s), nothing was imported: %(errors)s (and %(more)s more)",
                        count=self.total, errors=shown, more=self.total - SHOWN_IN_MESSAGE)
        else:
            message = _("%(count)s invalid value(s), nothing was imported: %(errors)s", count=self.total, errors=shown)
        first = self.errors[0] if self.errors else None
        super().__init__(message, field=first.column if first else None, row=first.row if first else None)

    def __str__(self) -> str:
        return self.message
