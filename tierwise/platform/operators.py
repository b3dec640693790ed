"""Platform operators: the people who run Tierwise itself and create tenants.

They live outside every tenant and can read no tenant's data: they get a
``platform_scope`` for tenant administration, and on PostgreSQL row-level
security still shows them no tenant rows.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"operator:{self.id}"


def create_operator(*, email: str, password: str) -> Operator:
    email = normalise_email(email)
    validate_password(password)
    if find_operator(email) is not None:
        raise ConflictError(f"an operator with email '{email}' already exists")
    operator = Operator(email=email, password_hash=hash_password(password))
    db.session.add(operator)
    db.session.flush()
    return operator


def find_operator(email: str) -> Operator | None:
    return db.session.scalar(sa.select(Operator).where(Operator.email == email.strip().lower()))
