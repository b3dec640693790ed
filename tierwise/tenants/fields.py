"""The field registry: the attributes a tenant keeps about its customers.

Rules, models and imports discover fields here.  Each field has a type, labels
in zh-CN and English, a description and a group.  Industry templates pre-fill
the registry; tenant admins add and edit fields on the *Fields* page; an import
may add fields, but only when the admin explicitly asks for it.
"""
from __future__ import annotations

import re
import uuid
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Mapping

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.errors import ConflictError, ValidationError, parse_choice
from tierwise.platform import audit, tenancy
from tierwise.platform.configuration import per_configuration
from tierwise.platform.db import TenantScoped, db
from tierwise.platform.i18n import localised

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_LABEL = 100  # the label columns' width
MAX_DESCRIPTION = 2000
MAX_CATEGORY = 100
MAX_CATEGORIES = 500
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
    noun = _l("field")

    name: Mapped[str] = mapped_column(sa.String(63))
    field_type: Mapped[str] = mapped_column(sa.String(16))
    field_group: Mapped[str] = mapped_column(sa.String(16))
    label_zh: Mapped[str] = mapped_column(sa.String(100))
    label_en: Mapped[str] = mapped_column(sa.String(100))
    description: Mapped[str] = mapped_column(sa.Text, default="")  # in English
    description_zh: Mapped[str] = mapped_column(sa.Text, default="")
    # For category fields: the allowed codes, or empty for open categories.
    categories: Mapped[list | None] = mapped_column(sa.JSON)

    def label(self, locale: str | None) -> str:
        return self.label_zh if (locale or "").startswith("zh") else self.label_en

    def describe(self, locale) -> str:
        """The description in the reader's language, or in the other one when only that was written."""
        return localised(self.description, self.description_zh, str(locale or ""))


def validate_field_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME_PATTERN.match(name):
        raise ValidationError(_l("'%(name)s' is not a field name: it must start with a lowercase letter and use only "
                                "a-z, 0-9 and _ (at most 63)", name=name), field="name")
    if name in RESERVED_NAMES:
        raise ValidationError(_l("'%(name)s' is a built-in customer column", name=name), field="name")
    if name in rule_words():
        raise ValidationError(_l("'%(name)s' is reserved by the rule language: choose another name, "
                                "e.g. '%(name)s_value'", name=name), field="name")
    return name


def rule_words() -> frozenset[str]:
    """The names the rule language gives a meaning of its own, which no field may take.

    A keyword (``and``) could not name a field in a rule at all.  The others would
    mean two things: a field called ``churn_probability`` would hide the model's
    score, one called ``sum`` or ``complaints`` would read as the function or the
    source of rows, and one called ``amount`` would be the field outside an
    aggregate but the activity row's amount inside ``sum(amount, 90d)``.  The
    columns an aggregate's filter tests (``category``, ``type``, ``channel``) are
    left to fields: they are common customer columns, and inside a filter the row's
    column is what anyone means.
    """
    # Imported here: the rule vocabulary types fields by FieldType, so it imports this module.
    from tierwise.tenants.rules.syntax import KEYWORDS
    from tierwise.tenants.rules.vocabulary import FUNCTIONS, MEASURES, MODEL_OUTPUTS, SOURCES

    return frozenset(KEYWORDS | set(FUNCTIONS) | set(MODEL_OUTPUTS) | set(SOURCES) | set(MEASURES))


def define_field(*, name: str, field_type: str, field_group: str = FieldGroup.PROFILE.value, label_zh: str = "",
                 label_en: str = "", description: str = "", description_zh: str = "",
                 categories: list[str] | None = None, audit_action: str | None = "field.defined") -> FieldDefinition:
    """Add a field to the current tenant's registry."""
    name = validate_field_name(name)
    parse_choice(FieldType, field_type, field="field_type")
    details = _checked_details(name, field_type, field_group=field_group, label_zh=label_zh, label_en=label_en,
                               description=description, description_zh=description_zh, categories=categories)
    if field_registry().get(name) is not None:
        raise ConflictError(_("field '%(name)s' already exists", name=name))
    definition = FieldDefinition(name=name, field_type=field_type, **details)
    db.session.add(definition)
    if audit_action:
        audit.record(audit_action, target_type="field", target_id=name, details={"type": field_type, "group": field_group})
    return definition


