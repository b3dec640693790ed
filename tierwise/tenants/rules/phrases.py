"""What a reason's aggregate means, in the reader's language: "Number of complaints, last 365 days (channel:
Regulator hotline, News media)" for ``count(complaints, 365d, channel in ["regulator_hotline", "news_media"])``.

A reason is stored under the rule language's own text, which the rules and the
API need; a relationship manager reads the list or the customer page, and
``percentile(sum(amount, 365d))`` tells them nothing.  Every function of the
rule language (``functions``) has a phrase here, with the names inside it said
by their labels (a field by the tenant's label, a channel by its label).  An
expression of another shape (arithmetic, a condition) has none: it is shown as
written, which is still exactly what the rule looked at.
"""
from __future__ import annotations

from functools import lru_cache

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tierwise.tenants.category_labels import category_label
from tierwise.tenants.rules import syntax as s

MEASURES = {"amount": _l("amount"), "quantity": _l("quantity")}
MANY = {"activity": _l("activities"), "interactions": _l("interactions"), "complaints": _l("complaints")}
ONE = {"activity": _l("activity"), "interactions": _l("interaction"), "complaints": _l("complaint")}
COLUMNS = {"channel": _l("channel"), "category": _l("category"), "severity": _l("severity"),
           "interaction_type": _l("type")}
AS_PERCENT = ("percentile", "trend")  # functions whose values are shares or changes: said as percentages
IN_DAYS = ("days_since_last", "days_since")  # functions whose values are counts of days: said in whole days


class _NoPhrase(Exception):
    """The expression has a shape no phrase says: it is shown as written."""


@lru_cache(maxsize=4096)
def _parsed(expression: str) -> s.Node | None:
    try:
        return s.parse(expression)
    except s.RuleError:
        return None


def as_percent(expression: str) -> bool:
    """Whether the expression's value is a share or a change (0.2 is 20%)."""
    node = _parsed(expression)
    return isinstance(node, s.Call) and node.function in AS_PERCENT


def in_days(expression: str) -> bool:
    """Whether the expression's value is a count of days (37.4583 is said 37 days)."""
    node = _parsed(expression)
    return isinstance(node, s.Call) and node.function in IN_DAYS


def phrase(expression: str, name_of, language: str | None = None) -> str | None:
    """The expression in words, or None if it has none; ``name_of(name)`` says a field's or a score's label.

    ``language``: the language gettext speaks now (``str(get_locale())``), if the caller has it already.

    Said once per expression, language and labels in the process: a page of 50 customers repeats the
    same few expressions with other values, and saying each again took 25 ms a page (gettext per word).
    """
    node = _parsed(expression)
    if not isinstance(node, s.Call):
        return None
    names = _names(expression)
    return _said(expression, language or str(get_locale()), tuple(name_of(name) for name in names))


@lru_cache(maxsize=4096)
def _said(expression: str, locale: str, labels: tuple[str, ...]) -> str | None:
    """``phrase``'s words, by everything they depend on: the expression, the language, its names' labels."""
    known = dict(zip(_names(expression), labels))
    try:
        text = _call(_parsed(expression), lambda name: known.get(name, name))
    except _NoPhrase:
        return None
    return _capital(text)


@lru_cache(maxsize=4096)
def _names(expression: str) -> tuple[str, ...]:
    """The names an expression mentions (fields, scores, sources, columns), in order, once each."""
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, s.Name) and node.name not in found:
            found.append(node.name)
        for value in vars(node).values() if isinstance(node, s.Node) else ():
            for child in (value if isinstance(value, tuple) else (value,)):
                if isinstance(child, s.Node):
                    walk(child)

    walk(_parsed(expression))
    return tuple(found)


