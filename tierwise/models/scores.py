"""The latest churn probability, predicted value and reasons of each customer (filled by ``scoring``).

A table of its own module because the rules read it (``churn_probability`` and
``predicted_value`` join this table) without needing LightGBM or pandas.
"""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.platform.db import JSONType, TenantOwned, db, utcnow


class CustomerScore(TenantOwned, db.Model):
    """The latest scores of a customer.  Derived data: no foreign keys (see ``erased_with_customer``)."""

    __tablename__ = "customer_scores"
    references_tenant = False
    erased_with_customer = "customer_id"

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    churn_probability: Mapped[float | None]
    predicted_value: Mapped[float | None]
    churn_reasons: Mapped[list | None] = mapped_column(JSONType)
    value_reasons: Mapped[list | None] = mapped_column(JSONType)
    churn_version_id: Mapped[uuid.UUID | None]
    value_version_id: Mapped[uuid.UUID | None]
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)


def scores_for(customer_id: uuid.UUID) -> CustomerScore | None:
    return db.session.scalar(sa.select(CustomerScore).where(CustomerScore.customer_id == customer_id))
