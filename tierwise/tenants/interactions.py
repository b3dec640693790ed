"""Interactions: complaints, requests, opinions and praise, by channel.

Public-opinion risk is computed from these: complaints through social media,
news media or the regulator hotline, repeated or unresolved complaints.  Like
activity, a row is identified by what it says (customer, time, channel, type)
plus its ordinal in the file, so re-importing updates rather than duplicates
(a complaint resolved since the last export gets its ``resolved_at``).
"""
from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.platform.db import TenantOwned, db


class Channel(StrEnum):
    PHONE = "phone"
    COUNTER = "counter"
    WEB = "web"
    APP = "app"
    SMS = "sms"
    EMAIL = "email"
    SOCIAL_MEDIA = "social_media"
    NEWS_MEDIA = "news_media"
    REGULATOR_HOTLINE = "regulator_hotline"
    OTHER = "other"


PUBLIC_CHANNELS = frozenset({Channel.SOCIAL_MEDIA, Channel.NEWS_MEDIA, Channel.REGULATOR_HOTLINE})


class InteractionType(StrEnum):
    COMPLAINT = "complaint"
    REQUEST = "request"
    OPINION = "opinion"
    PRAISE = "praise"


def _in(column: str, choices) -> str:
    return f"{column} IN ({', '.join(repr(c.value) for c in choices)})"


class Interaction(TenantOwned, db.Model):
    __tablename__ = "interactions"
    __table_args__ = (
        sa.ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"],
                                ondelete="CASCADE"),
        sa.CheckConstraint(_in("channel", Channel), name="channel"),
        sa.CheckConstraint(_in("interaction_type", InteractionType), name="interaction_type"),
        sa.CheckConstraint("severity BETWEEN 1 AND 5", name="severity"),
    )
    references_tenant = False

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    interaction_type: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    ordinal: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, default=0)
    severity: Mapped[int] = mapped_column(sa.SmallInteger, default=1)
    resolved_at: Mapped[datetime | None]
    summary: Mapped[str] = mapped_column(sa.Text, default="")
