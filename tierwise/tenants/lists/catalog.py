"""The built-in lists an RM opens each morning, and the tenant's settings that shape them.

- ``vip``: customers in the tenant's VIP tiers of the ``value`` dimension;
- ``high_risk`` and ``opinion_risk``: any tier of that dimension but its fallback;
- ``vip_at_risk``: VIPs whose churn probability is at least the tenant's threshold;
- ``newly_high_risk`` and ``value_down``: the moves of the last 7 days (into a
  high-risk tier or up to a more severe one; down a value tier), each customer
  by its latest move (``query.CHANGE_WINDOW``);
- ``at_risk``: churn probability at or above the threshold, whatever the tier;
- ``all``: every customer the user may see.

A closed account (``status = 'closed'``) is on none of them but ``opinion_risk``
and ``all`` (``KEEP_CLOSED``): it keeps its tiers, since every customer is
tiered, but there is no value to keep or churn to prevent; a complaint made to
the regulator about a closed account is still the company's to answer.

Which value tiers count as VIP is a tenant setting (``settings["lists"]``), since
"VIP" means the top two tiers to a power utility and three to a bank; until an
admin sets it, the industry's default applies, else the value dimension's top tier.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from tierwise.errors import NotFoundError, ValidationError
from tierwise.platform import audit
from tierwise.platform.db import db
from tierwise.platform.i18n import listed
from tierwise.tenants.rules.definition import DimensionSpec, RuleSetDefinition
from tierwise.tenants.rules.versions import definition_in_force

DEFAULT_AT_RISK = 0.5
DEFAULT_VIP_TIERS = {
    "power_utility": ("key", "important"),
    "bank": ("private_banking", "wealth_centre", "vip_counter"),
    "pharma_distributor": ("a",),
}


@dataclass(frozen=True)
class BuiltInList:
    name: str
    label_en: str
    label_zh: str
    description_en: str
    description_zh: str

    def label(self, locale: str | None) -> str:
        return self.label_zh if (locale or "").startswith("zh") else self.label_en

    def description(self, locale: str | None) -> str:
        return self.description_zh if (locale or "").startswith("zh") else self.description_en


# Names that no industry template's dimension uses: the bank's high-risk dimension is 流失风险 (attrition
# risk), so the churn lists are 流失预警 (churn warning), lest a list and a column share a name.
BUILT_IN = {spec.name: spec for spec in (
    BuiltInList("vip", "VIP", "贵宾客户", "Customers in the VIP tiers of the value dimension.",
                "价值维度中贵宾等级的客户。"),
    BuiltInList("high_risk", "High-risk", "高危客户",
                "Customers in any high-risk tier (every tier but the fallback).", "高危维度中除兜底等级外的客户。"),
    BuiltInList("opinion_risk", "Opinion-risk watchlist", "舆情风险关注",
                "Customers in any public-opinion-risk tier (every tier but the fallback).",
                "舆情风险维度中除兜底等级外的客户。"),
    BuiltInList("vip_at_risk", "VIP at risk", "贵宾流失预警",
                "VIPs whose churn probability is at or above the tenant's threshold.", "流失概率达到阈值的贵宾客户。"),
    BuiltInList("newly_high_risk", "Newly high-risk", "新增高危",
                "Customers who moved into a high-risk tier, or up to a more severe one, in the last 7 days.",
                "近7天新进入高危等级或升至更高风险等级的客户。"),
    BuiltInList("value_down", "Moved down a value tier", "价值等级下降",
                "Customers who moved down the value dimension in the last 7 days.", "近7天价值等级下降的客户。"),
    BuiltInList("at_risk", "At risk of churn", "流失预警",
                "Customers whose churn probability is at or above the tenant's threshold.", "流失概率达到阈值的客户。"),
    BuiltInList("all", "All customers", "全部客户", "Every customer you may see.", "您可查看的全部客户。"),
)}


KEEP_CLOSED = ("opinion_risk", "all")  # the lists a closed account stays on (see the module's docstring)

# The dimension each list is drawn from: a rule set without it leaves the list empty.
DRAWN_FROM = {"vip": "value", "vip_at_risk": "value", "value_down": "value", "high_risk": "high_risk",
              "newly_high_risk": "high_risk", "opinion_risk": "opinion_risk"}
# The lists of moves (``query.CHANGE_WINDOW``), by the dimension whose moves each lists.
CHANGE_LISTS = {name: DRAWN_FROM[name] for name in ("newly_high_risk", "value_down")}
CHURN_LISTS = ("vip_at_risk", "at_risk")  # lists a churn probability puts customers on
# Why a customer is on each list: the reason of the tier in this dimension (none for ``at_risk``).
EXPLAINED_BY = DRAWN_FROM | {"all": "value"}


def explained_by(name: str) -> tuple[str | None, bool]:
    """What explains a customer's place on list ``name``: (dimension whose reason to show, churn's top reason?).

    A list of one dimension is explained by that dimension's reason ("facility type: hospital").
    The lists of changes show the move in their own column, and the reason of the tier moved into
    beside it.  ``vip_at_risk`` is there for its value tier and its churn probability, so both
    reasons; ``at_risk`` for its churn probability alone.  ``all`` holds everyone: the value tier,
    the first thing an RM asks of a customer, explains where each one stands.
    """
    return EXPLAINED_BY.get(name), name in CHURN_LISTS


@dataclass(frozen=True)
class ListSettings:
    vip_tiers: tuple[str, ...]
    at_risk_probability: float
    configured: bool  # False: the defaults apply


# The lists of one risk dimension are called what the tenant's rule set calls that dimension: a bank's
# high-risk dimension is its attrition risk (流失风险) and a distributor's its credit risk (信用风险), and
# an RM opening "High-risk" to find credit risk had to know that.  Label and description, en and zh.
NAMED_AFTER_DIMENSION = {
    "high_risk": ("{en}", "{zh}", "Customers in any tier of “{en}” but its fallback.", "“{zh}”中除兜底等级外的客户。"),
    "newly_high_risk": ("Newly flagged: {en}", "新增{zh}",
                        "Customers who moved into a tier of “{en}”, or up to a more severe one, in the last 7 days.",
                        "近7天新进入“{zh}”等级或升至更严重等级的客户。"),
    "opinion_risk": ("{en} watchlist", "{zh}关注", "Customers in any tier of “{en}” but its fallback.",
                     "“{zh}”中除兜底等级外的客户。"),
}


def builtin(name: str, definition: RuleSetDefinition | None = None) -> BuiltInList:
    """Built-in list ``name`` as the current tenant calls it (``NAMED_AFTER_DIMENSION``), by the rule set
    in force unless ``definition`` is given; an unknown name is refused, naming the lists there are."""
    if name not in BUILT_IN:
        raise NotFoundError(_("unknown list '%(name)s' (choose one of: %(choices)s)", name=name,
                              choices=listed(BUILT_IN)), field="list")
    spec = BUILT_IN[name]
    if name not in NAMED_AFTER_DIMENSION or (definition is None and not _in_tenant()):
        return spec
    drawn_from = dimension(definition if definition is not None else rule_set(), DRAWN_FROM[name])
    if drawn_from is None:
        return spec
    words = {"en": drawn_from.label_en, "zh": drawn_from.label_zh}
    return BuiltInList(name, *(template.format(**words) for template in NAMED_AFTER_DIMENSION[name]))


def built_in_lists() -> list[BuiltInList]:
    """Every built-in list as the current tenant calls it, in the catalogue's order."""
    definition = rule_set()
    return [builtin(name, definition) for name in BUILT_IN]


