"""A rule set: dimensions, their ordered tiers and one rule per tier, as plain data.

This is the shape stored in each version, exported as YAML and accepted from
the editor, the API and ``tierwise rules apply``.  ``RuleSetDefinition.from_dict``
validates the structure (errors name the path, e.g. ``value.vip.colour``);
``compile_definition`` then checks every rule against the tenant's fields.

Tiers are ordered from the highest rank down; the first tier whose rule matches
wins, and the last tier is the fallback with no rule, so every customer is
classified.  A dimension may ask for hysteresis: leave a tier only after
``evaluations`` consecutive evaluations say so, and/or only when the customer
is past the tier's numeric bounds by ``margin`` (a fraction of each bound).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l  # a refusal naming its field says so in any language (ValidationError)

from tierwise.errors import ValidationError
from tierwise.platform.i18n import listed, localised
from tierwise.tenants.rules.compiler import Atom, CompiledRule, Compiler, Vocabulary
from tierwise.tenants.rules.syntax import RuleError
from tierwise.tenants.rules.vocabulary import close_matches

BUILT_IN_DIMENSIONS = ("value", "high_risk", "opinion_risk")
CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
PALETTE = ("#7c3aed", "#2563eb", "#0891b2", "#16a34a", "#ca8a04", "#ea580c", "#dc2626", "#6b7280")
DEFAULT_MEASURE = "sum(amount, 365d)"
MAX_EVALUATIONS = 12
MAX_MARGIN = 0.5


@dataclass(frozen=True)
class TierSpec:
    code: str
    label_en: str
    label_zh: str
    colour: str
    rule: str | None  # None for the fallback tier

    def to_dict(self) -> dict:
        data = {"code": self.code, "label_en": self.label_en, "label_zh": self.label_zh, "colour": self.colour}
        if self.rule is None:
            data["fallback"] = True
        else:
            data["rule"] = self.rule
        return data


@dataclass(frozen=True)
class Hysteresis:
    evaluations: int = 1
    margin: float = 0.0

    @property
    def active(self) -> bool:
        return self.evaluations > 1 or self.margin > 0


@dataclass(frozen=True)
class DimensionSpec:
    code: str
    label_en: str
    label_zh: str
    description: str  # in English; ``description_zh`` in Chinese: each stands in for the other when missing
    tiers: tuple[TierSpec, ...]
    hysteresis: Hysteresis = Hysteresis()
    description_zh: str = ""

    @property
    def fallback(self) -> TierSpec:
        return self.tiers[-1]

    def rank(self, tier_code: str) -> int | None:
        """0 for the highest tier; None for a code this dimension does not have."""
        return next((i for i, t in enumerate(self.tiers) if t.code == tier_code), None)

    def describe(self, locale) -> str:
        """The description in the reader's language, or in the other one when only that was written."""
        return localised(self.description, self.description_zh, str(locale or ""))

    def to_dict(self) -> dict:
        data = {"code": self.code, "label_en": self.label_en, "label_zh": self.label_zh}
        if self.description:
            data["description"] = self.description
        if self.description_zh:
            data["description_zh"] = self.description_zh
        if self.hysteresis.active:
            data["hysteresis"] = asdict(self.hysteresis)
        data["tiers"] = [t.to_dict() for t in self.tiers]
        return data


@dataclass(frozen=True)
class RuleSetDefinition:
    dimensions: tuple[DimensionSpec, ...]
    value_measure: str = DEFAULT_MEASURE

    def dimension(self, code: str) -> DimensionSpec | None:
        return next((d for d in self.dimensions if d.code == code), None)

    def to_dict(self) -> dict:
        return {"value_measure": self.value_measure, "dimensions": [d.to_dict() for d in self.dimensions]}

    @classmethod
    def from_dict(cls, data) -> "RuleSetDefinition":
        _mapping(data, None, {"value_measure", "dimensions"})
        dimensions = data.get("dimensions")
        if not isinstance(dimensions, list) or not dimensions:
            raise ValidationError(_("a rule set needs a list of dimensions"), field="dimensions")
        parsed = tuple(_dimension(item, i) for i, item in enumerate(dimensions))
        codes = [d.code for d in parsed]
        for code in codes:
            if codes.count(code) > 1:
                raise ValidationError(_l("dimension '%(code)s' is defined twice", code=code), field=code)
        missing = [code for code in BUILT_IN_DIMENSIONS if code not in codes]
        if missing:
            raise ValidationError(_("the built-in dimensions must be present; missing: %(missing)s",
                                    missing=listed(missing)), field="dimensions")
        measure = data.get("value_measure", DEFAULT_MEASURE)
        if not isinstance(measure, str) or not measure.strip():
            raise ValidationError(_("must be a numeric expression such as sum(amount, 365d)"), field="value_measure")
        return cls(parsed, measure.strip())


