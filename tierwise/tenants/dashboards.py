"""The dashboard's figures: where customers sit, who holds the value, what is at risk, what moved.

Every function takes ``visible`` (``policy.visible_customers(user)``), so an RM's
dashboard describes their own book (or branch) and an admin's the whole tenant;
each is a handful of set-based statements, never a loop over customers.

Value, for the Pareto figures, is *measured*: a customer's activity amount over
the 365 days up to the data's end (the tenant's latest activity), a customer
whose amounts net below zero counting as zero.  The share held by the top X% is
read from a running sum over customers ranked by that value (window functions,
on PostgreSQL and on SQLite alike), never assumed to follow an 80/20 law.
Churn and value at risk come from the latest model scores instead, and say so
when no model has scored.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l  # a refusal naming its field says so in any language (ValidationError)

from tierwise.errors import ValidationError
from tierwise.models.scores import CustomerScore
from tierwise.platform.db import db, one_snapshot, utcnow
from tierwise.platform.i18n import listed
from tierwise.platform.tenancy import current_tenant_id
from tierwise.tenants.activity import Activity, latest_known_activity_at
from tierwise.tenants.customers import Customer
from tierwise.tenants.rules.assignments import RetierRun, TierAssignment, TierChange
from tierwise.tenants.rules.definition import DimensionSpec, RuleSetDefinition
from tierwise.tenants.rules.distribution import DimensionDistribution, tier_distribution
from tierwise.tenants.rules.versions import current_version

VALUE_WINDOW_DAYS = 365
PARETO_PERCENTS = (1, 5, 10, 20, 50, 80, 100)
CURVE_POINTS = 50
DEFAULT_FLOW_DAYS = 30
MAX_FLOW_DAYS = 366
VALUE_DIMENSION = "value"


@dataclass(frozen=True)
class ParetoPoint:
    percent: float  # of the customers, ranked by value, highest first
    customers: int  # how many customers that is (the share is rounded up to whole customers)
    value_share: float | None  # of the total value; None when there is no value at all


@dataclass
class Pareto:
    customers: int
    total_value: float
    window_start: datetime | None  # None: the tenant has no activity yet
    window_end: datetime | None
    points: list[ParetoPoint] = field(default_factory=list)  # at PARETO_PERCENTS
    curve: list[ParetoPoint] = field(default_factory=list)  # from (0, 0) to (100, 1)


def _top(customers: int, percent: float) -> int:
    """How many customers make up the top ``percent``: rounded up, so the top 1% of 50 is one customer."""
    return max(1, -(-customers * int(percent * 100) // 10000))


def _value_per_customer(visible: sa.ColumnElement[bool], start: datetime | None, end: datetime | None):
    """One row per visible customer: its measured value (zero without activity in the window)."""
    tenant_id = current_tenant_id()
    in_window = sa.and_(Activity.tenant_id == tenant_id, Activity.customer_id == Customer.id,
                        Activity.occurred_at > start, Activity.occurred_at <= end) if end else sa.false()
    amount = sa.func.coalesce(sa.func.sum(Activity.amount), 0)
    return (sa.select(Customer.id.label("customer_id"), sa.case((amount > 0, amount), else_=0).label("value"))
            .select_from(Customer).outerjoin(Activity, in_window)
            .where(Customer.tenant_id == tenant_id, visible).group_by(Customer.id).subquery("valued"))


def pareto(visible: sa.ColumnElement[bool]) -> Pareto:
    """The measured share of value held by the top 1, 5, 10, 20, 50, 80, 100% of the visible customers."""
    customers = db.session.scalar(sa.select(sa.func.count()).select_from(Customer).where(visible)) or 0
    end = latest_known_activity_at()  # a row dated ahead (a typo for 2030) must not carry the year past today
    start = end - timedelta(days=VALUE_WINDOW_DAYS) if end else None
    result = Pareto(customers, 0.0, start, end)
    if not customers:
        return result
    wanted = {_top(customers, p) for p in PARETO_PERCENTS} | {
        _top(customers, 100 * i / CURVE_POINTS) for i in range(1, CURVE_POINTS + 1)}
    valued = _value_per_customer(visible, start, end)
    order = (valued.c.value.desc(), valued.c.customer_id)
    ranked = sa.select(sa.func.row_number().over(order_by=order).label("rank"),
                       sa.func.sum(valued.c.value).over(order_by=order, rows=(None, 0)).label("running"),
                       sa.func.sum(valued.c.value).over().label("total")).subquery("ranked")
    running: dict[int, float] = {}
    for rank, held, total in db.session.execute(
            sa.select(ranked.c.rank, ranked.c.running, ranked.c.total).where(ranked.c.rank.in_(sorted(wanted)))
            .execution_options(tenant_filtered=True)):
        running[rank], result.total_value = float(held or 0), float(total or 0)

    def point(percent: float) -> ParetoPoint:
        top = _top(customers, percent)
        share = running[top] / result.total_value if result.total_value > 0 else None
        return ParetoPoint(percent, top, share)

    result.points = [point(p) for p in PARETO_PERCENTS]
    result.curve = [ParetoPoint(0.0, 0, 0.0 if result.total_value > 0 else None)] + [
        point(100 * i / CURVE_POINTS) for i in range(1, CURVE_POINTS + 1)]
    return result


@dataclass
class TierRisk:
    tier: str | None  # None: customers without a tier in this dimension (or every customer, for the total)
    label_en: str
    label_zh: str
    colour: str
    customers: int
    scored: int  # customers with a churn probability
    churn_rate: float | None  # the mean churn probability of the scored customers
    predicted_value: float | None
    value_at_risk: float | None  # sum of predicted value × churn probability


@dataclass
class RiskByTier:
    dimension: str | None  # None when no rule set is in force: only the total is known
    label_en: str
    label_zh: str
    tiers: list[TierRisk]
    total: TierRisk


def chosen_dimension(definition: RuleSetDefinition | None, code: str | None) -> DimensionSpec | None:
    """The dimension asked for (the value dimension by default); ValidationError for one the rules lack."""
    if definition is None:
        return None
    found = definition.dimension(code or VALUE_DIMENSION)
    if found is None:
        codes = listed(d.code for d in definition.dimensions)
        raise ValidationError(_l("unknown dimension '%(dimension)s' (the rules have: %(codes)s)", dimension=code,
                                codes=codes), field="dimension")
    return found


def _risk(tier: str | None, labels: tuple[str, str, str], row) -> TierRisk:
    customers, scored, churn_sum, value, at_risk = row
    return TierRisk(tier, *labels, int(customers), int(scored), float(churn_sum) / scored if scored else None,
                    None if value is None else float(value), None if at_risk is None else float(at_risk))


def risk_by_tier(visible: sa.ColumnElement[bool], dimension: DimensionSpec | None) -> RiskByTier:
    """Customers, modelled churn rate and value at risk per tier of ``dimension`` (from the latest scores)."""
    tenant_id = current_tenant_id()
    tier = TierAssignment.tier if dimension else sa.null()
    query = (sa.select(tier, sa.func.count(Customer.id), sa.func.count(CustomerScore.churn_probability),
                       sa.func.sum(CustomerScore.churn_probability), sa.func.sum(CustomerScore.predicted_value),
                       sa.func.sum(CustomerScore.predicted_value * CustomerScore.churn_probability))
             .select_from(Customer)
             .outerjoin(CustomerScore, sa.and_(CustomerScore.tenant_id == tenant_id,
                                               CustomerScore.customer_id == Customer.id))
             .where(Customer.tenant_id == tenant_id, visible))
    if dimension:
        query = query.outerjoin(TierAssignment, sa.and_(
            TierAssignment.tenant_id == tenant_id, TierAssignment.customer_id == Customer.id,
            TierAssignment.dimension == dimension.code)).group_by(tier)
    rows = {row[0]: row[1:] for row in db.session.execute(query)}
    totals = [sum(row[i] or 0 for row in rows.values()) for i in range(5)]
    for i in (3, 4):  # a sum over no scores at all is unknown, not zero
        totals[i] = totals[i] if any(row[i] is not None for row in rows.values()) else None
    total = _risk(None, ("All customers", "全部客户", "#6b7280"), totals)
    if dimension is None:
        return RiskByTier(None, "", "", [], total)
    tiers = [_risk(t.code, (t.label_en, t.label_zh, t.colour), rows.get(t.code, (0, 0, None, None, None)))
             for t in dimension.tiers]
    known = {t.code for t in dimension.tiers}
    for code, row in rows.items():  # no tier yet (None), or a tier the rules no longer have
        if code not in known:
            tiers.append(_risk(code, (code or "Unclassified", code or "未分级", "#9ca3af"), row))
    return RiskByTier(dimension.code, dimension.label_en, dimension.label_zh, tiers, total)


@dataclass(frozen=True)
class Flow:
    from_tier: str | None  # None: the customer had no tier in this dimension before
    to_tier: str
    customers: int


@dataclass(frozen=True)
class TierName:
    code: str
    label_en: str
    label_zh: str


@dataclass
class DimensionFlows:
    dimension: str
    label_en: str
    label_zh: str
    tiers: list[TierName]  # highest rank first
    flows: list[Flow]
    moves: dict[str, int]  # up, down, new
    first_assignment: bool = False  # the period's retier gave everyone their first tier here (no moves)

    def customers(self, from_tier: str | None, to_tier: str) -> int:
        return next((f.customers for f in self.flows if f.from_tier == from_tier and f.to_tier == to_tier), 0)

    @property
    def sources(self) -> list[str | None]:
        """The from-tiers that occur, in rank order (None, no tier before, first)."""
        present = {f.from_tier for f in self.flows}
        return [code for code in [None, *(t.code for t in self.tiers)] if code in present]


@dataclass
class FlowPeriod:
    since: datetime | None
    retier_run_id: uuid.UUID | None  # the run whose changes are counted, by default the latest
    days: int | None  # or: every change in the last ``days`` days
    first_assigned: frozenset[str] = frozenset()  # dimensions the run assigned for the first time


def flow_period(days: int | None = None) -> FlowPeriod:
    """The period flows cover: the last ``days`` days if asked, else the latest successful retier's changes."""
    if days is not None:
        if not 1 <= days <= MAX_FLOW_DAYS:
            raise ValidationError(_l("days must be between 1 and %(max)s", max=MAX_FLOW_DAYS), field="days")
        return FlowPeriod(utcnow() - timedelta(days=days), None, days)
    run = db.session.execute(sa.select(RetierRun.id, RetierRun.started_at, RetierRun.changes, RetierRun.customers)
                             .where(RetierRun.status == "succeeded")
                             .order_by(RetierRun.started_at.desc()).limit(1)).first()
    if run is None:
        return FlowPeriod(utcnow() - timedelta(days=DEFAULT_FLOW_DAYS), None, DEFAULT_FLOW_DAYS)
    return FlowPeriod(run.started_at, run.id, None, first_assigned(run.changes, run.customers))


