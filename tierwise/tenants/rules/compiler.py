"""Type-checks a parsed rule and turns it into a SQLAlchemy expression.

Compiling is validating: the same walk that builds the SQL rejects unknown
names (offering close matches), type mismatches, unknown category codes and
misplaced aggregates, each at its position, before anything is stored.

The expression refers to *atoms* by column name: every value a rule looks at
(a field, an aggregate over activity, a ranking, another dimension's tier)
becomes one named column of the evaluation query, built once however many
rules use it.  The atoms a rule used are what its reason shows.

``margin`` compiles the relaxed variant used by hysteresis: numeric bounds are
moved by that fraction in the direction that keeps a customer in the tier it
already has (and the other way under ``not``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from datetime import datetime, timezone

import pandas as pd
import sqlalchemy as sa
from flask_babel import gettext as _

from tierwise.platform.db import UTCDateTime
from tierwise.platform.i18n import listed
from tierwise.tenants.rules import syntax as s
from tierwise.tenants.rules.syntax import RuleError
from tierwise.tenants.rules.vocabulary import (
    ACTIVITY, AGGREGATES, BOOLEAN, BUILT_IN, DATE, FIELD_KINDS, FUNCTIONS, MODEL_OUTPUTS, NUMBER, ROW_COLUMNS,
    SOURCES, STRING, close_matches, kind_name)

SQL_TYPES = {NUMBER: sa.Float(), BOOLEAN: sa.Boolean(), STRING: sa.String(), DATE: sa.String()}


@dataclass(frozen=True)
class Atom:
    """One value rules look at; ``origin`` says how the evaluation query computes it."""

    column: str
    label: str
    kind: str
    origin: str  # builtin, field, model, aggregate, trend, days_since_last, days_since, ranking, tier
    detail: tuple = ()


@dataclass(frozen=True)
class Aggregate:
    """A windowed aggregate over one source's rows, computed per customer by a GROUP BY."""

    column: str
    source: str
    function: str  # sum avg min max count last
    measure: str | None
    window: s.Duration | None  # rows since as_of - window; None: all history
    offset: s.Duration | None  # window ends at as_of - offset (trend's previous window)
    condition: sa.ColumnElement | None  # over the source table's columns


@dataclass(frozen=True)
class Ranking:
    column: str
    function: str  # percentile, top_share
    operand: sa.ColumnElement  # over atom columns
    share: float | None = None


@dataclass(frozen=True)
class Because:
    """Which values explain a true condition: ``atoms`` always, and from each of ``choices`` the first that holds.

    An ``or`` is true by one of its sides, and a reason showing the other side's values says
    the wrong thing: "Facility type = Hospital; Churn probability = —" for a hospital tiered
    by ``facility_type == "hospital" or churn_probability > 0.5``.  Each choice lists an
    ``or``'s alternatives in order, each with its condition; the last needs none (it holds
    when the others do not).  ``and`` holds by both sides, so it keeps both explanations.
    """

    atoms: tuple[Atom, ...] = ()
    choices: tuple[tuple[tuple[sa.ColumnElement, "Because"], ...], ...] = ()

    def both(self, other: "Because") -> "Because":
        atoms = self.atoms + tuple(a for a in other.atoms if a not in self.atoms)
        return Because(atoms, self.choices + other.choices)

    def either(self, condition: sa.ColumnElement, other: "Because", other_condition: sa.ColumnElement) -> "Because":
        return Because(choices=((*self.alternatives(condition), *other.alternatives(other_condition)),))

    def alternatives(self, condition: sa.ColumnElement) -> tuple[tuple[sa.ColumnElement, "Because"], ...]:
        """As one side of an ``or``: an ``or`` itself (a, b) or c is a, b, c."""
        if not self.atoms and len(self.choices) == 1:
            return self.choices[0]
        return ((condition, self),)


@dataclass(frozen=True)
class Typed:
    sql: sa.ColumnElement
    kind: str
    label: str = ""
    choices: tuple[str, ...] | None = None
    literal: float | None = None
    ranked: bool = False  # uses a ranking (cannot be ranked again)
    uses_tier: bool = False
    because: Because | None = None  # a condition's explaining values (``_Walk.expression`` sets it)


