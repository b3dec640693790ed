"""Values set for every row of a file: a complaint register has no type column, every row is a complaint.

A register exported from a hotline system (投诉登记) lists complaints only, all of
them received by phone, and says so nowhere in its rows; a bill file of one tariff
has no category column.  Rather than edit the file, whoever imports sets the value:
``--set type=complaint`` in the CLI, ``type==complaint`` in the import page's
mapping box, ``"type": "=complaint"`` in an API mapping.  All three are one thing,
a mapping entry whose value starts with ``=``, so a saved mapping and a background
run keep it like any other entry.

Refusals name the mapping's entry (``mapping.type``), as the API takes it.  The value
becomes a column of its own (``WithConstants``) before the columns are
planned, so it is read, checked and stored exactly as a column's cells are; it is
checked once, before any row is read, and a bad one is refused naming the target.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from flask_babel import lazy_gettext as _l  # kept as their msgid: a run page says them in its reader's language

from tierwise.errors import ValidationError
from tierwise.tenants.imports import headers
from tierwise.tenants.imports.reading import Chunk
from tierwise.tenants.imports.specs import BUILT_IN_TARGETS, Target

SET_PREFIX = "="  # a mapping value starting with it is the value itself, not a column


def constants_of(mapping: dict[str, str]) -> dict[str, str]:
    """The targets ``mapping`` sets for every row, with their values."""
    return {target: value[len(SET_PREFIX):].strip() for target, value in mapping.items()
            if value.startswith(SET_PREFIX)}


def column_for(target: str) -> str:
    """The column a set value is read from (no file's header starts with ``=``: a spreadsheet takes it for a
    formula)."""
    return f"{SET_PREFIX}{target}"


@dataclass
class WithConstants:
    """``source`` with a column per set value, the same in every row."""

    source: object  # a TableSource or a FrameSource
    values: dict[str, str]  # column -> value

    @property
    def columns(self) -> list[str]:
        return [*self.source.columns, *self.values]

    def chunks(self, *args, **kwargs) -> Iterator[Chunk]:
        for chunk in self.source.chunks(*args, **kwargs):
            yield Chunk(frame=chunk.frame.assign(**self.values), rows=chunk.rows)


def with_constants(source, mapping: dict[str, str], kind: str, *, batch: bool = False):
    """``(source, mapping)`` with every set value as a column of its own, mapped to its target.

    Refused before anything is read: a value for an id or a customer's name (each row's own), an empty value, and a
    target the file also has a column for (which one is meant?).
    """
    constants = constants_of(mapping)
    if not constants:
        return source, mapping
    by_lower = {column.lower(): column for column in source.columns}
    spelled = headers.spelled_columns(kind, list(source.columns)) if kind in headers.SPELLINGS else {}
    ids = {target.name for target in BUILT_IN_TARGETS.get(kind, ()) if target.kind == "id"}
    for target, value in constants.items():
        if target in ids:
            raise ValidationError(_l("'%(target)s' identifies each row: it cannot be set to one value for every row",
                                    target=target), field=f"mapping.{target}")
        if target == "name" and kind == "customers":  # every customer of the file renamed alike: never meant
            raise ValidationError(_l("'name' is each customer's own: it cannot be set to one value for every row "
                                    "(a file without names keeps the names the customers have, or names new ones "
                                    "by their ids)"), field="mapping.name")
        if not value:
            raise ValidationError(_l("'%(target)s' is set to nothing: give the value every row should have (for "
                                    "example %(target)s=%(example)s)", target=target, example=_example(kind, target)),
                                  field=f"mapping.{target}")
        column = by_lower.get(target.lower()) or next(iter(spelled.get(target, [])), None)
        if column is not None:
            where = _l("the records' key '%(column)s'", column=column) if batch else \
                _l("the file's column '%(column)s'", column=column)
            raise ValidationError(_l("'%(target)s' is set to '%(value)s' for every row, and %(where)s fills it too: "
                                    "leave one out", target=target, value=value, where=where), field=f"mapping.{target}")
    values = {column_for(target): value for target, value in constants.items()}
    return WithConstants(source, values), {**mapping, **{target: column_for(target) for target in constants}}


def check_values(source, targets: list[tuple[Target, str]], refusal) -> None:
    """Refuse a set value its target cannot hold, naming the target, before any row is read.

    ``targets``: the plan's (target, column); ``refusal(target, value)`` is the runner's, why a cell of
    the same target holding the value would be refused (or None): it would be in every row, under a
    column the file does not have, and ``skip_invalid`` would skip the whole file.
    """
    if not isinstance(source, WithConstants):
        return
    for target, column in targets:
        if column not in source.values:
            continue
        value = source.values[column]
        reason = refusal(target, value)
        if reason is not None:
            raise ValidationError(_l("the value set for every row, %(target)s=%(value)s, %(reason)s",
                                    target=target.name, value=value, reason=reason), field=f"mapping.{target.name}")


def _example(kind: str, target: str) -> str:
    """A value ``target`` could be set to, for the refusal of an empty one."""
    for spec in BUILT_IN_TARGETS.get(kind, ()):
        if spec.name == target and spec.choices:
            return sorted(spec.choices)[0]
    return "..."
