"""What-if: what a rule set would do if it were published and run, before anyone publishes it.

The preview evaluates the rule set exactly as a retier would (same query) into a
temporary table, then answers with one grouping pass and a few sample picks:
customers and value per tier, the migration matrix from the current assignment,
and sample customers moving up and down with their reasons.  It shows where the
next retier would put each customer, and ``held`` counts the customers it would
store as held, by the same ``basis`` the retier stores: those whose move
hysteresis holds back for more evaluations in a row, and those only a margin
keeps in their tier (their candidate is their current tier, so no comparison of
tiers finds them).  No assignment is written; the per-customer values are kept
for the next preview (``snapshot``), and ``prepare`` keeps them without a
preview, for the worker's warm-up after a retier (``warmup``).
"""
from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime

import sqlalchemy as sa

from tierwise.platform import tenancy
from tierwise.platform.db import db
from tierwise.tenants.activity import rules_moment
from tierwise.tenants.customers import Customer
from tierwise.tenants.rules import snapshot
from tierwise.tenants.rules.definition import DimensionSpec, Plan
from tierwise.tenants.rules.materialize import materialize
from tierwise.tenants.rules.sql import execute_sql

RESULT = "preview_result"
SAMPLES = 5


@dataclass
class TierCount:
    tier: str
    customers: int
    value: float
    customer_share: float
    value_share: float


@dataclass
class Sample:
    customer_id: uuid.UUID
    external_id: str
    name: str
    from_tier: str | None
    to_tier: str
    reason: dict


@dataclass
class DimensionPreview:
    dimension: str
    tiers: list[TierCount]
    # from-tier (None: not assigned yet) -> to-tier -> customers
    matrix: dict[str | None, dict[str, int]]
    moving_up: list[Sample] = field(default_factory=list)
    moving_down: list[Sample] = field(default_factory=list)
    unchanged: int = 0
    held: int = 0
    unclassified: int = 0

    def moves(self) -> dict[str, int]:
        """Customers moving up, down, and new to the dimension (no tier now, or one it no longer has),
        counted from the matrix; tiers rank in the order they are listed, the first the highest."""
        rank = {tier.tier: index for index, tier in enumerate(self.tiers)}
        counted = {"up": 0, "down": 0, "new": 0}
        for source, row in self.matrix.items():
            for target, customers in row.items():
                if source == target:
                    continue
                if source not in rank:
                    counted["new"] += customers
                elif target in rank:
                    counted["up" if rank[target] < rank[source] else "down"] += customers
        return counted


@dataclass
class Preview:
    as_of: datetime
    customers: int
    total_value: float
    seconds: float
    dimensions: list[DimensionPreview]
    reused: bool = False  # built on the values an earlier preview kept (see ``snapshot``)

    def as_dict(self) -> dict:
        data = asdict(self)
        for dimension in data["dimensions"]:
            dimension["matrix"] = [{"from": source, "to": target, "customers": n}
                                   for source, row in dimension["matrix"].items() for target, n in row.items()]
        return data


def preview(plan: Plan, *, as_of: datetime | None = None) -> Preview:
    """Evaluate ``plan`` for the current tenant and summarise the effect.

    Assignments are not touched.  What it does keep is a snapshot of its per-customer
    values when it had none to reuse (``snapshot``), committed before it returns, so the
    next preview of an edited draft recomputes only what the edit changed.  Without an
    explicit ``as_of``, a recent snapshot's moment is the preview's moment.
    """
    started = time.perf_counter()
    reuse, generation = snapshot.usable(as_of)
    as_of = reuse.as_of if reuse is not None else as_of or rules_moment()
    keep = reuse is None and snapshot.available()
    table = materialize(plan, tenant_id=tenancy.current_tenant_id(), as_of=as_of, name=RESULT, preview=True,
                        reuse=reuse, keep=keep)
    try:
        codes = [spec.code for spec in plan.definition.dimensions]
        groups = _groups(codes)
        # Every customer is in exactly one group of each dimension: any dimension's groups add up to all.
        customers = sum(row[3] for row in groups[codes[0]])
        total = sum(float(row[4] or 0) for row in groups[codes[0]])
        dimensions = [_dimension(table, spec, groups[spec.code], customers, total)
                      for spec in plan.definition.dimensions]
        if keep:
            snapshot.keep(plan, result=RESULT, as_of=as_of, generation=generation)
    finally:
        execute_sql(f"DROP TABLE IF EXISTS {RESULT}")
    return Preview(as_of, customers, total, round(time.perf_counter() - started, 3), dimensions,
                   reused=reuse is not None)


def prepare(plan: Plan, *, as_of: datetime, generation: int) -> bool:
    """The background half of a preview: evaluate ``plan`` at ``as_of`` and keep its snapshot, summarising
    nothing (``warmup``); commits.  Whether it was kept (not if the data moved past ``generation``)."""
    materialize(plan, tenant_id=tenancy.current_tenant_id(), as_of=as_of, name=RESULT, preview=True, keep=True)
    try:
        return snapshot.keep(plan, result=RESULT, as_of=as_of, generation=generation)
    finally:
        execute_sql(f"DROP TABLE IF EXISTS {RESULT}")


