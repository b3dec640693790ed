"""What a rejected import tells the user: row, column, value and reason, in the reader's language.

An import run is read later, and by others, than whoever started it: a zh-CN
upload read by an English-speaking admin must not say "共有 2 个无效值".  So a
reason is kept as its message and parameters (``kept_message``: the English
msgid and the values it names) beside the text said when it was made, and a
page says it again in its reader's language (``RowError.said``,
``rejection_message``).  A run's outcome (``ImportRun.said_message``) is said
again by the page, the CLI (in English) and the API (in the request's language);
the rows in the API's ``result`` keep the text said when the file was read.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd
from flask_babel import gettext as _

from tierwise.errors import ValidationError, kept_message, said_again
from tierwise.platform.i18n import clauses, listed

SHOWN_IN_MESSAGE = 20


@dataclass(frozen=True)
class RowError:
    row: int  # a file's row as a spreadsheet shows it (the header is row 1); a JSON batch's index, from 0
    column: str
    value: str
    reason: str  # as said when the file was read
    kept: dict | None = None  # the reason's message and parameters (``kept_message``), None for older runs
    batch: bool = False  # the row is an index into a JSON batch's ``rows``

    def said(self) -> str:
        """The reason in the current reader's language (as stored, if it was not kept)."""
        return said_again(self.kept) if self.kept else self.reason

    @property
    def shown_value(self) -> str:
        """The value as a message quotes it: its first 60 characters, line breaks written as \\r and \\n."""
        return self.value[:60].replace("\r", "\\r").replace("\n", "\\n")

    def __str__(self) -> str:
        where = f"rows[{self.row}]" if self.batch else _("row %(row)s", row=self.row)  # rows[n]: the JSON's path
        return _("%(where)s, column '%(column)s', value '%(value)s': %(reason)s", where=where, column=self.column,
                 value=self.shown_value, reason=self.said())

    def in_batch(self) -> "RowError":
        """The same error, its row an index into a JSON batch."""
        return replace(self, batch=True)


def row_errors(rows: pd.Series, column: str, values: pd.Series, reason) -> list[RowError]:
    """Errors for every row in ``rows`` (row numbers) with their raw ``values``; a lazy ``reason`` is kept."""
    kept = kept_message(reason)
    reason = str(reason)  # said once in the importing user's language, for the CLI and the API
    return [RowError(int(r), column, str(v), reason, kept) for r, v in zip(rows.tolist(), values.tolist())]


def group_of(error: RowError) -> tuple[str, str, str]:
    """What errors said once together share: column, value and reason (as said when the file was read)."""
    return error.column, error.value, error.reason


def keep(errors: list[RowError], counts: dict[tuple, int], found: list[RowError], limit: int) -> None:
    """Add ``found`` to ``errors`` while fewer than ``limit`` are kept, and count every error of a group
    that has one kept in ``counts`` (``group_of``): a value in 50,000 rows is said to be in 50,000, not in
    the 10,000 kept."""
    for error in found:
        key = group_of(error)
        if len(errors) < limit:
            errors.append(error)
            counts[key] = counts.get(key, 0) + 1
        elif key in counts:
            counts[key] += 1


def rejection_message(errors: list[RowError], total: int, counts: dict[tuple, int] | None = None) -> str:
    """What a refused file says, in the current reader's language: the count and the first errors.

    Errors of one column, value and reason are said once with the rows they are in: a value a
    file writes its own way (BankChurners' ``$60K - $80K`` in a number column) is in thousands
    of rows, and twenty rows of the same sentence hid whether anything else was wrong.  ``errors``
    are those kept (a run keeps 200); ``counts``, each group's errors in the whole file (``keep``).
    """
    groups: dict[tuple, list[RowError]] = {}
    for error in errors:  # in row order: a group is shown where its first row is
        groups.setdefault(group_of(error), []).append(error)
    shown_groups = [(group, max(len(group), (counts or {}).get(key, 0)))
                    for key, group in list(groups.items())[:SHOWN_IN_MESSAGE]]
    shown = clauses([_said(group, count) for group, count in shown_groups])
    left = total - sum(count for _group, count in shown_groups)
    if left > 0:
        return _("%(count)s invalid value(s), nothing was imported: %(errors)s (and %(more)s more)",
                 count=total, errors=shown, more=left)
    return _("%(count)s invalid value(s), nothing was imported: %(errors)s", count=total, errors=shown)


SHOWN_ROWS = 3  # of a value's rows, named before "and N more"


def _said(group: list[RowError], count: int) -> str:
    """One error, or one value's errors in ``count`` rows ("rows 2, 5, 9 and 1,787 more")."""
    first = group[0]
    if count == 1:
        return str(first)
    named = [f"rows[{e.row}]" if e.batch else str(e.row) for e in group[:SHOWN_ROWS]]
    rows = listed(named)  # "2, 3, 4" or "2、3、4"
    if count > len(named):
        rows = _("%(rows)s and %(more)s more", rows=rows, more=f"{count - len(named):,}")
    return _("column '%(column)s', value '%(value)s' in %(count)s rows (%(rows)s): %(reason)s", column=first.column,
             value=first.shown_value, count=f"{count:,}", rows=rows, reason=first.said())


class ImportRejected(ValidationError):
    """The file was refused as a whole; ``errors`` lists every bad cell (nothing was written).

    ``rows_read`` and ``rejected_rows`` say how much of the file was checked and how many of its rows
    were bad, for the run's page: every row is read before a file is refused for its rows.
    """

    def __init__(self, errors: list[RowError], *, total: int | None = None, rows_read: int = 0,
                 rejected_rows: int = 0, counts: dict[tuple, int] | None = None) -> None:
        self.errors = sorted(errors, key=lambda e: (e.row, e.column))
        self.total = total if total is not None else len(errors)
        self.rows_read, self.rejected_rows = rows_read, rejected_rows
        self.counts = counts or {}  # each group's errors in the whole file (``keep``)
        first = self.errors[0] if self.errors else None
        super().__init__(rejection_message(self.errors, self.total, self.counts), field=first.column if first else None,
                         row=first.row if first else None)

    def kept_counts(self, kept: list[RowError]) -> list[list]:
        """The counts of the groups of ``kept`` (the errors a run keeps), as JSON: [column, value, reason, count]."""
        keys = {group_of(error) for error in kept}
        return [[*key, count] for key, count in self.counts.items() if key in keys]


def counts_from(kept: list[list] | None) -> dict[tuple, int]:
    """``ImportRejected.kept_counts`` read back."""
    return {tuple(item[:3]): item[3] for item in kept or ()}

    def __str__(self) -> str:
        return self.message

