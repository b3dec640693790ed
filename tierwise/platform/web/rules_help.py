"""The rule editor's help panel: what a rule can use, from the rule language's own vocabulary.

The names come from ``tierwise.tenants.rules.vocabulary`` and the tenant's field
registry, so a new function, source or field shows up here without editing the
page; the examples and one-line explanations are the part written for people.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tierwise.platform.i18n import gap, listed
from tierwise.platform.web.forms import FIELD_TYPE_LABELS
from tierwise.tenants.fields import field_registry
from tierwise.tenants.rules import vocabulary

FUNCTION_HELP = {
    "sum": ("sum(amount, 365d)", _l("Total of an activity column (amount or quantity) in the window; a third "
                                    "argument filters the rows, e.g. sum(amount, 90d, category == \"bill\")")),
    "avg": ("avg(amount, 90d)", _l("Average of an activity column in the window")),
    "min": ("min(amount, 90d)", _l("Smallest value of an activity column in the window")),
    "max": ("max(amount, 90d)", _l("Largest value of an activity column in the window")),
    "trend": ("trend(amount, 90d)", _l("Change of the window's total against the window before it, as a fraction "
                                       "(0.2 is +20%)")),
    "count": ("count(complaints, 90d, severity >= 4)", _l("Number of rows of a source in the window, optionally "
                                                          "filtered")),
    "days_since_last": ("days_since_last(activity)", _l("Days since the latest row of a source")),
    "days_since": ("days_since(opened_on)", _l("Days since the date in a date field")),
    "percentile": ("percentile(sum(amount, 365d))", _l("Share of customers at or below this customer's value, "
                                                       "from 0 to 1")),
    "top_share": ("top_share(sum(amount, 365d), 0.8)", _l("Yes for the largest customers who together make up "
                                                          "that share of the total (0.8: the first 80%)")),
    "tier": ('tier("value")', _l("The customer's tier in another dimension")),
    "coalesce": ("coalesce(loan_balance, 0)", _l("The first of its values that is not missing")),
    "abs": ("abs(trend(amount, 90d))", _l("The value without its sign")),
}
SOURCE_HELP = {
    vocabulary.ACTIVITY: _l("Activity rows: deposits, card spend, bills or orders"),
    vocabulary.INTERACTIONS: _l("Every interaction: requests, opinions, praise and complaints"),
    vocabulary.COMPLAINTS: _l("Interactions of the type complaint"),
}


BUILT_IN_HELP = {"party_type": _l("Individual or organisation"), "status": _l("The customer's status")}


@dataclass(frozen=True)
class HelpEntry:
    name: str
    example: str
    text: object  # a lazy translation
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldEntry:
    name: str
    type_label: object
    label_en: str
    label_zh: str
    categories: tuple[str, ...]


def _row_columns(source: str) -> tuple[str, ...]:
    """What a filter on the source's rows may test, with the allowed values where there is a list."""
    columns = vocabulary.ROW_COLUMNS.get(source, {})
    return tuple(f"{name}{gap()}{_('(%(values)s)', values=listed(c.choices))}" if c.choices else name
                 for name, c in columns.items())


def help_panel() -> dict[str, list]:
    """The panel's sections: functions, sources (with the columns a filter may test), other names, fields."""
    functions = [HelpEntry(name, *FUNCTION_HELP.get(name, (f"{name}(...)", ""))) for name in vocabulary.FUNCTIONS]
    sources = [HelpEntry(source, source, SOURCE_HELP.get(source, ""), _row_columns(source))
               for source in vocabulary.SOURCES]
    names = [HelpEntry(name, name, BUILT_IN_HELP.get(name, ""), values)
             for name, (_, values) in vocabulary.BUILT_IN.items()]
    names += [HelpEntry(name, name, _l("Model output; empty until a model is trained"))
              for name in vocabulary.MODEL_OUTPUTS]
    registry = field_registry()
    return {"functions": functions, "sources": sources, "names": names, "example": rule_example(registry),
            "fields": [FieldEntry(f.name, FIELD_TYPE_LABELS.get(f.field_type, f.field_type), f.label_en, f.label_zh,
                                  tuple(f.categories or ())) for f in registry.values()]}


def rule_example(registry: dict) -> str:
    """A rule to show as an example, on one of the tenant's own number fields (a utility has no aum_avg_3m)."""
    number = next((name for name, f in registry.items() if f.field_type in ("number", "integer")), None)
    first = f"{number} >= 1000" if number else "sum(amount, 365d) >= 1000000"
    return f"{first} and count(complaints, 90d) == 0"
