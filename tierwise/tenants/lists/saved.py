"""Saved lists: a built-in list narrowed by filters, kept under a name.

A saved list belongs to the user who made it; ``shared`` makes it visible to
everyone in the tenant.  It stores the filters, never customers: opened by an
RM it shows only that RM's book, like every list.
"""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.platform.db import JSONType, TenantScoped, db, utcnow


class SavedList(TenantScoped, db.Model):
    __tablename__ = "saved_lists"
    __table_args__ = (
        sa.ForeignKeyConstraint(["tenant_id", "owner_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("tenant_id", "owner_id", "name"),
    )
    noun = "saved list"

    name: Mapped[str] = mapped_column(sa.String(120))
    owner_id: Mapped[uuid.UUID]
    shared: Mapped[bool] = mapped_column(default=False)
    base: Mapped[str] = mapped_column(sa.String(32))  # the built-in list it narrows
    filters: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
