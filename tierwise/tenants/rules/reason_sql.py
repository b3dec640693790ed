"""A tier's reason as SQL: the JSON object of the values its rule decided by, built by the database.

The evaluation (``Evaluation.dimension_layers``) writes it only for the customers
whose stored assignment changes; PostgreSQL builds ``jsonb``, SQLite JSON text.
"""
from __future__ import annotations

import sqlalchemy as sa

from tierwise.tenants.rules.compiler import Atom, Because, CompiledRule, column
from tierwise.tenants.rules.vocabulary import BOOLEAN

JSON_PAIRS_PER_CALL = 40  # PostgreSQL functions take at most 100 arguments


def values_object(atoms: list[Atom], *, postgres: bool) -> sa.ColumnElement:
    """``{atom label: value}`` for every atom."""
    if not atoms:
        return sa.literal_column("'{}'")
    builder = sa.func.jsonb_build_object if postgres else sa.func.json_object
    parts = []
    for start in range(0, len(atoms), JSON_PAIRS_PER_CALL):
        arguments = []
        for atom in atoms[start:start + JSON_PAIRS_PER_CALL]:
            value = column(atom)
            if atom.kind == BOOLEAN and not postgres:  # SQLite's json_object writes 1/0 otherwise
                value = sa.case((value.is_(None), None), (value, sa.func.json("true")), else_=sa.func.json("false"))
            arguments += [sa.literal(atom.label, sa.String()), value]
        parts.append(builder(*arguments))
    return _merged(parts, postgres=postgres)


def _merged(parts: list[sa.ColumnElement], *, postgres: bool) -> sa.ColumnElement:
    """One JSON object with the keys of every part."""
    result = parts[0]
    for part in parts[1:]:
        result = result.op("||")(part) if postgres else sa.func.json_patch(result, part)
    return result


def _explained(because: Because, *, postgres: bool) -> sa.ColumnElement:
    """The values ``because`` names, with each ``or``'s first alternative that holds (a CASE over them)."""
    parts = [values_object(list(because.atoms), postgres=postgres)] if because.atoms or not because.choices else []
    for alternatives in because.choices:
        *tried, (_, last) = alternatives
        parts.append(sa.case(*((condition, _explained(why, postgres=postgres)) for condition, why in tried),
                             else_=_explained(last, postgres=postgres)))
    return _merged(parts, postgres=postgres)


def rule_reason(rule: CompiledRule, *, postgres: bool) -> sa.ColumnElement:
    """A tier's reason: the values its rule decided by.  Every value it looks at, unless the rule has an
    ``or`` and holds, when only the side it holds by counts.  A customer kept in the tier by hysteresis
    (the rule no longer holds) sees every value, as the margin or the pending count decided."""
    if not rule.because.choices:
        return values_object(rule.atoms, postgres=postgres)
    return sa.case((rule.strict, _explained(rule.because, postgres=postgres)),
                   else_=values_object(rule.atoms, postgres=postgres))
