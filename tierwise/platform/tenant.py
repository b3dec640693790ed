"""Tenants: the companies using Tierwise.  Their data never mixes.

The ``tenants`` table itself is platform data (not tenant-scoped): it is what a
request's slug or an API token resolves against before any tenant scope exists.
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.errors import ConflictError, NotFoundError, ValidationError, parse_choice
from tierwise.platform import tenancy
from tierwise.platform.db import JSONType, db, utcnow

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
RESERVED_SLUGS = frozenset({"api", "static", "operator", "login", "admin", "t"})


DEFAULT_TIMEZONE = "Asia/Shanghai"


class Industry(StrEnum):
    BANK = "bank"
    POWER_UTILITY = "power_utility"
    PHARMA_DISTRIBUTOR = "pharma_distributor"
    OTHER = "other"


class Tenant(db.Model):
    __tablename__ = "tenants"
    __table_args__ = (
        sa.CheckConstraint(
            "industry IN ('bank', 'power_utility', 'pharma_distributor', 'other')", name="industry"
        ),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    industry: Mapped[str] = mapped_column(sa.String(32))
    settings: Mapped[dict] = mapped_column(JSONType, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Renewed by database triggers whenever the tenant's fields or rule sets change (migration 0020):
    # what a process keeps of them is keyed by it (``configuration``).
    config_version: Mapped[uuid.UUID | None] = mapped_column(default=uuid.uuid4)

    @property
    def timezone(self) -> str:
        """Where the tenant's dates are written: imports read local times in it, pages and months follow it."""
        return (self.settings or {}).get("timezone") or DEFAULT_TIMEZONE

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"


def validate_slug(slug: str) -> str:
    slug = (slug or "").strip()
    if not SLUG_PATTERN.match(slug):
        raise ValidationError(
            _("must be 1-40 lowercase letters, digits or hyphens, starting and ending with a letter or digit"),
            field="slug",
        )
    if slug in RESERVED_SLUGS:
        raise ValidationError(_("'%(slug)s' is reserved", slug=slug), field="slug")
    return slug


def validate_industry(industry: str) -> Industry:
    return parse_choice(Industry, industry, field="industry")


def create_tenant(slug: str, *, name: str, industry: str, settings: dict | None = None) -> Tenant:
    """Create a tenant; nothing is written if any argument is rejected."""
    slug = validate_slug(slug)
    industry_value = validate_industry(industry)
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationError(_("must be 1-200 characters"), field="name")
    if find_tenant(slug) is not None:
        raise ConflictError(_("a tenant with slug '%(slug)s' already exists", slug=slug), field="slug")
    tenant = Tenant(slug=slug, name=name, industry=industry_value.value, settings=dict(settings or {}))
    db.session.add(tenant)
    db.session.flush()
    return tenant


def tenant_timezone() -> str:
    """The zone of the tenant acted for (``Tenant.timezone``: its imports, schedules, days and file names),
    in a request, a command or a worker alike; read once per session (the identity map keeps it).  UTC
    outside any tenant, as the clock says moments there."""
    tenant_id = tenancy.current_tenant_id()
    tenant = db.session.get(Tenant, tenant_id) if tenant_id is not None else None
    return tenant.timezone if tenant is not None else "UTC"


def find_tenant(slug: str | None) -> Tenant | None:
    """The tenant a slug names, in whatever case it was typed (``DEMO-BANK`` is ``demo-bank``).

    Slugs are stored lowercase (``validate_slug``), and people type them from a letter or a
    slide: the landing page, the ``/t/<slug>/`` address and every command's ``--tenant`` all
    look a tenant up here.  A caller that shows the slug shows ``tenant.slug``, not what was typed.
    """
    slug = slug.strip().lower() if isinstance(slug, str) else ""
    if not SLUG_PATTERN.match(slug):
        return None  # not a slug at all: no need to ask the database
    return db.session.scalar(sa.select(Tenant).where(Tenant.slug == slug))


def known_tenant_id(slug: str) -> int | None:
    """The id of the tenant with this slug, if this app has looked it up before (``remember_tenant_id``).

    A slug names one tenant for good (it is never changed, and tenants are not deleted), so
    an API request can enter its tenant's scope before its first query and read the tenant
    with its token in one (``api_tokens.look_up``).  Only the name is kept: whether the
    tenant is active is read on every request, and a query that finds no tenant of that
    id and slug makes the caller forget it.  Per app: each has its own database.
    """
    return _tenant_ids().get(slug)


def remember_tenant_id(slug: str, tenant_id: int | None) -> None:
    """Keep (or with None, forget) the id of the tenant with this slug."""
    if tenant_id is None:
        _tenant_ids().pop(slug, None)
    else:
        _tenant_ids()[slug] = tenant_id


def _tenant_ids() -> dict[str, int]:
    return current_app.extensions.setdefault("tierwise_tenant_ids", {})


def get_tenant(slug: str) -> Tenant:
    tenant = find_tenant(slug)
    if tenant is None or not tenant.active:
        raise NotFoundError(_("no tenant '%(slug)s'", slug=slug), field="tenant")
    return tenant


def set_active(slug: str, active: bool, *, actor_label: str) -> Tenant:
    """Switch a tenant off (or on again), audited in its own log.  Switched off, nobody signs in to it and
    no token, page or schedule of it answers; nothing of it is deleted, so switching it on restores it all."""
    from tierwise.platform import audit, tenancy
    from tierwise.platform.audit import Actor, acting_as

    tenant = find_tenant(slug)
    if tenant is None:
        raise NotFoundError(_("no tenant '%(slug)s'", slug=slug), field="tenant")
    if tenant.active != active:
        tenant.active = active
        with tenancy.tenant_scope(tenant.id), acting_as(Actor(label=actor_label)):
            audit.record("tenant.activated" if active else "tenant.deactivated", target_type="tenant",
                         target_id=tenant.id, details={"slug": tenant.slug})
        db.session.flush()
    return tenant


def list_tenants() -> list[Tenant]:
    return list(db.session.scalars(sa.select(Tenant).order_by(Tenant.slug)))
