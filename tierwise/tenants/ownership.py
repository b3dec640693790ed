"""Account ownership: which relationship manager looks after each customer, and since when.

Customers belong to the tenant; ``customers.rm_user_id`` only says who looks
after one now.  Tenant admins assign customers (one or many) and move a whole
book from one RM to another; every change is audited here, with counts.

The history (``rm_assignments``) is written by the database, not by this
module: a trigger on ``customers`` (migration 0009) closes the open period and
opens a new one for every change of ``rm_user_id``.  A trigger because RMs
change through more than these services: imports write customers set-based in
SQL (and the demo seeding is an import), and any later bulk path would have to
remember to write history too; a trigger cannot be forgotten, and on PostgreSQL
it stays set-based (one INSERT ... SELECT per statement).  Who made the change
and why reach it through ``tierwise.platform.change_context``.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.errors import NotFoundError, ValidationError
from tierwise.platform import audit
from tierwise.platform.branches import get_branch
from tierwise.platform.change_context import changes_because
from tierwise.platform.db import TenantScoped, db, utcnow
from tierwise.platform.i18n import listed
from tierwise.platform.users import Role, User
from tierwise.tenants.customers import Customer

MAX_CUSTOMERS = 10_000  # per assign call: an IN list, not a file
MAX_REASON = 500
OPEN = sa.text("valid_to IS NULL")


class RmAssignment(TenantScoped, db.Model):
    """One period of one customer with one RM (``rm_user_id`` None: unassigned); ``valid_to`` None is now."""

    __tablename__ = "rm_assignments"
    __table_args__ = (
        sa.ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"],
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id", "rm_user_id"], ["users.tenant_id", "users.id"]),
        sa.Index("ix_rm_assignments_tenant_id_customer_id_valid_from", "tenant_id", "customer_id", "valid_from"),
        sa.Index("uq_rm_assignments_open_period", "tenant_id", "customer_id", unique=True,
                 postgresql_where=OPEN, sqlite_where=OPEN),
    )
    # A row per customer per change: the customer foreign key already ties it to the tenant.
    references_tenant = False
    noun = _l("assignment")

    customer_id: Mapped[uuid.UUID]
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]
    rm_user_id: Mapped[uuid.UUID | None]
    changed_by: Mapped[str] = mapped_column(sa.String(254))
    reason: Mapped[str] = mapped_column(sa.String(MAX_REASON))


@dataclass(frozen=True)
class Assignment:
    """What ``assign`` did: of ``customers`` asked for, ``changed`` had another RM before."""

    rm_user_id: uuid.UUID | None
    customers: int
    changed: int


@dataclass(frozen=True)
class BookMove:
    from_user_id: uuid.UUID
    to_user_id: uuid.UUID
    branch_id: uuid.UUID | None
    moved: int


def assign(customer_ids: Iterable[uuid.UUID], rm_user_id: uuid.UUID | None, *, reason: str) -> Assignment:
    """Give the customers to ``rm_user_id`` (None: unassign them), in one statement."""
    ids = _distinct_ids(customer_ids)
    reason = _checked_reason(reason)
    if rm_user_id is not None:
        active_rm(rm_user_id, field="rm_user_id")
    _require_customers(ids)
    changed = _move(Customer.id.in_(ids), rm_user_id, reason)
    audit.record("customers.assigned", target_type="user" if rm_user_id else None, target_id=rm_user_id,
                 details={"rm_user_id": _plain(rm_user_id), "customers": len(ids), "changed": changed,
                          "reason": reason, "customer_ids": [str(i) for i in ids[:100]]})
    return Assignment(rm_user_id=rm_user_id, customers=len(ids), changed=changed)


def reassign_book(from_rm_id: uuid.UUID, to_rm_id: uuid.UUID, *, reason: str,
                  branch_id: uuid.UUID | None = None) -> BookMove:
    """Move every customer of one RM (optionally only those of one branch) to another active RM."""
    source = User.get(from_rm_id)
    reason = _checked_reason(reason)
    active_rm(to_rm_id, field="to_user_id")
    if to_rm_id == source.id:
        raise ValidationError(_("must be another relationship manager"), field="to_user_id")
    criterion = Customer.rm_user_id == source.id
    if branch_id is not None:
        try:
            get_branch(branch_id)
        except NotFoundError:
            raise ValidationError(_("no such branch"), field="branch_id") from None
        criterion = sa.and_(criterion, Customer.branch_id == branch_id)
    moved = _move(criterion, to_rm_id, reason)
    audit.record("customers.book_reassigned", target_type="user", target_id=source.id,
                 details={"from_user_id": str(source.id), "to_user_id": str(to_rm_id), "branch_id": _plain(branch_id),
                          "customers": moved, "reason": reason})
    return BookMove(from_user_id=source.id, to_user_id=to_rm_id, branch_id=branch_id, moved=moved)


def assignment_history(customer: Customer) -> list[RmAssignment]:
    """The customer's periods, the current one first."""
    return list(db.session.scalars(
        sa.select(RmAssignment).where(RmAssignment.customer_id == customer.id)
        .order_by(RmAssignment.valid_to.is_(None).desc(), RmAssignment.valid_from.desc())))


