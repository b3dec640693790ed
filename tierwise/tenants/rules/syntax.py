"""The rule language's grammar: text to a tree, never ``eval``.

A rule is one boolean expression, e.g.::

    facility_type in ["hospital", "mine"] and outage_consequence >= 4
    count(complaints, 90d, channel in ["social_media", "news_media"]) >= 2
    top_share(sum(amount, 365d), 0.8)

Precedence, loosest first: ``or``, ``and``, ``not``, comparisons (``==``, ``!=``,
``<``, ``<=``, ``>``, ``>=``, ``in``, ``not in``, ``between ... and ...``, ``is
[not] null``), ``+ -``, ``* /``, unary minus.  Durations are a number glued to a
unit: ``90d``, ``12w``, ``6m`` (calendar months), ``1y``.  Every node remembers
its character offset so that errors can point at it.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from flask_babel import gettext as _

from tierwise.errors import ValidationError


class RuleError(ValidationError):
    """A rule that cannot be used, with the offset (0-based) of the offending text."""

    code = "invalid_rule"

    def __init__(self, message: str, *, position: int = 0, expression: str = "", field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.position = position
        self.expression = expression

    def located(self, *, field: str, expression: str) -> "RuleError":
        """The same error, told where the expression lives (e.g. ``value.vip``)."""
        return RuleError(self.message, position=self.position, expression=expression, field=field)

    def line_and_column(self) -> tuple[int, int]:
        """1-based line and column of the problem: a rule written over several lines (a YAML ``|`` block)."""
        before = self.expression[:self.position]
        return before.count("\n") + 1, self.position - (before.rfind("\n") + 1) + 1

    def pointer(self, wide: str = "  ") -> str:
        """The expression with a caret under the problem, on the line after the problem's line.

        Wide characters such as 中文 take ``wide`` (two columns in a terminal; the
        editor passes an ideographic space, which lines up in its font).
        """
        start = self.expression.rfind("\n", 0, self.position) + 1
        end = self.expression.find("\n", self.position)
        end = len(self.expression) if end < 0 else end
        lead = "".join(wide if unicodedata.east_asian_width(c) in "WF" else " "
                       for c in self.expression[start:self.position])
        caret = f"{self.expression[:end]}\n{lead}^"
        return caret + self.expression[end:]

    def __str__(self) -> str:
        line, column = self.line_and_column()
        if "\n" not in self.expression:
            column = self.position + 1
            if self.field:
                return _("field '%(field)s', column %(column)s: %(message)s", field=self.field, column=column,
                         message=self.message)
            return _("column %(column)s: %(message)s", column=column, message=self.message)
        if self.field:
            return _("field '%(field)s', line %(line)s, column %(column)s: %(message)s", field=self.field,
                     line=line, column=column, message=self.message)
        return _("line %(line)s, column %(column)s: %(message)s", line=line, column=column, message=self.message)


# -- the tree ---------------------------------------------------------------

@dataclass(frozen=True)
class Node:
    pos: int


@dataclass(frozen=True)
class Number(Node):
    value: float


@dataclass(frozen=True)
class String(Node):
    value: str


@dataclass(frozen=True)
class Boolean(Node):
    value: bool


@dataclass(frozen=True)
class Null(Node):
    pass


@dataclass(frozen=True)
class Duration(Node):
    amount: int
    unit: str  # d, w, m, y

    def text(self) -> str:
        return f"{self.amount}{self.unit}"


@dataclass(frozen=True)
class Name(Node):
    name: str


@dataclass(frozen=True)
class ListOf(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Call(Node):
    function: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Unary(Node):
    op: str  # "-" or "not"
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str  # + - * / == != < <= > >= and or
    left: Node
    right: Node


@dataclass(frozen=True)
class In(Node):
    operand: Node
    items: ListOf
    negated: bool = False


@dataclass(frozen=True)
class Between(Node):
    operand: Node
    low: Node
    high: Node


@dataclass(frozen=True)
class IsNull(Node):
    operand: Node
    negated: bool = False


# -- tokens -----------------------------------------------------------------

KEYWORDS = frozenset({"and", "or", "not", "in", "between", "is", "null", "true", "false"})
COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
DURATION_UNITS = frozenset("dwmy")
UNIT_DAYS = {"d": 1, "w": 7, "m": 31, "y": 366}  # the longest each unit can be
# A window reaches back at most a century: "everything" written as 9999y would start before the calendar does.
MAX_WINDOW_YEARS = 100

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d[\d_]*(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?)(?P<unit>[a-zA-Z_]\w*)?
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<name>[^\W\d]\w*)
  | (?P<op>==|!=|<=|>=|[<>+\-*/()\[\],])
  | (?P<equals>=)
""", re.VERBOSE | re.UNICODE)