def update_field(definition: FieldDefinition, *, field_group: str, label_zh: str, label_en: str, description: str,
                 categories: list[str] | None, description_zh: str = "") -> dict[str, list]:
    """Change what a field is called, how it is grouped and described, and (category fields) its codes.

    The name and the type are not parameters: imported values, rules and models
    refer to a field by its name and read its values by its type, so neither may
    change once the field exists.  Returns the changes as ``{attribute: [old, new]}``
    (empty when nothing changed, and then nothing is audited).  Values already
    imported are not rechecked against a new category list; the next import is.
    """
    details = _checked_details(definition.name, definition.field_type, field_group=field_group, label_zh=label_zh,
                               label_en=label_en, description=description, description_zh=description_zh,
                               categories=categories)
    changes = {attribute: [getattr(definition, attribute), value] for attribute, value in details.items()
               if getattr(definition, attribute) != value}
    for attribute, (_old, value) in changes.items():
        setattr(definition, attribute, value)
    if changes:
        audit.record("field.updated", target_type="field", target_id=definition.name, details=changes)
    return changes


def _checked_details(name: str, field_type: str, *, field_group: str, label_zh: str, label_en: str,
                     description: str, description_zh: str = "", categories: list[str] | None) -> dict:
    """The editable attributes of a field, validated; every error names the input it is about.

    A blank label falls back to the field's name, so every field can be shown in both languages.
    """
    parse_choice(FieldGroup, field_group, field="field_group")
    label_zh, label_en = (label_zh or "").strip() or name, (label_en or "").strip() or name
    description, description_zh = (description or "").strip(), (description_zh or "").strip()
    for field_name, label in (("label_zh", label_zh), ("label_en", label_en)):
        if len(label) > MAX_LABEL:
            raise ValidationError(_("must be at most %(max)s characters", max=MAX_LABEL), field=field_name)
    for field_name, text in (("description", description), ("description_zh", description_zh)):
        if len(text) > MAX_DESCRIPTION:
            raise ValidationError(_("must be at most %(max)s characters", max=format(MAX_DESCRIPTION, ",")),
                                  field=field_name)
    return {"field_group": field_group, "label_zh": label_zh, "label_en": label_en, "description": description,
            "description_zh": description_zh, "categories": _checked_categories(field_type, categories)}


def _checked_categories(field_type: str, categories: list[str] | None) -> list[str] | None:
    """Lowercase, distinct codes (imports match values case-insensitively), or None for open categories."""
    codes = [str(code).strip().lower() for code in categories or () if str(code).strip()]
    if not codes:
        return None
    if field_type != FieldType.CATEGORY:
        raise ValidationError(_("only category fields have categories (this field's type is %(type)s)",
                                type=field_type), field="categories")
    if len(codes) > MAX_CATEGORIES:
        raise ValidationError(_("at most %(max)s categories", max=MAX_CATEGORIES), field="categories")
    too_long = [code for code in codes if len(code) > MAX_CATEGORY]
    if too_long:
        raise ValidationError(_("'%(code)s...' is longer than %(max)s characters", code=too_long[0][:20],
                                max=MAX_CATEGORY), field="categories")
    repeated = [code for code, count in Counter(codes).items() if count > 1]
    if repeated:
        raise ValidationError(_("'%(code)s' is listed more than once (codes ignore case)", code=repeated[0]),
                              field="categories")
    return codes


def get_field(field_id: uuid.UUID) -> FieldDefinition:
    """One field of the current tenant; another tenant's id is NotFoundError, like any unknown id."""
    return FieldDefinition.get(field_id)


def field_registry() -> dict[str, FieldDefinition]:
    """The current tenant's fields by name."""
    return {f.name: f for f in db.session.scalars(sa.select(FieldDefinition).order_by(FieldDefinition.name))}


@dataclass(frozen=True)
class FieldLabel:
    label_zh: str
    label_en: str

    def label(self, locale: str | None) -> str:
        return self.label_zh if (locale or "").startswith("zh") else self.label_en


@per_configuration
def field_labels() -> Mapping[str, FieldLabel]:
    """The current tenant's field labels by name: what a reason needs, without loading the fields.

    A list page of the API names the fields of 50 reasons; loading every field
    definition as an object for that cost more than the page's own query.  Read
    once per configuration version in the process, and shared: read-only.
    """
    t = FieldDefinition.__table__
    rows = db.session.execute(sa.select(t.c.name, t.c.label_zh, t.c.label_en)
                              .where(t.c.tenant_id == tenancy.current_tenant_id())
                              .execution_options(tenant_filtered=True))
    return MappingProxyType({name: FieldLabel(zh, en) for name, zh, en in rows})
