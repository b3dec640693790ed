"""What narrows a list: tiers per dimension, score ranges, branch, RM, a search text, a rule-language condition.

Filters arrive as query parameters (pages, the API), as JSON (saved lists, API
bodies) and are stored with saved lists and export records; every bad value is
a ValidationError naming the filter.  A query string is text, so ``from_args``
reads its numbers; JSON has numbers of its own, so ``from_dict`` takes only
those (``"0.5"`` in a body is refused, as a boolean is).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l  # a refusal naming its field says so in any language (ValidationError)

from tierwise.errors import ValidationError
from tierwise.platform.i18n import listed, localised
from tierwise.platform.numbers import readable_number, readable_percent
from tierwise.tenants.lists import catalog
from tierwise.tenants.rules.definition import RuleSetDefinition

RANGES = ("churn_min", "churn_max", "value_min", "value_max")
PROBABILITIES = ("churn_min", "churn_max")  # churn probabilities lie in 0-1


@dataclass(frozen=True)
class ListFilters:
    """What narrows a list: tiers per dimension, score ranges, branch, RM, a search text."""

    tiers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    churn_min: float | None = None
    churn_max: float | None = None
    value_min: float | None = None
    value_max: float | None = None
    branch_id: uuid.UUID | None = None
    rm_user_id: uuid.UUID | None = None
    search: str = ""
    condition: str = ""  # in the rule language, on fields and scores (``tierwise.tenants.lists.conditions``)

    @property
    def narrows(self) -> bool:
        """Whether any filter is set (a list page then counts the customers that match, not the list)."""
        return self.to_dict() != {"tiers": {}}

    def to_dict(self) -> dict:
        data = {"tiers": {d: list(codes) for d, codes in self.tiers.items() if codes}}
        data |= {key: getattr(self, key) for key in RANGES if getattr(self, key) is not None}
        data |= {key: str(getattr(self, key)) for key in ("branch_id", "rm_user_id") if getattr(self, key)}
        return data | {key: getattr(self, key) for key in ("search", "condition") if getattr(self, key)}

    @classmethod
    def from_dict(cls, data: dict, *, percent: bool = False) -> "ListFilters":
        """From a saved list or an API body; bad values are ValidationErrors naming the filter.

        ``percent``: the churn bounds were typed in percent (a page's); errors then say them so.
        """
        if not isinstance(data, dict):
            raise ValidationError(_l("filters must be an object"), field="filters")
        unknown = set(data) - {"tiers", "branch_id", "rm_user_id", "search", "condition", *RANGES}
        if unknown:
            first = sorted(unknown)[0]
            raise ValidationError(_("unknown filter %(names)s", names=listed(sorted(unknown))), field=str(first))
        tiers = data.get("tiers") or {}
        if not isinstance(tiers, dict) or not all(isinstance(v, list) and all(isinstance(c, str) for c in v)
                                                  for v in tiers.values()):
            raise ValidationError(_l('tiers must map a dimension to a list of tier codes, e.g. {"value": ["vip"]}'),
                                  field="tiers")
        return cls(tiers={d: tuple(v) for d, v in tiers.items() if v}, **_ranges(data, percent=percent),
                   branch_id=_uuid(data.get("branch_id"), "branch_id"),
                   rm_user_id=_uuid(data.get("rm_user_id"), "rm_user_id"),
                   search=_text(data.get("search"), "search", 100),
                   condition=_text(data.get("condition"), "condition", 1000))

    @classmethod
    def from_args(cls, args, *, percent: bool = False) -> "ListFilters":
        """From query parameters: ``tier.<dimension>=a,b`` (or repeated), ``churn_min=0.3``, ...

        ``percent``: the churn bounds as the list pages show churn, in percent (``50`` or ``50%``);
        the API's are probabilities (0-1), as its rows give them.
        """
        tiers = {dimension: codes for dimension, codes in tiers_asked(args).items() if codes}
        data = {"tiers": tiers} | {key: args.get(key) for key in (*RANGES, "branch_id", "rm_user_id", "search", "condition")
                                    if args.get(key) not in (None, "")}
        for key in RANGES:
            if key in data:
                data[key] = (probability_from_percent(data[key], key) if percent and key in PROBABILITIES
                             else _number_in_text(data[key], key))
        return cls.from_dict(data, percent=percent)

    def to_args(self, *, percent: bool = False) -> dict[str, str]:
        """The query parameters ``from_args`` reads back (with the same ``percent``): a saved list's links."""
        args = {f"tier.{d}": ",".join(codes) for d, codes in self.tiers.items()}
        for key, value in self.to_dict().items():
            if key != "tiers":
                args[key] = format(value * 100, ".10g") if percent and key in PROBABILITIES else str(value)
        return args

    def check(self, definition: RuleSetDefinition | None) -> None:
        """Tier filters must name dimensions and tiers the rule set in force has; a branch or an RM, one
        of the tenant's (another tenant's id is as unknown as a made-up one: the lookups are tenant-scoped)."""
        from tierwise.platform.branches import Branch
        from tierwise.platform.db import db
        from tierwise.platform.users import User

        for key, model in (("branch_id", Branch), ("rm_user_id", User)):
            wanted = getattr(self, key)
            if wanted is not None and db.session.scalar(sa.select(model.id).where(model.id == wanted)) is None:
                raise ValidationError(_("no branch with this id") if model is Branch else _("no user with this id"),
                                      field=key)
        for code, tiers in self.tiers.items():
            dimension = catalog.dimension(definition, code)
            if dimension is None:
                raise ValidationError(_l("the rule set in force has no dimension '%(dimension)s'", dimension=code),
                                      field=f"tier.{code}")
            unknown = [t for t in tiers if t not in {tier.code for tier in dimension.tiers}]
            if unknown:
                raise ValidationError(ngettext(
                    "%(dimension)s has no tier %(unknown)s (tiers: %(tiers)s)",
                    "%(dimension)s has no tiers %(unknown)s (tiers: %(tiers)s)", len(unknown),
                    dimension=localised(dimension.label_en, dimension.label_zh, str(get_locale())),
                    unknown=listed(_("'%(code)s'", code=t) for t in unknown),
                    tiers=listed(t.code for t in dimension.tiers)), field=f"tier.{code}",
                    names_field=True)  # by the dimension's label


def place_in_object(field: str) -> str:
    """Where the object of filters (``to_dict``, an API body's ``filters``) holds the filter an error names
    as a query string names it: ``tier.value`` is its ``tiers.value``; any other filter is named alike in both."""
    return "tiers." + field.removeprefix("tier.") if field.startswith("tier.") else field


def tiers_asked(args) -> dict[str, list[str]]:
    """The tier codes query parameters ask for per dimension (``tier.<dimension>=a,b``, or repeated),
    as typed: a dimension asked for with no code maps to an empty list."""
    asked = {}
    for key in args:
        if key.startswith("tier."):
            values = args.getlist(key) if hasattr(args, "getlist") else [args[key]]
            asked[key[5:]] = [code.strip() for value in values for code in value.split(",") if code.strip()]
    return asked


def _ranges(data: dict, *, percent: bool = False) -> dict[str, float | None]:
    """The score ranges: numbers, probabilities within 0-1, no minimum above its maximum.

    A minimum above its maximum is said as they were typed: churn in percent on a page, a probability in the API.
    """
    ranges = {key: _number(data.get(key), key) for key in RANGES}
    for key in PROBABILITIES:
        if ranges[key] is not None and not 0 <= ranges[key] <= 1:
            raise ValidationError(_("must be a probability between 0 and 1, not %(value)s",
                                    value=format(ranges[key], "g")), field=key)
    for low, high in (("churn_min", "churn_max"), ("value_min", "value_max")):
        if ranges[low] is not None and ranges[high] is not None and ranges[low] > ranges[high]:
            said = readable_number if low not in PROBABILITIES else readable_percent if percent else _probability
            raise ValidationError(_("the minimum, %(value)s, is above the maximum, %(limit)s",
                                    value=said(ranges[low]), limit=said(ranges[high])), field=low)
    return ranges


def _probability(value: float) -> str:
    return format(value, "g")  # 0.0005 stays 0.0005 (a readable number would round it to 0)


def probability_from_percent(value, name: str) -> float:
    """A probability typed as a percentage, as pages show churn (``50``, ``50%``, ``12.5 %``), as 0-1."""
    number = _number_in_text(str(value).strip().removesuffix("%").strip(), name, typed=value)
    if not 0 <= number <= 100:
        raise ValidationError(_("must be a percentage between 0 and 100, not %(value)s", value=value), field=name)
    return number / 100


def _number(value, name: str) -> float | None:
    """A bound as JSON holds it: a number, or None for no bound.  Text is refused, as true and false are:
    a query string's text was read into numbers by ``from_args`` already."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(_("must be %(types)s", types=_("a number")), field=name)
    return _finite(value, name)


def _number_in_text(text: str, name: str, *, typed=None) -> float:
    """A number typed as text (a query string's, a form's); ``typed``: what was typed, if ``text`` is only
    part of it."""
    try:
        number = float(text)
    except (TypeError, ValueError):
        raise ValidationError(_("'%(value)s' is not a number", value=text if typed is None else typed),
                              field=name) from None
    return _finite(number, name)


def _finite(number: float, name: str) -> float:
    try:
        number = float(number)
    except OverflowError:  # a whole number past what a float holds
        number = float("inf")
    if number != number or number in (float("inf"), float("-inf")):
        raise ValidationError(_("must be a finite number"), field=name)
    return number


def _uuid(value, name: str) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationError(_("'%(value)s' is not an id", value=value), field=name) from None


def _text(value, name: str, limit: int) -> str:
    if value is not None and not isinstance(value, str):
        raise ValidationError(_("must be text"), field=name)
    text = "" if value is None else value.strip()
    if len(text) > limit or "\x00" in text:
        raise ValidationError(_("at most %(limit)s characters", limit=limit), field=name)
    return text