def _call(node: s.Call, name_of) -> str:
    function, args = node.function, node.args
    if function in ("sum", "avg", "min", "max") and len(args) in (2, 3):
        values = {"measure": _word(MEASURES, args[0]), "window": _window(args[1])}
        text = {"sum": _("total %(measure)s, last %(window)s", **values),
                "avg": _("average %(measure)s, last %(window)s", **values),
                "min": _("smallest %(measure)s, last %(window)s", **values),
                "max": _("largest %(measure)s, last %(window)s", **values)}[function]
        return text + _filter(args[2:], name_of)
    if function == "count" and len(args) in (2, 3):
        return _("number of %(source)s, last %(window)s", source=_word(MANY, args[0]),
                 window=_window(args[1])) + _filter(args[2:], name_of)
    if function == "trend" and len(args) in (2, 3, 4):
        lag = args[2] if len(args) >= 3 and isinstance(args[2], s.Duration) else None
        values = {"measure": _word(MEASURES, args[0]), "window": _window(args[1])}
        if lag is None:
            return _("change in %(measure)s, last %(window)s against the %(window)s before",
                     **values) + _filter(args[2:], name_of)
        return _("change in %(measure)s, last %(window)s against the same %(window)s %(lag)s earlier",
                 lag=_window(lag), **values) + _filter(args[3:], name_of)
    if function == "days_since_last" and len(args) in (1, 2):
        return _("days since the last %(source)s", source=_word(ONE, args[0])) + _filter(args[1:], name_of)
    if function == "days_since" and len(args) == 1:
        return _("days since %(field)s", field=_operand(args[0], name_of))
    if function == "percentile" and len(args) == 1:
        return _("%(value)s: percentile among customers", value=_operand(args[0], name_of))
    if function == "top_share" and len(args) == 2 and isinstance(args[1], s.Number):
        return _("among the customers making the top %(share)s of %(value)s", share=f"{args[1].value:.0%}",
                 value=_operand(args[0], name_of))
    raise _NoPhrase


def _operand(node: s.Node, name_of) -> str:
    """A function's argument: a field by its label, an aggregate by its phrase."""
    if isinstance(node, s.Name):
        return name_of(node.name)
    if isinstance(node, s.Call):
        return _call(node, name_of)
    raise _NoPhrase


def _word(words: dict, node: s.Node) -> str:
    if not isinstance(node, s.Name) or node.name not in words:
        raise _NoPhrase
    return str(words[node.name])


def _window(node: s.Node) -> str:
    if not isinstance(node, s.Duration):
        raise _NoPhrase
    if node.amount == 1:
        return {"d": _("1 day"), "w": _("1 week"), "m": _("1 month"), "y": _("1 year")}[node.unit]
    return {"d": _("%(n)s days", n=node.amount), "w": _("%(n)s weeks", n=node.amount),
            "m": _("%(n)s months", n=node.amount), "y": _("%(n)s years", n=node.amount)}[node.unit]


SYMBOLS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "!=": "≠"}


def _filter(args: tuple, name_of) -> str:
    """`` (channel: Regulator hotline, News media)``: a filter said in words, or as written if it cannot be."""
    if not args:
        return ""
    try:
        return _(" (%(condition)s)", condition=_condition(args[0], name_of))
    except _NoPhrase:
        return f" ({s.unparse(args[0])})"


def _condition(node: s.Node, name_of) -> str:
    """A filter's condition: codes by their labels, ``resolved_at is null`` as "unresolved", comparisons with
    their symbols; ``and`` as a list."""
    if isinstance(node, s.In) and isinstance(node.operand, s.Name) and _of_codes(node):
        return _codes(node, _column(node.operand.name, name_of))
    if isinstance(node, s.IsNull) and isinstance(node.operand, s.Name) and node.operand.name == "resolved_at":
        return _("resolved") if node.negated else _("unresolved")
    if isinstance(node, s.Binary) and node.op == "and":
        return _(", ").join((_condition(node.left, name_of), _condition(node.right, name_of)))
    if isinstance(node, s.Binary) and isinstance(node.left, s.Name):
        if node.op == "==" and isinstance(node.right, s.String):
            return _("%(name)s: %(values)s", name=_column(node.left.name, name_of),
                     values=str(category_label(node.right.value)))
        if node.op in SYMBOLS and isinstance(node.right, s.Number):
            return f"{_column(node.left.name, name_of)} {SYMBOLS[node.op]} {s.unparse(node.right)}"
    raise _NoPhrase


def _of_codes(node: s.In) -> bool:
    return all(isinstance(item, s.String) for item in node.items.items)


def _codes(node: s.In, name: str) -> str:
    """``channel in ["news_media", "regulator_hotline"]`` as "channel: News media, Regulator hotline"."""
    values = _(", ").join(str(category_label(item.value)) for item in node.items.items)
    if node.negated:
        values = _("not %(values)s", values=values)
    return _("%(name)s: %(values)s", name=name, values=values)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _column(name: str, name_of) -> str:
    return str(COLUMNS[name]) if name in COLUMNS else name_of(name)