def _mapping(data, where: str | None, allowed: set[str]) -> None:
    """``data`` is a mapping of ``allowed`` keys, at ``where`` (None: the rule set itself, whose keys are
    paths of their own, ``dimensions``, as the editor, the YAML file and the API's ``definition`` hold them)."""
    if not isinstance(data, dict):
        if where is None:
            raise ValidationError(_("rule set must be a mapping of keys to values"))
        raise ValidationError(_("%(where)s must be a mapping of keys to values", where=where), field=where)
    for key in data:
        if key in allowed:
            continue
        suggestion, choices = close_matches(str(key), allowed), listed(sorted(allowed))
        if where is None:
            raise ValidationError(_l("unknown key '%(key)s'%(suggestion)s (allowed: %(allowed)s)", key=key,
                                     suggestion=suggestion, allowed=choices), field=str(key))
        raise ValidationError(_l("unknown key '%(key)s' in %(where)s%(suggestion)s (allowed: %(allowed)s)", key=key,
                                 where=where, suggestion=suggestion, allowed=choices), field=f"{where}.{key}")


def _code(value, where: str) -> str:
    if not isinstance(value, str) or not CODE.match(value):
        raise ValidationError(_("a code must start with a lowercase letter and use only a-z, 0-9 and _ "
                                "(at most 32)"), field=where)
    return value


def _text(data: dict, key: str, where: str, default: str, limit: int = 100) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationError(_("must be text of at most %(limit)s characters", limit=limit), field=f"{where}.{key}")
    return value.strip() or default


def _dimension(data, index: int) -> DimensionSpec:
    _mapping(data, f"dimensions[{index}]",
             {"code", "label_en", "label_zh", "description", "description_zh", "hysteresis", "tiers"})
    code = _code(data.get("code"), f"dimensions[{index}].code")
    tiers = data.get("tiers")
    if not isinstance(tiers, list) or len(tiers) < 2:
        raise ValidationError(_("a dimension needs at least one tier with a rule and a fallback tier"),
                              field=f"{code}.tiers")
    parsed = tuple(_tier(item, code, i, last=i == len(tiers) - 1) for i, item in enumerate(tiers))
    seen: set[str] = set()
    for tier in parsed:
        if tier.code in seen:
            raise ValidationError(_l("tier '%(code)s' appears twice in dimension '%(dimension)s'", code=tier.code,
                                     dimension=code), field=f"{code}.{tier.code}")
        seen.add(tier.code)
    return DimensionSpec(code, _text(data, "label_en", code, code), _text(data, "label_zh", code, code),
                         _text(data, "description", code, "", limit=1000), parsed,
                         _hysteresis(data.get("hysteresis"), code),
                         _text(data, "description_zh", code, "", limit=1000))


def _tier(data, dimension: str, index: int, *, last: bool) -> TierSpec:
    where = f"{dimension}.tiers[{index}]"
    _mapping(data, where, {"code", "label_en", "label_zh", "colour", "rule", "fallback"})
    code = _code(data.get("code"), f"{where}.code")
    where = f"{dimension}.{code}"
    colour = data.get("colour", PALETTE[index % len(PALETTE)])
    if not isinstance(colour, str) or not COLOUR.match(colour):
        raise ValidationError(_("a colour is written #rrggbb"), field=f"{where}.colour")
    rule = data.get("rule")
    fallback = data.get("fallback", False)
    if last:
        if rule not in (None, "") or fallback is False and "fallback" in data:
            raise ValidationError(_("the last tier is the fallback: it takes every customer no other tier "
                                    "matched, so it has no rule"), field=f"{where}.rule")
        rule = None
    else:
        if fallback:
            raise ValidationError(_("only the last tier can be the fallback"), field=f"{where}.fallback")
        if not isinstance(rule, str) or not rule.strip():
            raise ValidationError(_("every tier but the last needs a rule"), field=f"{where}.rule")
        rule = rule.strip()
        if len(rule) > 2000:
            raise ValidationError(_("a rule may be at most 2000 characters"), field=f"{where}.rule")
    return TierSpec(code, _text(data, "label_en", where, code), _text(data, "label_zh", where, code), colour, rule)