@dataclass
class CompiledRule:
    strict: sa.ColumnElement
    relaxed: sa.ColumnElement | None
    atoms: list[Atom]
    because: Because = field(default_factory=Because)  # what a customer the rule matched is shown


@dataclass
class Vocabulary:
    """What names mean for one tenant: its fields and the rule set's dimensions and tiers."""

    fields: dict[str, str]  # name -> field type
    categories: dict[str, tuple[str, ...]]  # category fields with a closed list of codes
    dimensions: dict[str, tuple[str, ...]]  # dimension code -> tier codes


@dataclass
class Compiler:
    """Compiles every rule of one rule set, sharing atoms, aggregates and rankings between them."""

    vocabulary: Vocabulary
    atoms: dict[str, Atom] = field(default_factory=dict)
    aggregates: dict[str, Aggregate] = field(default_factory=dict)
    rankings: dict[str, Ranking] = field(default_factory=dict)

    def compile_rule(self, text: str, *, margin: float = 0.0) -> CompiledRule:
        tree, result, used = self._typed(text, BOOLEAN, lambda kind: _(
            "a rule must be true or false, but this is a %(kind)s", kind=kind_name(kind)))
        relaxed = None
        if margin:
            relaxed = _Walk(self, text, margin).expression(tree, +1).sql
        return CompiledRule(result.sql, relaxed, [self.atoms[c] for c in used], result.because)

    def compile_measure(self, text: str) -> tuple[sa.ColumnElement, list[Atom]]:
        """A numeric expression (the rule set's value measure)."""
        _tree, result, used = self._typed(text, NUMBER, lambda kind: _(
            "the value measure must be a number, but this is a %(kind)s", kind=kind_name(kind)))
        return result.sql, [self.atoms[c] for c in used]

    def _typed(self, text: str, kind: str, mismatch: Callable[[str], str]) -> tuple[s.Node, Typed, list[str]]:
        """Parse and check ``text``: its tree, its strict compilation and the atoms it used.

        ``mismatch`` says what is wrong when the result is of another kind (given that kind).
        """
        try:
            tree = s.parse(text)
            walk = _Walk(self, text, 0.0)
            result = walk.expression(tree, +1)
        except RecursionError:
            raise RuleError(_("the expression is nested too deeply to evaluate; split it into simpler parts"),
                            expression=text) from None
        if result.kind != kind:
            raise RuleError(mismatch(result.kind), position=tree.pos, expression=text)
        return tree, result, walk.used

    def atom(self, label: str, kind: str, origin: str, detail: tuple = (), prefix: str = "x",
             name: str | None = None) -> Atom:
        key = f"{origin}:{label}"
        if key not in self.atoms:
            self.atoms[key] = Atom(name or f"{prefix}_{len(self.atoms)}", label, kind, origin, detail)
        return self.atoms[key]

    def aggregate(self, label: str, **spec) -> Aggregate:
        if label not in self.aggregates:
            self.aggregates[label] = Aggregate(column=f"g_{len(self.aggregates)}", **spec)
        return self.aggregates[label]


def column(atom: Atom) -> sa.ColumnElement:
    return sa.column(atom.column, SQL_TYPES[atom.kind])