def rule_set() -> RuleSetDefinition | None:
    return definition_in_force()


def dimension(definition: RuleSetDefinition | None, code: str) -> DimensionSpec | None:
    """The rule set's dimension ``code``; None without a rule set in force or without that dimension."""
    return None if definition is None else definition.dimension(code)


def _in_tenant() -> bool:
    from tierwise.platform import tenancy

    return tenancy.current_tenant_id() is not None


def _tenant():
    from tierwise.platform import tenancy
    from tierwise.platform.tenant import Tenant

    return db.session.get(Tenant, tenancy.current_tenant_id())


def settings(definition: RuleSetDefinition | None = None) -> ListSettings:
    """The tenant's list settings, the VIP tiers limited to those the value dimension has now."""
    tenant = _tenant()
    stored = (tenant.settings or {}).get("lists", {})
    value = dimension(definition if definition is not None else rule_set(), "value")
    codes = [t.code for t in value.tiers] if value else []
    wanted = stored.get("vip_tiers") or DEFAULT_VIP_TIERS.get(tenant.industry, ())
    vip = tuple(code for code in codes if code in wanted) or tuple(codes[:1])
    return ListSettings(vip_tiers=vip, at_risk_probability=float(stored.get("at_risk_probability", DEFAULT_AT_RISK)),
                        configured=bool(stored))


def update_settings(*, vip_tiers: list[str], at_risk_probability: float) -> ListSettings:
    """Set which value tiers are VIP and the churn threshold for the at-risk lists (audited)."""
    value = dimension(rule_set(), "value")
    known = [t.code for t in value.tiers] if value else []
    unknown = [code for code in vip_tiers if code not in known]
    if unknown:
        raise ValidationError(_("not a tier of the value dimension: %(unknown)s (its tiers: %(tiers)s)",
                                unknown=listed(unknown), tiers=listed(known) or _("none yet")),
                              field="vip_tiers")
    if not vip_tiers:
        raise ValidationError(_("choose at least one VIP tier"), field="vip_tiers")
    if not 0 < at_risk_probability < 1:
        raise ValidationError(_("must be a probability between 0 and 1"), field="at_risk_probability")
    tenant = _tenant()
    before = (tenant.settings or {}).get("lists", {})
    after = {"vip_tiers": list(dict.fromkeys(vip_tiers)),  # a tier named twice is stored, and audited, once
             "at_risk_probability": at_risk_probability}
    tenant.settings = {**(tenant.settings or {}), "lists": after}
    db.session.flush()
    audit.record("lists.settings_changed", target_type="tenant", target_id=tenant.id,
                 details={"before": before, "after": after})
    return settings()
