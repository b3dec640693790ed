"""Reading the assignment in force: tier counts per dimension, one customer's tiers, recent runs.

Counts come from one GROUP BY over ``tier_assignments``; the unclassified count
is the customers with no tier in a dimension (zero after any retier, because
every dimension ends in a fallback tier).  An import that adds customers starts a
retier (``retier_launch.classify_newcomers``), so newcomers show up here only
while it runs, or if it could not start.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from tierwise.platform.db import db
from tierwise.tenants.customers import Customer
from tierwise.tenants.rules.assignments import RetierRun, TierAssignment, TierHistory
from tierwise.tenants.rules.definition import DimensionSpec, RuleSetDefinition
from tierwise.tenants.rules.versions import RuleSetVersion, current_version


@dataclass
class TierShare:
    tier: str
    label_en: str
    label_zh: str
    colour: str
    customers: int
    share: float


@dataclass
class DimensionDistribution:
    dimension: str
    label_en: str
    label_zh: str
    tiers: list[TierShare] = field(default_factory=list)
    unclassified: int = 0
    other: int = 0  # assigned under an older version to a tier this version no longer has


@dataclass
class CustomerTier:
    dimension: str
    tier: str
    label_en: str
    label_zh: str
    colour: str
    basis: str
    reason: dict
    rule: str | None
    since: datetime
    evaluated_at: datetime | None  # the last successful retier
    decided_at: datetime  # when the reason's values were taken
    version: int | None
    pending_tier: str | None
    pending_count: int


def tier_distribution(definition: RuleSetDefinition | None = None, *,
                      visible: sa.ColumnElement[bool] | None = None) -> list[DimensionDistribution]:
    """Customers per tier in each dimension of the rule set in force (or of ``definition``).

    ``visible`` (a ``policy.visible_customers`` criterion) narrows the counts to
    those customers, for an RM's book; without it (or when it lets everyone
    through) the whole tenant is counted straight from the assignments, with no
    join to the customers.
    """
    if isinstance(visible, sa.sql.elements.True_):
        visible = None
    if definition is None:
        version = current_version()
        if version is None:
            return []
        definition = version.parsed()
    counted = sa.select(TierAssignment.dimension, TierAssignment.tier, sa.func.count())
    if visible is not None:
        counted = counted.join(Customer, sa.and_(Customer.tenant_id == TierAssignment.tenant_id,
                                                 Customer.id == TierAssignment.customer_id)).where(visible)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Customer)
                              .where(visible if visible is not None else sa.true())) or 0
    counts: dict[tuple[str, str], int] = {
        (dimension, tier): n for dimension, tier, n in db.session.execute(
            counted.group_by(TierAssignment.dimension, TierAssignment.tier))}
    result = []
    for dimension in definition.dimensions:
        shares = [TierShare(t.code, t.label_en, t.label_zh, t.colour, counts.get((dimension.code, t.code), 0), 0.0)
                  for t in dimension.tiers]
        assigned = sum(n for (d, _), n in counts.items() if d == dimension.code)
        for share in shares:
            share.share = share.customers / total if total else 0.0
        known = sum(s.customers for s in shares)
        result.append(DimensionDistribution(dimension.code, dimension.label_en, dimension.label_zh, shares,
                                            unclassified=max(total - assigned, 0), other=assigned - known))
    return result


def customer_tiers(customer_id: uuid.UUID) -> list[CustomerTier]:
    """The customer's tier in each dimension, with labels and the rule that decided it."""
    rows = db.session.execute(
        sa.select(TierAssignment, RuleSetVersion.number, RuleSetVersion.definition)
        .join(RuleSetVersion, RuleSetVersion.id == TierAssignment.rule_version_id)
        .where(TierAssignment.customer_id == customer_id).order_by(TierAssignment.dimension)).all()
    tiers = []
    evaluated_at = last_evaluated_at()
    for assignment, number, data in rows:
        dimension = RuleSetDefinition.from_dict(data).dimension(assignment.dimension)
        spec = _tier_spec(dimension, assignment.tier)
        tiers.append(CustomerTier(
            assignment.dimension, assignment.tier, spec.label_en if spec else assignment.tier,
            spec.label_zh if spec else assignment.tier, spec.colour if spec else "#6b7280", assignment.basis,
            assignment.reason or {}, spec.rule if spec else None, assignment.since, evaluated_at, assignment.decided_at,
            number, assignment.pending_tier, assignment.pending_count))
    return tiers


def _tier_spec(dimension: DimensionSpec | None, code: str):
    if dimension is None:
        return None
    return next((t for t in dimension.tiers if t.code == code), None)


@dataclass
class TierPeriod:
    dimension: str
    tier: str
    valid_from: datetime
    valid_to: datetime | None  # None: the current period
    rule_version_id: uuid.UUID


def customer_tier_history(customer_id: uuid.UUID) -> list[TierPeriod]:
    """Every period the customer held a tier, newest first per dimension (the current one is open)."""
    current = [TierPeriod(a.dimension, a.tier, a.since, None, a.rule_version_id) for a in db.session.scalars(
        sa.select(TierAssignment).where(TierAssignment.customer_id == customer_id))]
    closed = [TierPeriod(h.dimension, h.tier, h.valid_from, h.valid_to, h.rule_version_id) for h in db.session.scalars(
        sa.select(TierHistory).where(TierHistory.customer_id == customer_id))]
    return sorted(current + closed, key=lambda p: (p.dimension, -p.valid_from.timestamp()))


def last_evaluated_at() -> datetime | None:
    """When the last successful retier evaluated the tenant (assignments are rewritten only when they change)."""
    return db.session.scalar(sa.select(RetierRun.as_of).where(RetierRun.status == "succeeded")
                             .order_by(RetierRun.started_at.desc()).limit(1))


def recent_runs(limit: int = 20) -> list[RetierRun]:
    return list(db.session.scalars(sa.select(RetierRun).order_by(RetierRun.started_at.desc()).limit(limit)))
