"""The rule language's functions: windowed aggregates, rankings, tiers and a few helpers.

Each ``call_<name>`` checks its arguments (positions in errors point at the
argument) and returns the typed column of the atom it registers.  What the
atoms mean is computed by ``tierwise.tenants.rules.evaluation``:

- ``sum|avg|min|max(amount|quantity, 90d[, filter])`` over activity rows in the window;
  ``sum`` of nothing is 0, the others are null;
- ``count(activity|interactions|complaints, 365d[, filter])``;
- ``trend(amount, 90d[, lag][, filter])``: the change of the sum against the
  same-length window ``lag`` earlier (default: the window just before; ``1y``
  compares year on year, which seasonal businesses need), as a fraction (0.2 is
  +20%); null without a positive earlier sum;
- ``days_since_last(source[, filter])``: days since the latest row, null if none;
- ``days_since(date_field)``;
- ``percentile(expr)``: the share of customers (with a value) at or below this one, 0-1;
- ``top_share(expr, 0.8)``: the customers who, from the largest value down, together
  make the first 80% of the tenant's total (ties broken by external id);
- ``tier("dimension")``: the customer's tier in another dimension;
- ``coalesce(a, b, ...)`` and ``abs(x)``.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from tierwise.platform.i18n import listed
from tierwise.tenants.rules import syntax as s
from tierwise.tenants.rules.compiler import BOOLEAN, NUMBER, Ranking, Typed, _Walk
from tierwise.tenants.rules.vocabulary import (
    ACTIVITY, COMPLAINTS, DATE, INTERACTIONS, MEASURES, SOURCES, close_matches, kind_name)


def _arity(walk: _Walk, node: s.Call, low: int, high: int, usage: str) -> None:
    if not low <= len(node.args) <= high:
        raise walk.error(_("%(function)s() takes %(usage)s", function=node.function, usage=usage), node)


def _window(walk: _Walk, node: s.Node) -> s.Duration:
    if not isinstance(node, s.Duration):
        raise walk.error(_("expected a window such as 30d, 12w, 6m or 1y"), node)
    return node


def _filter(walk: _Walk, source: str, node: s.Node | None) -> tuple[sa.ColumnElement | None, str]:
    """The filter's SQL over the source's rows (never relaxed by hysteresis) and its text."""
    condition = None
    if node is not None:
        plain = _Walk(walk.compiler, walk.text, 0.0)
        result = plain.expression(node, +1, row=source)
        if result.kind != BOOLEAN:
            raise walk.error(_("a filter must be true or false, but this is a %(kind)s", kind=kind_name(result.kind)),
                             node)
        condition = result.sql
    if source == COMPLAINTS:
        from tierwise.tenants.interactions import Interaction

        complaint = Interaction.__table__.c.interaction_type == "complaint"
        condition = complaint if condition is None else sa.and_(complaint, condition)
    return condition, ("" if node is None else ", " + s.unparse(node))


def _source(walk: _Walk, node: s.Node) -> str:
    if not isinstance(node, s.Name) or node.name not in SOURCES:
        found = node.name if isinstance(node, s.Name) else s.unparse(node)
        raise walk.error(_("expected a source of rows (%(sources)s), found '%(found)s'%(suggestion)s",
                           sources=listed(SOURCES), found=found,
                           suggestion=close_matches(found, SOURCES) if isinstance(node, s.Name) else ""), node)
    return node.name


def call_aggregate(walk: _Walk, node: s.Call, polarity: int, row) -> Typed:
    function = node.function
    args = list(node.args)
    # trend() may name how far back the comparison window lies: trend(amount, 90d, 1y) is year on year.
    lag = args.pop(2) if function == "trend" and len(args) > 2 and isinstance(args[2], s.Duration) else None
    if not 2 <= len(args) <= 3:
        if function == "trend":
            usage = _("a measure, a window, an optional lag and an optional filter: trend(amount, 90d, 1y)")
        else:
            usage = _("a measure, a window and an optional filter: %(function)s(amount, 90d)", function=function)
        raise walk.error(_("%(function)s() takes %(usage)s", function=function, usage=usage), node)
    measure = args[0]
    if not isinstance(measure, s.Name) or measure.name not in MEASURES:
        found = measure.name if isinstance(measure, s.Name) else s.unparse(measure)
        raise walk.error(_("%(function)s() adds up an activity column (%(measures)s), not '%(found)s'%(suggestion)s",
                           function=function, measures=listed(MEASURES), found=found,
                           suggestion=close_matches(found, MEASURES) if isinstance(measure, s.Name) else ""),
                         measure)
    window = _window(walk, args[1])
    condition, filter_text = _filter(walk, ACTIVITY, args[2] if len(args) > 2 else None)
    compiler = walk.compiler
    if function == "trend":
        lag = lag or window
        label = f"trend({measure.name}, {window.text()}{', ' + lag.text() if lag != window else ''}{filter_text})"
        current = compiler.aggregate(f"sum({measure.name}, {window.text()}{filter_text})", source=ACTIVITY,
                                     function="sum", measure=measure.name, window=window, offset=None,
                                     condition=condition)
        previous = compiler.aggregate(f"sum({measure.name}, {window.text()}{filter_text}) {lag.text()} before",
                                      source=ACTIVITY, function="sum", measure=measure.name, window=window,
                                      offset=lag, condition=condition)
        return walk.use(compiler.atom(label, NUMBER, "trend", (current.column, previous.column), prefix="a"))
    label = f"{function}({measure.name}, {window.text()}{filter_text})"
    aggregate = compiler.aggregate(label, source=ACTIVITY, function=function, measure=measure.name,
                                   window=window, offset=None, condition=condition)
    return walk.use(compiler.atom(label, NUMBER, "aggregate", (aggregate.column, function), prefix="a"))


def call_count(walk: _Walk, node: s.Call, polarity: int, row) -> Typed:
    _arity(walk, node, 2, 3, _("a source, a window and an optional filter: count(complaints, 90d)"))
    source = _source(walk, node.args[0])
    window = _window(walk, node.args[1])
    condition, filter_text = _filter(walk, source, node.args[2] if len(node.args) > 2 else None)
    label = f"count({source}, {window.text()}{filter_text})"
    aggregate = walk.compiler.aggregate(label, source=ACTIVITY if source == ACTIVITY else INTERACTIONS,
                                        function="count", measure=None, window=window, offset=None,
                                        condition=condition)
    return walk.use(walk.compiler.atom(label, NUMBER, "aggregate", (aggregate.column, "count"), prefix="a"))


def call_days_since_last(walk: _Walk, node: s.Call, polarity: int, row) -> Typed:
    _arity(walk, node, 1, 2, _("a source and an optional filter: days_since_last(activity)"))
    source = _source(walk, node.args[0])
    condition, filter_text = _filter(walk, source, node.args[1] if len(node.args) > 1 else None)
    label = f"days_since_last({source}{filter_text})"
    aggregate = walk.compiler.aggregate(label, source=ACTIVITY if source == ACTIVITY else INTERACTIONS,
                                        function="last", measure=None, window=None, offset=None,
                                        condition=condition)
    return walk.use(walk.compiler.atom(label, NUMBER, "days_since_last", (aggregate.column,), prefix="a"))


def call_days_since(walk: _Walk, node: s.Call, polarity: int, row) -> Typed:
    _arity(walk, node, 1, 1, _("one date field: days_since(opened_on)"))
    argument = node.args[0]
    value = walk.expression(argument, polarity, row)
    if not isinstance(argument, s.Name) or value.kind != DATE:
        if value.label:
            raise walk.error(_("days_since() needs a date field, but %(value)s is a %(kind)s", value=value.label,
                               kind=kind_name(value.kind)), argument)
        raise walk.error(_("days_since() needs a date field, but this is a %(kind)s", kind=kind_name(value.kind)),
                         argument)
    label = f"days_since({argument.name})"
    return walk.use(walk.compiler.atom(label, NUMBER, "days_since", (argument.name,), prefix="a"))


def call_percentile(walk: _Walk, node: s.Call, polarity: int, row) -> Typed:
    _arity(walk, node, 1, 1, _("one number: percentile(sum(amount, 365d))"))
    operand = _rankable(walk, node.args[0])
    label = f"percentile({s.unparse(node.args[0])})"
    atom = walk.compiler.atom(label, NUMBER, "ranking", prefix="r")
    walk.compiler.rankings.setdefault(atom.column, Ranking(atom.column, "percentile", operand.sql))
    return walk.use(atom)


def call_top_share(walk: _Walk, node: s.Call, polarity: int, row) -> Typed:
    _arity(walk, node, 2, 2, _("a number and a share: top_share(sum(amount, 365d), 0.8)"))
    operand = _rankable(walk, node.args[0])
    share_node = node.args[1]
    if not isinstance(share_node, s.Number) or not 0 < share_node.value <= 1:
        raise walk.error(_("the share must be a number above 0 and at most 1, e.g. 0.8"), share_node)
    share = share_node.value
    if walk.margin:  # staying in the tier: the share widens by the margin
        share = min(1.0, share + polarity * walk.margin * share)
    label = f"top_share({s.unparse(node.args[0])}, {s.unparse(s.Number(0, share))})"
    atom = walk.compiler.atom(label, BOOLEAN, "ranking", prefix="r")
    walk.compiler.rankings.setdefault(atom.column, Ranking(atom.column, "top_share", operand.sql, share))
    return walk.use(atom)


def _rankable(walk: _Walk, node: s.Node) -> Typed:
    plain = _Walk(walk.compiler, walk.text, 0.0)
    operand = plain.expect(node, NUMBER, +1, None, _("ranking"))
    if operand.ranked:
        raise walk.error(_("a ranking cannot rank another ranking"), node)
    if operand.uses_tier:
        raise walk.error(_("a ranking cannot use tier(): rank on the values instead"), node)
    for key in plain.used:
        walk.note(key)
    return operand


def call_tier(walk: _Walk, node: s.Call, polarity: int, row) -> Typed:
    _arity(walk, node, 1, 1, _('a dimension\'s code: tier("value")'))
    argument = node.args[0]
    dimensions = walk.compiler.vocabulary.dimensions
    if not isinstance(argument, s.String):
        raise walk.error(_('tier() takes a dimension\'s code in quotes, e.g. tier("value")'), argument)
    if argument.value not in dimensions:
        raise walk.error(_("unknown dimension '%(code)s'%(suggestion)s", code=argument.value,
                           suggestion=close_matches(argument.value, dimensions)), argument)
    label = f'tier("{argument.value}")'
    return walk.use(walk.compiler.atom(label, "string", "tier", (argument.value,), name=f"tier_{argument.value}"))


def call_coalesce(walk: _Walk, node: s.Call, polarity: int, row) -> Typed:
    if len(node.args) < 2:
        raise walk.error(_("coalesce() takes two or more values: coalesce(loan_balance, 0)"), node)
    values = [walk.expression(arg, polarity, row) for arg in node.args]
    for value, arg in zip(values[1:], node.args[1:]):
        walk.comparable(values[0], value, arg, node.args[0], arg)
    return Typed(sa.func.coalesce(*(v.sql for v in values)), values[0].kind, choices=values[0].choices,
                 ranked=any(v.ranked for v in values), uses_tier=any(v.uses_tier for v in values))


def call_abs(walk: _Walk, node: s.Call, polarity: int, row) -> Typed:
    _arity(walk, node, 1, 1, _("one number"))
    value = walk.expect(node.args[0], NUMBER, polarity, row, "abs()")
    return Typed(sa.func.abs(value.sql), NUMBER, ranked=value.ranked, uses_tier=value.uses_tier)