class _Walk:
    """One pass over one expression; ``used`` collects the atom keys it touched."""

    def __init__(self, compiler: Compiler, text: str, margin: float) -> None:
        self.compiler = compiler
        self.text = text
        self.margin = margin
        self.used: list[str] = []
        self.collecting: list[list[str]] = []  # per expression being walked, the atom keys it used

    def error(self, message: str, node: s.Node) -> RuleError:
        return RuleError(message, position=node.pos, expression=self.text)

    def note(self, key: str) -> None:
        """The expression being walked uses the atom ``key``."""
        if key not in self.used:
            self.used.append(key)
        if self.collecting and key not in self.collecting[-1]:
            self.collecting[-1].append(key)

    def use(self, atom: Atom) -> Typed:
        self.note(f"{atom.origin}:{atom.label}")
        choices = None
        if atom.origin == "field":
            choices = self.compiler.vocabulary.categories.get(atom.label)
        elif atom.origin == "builtin":
            choices = BUILT_IN[atom.label][1]
        elif atom.origin == "tier":
            choices = self.compiler.vocabulary.dimensions[atom.detail[0]]
        return Typed(column(atom), atom.kind, atom.label, choices, ranked=atom.origin == "ranking",
                     uses_tier=atom.origin == "tier")

    # -- expressions over the customer ------------------------------------

    def expression(self, node: s.Node, polarity: int, row: str | None = None) -> Typed:
        method = getattr(self, f"_{type(node).__name__.lower()}")
        self.collecting.append([])
        try:
            result = method(node, polarity, row)
        finally:
            keys = self.collecting.pop()
        for key in keys:  # what a part used, the whole used
            self.note(key)
        if result.kind == BOOLEAN and result.because is None:  # a condition that is not and/or: all it looked at
            result = replace(result, because=Because(tuple(self.compiler.atoms[key] for key in keys)))
        return result

    def _number(self, node: s.Number, polarity, row) -> Typed:
        return Typed(sa.literal(node.value, sa.Float()), NUMBER, _number_text(node.value), literal=node.value)

    def _string(self, node: s.String, polarity, row) -> Typed:
        return Typed(sa.literal(node.value, sa.String()), STRING, f'"{node.value}"')

    def _boolean(self, node: s.Boolean, polarity, row) -> Typed:
        return Typed(sa.true() if node.value else sa.false(), BOOLEAN, str(node.value).lower())

    def _null(self, node: s.Null, polarity, row) -> Typed:
        raise self.error(_("use 'is null' or 'is not null' to test for a missing value"), node)

    def _duration(self, node: s.Duration, polarity, row) -> Typed:
        raise self.error(_("a duration (%(duration)s) is only allowed as an aggregate's window",
                           duration=node.text()), node)

    def _listof(self, node: s.ListOf, polarity, row) -> Typed:
        raise self.error(_("a list is only allowed after 'in'"), node)

    def _name(self, node: s.Name, polarity, row) -> Typed:
        name = node.name
        if row is not None:
            columns = ROW_COLUMNS[row]
            if name not in columns:
                raise self.error(_("%(source)s rows have no column '%(name)s'%(suggestion)s (they have: %(columns)s)",
                                   source=row, name=name, suggestion=close_matches(name, columns),
                                   columns=listed(columns)), node)
            spec = columns[name]
            return Typed(_row_column(row, spec.column), spec.kind, name, spec.choices)
        vocabulary = self.compiler.vocabulary
        if name in BUILT_IN:
            return self.use(self.compiler.atom(name, BUILT_IN[name][0], "builtin", prefix="c"))
        if name in vocabulary.fields:
            kind = FIELD_KINDS[vocabulary.fields[name]]
            return self.use(self.compiler.atom(name, kind, "field", (vocabulary.fields[name],), prefix="f"))
        if name in MODEL_OUTPUTS:
            return self.use(self.compiler.atom(name, NUMBER, "model", prefix="m"))
        if name in SOURCES:
            raise self.error(_("'%(name)s' is a source of rows: count it, e.g. count(%(name)s, 90d)", name=name),
                             node)
        known = list(BUILT_IN) + list(vocabulary.fields) + list(MODEL_OUTPUTS)
        raise self.error(_("unknown field '%(name)s'%(suggestion)s", name=name, suggestion=close_matches(name, known)),
                         node)

    def _unary(self, node: s.Unary, polarity, row) -> Typed:
        if node.op == "not":
            operand = self.expect(node.operand, BOOLEAN, -polarity, row, "'not'")
            return Typed(sa.not_(operand.sql), BOOLEAN, ranked=operand.ranked, uses_tier=operand.uses_tier)
        operand = self.expect(node.operand, NUMBER, polarity, row, "'-'")
        return Typed(-operand.sql, NUMBER, ranked=operand.ranked, uses_tier=operand.uses_tier)

    def _binary(self, node: s.Binary, polarity, row) -> Typed:
        if node.op in ("and", "or"):
            left = self.expect(node.left, BOOLEAN, polarity, row, f"'{node.op}'")
            right = self.expect(node.right, BOOLEAN, polarity, row, f"'{node.op}'")
            if node.op == "and":
                sql, because = sa.and_(left.sql, right.sql), left.because.both(right.because)
            else:
                sql, because = sa.or_(left.sql, right.sql), left.because.either(left.sql, right.because, right.sql)
            return Typed(sql, BOOLEAN, ranked=left.ranked or right.ranked, uses_tier=left.uses_tier or right.uses_tier,
                         because=because)
        if node.op in ("+", "-", "*", "/"):
            left = self.expect(node.left, NUMBER, polarity, row, f"'{node.op}'")
            right = self.expect(node.right, NUMBER, polarity, row, f"'{node.op}'")
            if node.op == "/":
                sql = left.sql / sa.func.nullif(right.sql, 0)  # x / 0 is unknown, not an error
            else:
                sql = {"+": left.sql + right.sql, "-": left.sql - right.sql, "*": left.sql * right.sql}[node.op]
            return Typed(sql, NUMBER, ranked=left.ranked or right.ranked, uses_tier=left.uses_tier or right.uses_tier)
        return self.comparison(node, polarity, row)

    def comparison(self, node: s.Binary, polarity: int, row) -> Typed:
        left = self.expression(node.left, polarity, row)
        right = self.expression(node.right, polarity, row)
        if BOOLEAN in (left.kind, right.kind) and self.margin:
            # (x >= 5) == false hides a negation the margin cannot see: true/false tests are never relaxed.
            plain = _Walk(self.compiler, self.text, 0.0)
            left, right = plain.expression(node.left, polarity, row), plain.expression(node.right, polarity, row)
            for key in plain.used:
                self.note(key)
        self.comparable(left, right, node, node.left, node.right)
        if row is not None:
            left, right = _timestamp_literal(self, left, right, node.right), _timestamp_literal(self, right, left, node.left)
        else:
            left, right = _date_literal(self, left, right, node.left), _date_literal(self, right, left, node.right)
        op = node.op
        if left.literal is not None and right.literal is None:  # 100 <= x  is  x >= 100
            left, right = right, left
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        if right.literal is not None and self.margin and op in ("<", "<=", ">", ">="):
            direction = (-1 if op in (">", ">=") else +1) * polarity
            right = Typed(sa.literal(right.literal + direction * self.margin * abs(right.literal), sa.Float()),
                          NUMBER, literal=right.literal)
        operators = {"==": "__eq__", "!=": "__ne__", "<": "__lt__", "<=": "__le__", ">": "__gt__", ">=": "__ge__"}
        return Typed(getattr(left.sql, operators[op])(right.sql), BOOLEAN, ranked=left.ranked or right.ranked,
                     uses_tier=left.uses_tier or right.uses_tier)

    def comparable(self, left: Typed, right: Typed, node: s.Node, left_node: s.Node, right_node: s.Node) -> None:
        """Same kind on both sides, and a literal code must exist (the error points at the literal)."""
        if left.kind != right.kind and {left.kind, right.kind} != {DATE, STRING}:
            raise self.error(_("cannot compare %(left)s with %(right)s", left=_described(left),
                               right=_described(right)), node)
        self.check_code(left, right, right_node)
        self.check_code(right, left, left_node)

    def check_code(self, value: Typed, code: Typed, node: s.Node) -> None:
        """A literal compared with a closed list of codes must be one of them."""
        if value.choices and code.kind == STRING and code.label.startswith('"'):
            text = code.label[1:-1]
            if text not in value.choices:
                raise self.error(_("'%(text)s' is not a value of %(name)s%(suggestion)s (its values: %(values)s)",
                                   text=text, name=value.label, suggestion=close_matches(text, value.choices),
                                   values=listed(value.choices)), node)

    def _in(self, node: s.In, polarity, row) -> Typed:
        operand = self.expression(node.operand, polarity, row)
        if not node.items.items:
            raise self.error(_("the list is empty"), node.items)
        items = []
        for item in node.items.items:
            value = self.expression(item, polarity, row)
            self.comparable(operand, value, item, node.operand, item)
            if row is None:
                value = _date_literal(self, value, operand, item)
            items.append(value.sql)
        sql = operand.sql.in_(items)
        return Typed(sa.not_(sql) if node.negated else sql, BOOLEAN, ranked=operand.ranked,
                     uses_tier=operand.uses_tier)

    def _between(self, node: s.Between, polarity, row) -> Typed:
        if isinstance(node.low, s.Number) and isinstance(node.high, s.Number) and node.low.value > node.high.value:
            raise self.error(_("'between' takes the lower bound first: between %(low)s and %(high)s",
                               low=_number_text(node.high.value), high=_number_text(node.low.value)), node)
        low = s.Binary(node.pos, ">=", node.operand, node.low)
        high = s.Binary(node.pos, "<=", node.operand, node.high)
        return self._binary(s.Binary(node.pos, "and", low, high), polarity, row)

    def _isnull(self, node: s.IsNull, polarity, row) -> Typed:
        operand = self.expression(node.operand, polarity, row)
        sql = operand.sql.is_not(None) if node.negated else operand.sql.is_(None)
        return Typed(sql, BOOLEAN, ranked=operand.ranked, uses_tier=operand.uses_tier)

    def expect(self, node: s.Node, kind: str, polarity: int, row, context: str) -> Typed:
        result = self.expression(node, polarity, row)
        if result.kind != kind:
            raise self.error(_("%(context)s needs a %(kind)s, but %(value)s is a %(actual)s", context=context,
                               kind=kind_name(kind), value=_described(result), actual=kind_name(result.kind)), node)
        return result

    # -- functions -------------------------------------------------------

    def _call(self, node: s.Call, polarity, row) -> Typed:
        name = node.function
        if name not in FUNCTIONS:
            raise self.error(_("unknown function '%(name)s'%(suggestion)s", name=name,
                               suggestion=close_matches(name, FUNCTIONS)), node)
        if row is not None and name not in ("abs", "coalesce"):
            raise self.error(_("%(name)s() cannot be used inside an aggregate's filter", name=name), node)
        from tierwise.tenants.rules import functions

        return getattr(functions, f"call_{name}" if name not in AGGREGATES else "call_aggregate")(
            self, node, polarity, row)