def _hysteresis(data, dimension: str) -> Hysteresis:
    if data is None:
        return Hysteresis()
    where = f"{dimension}.hysteresis"
    _mapping(data, where, {"evaluations", "margin"})
    evaluations = data.get("evaluations", 1)
    margin = data.get("margin", 0)
    if not isinstance(evaluations, int) or isinstance(evaluations, bool) or not 1 <= evaluations <= MAX_EVALUATIONS:
        raise ValidationError(_("must be a whole number from 1 to %(max)s", max=MAX_EVALUATIONS),
                              field=f"{where}.evaluations")
    if not isinstance(margin, (int, float)) or isinstance(margin, bool) or not 0 <= margin <= MAX_MARGIN:
        raise ValidationError(_("must be a fraction from 0 to %(max)s (0.1 is 10%%)", max=MAX_MARGIN),
                              field=f"{where}.margin")
    return Hysteresis(evaluations, float(margin))


# -- compiling against the tenant's fields ------------------------------------

@dataclass
class CompiledDimension:
    spec: DimensionSpec
    rules: list[CompiledRule]  # one per tier but the fallback
    depends_on: set[str] = field(default_factory=set)

    def atoms(self) -> list[Atom]:
        """Every value the dimension's rules look at: what a fallback assignment's reason shows."""
        seen: dict[str, Atom] = {}
        for rule in self.rules:
            for atom in rule.atoms:
                seen.setdefault(atom.column, atom)
        return list(seen.values())


@dataclass
class Plan:
    """A compiled rule set: dimensions in evaluation order, and the atoms they share."""

    definition: RuleSetDefinition
    compiler: Compiler
    dimensions: list[CompiledDimension]
    measure: object  # SQL expression of the value measure
    measure_atoms: list[Atom]


def compile_definition(definition: RuleSetDefinition, fields: dict[str, str],
                       categories: dict[str, tuple[str, ...]]) -> Plan:
    """Check and compile every rule; RuleError names the dimension, tier and position.

    Every rule is checked before anything is refused: the first bad one is raised
    with the others in its ``more``, so an admin who broke three rules sees three
    problems at once instead of one per attempt.
    """
    vocabulary = Vocabulary(fields, categories, {d.code: tuple(t.code for t in d.tiers) for d in definition.dimensions})
    compiler = Compiler(vocabulary)
    compiled: dict[str, CompiledDimension] = {}
    problems: list[RuleError] = []
    for dimension in definition.dimensions:
        rules = []
        for tier in dimension.tiers[:-1]:
            try:
                rules.append(compiler.compile_rule(tier.rule, margin=dimension.hysteresis.margin))
            except RuleError as error:
                problems.append(error.located(field=f"{dimension.code}.{tier.code}.rule", expression=tier.rule))
        depends = {a.detail[0] for r in rules for a in r.atoms if a.origin == "tier"}
        if dimension.code in depends and not problems:
            raise ValidationError(_("a dimension's rules cannot use its own tier"), field=f"{dimension.code}.tiers")
        compiled[dimension.code] = CompiledDimension(dimension, rules, depends)
    try:
        measure, measure_atoms = compiler.compile_measure(definition.value_measure)
    except RuleError as error:
        problems.append(error.located(field="value_measure", expression=definition.value_measure))
    if problems:
        first, first.more = problems[0], problems[1:]
        raise first
    return Plan(definition, compiler, _evaluation_order(compiled), measure, measure_atoms)


def _evaluation_order(dimensions: dict[str, CompiledDimension]) -> list[CompiledDimension]:
    """Dimensions after the ones whose tiers they use; a cycle is an error."""
    ordered: list[CompiledDimension] = []
    state: dict[str, str] = {}

    def visit(code: str, path: list[str]) -> None:
        if state.get(code) == "done":
            return
        if state.get(code) == "visiting":
            cycle = " -> ".join(path[path.index(code):] + [code])
            raise ValidationError(_("dimensions use each other's tiers in a cycle: %(cycle)s", cycle=cycle), field=code)
        state[code] = "visiting"
        for dependency in sorted(dimensions[code].depends_on):
            visit(dependency, path + [code])
        state[code] = "done"
        ordered.append(dimensions[code])

    for code in dimensions:
        visit(code, [])
    return ordered
