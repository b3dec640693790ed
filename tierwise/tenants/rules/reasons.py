"""A tier's reason as people read it: each value its rule looked at, named by the field's label.

A reason is stored as ``{expression: value}`` in the rule language's names
(``facility_type``, ``count(complaints, 90d)``): right for the rules and the API,
but an RM reads "Facility type = Hospital".  A field or score is named by its
label in the reader's language and a category by its label; an aggregate keeps
its expression, which is the tenant's own rule text.  The customer page, the
rule preview, the lists and the exports all say a reason through here.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tierwise.platform.numbers import MISSING, readable_number, readable_percent
from tierwise.tenants.category_labels import category_label

# Names a rule may use besides the tenant's fields (``vocabulary.BUILT_IN`` and ``MODEL_OUTPUTS``).
NAMED = {"churn_probability": _l("Churn probability"), "predicted_value": _l("Predicted value"),
         "party_type": _l("Type"), "status": _l("Status")}
PROBABILITIES = ("churn_probability",)


@dataclass(frozen=True)
class ReasonLine:
    expression: str  # as the rule language writes it
    caption: str  # the field's label, else the expression
    value: str  # as people read it
    labelled: bool  # False: ``caption`` is the expression itself

    def text(self) -> str:
        return f"{self.caption} = {self.value}"


def readable_value(expression: str, value) -> str:
    """A value of a reason: yes/no, a percentage for a probability, a number with separators, a category's label."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (int, float)):
        return readable_percent(value) if expression in PROBABILITIES else readable_number(value)
    return str(category_label(value))


def reason_lines(reason: dict | None, registry: dict, locale: str | None = None) -> list[ReasonLine]:
    """The reason's values in the expressions' order, each named as the reader knows it.

    ``registry``: the tenant's fields (or just their labels, ``field_labels()``) by name, read once per page.
    """
    locale = locale or str(get_locale())
    lines = []
    for expression, value in sorted((reason or {}).items()):
        if expression in registry:
            caption, labelled = registry[expression].label(locale), True
        elif expression in NAMED:
            caption, labelled = str(NAMED[expression]), True
        else:
            caption, labelled = expression, False
        lines.append(ReasonLine(expression, caption, readable_value(expression, value), labelled))
    return lines