def _groups(codes: list[str]) -> dict[str, list[tuple]]:
    """Per dimension: (current tier, candidate, held back, customers, value) for each combination.

    On PostgreSQL one scan of the result feeds every dimension's groups (GROUPING SETS;
    about a third of a second saved per dimension at a million customers); SQLite has no
    grouping sets and is given one query per dimension.
    """
    def keys(code: str) -> str:
        return f"cur_{code}, cand_{code}, basis_{code} = 'held'"

    if db.session.connection().dialect.name != "postgresql":
        return {code: [tuple(row) for row in execute_sql(
            f"SELECT {keys(code)}, count(*), coalesce(sum(value_measure), 0) FROM {RESULT} GROUP BY 1, 2, 3")]
            for code in codes}
    selected = ", ".join(f"GROUPING(cur_{code}) = 0, {keys(code)}" for code in codes)
    sets = ", ".join(f"({keys(code)})" for code in codes)
    rows = execute_sql(f"SELECT {selected}, count(*), coalesce(sum(value_measure), 0) FROM {RESULT} "
                       f"GROUP BY GROUPING SETS ({sets})").all()
    groups: dict[str, list[tuple]] = {code: [] for code in codes}
    for row in rows:
        for index, code in enumerate(codes):
            if row[4 * index]:  # grouped by this dimension's columns
                groups[code].append((*row[4 * index + 1:4 * index + 4], *row[-2:]))
    return groups


def _dimension(table: sa.Table, spec: DimensionSpec, rows: list[tuple], customers: int,
               total: float) -> DimensionPreview:
    code = spec.code
    rows = sorted(rows, key=lambda row: (row[0] is None, row[0] or "", row[1] is None, row[1] or "", bool(row[2])))
    per_tier: dict[str, list[float]] = {t.code: [0, 0.0] for t in spec.tiers}
    matrix: dict[str | None, dict[str, int]] = {}
    result = DimensionPreview(code, [], matrix)
    for current, candidate, held, count, value in rows:
        if candidate is None:
            result.unclassified += count
            continue
        # Where the next retier will put them: hysteresis keeps the held ones in their tier for now.
        tier = current if held else candidate
        per_tier[tier][0] += count
        per_tier[tier][1] += float(value or 0)
        matrix.setdefault(current, {}).setdefault(tier, 0)
        matrix[current][tier] += count
        result.held += count if held else 0
        result.unchanged += count if current == tier else 0
    result.tiers = [TierCount(tier, int(n), value, n / customers if customers else 0.0,
                              value / total if total else 0.0) for tier, (n, value) in per_tier.items()]
    # A scan of every customer per list: skipped when the matrix shows nobody moving that way.
    ranks = {t.code: i for i, t in enumerate(spec.tiers)}
    moves = [ranks[tier] - ranks[current] for current, row in matrix.items() if current in ranks
             for tier in row if tier != current]
    result.moving_up = _samples(table, code, ranks, upwards=True) if any(step < 0 for step in moves) else []
    result.moving_down = _samples(table, code, ranks, upwards=False) if any(step > 0 for step in moves) else []
    return result


def _samples(table: sa.Table, code: str, ranks: dict[str, int], upwards: bool) -> list[Sample]:
    """The most valuable customers of dimension ``code`` moving up (to a better rank) or down."""
    current, tier = table.c[f"cur_{code}"], table.c[f"cand_{code}"]
    old_rank, new_rank = sa.case(ranks, value=current), sa.case(ranks, value=tier)
    order = (table.c.value_measure.desc().nulls_last(), table.c.external_id)
    picked = (sa.select(table.c.customer_id, table.c.external_id, current.label("from_tier"), tier.label("to_tier"),
                        table.c[f"reason_{code}"].label("reason"), table.c.value_measure)
              .where(current != tier, current.in_(list(ranks)),  # a cheap test first: most do not move
                     table.c[f"basis_{code}"].is_distinct_from("held"),  # held back: not moving yet
                     (new_rank < old_rank) if upwards else (new_rank > old_rank))
              .order_by(*order).limit(SAMPLES).subquery())  # the few samples first, then their names
    customers = Customer.__table__
    rows = db.session.execute(
        sa.select(picked.c.customer_id, picked.c.external_id, customers.c.name, picked.c.from_tier,
                  picked.c.to_tier, picked.c.reason)
        .join(customers, sa.and_(customers.c.tenant_id == tenancy.current_tenant_id(),
                                 customers.c.id == picked.c.customer_id))
        .order_by(picked.c.value_measure.desc().nulls_last(), picked.c.external_id)
        .execution_options(tenant_filtered=True)).all()
    return [Sample(*row) for row in rows]
