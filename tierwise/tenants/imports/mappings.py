"""Saved column mappings: a tenant's export format, remembered by name and reused."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.errors import NotFoundError, ValidationError
from tierwise.platform import audit
from tierwise.platform.db import JSONType, TenantScoped, db
from tierwise.tenants.imports.specs import KINDS


class ColumnMapping(TenantScoped, db.Model):
    __tablename__ = "column_mappings"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "kind", "name"),)
    noun = "column mapping"

    kind: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(100))
    mapping: Mapped[dict] = mapped_column(JSONType, default=dict)  # target -> source column


def save_mapping(kind: str, name: str, mapping: dict[str, str]) -> ColumnMapping:
    """Create or replace the mapping ``name`` for ``kind`` imports."""
    if kind not in KINDS:
        raise ValidationError(f"unknown import kind '{kind}'", field="kind")
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError("must be 1-100 characters", field="mapping_name")
    if not all(isinstance(k, str) and isinstance(v, str) and v for k, v in mapping.items()):
        raise ValidationError("must map target names to source column names", field="mapping")
    saved = db.session.scalar(sa.select(ColumnMapping).where(ColumnMapping.kind == kind, ColumnMapping.name == name))
    if saved is None:
        saved = ColumnMapping(kind=kind, name=name, mapping={})
        db.session.add(saved)
    saved.mapping = dict(mapping)
    audit.record("mapping.saved", target_type="column_mapping", target_id=name, details={"kind": kind, "mapping": mapping})
    return saved


def load_mapping(kind: str, name: str) -> dict[str, str]:
    saved = db.session.scalar(sa.select(ColumnMapping).where(ColumnMapping.kind == kind, ColumnMapping.name == name))
    if saved is None:
        raise NotFoundError(f"no saved {kind} mapping named '{name}'")
    return dict(saved.mapping)
