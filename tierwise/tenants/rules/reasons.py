"""A tier's reason as people read it: each value its rule looked at, named by the field's label.

A reason is stored as ``{expression: value}`` in the rule language's names
(``facility_type``, ``count(complaints, 90d)``): right for the rules and the API,
but an RM reads "Facility type = Hospital".  A field or score is named by its
label in the reader's language, a category by its label, and an aggregate or a
ranking in words (``phrases``: "Number of complaints, last 90 days"), the rule
text kept beside it for whoever wrote the rule.  The customer page, the rule
preview, the lists and the exports all say a reason through here.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tierwise.platform.numbers import MISSING, readable_days, readable_number, readable_percent
from tierwise.tenants.category_labels import category_label
from tierwise.tenants.rules.phrases import as_percent, in_days, phrase, rule_in_words

# Names a rule may use besides the tenant's fields (``vocabulary.BUILT_IN`` and ``MODEL_OUTPUTS``).
NAMED = {"churn_probability": _l("Churn probability"), "predicted_value": _l("Predicted value"),
         "party_type": _l("Type"), "status": _l("Status")}
PROBABILITIES = ("churn_probability",)


@dataclass(frozen=True)
class ReasonLine:
    expression: str  # as the rule language writes it
    caption: str  # the field's label or the expression in words, else the expression itself
    value: str  # as people read it
    labelled: bool  # False: ``caption`` is the expression itself

    def text(self) -> str:
        return f"{self.caption} = {self.value}"


def readable_value(expression: str, value) -> str:
    """A value of a reason: yes/no, a percentage for a probability, whole days for a count of days, a number with
    separators, a category's label.  Only the saying changes: the stored reason keeps the value as computed."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (int, float)):
        if in_days(expression):
            return readable_days(value)
        shares = expression in PROBABILITIES or as_percent(expression)
        return readable_percent(value) if shares else readable_number(value)
    return str(category_label(value))


def reason_lines(reason: dict | None, registry: dict, locale: str | None = None) -> list[ReasonLine]:
    """The reason's values in the expressions' order, each named as the reader knows it.

    ``registry``: the tenant's fields (or just their labels, ``field_labels()``) by name, read once per page.
    """
    speaking = str(get_locale())  # the language gettext speaks, which phrases are kept by
    return reasons_said(registry, locale or speaking, speaking)(reason)


def reasons_said(registry: dict, locale: str, speaking: str):
    """``reason -> [ReasonLine]`` for many reasons in one language: a list page says one per row, and
    asking for the language and building the namer once a page, not once a row, is most of a row's cost."""
    name_of = namer(registry, locale)

    def lines(reason: dict | None) -> list[ReasonLine]:
        said = []
        for expression, value in sorted((reason or {}).items()):
            caption = (name_of(expression) if expression in registry or expression in NAMED
                       else phrase(expression, name_of, speaking))
            said.append(ReasonLine(expression, caption or expression, readable_value(expression, value),
                                   caption is not None))
        return said

    return lines



def rule_text(rule: str, registry: dict, locale: str | None = None) -> str:
    """A tier's rule in words (``phrases.rule_in_words``), its names said as ``reason_lines`` says them."""
    speaking = str(get_locale())
    return rule_in_words(rule, namer(registry, locale or speaking), speaking)


def namer(registry: dict, locale: str):
    """``name -> caption``: a field by its label in ``locale``, a score or built-in name by its own, else as written."""
    def name_of(name: str) -> str:
        if name in registry:
            return registry[name].label(locale)
        return str(NAMED[name]) if name in NAMED else name

    return name_of