LOGIC = {"and": _l("and"), "or": _l("or")}


def rule_in_words(rule: str, name_of, language: str | None = None) -> str:
    """A whole rule in words ("Card spend, last 12 months ≥ 200,000 or …"), for the RM reading why a customer
    is in its tier; a part no phrase covers is kept as written, and a rule that does not parse as a whole."""
    node = _parsed(rule)
    if node is None:
        return rule
    return _rule_said(rule, language or str(get_locale()), tuple(name_of(name) for name in _names(rule)))


@lru_cache(maxsize=4096)
def _rule_said(rule: str, language: str, labels: tuple[str, ...]) -> str:
    known = dict(zip(_names(rule), labels))
    return _condition_words(_parsed(rule), lambda name: known.get(name, name))


def _condition_words(node: s.Node, name_of) -> str:
    if isinstance(node, s.Binary) and node.op in LOGIC:
        parts = []
        for side in (node.left, node.right):
            text = _condition_words(side, name_of)
            mixed = isinstance(side, s.Binary) and side.op in LOGIC and side.op != node.op
            parts.append(f"({text})" if mixed else text)
        return f" {LOGIC[node.op]} ".join(parts)
    if isinstance(node, s.Unary) and node.op == "not":
        return _("not (%(condition)s)", condition=_condition_words(node.operand, name_of))
    try:
        if isinstance(node, s.Binary) and node.op in (*SYMBOLS, "=="):
            symbol = "=" if node.op == "==" else SYMBOLS[node.op]
            right = (_share(node.right.value) if isinstance(node.right, s.Number) and _is_share(node.left)
                     else _value_words(node.right, name_of))
            return f"{_value_words(node.left, name_of)} {symbol} {right}"
        if isinstance(node, s.In) and _of_codes(node):
            return _codes(node, _value_words(node.operand, name_of))
        if isinstance(node, s.Between):
            return _("%(value)s from %(low)s to %(high)s", value=_value_words(node.operand, name_of),
                     low=_value_words(node.low, name_of), high=_value_words(node.high, name_of))
        if isinstance(node, s.IsNull):
            said = _("%(value)s is known") if node.negated else _("%(value)s is unknown")
            return said % {"value": _value_words(node.operand, name_of)}
        return _value_words(node, name_of)
    except _NoPhrase:
        return s.unparse(node)


SHARES = ("churn_probability",)  # names whose values are shares, beside ``AS_PERCENT``'s functions


def _is_share(node: s.Node) -> bool:
    """Whether a comparison's side is a share or a change, so its bound reads as a percentage (0.95 as 95%)."""
    return (isinstance(node, s.Call) and node.function in AS_PERCENT) or (
        isinstance(node, s.Name) and node.name in SHARES)


def _share(value: float) -> str:
    return f"{value * 100:g}%"


def _value_words(node: s.Node, name_of) -> str:
    """One side of a comparison: a field or score by its label, a function by its phrase, a value as people read it."""
    if isinstance(node, s.Name):
        return name_of(node.name)
    if isinstance(node, s.Call):
        return _capital(_call(node, name_of))
    if isinstance(node, s.Number):
        value = node.value
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"
    if isinstance(node, s.String):
        return str(category_label(node.value))
    if isinstance(node, s.Boolean):
        return _("yes") if node.value else _("no")
    if isinstance(node, s.Binary) and node.op in ARITHMETIC:  # "overdue receivables ≥ 0.1 × revenue"
        sides = [_value_words(side, name_of) for side in (node.left, node.right)]
        sides = [f"({said})" if isinstance(side, s.Binary) and side.op in ARITHMETIC else said
                 for side, said in zip((node.left, node.right), sides)]
        return f" {ARITHMETIC[node.op]} ".join(sides)
    if isinstance(node, s.Unary) and node.op == "-":  # −(B + C), not "−B + C", a different rule
        said = _value_words(node.operand, name_of)
        return f"−({said})" if isinstance(node.operand, (s.Binary, s.Unary)) else f"−{said}"
    raise _NoPhrase


ARITHMETIC = {"+": "+", "-": "−", "*": "×", "/": "÷"}  # said with the signs people write
