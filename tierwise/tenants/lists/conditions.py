"""A list filter written in the rule language: ``facility_type == "hospital" and churn_probability > 0.3``.

The same parser and compiler as the tiering rules, so errors point at the
position and name close matches the same way.  A list condition reads what a
customer row and its scores hold (fields, built-in columns, the model outputs);
windowed aggregates and rankings need a whole evaluation, so they belong in a
tier rule, and the list filters on that tier instead.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.sql import visitors

from tierwise.platform.i18n import listed
from tierwise.tenants.fields import field_registry
from tierwise.tenants.rules.compiler import Compiler, Vocabulary
from tierwise.tenants.rules.syntax import RuleError
from tierwise.tenants.rules.vocabulary import BOOLEAN, NUMBER

ROW_ORIGINS = ("field", "builtin", "model")


def condition_sql(text: str, customers: sa.Table, scores: sa.Table, definition) -> sa.ColumnElement[bool]:
    """``text`` compiled to a predicate on the customers row (and its scores); RuleError on field ``condition``."""
    registry = field_registry()
    dimensions = {d.code: tuple(t.code for t in d.tiers) for d in (definition.dimensions if definition else [])}
    vocabulary = Vocabulary({name: f.field_type for name, f in registry.items()},
                            {name: tuple(f.categories) for name, f in registry.items() if f.categories}, dimensions)
    try:
        rule = Compiler(vocabulary).compile_rule(text)
    except RuleError as error:
        raise error.located(field="condition", expression=text) from None
    refused = [atom.label for atom in rule.atoms if atom.origin not in ROW_ORIGINS]
    if refused:
        raise RuleError(_("a list condition can use fields, customer columns and scores; %(refused)s "
                          "needs a tier rule (then filter the list on that tier)", refused=listed(refused)),
                        expression=text, field="condition")
    columns = {atom.column: _row_value(atom, customers, scores) for atom in rule.atoms}

    def substitute(element):
        if isinstance(element, sa.sql.expression.ColumnClause) and element.table is None:
            return columns.get(element.name)
        return None

    return visitors.replacement_traverse(rule.strict, {}, substitute)


def _row_value(atom, customers: sa.Table, scores: sa.Table) -> sa.ColumnElement:
    if atom.origin == "builtin":
        return customers.c[atom.label]
    if atom.origin == "model":
        return scores.c[atom.label]
    value = customers.c.attributes[atom.label]
    return {NUMBER: value.as_float(), BOOLEAN: value.as_boolean()}.get(atom.kind, value.as_string())