def first_assigned(changes: dict | None, customers: int | None) -> frozenset[str]:
    """The dimensions a run gave every customer a first tier in: its first assignment, recorded as no move.

    A dimension's first assignment is where its history starts (``retier.apply_changes``),
    so the dashboard says so instead of "no customer moved".  Every customer new marks it:
    a later run counts as new only the customers who arrived since.
    """
    return frozenset(code for code, counts in (changes or {}).items()
                     if customers and counts.get("new") == customers)


def tier_flows(visible: sa.ColumnElement[bool], period: FlowPeriod,
               definition: RuleSetDefinition | None) -> list[DimensionFlows]:
    """From-tier → to-tier counts per dimension among the visible customers' changes in ``period``."""
    tenant_id = current_tenant_id()
    in_period = (TierChange.retier_run_id == period.retier_run_id if period.retier_run_id
                 else TierChange.occurred_at >= period.since)
    rows = db.session.execute(
        sa.select(TierChange.dimension, TierChange.from_tier, TierChange.to_tier, TierChange.direction,
                  sa.func.count())
        .join(Customer, sa.and_(Customer.tenant_id == tenant_id, Customer.id == TierChange.customer_id))
        .where(TierChange.tenant_id == tenant_id, in_period, visible)
        .group_by(TierChange.dimension, TierChange.from_tier, TierChange.to_tier, TierChange.direction)).all()
    specs = {d.code: d for d in definition.dimensions} if definition else {}
    found: dict[str, DimensionFlows] = {}
    for code in list(specs) + sorted({row[0] for row in rows} - set(specs)):
        spec = specs.get(code)
        tiers = [TierName(t.code, t.label_en, t.label_zh) for t in spec.tiers] if spec else []
        found[code] = DimensionFlows(code, spec.label_en if spec else code, spec.label_zh if spec else code,
                                     tiers, [], dict.fromkeys(("up", "down", "new"), 0),
                                     code in period.first_assigned)
    for code, source, target, direction, count in rows:
        flows = found[code]
        flows.flows.append(Flow(source, target, count))
        flows.moves[direction] = flows.moves.get(direction, 0) + count
        for tier in (source, target):  # a tier the rules in force no longer have still shows
            if tier is not None and tier not in {t.code for t in flows.tiers}:
                flows.tiers.append(TierName(tier, tier, tier))
    return list(found.values())


@dataclass
class CustomerFigures:
    """The customer-facing half of the dashboard, all for the same visible customers."""

    definition: RuleSetDefinition | None
    distribution: list[DimensionDistribution]
    pareto: Pareto
    risk: RiskByTier
    period: FlowPeriod
    flows: list[DimensionFlows]


def customer_figures(visible: sa.ColumnElement[bool], *, dimension: str | None = None,
                     days: int | None = None) -> CustomerFigures:
    """Every customer figure of the dashboard; ValidationError for an unknown dimension or a bad period.

    Read in one snapshot (``db.one_snapshot``): a retier landing while they are read
    would otherwise show its tiers beside the previous retier's moves.
    """
    one_snapshot()
    version = current_version()
    definition = version.parsed() if version is not None else None
    chosen = chosen_dimension(definition, dimension)
    period = flow_period(days)
    return CustomerFigures(definition, tier_distribution(definition, visible=visible) if definition else [],
                           pareto(visible), risk_by_tier(visible, chosen), period,
                           tier_flows(visible, period, definition))
