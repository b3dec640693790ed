"""Finding customers and reading their history: search, the customer page, erasure.

Every query here takes ``visible``, the criterion saying which customers the
acting user may see (from ``tierwise.platform.policy``); this module never
decides that itself.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _

from tierwise.errors import NotFoundError, ValidationError
from tierwise.platform import audit, tenancy
from tierwise.platform.db import Base, db
from tierwise.platform.pagination import Page, keyset_page
from tierwise.platform.tenant import Tenant
from tierwise.tenants.activity import Activity
from tierwise.tenants.customers import Customer
from tierwise.tenants.interactions import Interaction
from tierwise.tenants.rules import snapshot


MAX_QUERY = 100  # a list's ``search`` has the same bound (``ListFilters``)


def search_customers(visible: sa.ColumnElement[bool], *, query: str = "", cursor: str | None = None,
                     limit: int = 50) -> Page[Customer]:
    """Customers by external id; ``query`` matches the start of the id or any part of the name (at most
    ``MAX_QUERY`` characters, as a list's search)."""
    statement = sa.select(Customer).where(visible)
    query = (query or "").strip()
    if len(query) > MAX_QUERY:
        raise ValidationError(_("at most %(limit)s characters", limit=MAX_QUERY), field="q")
    if query:
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(sa.or_(Customer.external_id.like(f"{escaped}%", escape="\\"),
                                           Customer.name.like(f"%{escaped}%", escape="\\")))
    return keyset_page(statement, key=Customer.external_id, cursor=cursor, limit=limit)


def any_customer(visible: sa.ColumnElement[bool]) -> bool:
    """Whether any customer satisfies ``visible``; ``sa.true()`` asks whether the tenant has any at all."""
    return db.session.scalar(sa.select(Customer.id).where(visible).limit(1)) is not None


def get_visible_customer(customer_id: uuid.UUID, visible: sa.ColumnElement[bool]) -> Customer:
    """The customer if it exists in this tenant and the user may see it; else NotFoundError (a 404)."""
    customer = db.session.scalar(sa.select(Customer).where(Customer.id == customer_id, visible))
    if customer is None:
        raise NotFoundError(_("no such customer"), sought=customer_id)
    return customer


@dataclass(frozen=True)
class MonthlyActivity:
    month: str  # YYYY-MM
    category: str
    amount: float
    quantity: float | None
    events: int


def monthly_activity(customer: Customer, months: int = 24) -> list[MonthlyActivity]:
    """Totals per month and category, newest first, computed in the database.

    Months are the tenant's own (``Tenant.timezone``): a bill dated the 1st at local
    midnight, stored as the previous evening in UTC, belongs to the month it names.
    SQLite (the demo) has no time zones: it shifts by the zone's offset now.
    """
    zone = db.session.get(Tenant, tenancy.current_tenant_id()).timezone
    if db.session.get_bind().dialect.name == "postgresql":
        month = sa.func.to_char(sa.func.date_trunc("month", sa.func.timezone(zone, Activity.occurred_at)), "YYYY-MM")
    else:
        offset = datetime.now(ZoneInfo(zone)).utcoffset().total_seconds()
        month = sa.func.strftime("%Y-%m", Activity.occurred_at, f"{offset:+.0f} seconds")
    rows = db.session.execute(
        sa.select(month.label("month"), Activity.category, sa.func.sum(Activity.amount), sa.func.sum(Activity.quantity),
                  sa.func.count())
        .where(Activity.customer_id == customer.id)
        .group_by(month, Activity.category).order_by(month.desc(), Activity.category)
    ).all()
    recent = sorted({row[0] for row in rows}, reverse=True)[:months]
    return [MonthlyActivity(m, c, float(a or 0), float(q) if q is not None else None, n)
            for m, c, a, q, n in rows if m in recent]


def recent_interactions(customer: Customer, limit: int = 100) -> list[Interaction]:
    return list(db.session.scalars(
        sa.select(Interaction).where(Interaction.customer_id == customer.id)
        .order_by(Interaction.occurred_at.desc()).limit(limit)))


def erase_customer(customer: Customer) -> dict[str, int]:
    """Remove the customer and everything derived from it, in every table that refers to it.

    Tables are found from the schema's foreign keys, and from the derived tables
    that declare ``erased_with_customer`` instead of a foreign key (tiers), so data
    added by later features is erased too without this code knowing it.  It holds
    the retier's lock, so a retier running meanwhile cannot write the customer back.
    """
    tenancy.lock_tenant("tiers")
    removed: dict[str, int] = {}
    for table, column in _tables_holding_customers():
        result = db.session.execute(
            sa.delete(table).where(table.c.tenant_id == customer.tenant_id, column == customer.id)
            .execution_options(tenant_filtered=True))
        removed[table.name] = result.rowcount
    audit.record("customer.erased", target_type="customer", target_id=customer.id,
                 details={"external_id": customer.external_id, "removed": removed})
    db.session.delete(customer)
    db.session.flush()
    snapshot.data_changed()  # rankings and totals change without the customer
    return removed


def _tables_holding_customers() -> list[tuple[sa.Table, sa.Column]]:
    """(table, customer id column) for every table with rows per customer, dependants first."""
    target = Customer.__table__
    found = [(table, fk.parent) for table in Base.metadata.sorted_tables[::-1] if table is not target
             for fk in table.foreign_keys if fk.column.table is target and fk.column.name == "id"]
    for mapper in Base.registry.mappers:
        declared = getattr(mapper.class_, "erased_with_customer", None)
        if declared:
            found.append((mapper.local_table, mapper.local_table.c[declared]))
    return found
