"""What the names in a rule may mean, and the close matches offered for a typo.

A rule sees four kinds of names: the customer's built-in columns, the tenant's
fields (from the field registry, so rules discover fields the way imports and
models do), model outputs, and — inside aggregate filters — the columns of one
activity or interaction row.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tierwise.tenants.fields import FieldType
from tierwise.tenants.interactions import Channel, InteractionType

NUMBER, BOOLEAN, STRING, DATE = "number", "boolean", "string", "date"

#: How errors name each kind of value ("needs a number, but x is a date").
KIND_NAMES = {NUMBER: _l("number"), BOOLEAN: _l("boolean"), STRING: _l("string"), DATE: _l("date")}


def kind_name(kind: str) -> str:
    """The kind of a value as an error message says it, in the reader's language."""
    return str(KIND_NAMES.get(kind, kind))

FIELD_KINDS = {
    FieldType.NUMBER.value: NUMBER, FieldType.INTEGER.value: NUMBER, FieldType.BOOLEAN.value: BOOLEAN,
    FieldType.CATEGORY.value: STRING, FieldType.TEXT.value: STRING, FieldType.DATE.value: DATE,
}

#: Customer columns a rule may use directly, with their allowed values.
BUILT_IN = {
    "party_type": (STRING, ("individual", "organisation")),
    "status": (STRING, ("active", "dormant", "closed")),
}

#: Model outputs; null until the tenant has a trained model (and then per customer).
MODEL_OUTPUTS = ("churn_probability", "predicted_value")

#: What aggregates count or add up: a source of rows and the columns a filter may test.
ACTIVITY, INTERACTIONS, COMPLAINTS = "activity", "interactions", "complaints"
SOURCES = (ACTIVITY, INTERACTIONS, COMPLAINTS)
MEASURES = ("amount", "quantity")  # activity columns sum/avg/min/max/trend add up


@dataclass(frozen=True)
class RowColumn:
    column: str
    kind: str
    choices: tuple[str, ...] | None = None


ROW_COLUMNS = {
    ACTIVITY: {
        "category": RowColumn("category", STRING),
        "amount": RowColumn("amount", NUMBER),
        "quantity": RowColumn("quantity", NUMBER),
    },
    INTERACTIONS: {
        "channel": RowColumn("channel", STRING, tuple(c.value for c in Channel)),
        "type": RowColumn("interaction_type", STRING, tuple(t.value for t in InteractionType)),
        "severity": RowColumn("severity", NUMBER),
        "resolved_at": RowColumn("resolved_at", DATE),
    },
}
ROW_COLUMNS[COMPLAINTS] = ROW_COLUMNS[INTERACTIONS]

AGGREGATES = ("sum", "avg", "min", "max", "trend")
FUNCTIONS = AGGREGATES + ("count", "days_since_last", "days_since", "percentile", "top_share", "tier",
                          "coalesce", "abs")


def close_matches(word: str, candidates) -> str:
    """' (did you mean ...?)' for the nearest candidates, or ''.

    Case is ignored: AUM_AVG_3M is offered aum_avg_3m, SME the code sme.
    """
    by_lower: dict[str, str] = {}
    for candidate in candidates:
        by_lower.setdefault(candidate.lower(), candidate)
    matches = difflib.get_close_matches(word.lower(), list(by_lower), n=3, cutoff=0.6)
    found = [by_lower[m] for m in matches]
    if not found:
        return ""
    if len(found) == 1:
        return _(" (did you mean '%(first)s'?)", first=found[0])
    if len(found) == 2:
        return _(" (did you mean '%(first)s' or '%(second)s'?)", first=found[0], second=found[1])
    return _(" (did you mean '%(first)s' or '%(second)s' or '%(third)s'?)", first=found[0], second=found[1],
             third=found[2])
