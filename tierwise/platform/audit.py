"""The audit log: an append-only, tenant-scoped record of security-relevant actions.

Who acted is set once per request, CLI command or job with ``acting_as`` (the
same way the tenant is), so domain code just calls ``record(action, ...)``.
Append-only holds twice: the ORM refuses to update or delete an event, and on
PostgreSQL the application role is granted only SELECT and INSERT on the table.
"""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.platform.db import JSONType, TenantScoped, TenantSession, db, utcnow


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user (``user_id``), or a named system actor such as ``cli``."""

    label: str
    user_id: uuid.UUID | None = None
    ip: str | None = None


SYSTEM = Actor(label="system")
_actor: ContextVar[Actor] = ContextVar("tierwise_actor", default=SYSTEM)


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def set_actor(actor: Actor):
    """Set the actor without a ``with`` block (request hooks); returns a reset token."""
    return _actor.set(actor)


def reset_actor(token) -> None:
    _actor.reset(token)


def current_actor() -> Actor:
    return _actor.get()


class AuditEvent(TenantScoped, db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_tenant_action_time", "tenant_id", "action", "occurred_at"),)

    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(sa.String(64))
    actor_user_id: Mapped[uuid.UUID | None]
    actor_label: Mapped[str] = mapped_column(sa.String(254))
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    target_type: Mapped[str | None] = mapped_column(sa.String(64))
    target_id: Mapped[str | None] = mapped_column(sa.String(64))
    details: Mapped[dict] = mapped_column(JSONType, default=dict)


def record(action: str, *, target_type: str | None = None, target_id=None, details: dict | None = None,
           actor: Actor | None = None) -> AuditEvent:
    """Add an event to the current tenant's log (committed with the change it describes)."""
    who = actor or current_actor()
    audit_event = AuditEvent(
        action=action,
        actor_user_id=who.user_id,
        actor_label=who.label,
        ip=who.ip,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        details=dict(details or {}),
    )
    db.session.add(audit_event)
    return audit_event


def count_recent(action: str, *, since: timedelta, actor_label: str | None = None, ip: str | None = None) -> int:
    """How many ``action`` events in the window, optionally for one actor label or address."""
    query = sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.occurred_at >= utcnow() - since
    )
    if actor_label is not None:
        query = query.where(AuditEvent.actor_label == actor_label)
    if ip is not None:
        query = query.where(AuditEvent.ip == ip)
    return db.session.scalar(query)


@event.listens_for(TenantSession, "before_flush")
def _refuse_rewriting_history(session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise PermissionError("audit events are append-only")
