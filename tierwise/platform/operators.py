"""Platform operators: the people who run Tierwise itself and create tenants.

They live outside every tenant and can read no tenant's data: their pages
never enter a tenant scope, and on PostgreSQL row-level security would show
them no tenant rows anyway.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.errors import ConflictError
from tierwise.platform.db import db, utcnow
from tierwise.platform.passwords import hash_password, validate_password
from tierwise.platform.users import normalise_email


class Operator(UserMixin, db.Model):
    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    active: Mapped[bool] = mapped_column(default=True)
    # Rotated on deactivation and password change: the session id embeds it.
    session_nonce: Mapped[str] = mapped_column(sa.String(32), default=lambda: secrets.token_hex(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"operator:{self.id}:{self.session_nonce}"


class OperatorEvent(db.Model):
    """Operators' sign-in trail (they belong to no tenant, so not the tenant audit log)."""

    __tablename__ = "operator_events"
    __table_args__ = (sa.Index("ix_operator_events_action_time", "action", "occurred_at"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(sa.String(64))
    email: Mapped[str] = mapped_column(sa.String(254))
    ip: Mapped[str | None] = mapped_column(sa.String(64))


def record_operator_event(action: str, *, email: str, ip: str | None) -> None:
    db.session.add(OperatorEvent(action=action, email=email, ip=ip))


def count_operator_events(action: str, *, since: timedelta, email: str | None = None, ip: str | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(OperatorEvent).where(
        OperatorEvent.action == action, OperatorEvent.occurred_at >= utcnow() - since)
    if email is not None:
        query = query.where(OperatorEvent.email == email)
    if ip is not None:
        query = query.where(OperatorEvent.ip == ip)
    return db.session.scalar(query)


def end_operator_sessions(operator: Operator) -> None:
    """Every session of ``operator`` stops working (a copied cookie included): the nonce in it changes."""
    operator.session_nonce = secrets.token_hex(8)


def set_operator_active(operator: Operator, active: bool) -> None:
    """Deactivating an operator also ends their sessions."""
    operator.active = active
    end_operator_sessions(operator)


def create_operator(*, email: str, password: str) -> Operator:
    email = normalise_email(email)
    validate_password(password)
    if find_operator(email) is not None:
        raise ConflictError(_("an operator with email '%(email)s' already exists", email=email))
    operator = Operator(email=email, password_hash=hash_password(password))
    db.session.add(operator)
    db.session.flush()
    return operator


def find_operator(email: str) -> Operator | None:
    return db.session.scalar(sa.select(Operator).where(Operator.email == email.strip().lower()))