def _timestamp_literal(walk: "_Walk", value: Typed, other: Typed, node: s.Node) -> Typed:
    """A text literal compared with a row's timestamp (``resolved_at``) becomes a timestamp."""
    if other.kind != DATE or value.kind != STRING or not value.label.startswith('"'):
        return value
    text = value.label[1:-1]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise walk.error(_("'%(text)s' is not a date: write it as \"2024-06-01\"", text=text), node) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return Typed(sa.literal(moment, UTCDateTime()), DATE, value.label)


def _date_literal(walk: "_Walk", value: Typed, other: Typed, node: s.Node) -> Typed:
    """A text literal compared with a date field becomes that date in ISO form, read as imports read dates.

    Date fields hold ISO dates (``2024-10-05``), so ISO text compares in date order;
    ``"2024-6-1"`` as written would not (``"2024-10-05" < "2024-6-1"``), and ``"June"``
    is no date at all.
    """
    if other.kind != DATE or value.kind != STRING or not value.label.startswith('"'):
        return value
    from tierwise.tenants.imports.parsing import parse_date

    text = value.label[1:-1]
    parsed, bad = parse_date(pd.Series([text], dtype="string"))
    if bad.iloc[0] or parsed.iloc[0] is None:
        raise walk.error(_("'%(text)s' is not a date: write it as \"2024-06-01\"", text=text), node)
    day = parsed.iloc[0].isoformat()
    return Typed(sa.literal(day, sa.String()), DATE, f'"{day}"')


def _row_column(source: str, name: str) -> sa.ColumnElement:
    from tierwise.tenants.activity import Activity
    from tierwise.tenants.interactions import Interaction

    table = Activity.__table__ if source == ACTIVITY else Interaction.__table__
    return table.c[name]


def _described(value: Typed) -> str:
    return value.label or _("this expression")


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)