@dataclass(frozen=True)
class Token:
    kind: str  # number, duration, string, name, keyword, op, end
    text: str
    pos: int
    value: object = None


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos] in "\"'":
                raise RuleError(_("this text has no closing quote"), position=pos, expression=text)
            raise RuleError(_("unexpected character '%(character)s'", character=text[pos]), position=pos,
                            expression=text)
        kind = match.lastgroup if match.lastgroup != "unit" else "number"
        if match.group("number") is not None:
            tokens.append(_number_token(match, text))
        elif kind == "string":
            raw = match.group("string")
            tokens.append(Token("string", raw, pos, re.sub(r"\\(.)", r"\1", raw[1:-1])))
        elif kind == "name":
            word = match.group("name")
            tokens.append(Token("keyword" if word.lower() in KEYWORDS else "name",
                                word.lower() if word.lower() in KEYWORDS else word, pos))
        elif kind == "op":
            tokens.append(Token("op", match.group("op"), pos))
        elif kind == "equals":
            raise RuleError(_("use '==' to compare"), position=pos, expression=text)
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _number_token(match: re.Match, text: str) -> Token:
    digits, unit, pos = match.group("number"), match.group("unit"), match.start()
    value = float(digits.replace("_", ""))
    if unit is None:
        return Token("number", digits, pos, value)
    if unit.lower() not in DURATION_UNITS or not value.is_integer() or value <= 0:
        raise RuleError(_("'%(text)s' is not a duration (write e.g. 90d, 12w, 6m or 1y)", text=digits + unit),
                        position=pos, expression=text)
    if value * UNIT_DAYS[unit.lower()] > MAX_WINDOW_YEARS * UNIT_DAYS["y"]:
        raise RuleError(_("'%(text)s' is longer than a window may be: at most %(years)s years "
                          "(for all of the history, write %(years)sy)", text=digits + unit, years=MAX_WINDOW_YEARS),
                        position=pos, expression=text)
    return Token("duration", digits + unit, pos, (int(value), unit.lower()))


# -- parser -----------------------------------------------------------------

