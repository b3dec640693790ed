"""Activity: the history value, recency and churn are computed from.

Deposits and card spend at a bank, monthly kWh bills at a utility, orders at a
distributor: one row per event, with an amount, an optional quantity and a
category.  There is no surrogate id: a row is identified by what it says
(customer, time, category) plus ``ordinal``, its position among identical keys
in the file it came from.  Re-importing a file therefore rewrites the same rows
instead of adding copies, and the key doubles as the index every per-customer,
time-windowed query needs.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.platform import tenancy
from tierwise.platform.db import TenantOwned, db, utcnow

MONEY = sa.Numeric(18, 2)


class Activity(TenantOwned, db.Model):
    __tablename__ = "activity"
    __table_args__ = (
        sa.ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"],
                                ondelete="CASCADE"),
    )
    references_tenant = False

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(sa.String(64), primary_key=True, default="")
    ordinal: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, default=0)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    quantity: Mapped[Decimal | None] = mapped_column(sa.Numeric(18, 4))


class DataExtent(TenantOwned, db.Model):
    """The latest moment in each of a tenant's history tables, kept by the imports that add to it.

    Dashboards measure value over the year up to the latest activity.  ``max(occurred_at)``
    has no index to use (the key leads with the customer), so it read the activity of
    every tenant: 1.3 s at a million customers, on every dashboard view of any tenant.
    Imports keep it (``loading._merge_history``); erasing a customer leaves it as it
    was, so it may name an activity that no longer exists.  Readers take the data's end
    through ``data_end`` or ``latest_known_activity_at``, never later than now, so such a moment (or a row dated years
    ahead by a typo) cannot carry a window past today.
    """

    __tablename__ = "data_extents"
    __table_args__ = (sa.CheckConstraint("source IN ('activity', 'interactions')", name="source"),)

    source: Mapped[str] = mapped_column(sa.String(32), primary_key=True)  # the history table
    latest_at: Mapped[datetime]


def latest_activity_at() -> datetime | None:
    """The current tenant's latest activity (``_latest_at``)."""
    return _latest_at(Activity)


def _latest_at(model) -> datetime | None:
    """The latest moment in the current tenant's history table of ``model``: the kept extent, else (rows
    written other than by an import, as the benchmarks generate them) the table itself."""
    kept = db.session.scalar(sa.select(DataExtent.latest_at).where(DataExtent.source == model.__tablename__))
    return kept if kept is not None else db.session.scalar(sa.select(sa.func.max(model.occurred_at)))


def latest_known_activity_at() -> datetime | None:
    """The latest activity up to now (see ``data_end``): where the dashboards' year ends."""
    return _known_by_now(latest_activity_at(), Activity)


def _known_by_now(latest: datetime | None, model) -> datetime | None:
    """``latest`` (a history table's latest moment), or, if it lies ahead, the latest moment up to now.

    Rows dated after now are kept (a bill issued ahead of its date), but nothing is known of them yet.
    The latest moment before now is read only then: the key leads with the customer, so it reads
    every row of the tenant's table (1.3 s at a million customers; the kept extent exists to avoid
    that on every page).  A utility that imports its bills ahead of their dates would pay it on
    every dashboard view, so the answer is kept in the process for a few minutes, for the same
    extent: a new import that moves the extent reads it again.
    """
    now = utcnow()
    if latest is None or latest <= now:
        return latest
    key = (tenancy.current_tenant_id(), model.__tablename__, latest)
    kept = _KNOWN_BY_NOW.get(key)
    if kept is not None and now - kept[0] < KNOWN_BY_NOW_FOR:
        return kept[1]
    found = db.session.scalar(sa.select(sa.func.max(model.occurred_at)).where(model.occurred_at <= now))
    if len(_KNOWN_BY_NOW) > 1024:
        _KNOWN_BY_NOW.clear()
    _KNOWN_BY_NOW[key] = (now, found)
    return found


KNOWN_BY_NOW_FOR = timedelta(minutes=5)
_KNOWN_BY_NOW: dict[tuple, tuple[datetime, datetime | None]] = {}  # (tenant, table, extent) -> (read at, found)


def data_end() -> datetime | None:
    """The moment the tenant's activity is complete up to: just after its last activity up to now.

    Training anchors its cutoffs here, scoring takes its features as of here and the
    dashboards measure value up to here, so all three see the same data.  Rows dated in
    the future (a bill issued ahead of its date, a clock set wrong, a typo in a year) are
    not known yet: taken as the end, they put every training cutoff at one point of the
    billing cycle and scoring at another, or a dashboard's year past today, where it held
    no value at all.  Nor is now the end because of them: an extract that ended last year
    with one row dated next month was measured from today again, its windows empty.
    """
    last = latest_known_activity_at()
    return None if last is None else min(last + timedelta(seconds=1), utcnow())


def rules_moment() -> datetime:
    """The moment the rules measure their windows up to: just after the tenant's latest activity or
    interaction, never later than now (now when it has none).

    A tenant's data is an extract: it ends where the last import left it, as the models'
    ``data_end`` does.  Measured from today instead, an extract that ended 18 months ago had
    nothing in any window: every customer's 365-day sum was 0, nobody complained in 90 days,
    and every customer fell to the fallback tier, while the churn model, as of the data's end,
    scored them.  The interactions count too: complaints arriving daily while bills come
    monthly still count up to yesterday.
    """
    from tierwise.tenants.interactions import Interaction  # interactions refer to customers, as activity does

    now = utcnow()
    latest = [moment for moment in (latest_known_activity_at(), _known_by_now(_latest_at(Interaction), Interaction))
              if moment is not None]
    return min(max(latest) + timedelta(seconds=1), now) if latest else now