def book_size(user_id: uuid.UUID) -> int:
    """How many customers the user looks after now."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Customer).where(Customer.rm_user_id == user_id))


def book_sizes() -> dict[uuid.UUID, int]:
    """Customers per RM, for every user who has any (one grouped query, for the users list)."""
    rows = db.session.execute(sa.select(Customer.rm_user_id, sa.func.count()).where(Customer.rm_user_id.is_not(None))
                              .group_by(Customer.rm_user_id))
    return {rm_user_id: count for rm_user_id, count in rows}


def book_by_branch(user_id: uuid.UUID) -> list[tuple[uuid.UUID | None, int]]:
    """(branch id or None, customers) of the user's book, largest first."""
    count = sa.func.count().label("customers")
    rows = db.session.execute(sa.select(Customer.branch_id, count).where(Customer.rm_user_id == user_id)
                              .group_by(Customer.branch_id).order_by(count.desc()))
    return [(branch_id, customers) for branch_id, customers in rows]


def active_rms() -> list[User]:
    """Who can be given customers: active users with the relationship manager role."""
    return list(db.session.scalars(sa.select(User).where(User.role == Role.RELATIONSHIP_MANAGER.value,
                                                         User.active.is_(True)).order_by(User.email)))


def active_rm(user_id: uuid.UUID, *, field: str) -> User:
    """The user, if they can be given customers; another tenant's id is simply not one."""
    user = db.session.scalar(sa.select(User).where(User.id == user_id))
    if user is None or not user.active or user.role != Role.RELATIONSHIP_MANAGER.value:
        raise ValidationError(_("is not an active relationship manager of this organisation"), field=field)
    return user


def _move(criterion: sa.ColumnElement[bool], to_rm_id: uuid.UUID | None, reason: str) -> int:
    """Set the RM of the matching customers that have another one; the trigger records each change."""
    with changes_because(reason):
        result = db.session.execute(
            sa.update(Customer).where(criterion, Customer.rm_user_id.is_distinct_from(to_rm_id))
            .values(rm_user_id=to_rm_id, updated_at=utcnow()).execution_options(synchronize_session="fetch"))
    return result.rowcount


def _distinct_ids(customer_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    ids = list(dict.fromkeys(customer_ids))
    if not ids:
        raise ValidationError(_("name at least one customer"), field="customer_ids")
    if len(ids) > MAX_CUSTOMERS:
        raise ValidationError(_("at most %(max)s customers at a time; move a whole book instead",
                                max=format(MAX_CUSTOMERS, ",")), field="customer_ids")
    return ids


def _require_customers(ids: list[uuid.UUID]) -> None:
    """Every id is a customer of this tenant (another tenant's is not found, like a made-up one)."""
    found = set(db.session.scalars(sa.select(Customer.id).where(Customer.id.in_(ids))))
    missing = [str(i) for i in ids if i not in found]
    if missing:
        shown = listed(missing[:5])
        if len(missing) > 5:
            raise ValidationError(_("no such customer: %(ids)s and %(more)s more", ids=shown, more=len(missing) - 5),
                                  field="customer_ids")
        raise ValidationError(_("no such customer: %(ids)s", ids=shown), field="customer_ids")


def _checked_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("say why, for the assignment history"), field="reason")
    if len(reason) > MAX_REASON:
        raise ValidationError(_("must be at most %(max)s characters", max=MAX_REASON), field="reason")
    return reason


def _plain(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)