@dataclass
class Parser:
    text: str
    tokens: list[Token] = field(default_factory=list)
    index: int = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def error(self, message: str, token: Token | None = None) -> RuleError:
        return RuleError(message, position=(token or self.current).pos, expression=self.text)

    def take(self) -> Token:
        token = self.current
        self.index += 1
        return token

    def accept(self, kind: str, text: str) -> Token | None:
        if self.current.kind == kind and self.current.text == text:
            return self.take()
        return None

    def expect(self, kind: str, text: str, what: str) -> Token:
        token = self.accept(kind, text)
        if token is None:
            if self.current.text:
                raise self.error(_("expected %(what)s, found '%(found)s'", what=what, found=self.current.text))
            raise self.error(_("expected %(what)s", what=what))
        return token

    # Grammar, loosest binding first.

    def parse(self) -> Node:
        if self.current.kind == "end":
            raise self.error(_("the rule is empty"))
        node = self.disjunction()
        if self.current.kind != "end":
            raise self.error(self._left_over())
        return node

    def _left_over(self) -> str:
        """Why a complete expression is followed by more text."""
        token, before = self.current, self.tokens[self.index - 1]
        if token.text == ")":
            return _("unexpected ')': no '(' before it is still open")
        if token.text == "," and before.kind == "number":
            return _("unexpected ',': write numbers without thousands separators, e.g. 1000000 or 1_000_000")
        return _("unexpected '%(token)s' (missing 'and' / 'or'?)", token=token.text)

    def disjunction(self) -> Node:
        node = self.conjunction()
        while (token := self.accept("keyword", "or")) is not None:
            node = Binary(token.pos, "or", node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.negation()
        while (token := self.accept("keyword", "and")) is not None:
            node = Binary(token.pos, "and", node, self.negation())
        return node

    def negation(self) -> Node:
        if (token := self.accept("keyword", "not")) is not None:
            return Unary(token.pos, "not", self.negation())
        return self.comparison()

    def comparison(self) -> Node:
        left = self.additive()
        token = self.current
        if token.kind == "op" and token.text in COMPARISONS:
            self.take()
            return Binary(token.pos, token.text, left, self.additive())
        if self.accept("keyword", "in"):
            return In(token.pos, left, self.list_literal())
        if token.kind == "keyword" and token.text == "not" and self.tokens[self.index + 1].text == "in":
            self.index += 2
            return In(token.pos, left, self.list_literal(), negated=True)
        if self.accept("keyword", "between"):
            low = self.additive()
            self.expect("keyword", "and", _("'and' between the two bounds"))
            return Between(token.pos, left, low, self.additive())
        if self.accept("keyword", "is"):
            negated = self.accept("keyword", "not") is not None
            self.expect("keyword", "null", _("'null' after 'is'"))
            return IsNull(token.pos, left, negated)
        return left

    def additive(self) -> Node:
        node = self.multiplicative()
        while self.current.kind == "op" and self.current.text in ("+", "-"):
            token = self.take()
            node = Binary(token.pos, token.text, node, self.multiplicative())
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while self.current.kind == "op" and self.current.text in ("*", "/"):
            token = self.take()
            node = Binary(token.pos, token.text, node, self.unary())
        return node

    def unary(self) -> Node:
        if (token := self.accept("op", "-")) is not None:
            operand = self.unary()
            if isinstance(operand, Number):
                return Number(token.pos, -operand.value)
            return Unary(token.pos, "-", operand)
        return self.primary()

    def primary(self) -> Node:
        token = self.current
        if token.kind == "number":
            self.take()
            return Number(token.pos, token.value)
        if token.kind == "duration":
            self.take()
            return Duration(token.pos, *token.value)
        if token.kind == "string":
            self.take()
            return String(token.pos, token.value)
        if token.kind == "keyword" and token.text in ("true", "false", "null"):
            self.take()
            return Null(token.pos) if token.text == "null" else Boolean(token.pos, token.text == "true")
        if token.kind == "name":
            self.take()
            if self.accept("op", "("):
                return Call(token.pos, token.text, self.arguments())
            return Name(token.pos, token.text)
        if self.accept("op", "("):
            node = self.disjunction()
            self.expect("op", ")", "')'")
            return node
        if token.kind == "op" and token.text == "[":
            return self.list_literal()
        if token.kind == "end":
            raise self.error(_("the rule ends too early"))
        raise self.error(_("unexpected '%(token)s'", token=token.text))

    def arguments(self) -> tuple[Node, ...]:
        args: list[Node] = []
        if self.accept("op", ")"):
            return ()
        while True:
            args.append(self.disjunction())
            if self.accept("op", ")"):
                return tuple(args)
            self.expect("op", ",", _("',' or ')'"))

    def list_literal(self) -> ListOf:
        start = self.expect("op", "[", _("'[' to start a list"))
        items: list[Node] = []
        if not self.accept("op", "]"):
            while True:
                items.append(self.additive())
                if self.accept("op", "]"):
                    break
                self.expect("op", ",", _("',' or ']'"))
        return ListOf(start.pos, tuple(items))


def parse(text: str) -> Node:
    """The tree of one rule expression; RuleError with the position on bad syntax."""
    if not isinstance(text, str):
        raise RuleError(_("a rule must be text"))
    try:
        return Parser(text, tokenize(text)).parse()
    except RecursionError:
        raise RuleError(_("the rule is nested too deeply; split it into simpler tiers"), expression=text) from None


def unparse(node: Node) -> str:
    """Canonical text of a tree: how aggregates and rankings are named in reasons."""
    match node:
        case Number(value=value):
            return str(int(value)) if float(value).is_integer() else repr(value)
        case String(value=value):
            return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        case Boolean(value=value):
            return "true" if value else "false"
        case Null():
            return "null"
        case Duration():
            return node.text()
        case Name(name=name):
            return name
        case ListOf(items=items):
            return "[" + ", ".join(unparse(i) for i in items) + "]"
        case Call(function=function, args=args):
            return f"{function}(" + ", ".join(unparse(a) for a in args) + ")"
        case Unary(op="not", operand=operand):
            return f"not {_wrapped(operand)}"
        case Unary(operand=operand):
            return f"-{_wrapped(operand)}"
        case Binary(op=op, left=left, right=right):
            return f"{_wrapped(left)} {op} {_wrapped(right)}"
        case In(operand=operand, items=items, negated=negated):
            return f"{_wrapped(operand)} {'not in' if negated else 'in'} {unparse(items)}"
        case Between(operand=operand, low=low, high=high):
            return f"{_wrapped(operand)} between {_wrapped(low)} and {_wrapped(high)}"
        case IsNull(operand=operand, negated=negated):
            return f"{_wrapped(operand)} is {'not ' if negated else ''}null"
    raise TypeError(f"cannot unparse {node!r}")


def _wrapped(node: Node) -> str:
    text = unparse(node)
    return f"({text})" if isinstance(node, (Binary, In, Between, IsNull)) or (
        isinstance(node, Unary) and node.op == "not") else text
