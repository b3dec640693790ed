"""Customers: the accounts a tenant tiers.  They belong to the tenant, not to an RM.

Built-in columns cover what every industry has (external id, name, party type,
branch, assigned RM, status, an optional churn outcome label); everything else
is a tenant-defined attribute in ``attributes``, typed by the field registry.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.platform.db import JSONType, TenantScoped, db, utcnow


class PartyType(StrEnum):
    INDIVIDUAL = "individual"
    ORGANISATION = "organisation"


# A customer imported without a party type is the kind the industry mostly serves: a distributor sells to
# pharmacies and hospitals (QA's pharma tenant had 2,000 of them as "individual"); banks and utilities
# serve people first.
DEFAULT_PARTY_TYPE = {"pharma_distributor": PartyType.ORGANISATION.value}


def default_party_type(industry: str | None) -> str:
    return DEFAULT_PARTY_TYPE.get(industry or "", PartyType.INDIVIDUAL.value)


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    DORMANT = "dormant"
    CLOSED = "closed"


class Customer(TenantScoped, db.Model):
    __tablename__ = "customers"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "external_id"),
        sa.ForeignKeyConstraint(["tenant_id", "branch_id"], ["branches.tenant_id", "branches.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "rm_user_id"], ["users.tenant_id", "users.id"]),
        sa.CheckConstraint("party_type IN ('individual', 'organisation')", name="party_type"),
        sa.CheckConstraint("status IN ('active', 'dormant', 'closed')", name="status"),
        sa.Index("ix_customers_tenant_rm", "tenant_id", "rm_user_id"),
        sa.Index("ix_customers_tenant_branch", "tenant_id", "branch_id"),
        sa.Index("ix_customers_tenant_name", "tenant_id", "name"),
    )
    noun = _l("customer")

    external_id: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(200))
    party_type: Mapped[str] = mapped_column(sa.String(16), default=PartyType.INDIVIDUAL.value)
    branch_id: Mapped[uuid.UUID | None]
    rm_user_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(sa.String(16), default=CustomerStatus.ACTIVE.value)
    attributes: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Outcome label for churn models: True churned, False stayed, None unknown (still scored).
    churn_label: Mapped[bool | None]
    label_observed_on: Mapped[date | None] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
