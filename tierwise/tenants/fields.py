"""The field registry: the attributes a tenant keeps about its customers.

Rules, models and imports discover fields here.  Each field has a type, labels
in zh-CN and English, a description and a group.  Industry templates pre-fill
the registry; an import may add fields, but only when the admin explicitly
asks for it.
"""
from __future__ import annotations

import re
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.errors import ConflictError, ValidationError, parse_choice
from tierwise.platform import audit
from tierwise.platform.db import TenantScoped, db

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Columns of the customer table itself: a tenant attribute may not shadow them.
RESERVED_NAMES = frozenset({
    "id", "tenant_id", "external_id", "name", "party_type", "branch", "branch_code", "rm", "rm_email", "status",
    "churn_label", "label_observed_on", "created_at", "updated_at", "attributes",
})


class FieldType(StrEnum):
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    CATEGORY = "category"
    DATE = "date"
    TEXT = "text"


class FieldGroup(StrEnum):
    PROFILE = "profile"
    BEHAVIOUR = "behaviour"
    VALUE = "value"
    RISK = "risk"
    COMPLIANCE = "compliance"


class FieldDefinition(TenantScoped, db.Model):
    __tablename__ = "field_definitions"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "name"),
        sa.CheckConstraint("field_type IN ('number', 'integer', 'boolean', 'category', 'date', 'text')", name="field_type"),
        sa.CheckConstraint("field_group IN ('profile', 'behaviour', 'value', 'risk', 'compliance')", name="field_group"),
    )
    noun = "field"

    name: Mapped[str] = mapped_column(sa.String(63))
    field_type: Mapped[str] = mapped_column(sa.String(16))
    field_group: Mapped[str] = mapped_column(sa.String(16))
    label_zh: Mapped[str] = mapped_column(sa.String(100))
    label_en: Mapped[str] = mapped_column(sa.String(100))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    # For category fields: the allowed codes, or empty for open categories.
    categories: Mapped[list | None] = mapped_column(sa.JSON)

    def label(self, locale: str | None) -> str:
        return self.label_zh if (locale or "").startswith("zh") else self.label_en


def validate_field_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME_PATTERN.match(name):
        raise ValidationError("must start with a lowercase letter and use only a-z, 0-9 and _ (at most 63)", field="name")
    if name in RESERVED_NAMES:
        raise ValidationError(f"'{name}' is a built-in customer column", field="name")
    return name


def define_field(*, name: str, field_type: str, field_group: str = FieldGroup.PROFILE.value, label_zh: str = "",
                 label_en: str = "", description: str = "", categories: list[str] | None = None,
                 audit_action: str | None = "field.defined") -> FieldDefinition:
    """Add a field to the current tenant's registry."""
    name = validate_field_name(name)
    parse_choice(FieldType, field_type, field="field_type")
    parse_choice(FieldGroup, field_group, field="field_group")
    if field_registry().get(name) is not None:
        raise ConflictError(f"field '{name}' already exists")
    definition = FieldDefinition(
        name=name, field_type=field_type, field_group=field_group, label_zh=label_zh or name,
        label_en=label_en or name, description=description, categories=list(categories) if categories else None)
    db.session.add(definition)
    if audit_action:
        audit.record(audit_action, target_type="field", target_id=name, details={"type": field_type, "group": field_group})
    return definition


def field_registry() -> dict[str, FieldDefinition]:
    """The current tenant's fields by name."""
    return {f.name: f for f in db.session.scalars(sa.select(FieldDefinition).order_by(FieldDefinition.name))}
