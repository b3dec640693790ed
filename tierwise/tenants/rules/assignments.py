"""Where customers' tiers are kept: the current assignment, its history and the changes.

- ``TierAssignment``: per customer and dimension, the tier in force, the rule set
  version that decided it, the reason (the values its rule looked at) and the
  hysteresis state (a pending tier and how many evaluations in a row asked for it).
- ``TierHistory``: one row per *closed* period a customer held a tier; the
  current period is the assignment itself (from ``since``, still open).
- ``TierChange``: one row per move (up, down or new), for alerts and lists.
- ``RetierRun``: one evaluation of the whole tenant, with its counts.

The three tier tables are derived data, rewritten set-based by the retier job
alone, and carry no foreign keys: at a million customers a per-row foreign key
check was the larger part of a retier's writes.  Integrity is kept by their
writer instead: retier and customer erasure take the same per-tenant lock, and
erasure finds these tables through ``erased_with_customer``.  Rule set versions
and runs they name are never deleted.
"""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.platform import tenancy
from tierwise.platform.db import JSONType, TenantOwned, TenantScoped, db, utcnow
from tierwise.tenants.rules.snapshot import generation

VERSION_FK = dict(refcolumns=["rule_set_versions.tenant_id", "rule_set_versions.id"])
BASES = ("rule", "fallback", "held")
STATE_COLUMNS = ("tier", "basis", "pending_tier", "pending_count")
DIRECTIONS = ("up", "down", "new")


class TierAssignment(TenantOwned, db.Model):
    __tablename__ = "tier_assignments"
    __table_args__ = (
        sa.CheckConstraint("basis IN ('rule', 'fallback', 'held')", name="basis"),
        sa.Index("ix_tier_assignments_tenant_dimension_tier", "tenant_id", "dimension", "tier", "customer_id"),
        # What a retier compares each customer with, read from the index alone (the rows are
        # mostly reasons): ``rule_version_id`` is left out, so a rewrite under a new version
        # (reason, version and time only) stays a HOT update.
        sa.Index("ix_tier_assignments_tenant_dimension_customer", "tenant_id", "dimension", "customer_id",
                 postgresql_include=list(STATE_COLUMNS)),
        # Every retier rewrites reasons in place: free space per page lets those updates stay HOT.
        {"postgresql_with": {"fillfactor": "70"}},
    )
    references_tenant = False
    erased_with_customer = "customer_id"

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    dimension: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    tier: Mapped[str] = mapped_column(sa.String(32))
    rule_version_id: Mapped[uuid.UUID]
    # rule: the tier's rule matched; fallback: no rule did; held: hysteresis kept the tier.
    basis: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[dict] = mapped_column(JSONType)
    since: Mapped[datetime]  # when the customer entered this tier
    # When ``reason`` was taken: rewritten with the tier, basis, hysteresis state or rule version,
    # not on every retier (a million unchanged rows are not rewritten for new amounts).
    decided_at: Mapped[datetime]
    pending_tier: Mapped[str | None] = mapped_column(sa.String(32))
    pending_count: Mapped[int] = mapped_column(sa.SmallInteger, default=0)


class TierHistory(TenantOwned, db.Model):
    __tablename__ = "tier_history"
    references_tenant = False
    erased_with_customer = "customer_id"

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    dimension: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    valid_from: Mapped[datetime] = mapped_column(primary_key=True)
    valid_to: Mapped[datetime]
    tier: Mapped[str] = mapped_column(sa.String(32))
    rule_version_id: Mapped[uuid.UUID]


class TierChange(TenantOwned, db.Model):
    __tablename__ = "tier_changes"
    __table_args__ = (
        sa.CheckConstraint("direction IN ('up', 'down', 'new')", name="direction"),
        sa.Index("ix_tier_changes_tenant_occurred_at", "tenant_id", "occurred_at"),
    )
    references_tenant = False
    erased_with_customer = "customer_id"

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    dimension: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(primary_key=True)
    retier_run_id: Mapped[uuid.UUID]
    from_tier: Mapped[str | None] = mapped_column(sa.String(32))
    to_tier: Mapped[str] = mapped_column(sa.String(32))
    direction: Mapped[str] = mapped_column(sa.String(8))


class RetierRun(TenantScoped, db.Model):
    __tablename__ = "retier_runs"
    __table_args__ = (
        sa.ForeignKeyConstraint(["tenant_id", "rule_version_id"], **VERSION_FK),
        sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')", name="status"),
    )
    noun = _l("retier run")

    rule_version_id: Mapped[uuid.UUID]
    as_of: Mapped[datetime]
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    customers: Mapped[int] = mapped_column(sa.Integer, default=0)
    # {dimension: {"up": n, "down": n, "new": n, "held": n}}
    changes: Mapped[dict] = mapped_column(JSONType, default=dict)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    started_by: Mapped[str] = mapped_column(sa.String(254), default="")
    # Whether it saw data the previous successful retier did not (``data_moved_on``): only then do
    # customers already waiting outside their tier count it as one more evaluation.  None until it runs
    # (and for runs from before it was recorded).
    new_data: Mapped[bool | None]
    # The tenant's data generation (``snapshot.generation``) it evaluated, its own writes included.
    data_generation: Mapped[int | None] = mapped_column(sa.BigInteger)


def data_moved_on(as_of: datetime, seen: int | None = None) -> bool:
    """Whether an evaluation at ``as_of`` sees data the tenant's previous successful retier did not.

    Hysteresis holds a customer until N evaluations *in a row* put it outside its tier: N looks
    at the data, not N clicks.  Run again on the same data (a second retier the same evening, a
    retier after publishing new rules), an evaluation tells nothing new about a customer already
    waiting, so its count stays; a customer's first evaluation outside its tier always counts.
    New data is a later moment (``activity.rules_moment``: newer activity or interactions) or
    anything that changed what the rules read since (the data generation: an import, a scoring
    run, a customer erased).  ``seen``: the generation the evaluation sees, when the caller has read it.
    """
    previous = last_successful_retier(tenancy.current_tenant_id())
    if previous is None or as_of > previous.as_of or previous.data_generation is None:
        return True
    return (generation() if seen is None else seen) != previous.data_generation


def last_successful_retier(tenant_id: int) -> RetierRun | None:
    """The tenant's latest retier that succeeded: what its stored assignment and the previews' warm-up come from."""
    return db.session.scalars(sa.select(RetierRun).where(RetierRun.tenant_id == tenant_id,
                                                         RetierRun.status == "succeeded")
                              .order_by(RetierRun.finished_at.desc()).limit(1)).first()
