"""Rule set versions: one editable draft per tenant, immutable published versions.

Publishing turns the draft into version N+1; the highest published number is
the rule set in force.  Rolling back publishes an older version's definition
again as a new number (``restored_from`` says which), so history only grows and
every assignment can name the exact version that decided it.  Each publish is
audited with a diff against the version it replaces.
"""
from __future__ import annotations

import functools
import uuid
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.errors import ConflictError, NotFoundError, ValidationError
from tierwise.platform import audit, tenancy
from tierwise.platform.configuration import per_configuration
from tierwise.platform.db import JSONType, TenantScoped, db, utcnow
from tierwise.tenants.fields import field_registry
from tierwise.tenants.rules.definition import Plan, RuleSetDefinition, compile_definition
from tierwise.tenants.rules.diff import definition_diff


class RuleSetVersion(TenantScoped, db.Model):
    __tablename__ = "rule_set_versions"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "number"),
        sa.CheckConstraint("(number IS NULL) = (published_at IS NULL)", name="published_number"),
    )
    noun = _l("rule set version")

    number: Mapped[int | None]  # None while a draft
    definition: Mapped[dict] = mapped_column(JSONType)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    restored_from: Mapped[int | None]
    created_by: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[str | None] = mapped_column(sa.String(254))
    published_at: Mapped[datetime | None]

    @property
    def is_draft(self) -> bool:
        return self.number is None

    def parsed(self) -> RuleSetDefinition:
        return RuleSetDefinition.from_dict(self.definition)


def compile_for_tenant(definition: RuleSetDefinition) -> Plan:
    """Compile against the current tenant's field registry (rules discover fields there)."""
    registry = field_registry()
    fields = {name: f.field_type for name, f in registry.items()}
    categories = {name: tuple(f.categories) for name, f in registry.items() if f.categories}
    return compile_definition(definition, fields, categories)


def validate(data) -> tuple[RuleSetDefinition, Plan]:
    """The definition and its plan, or the first ValidationError / RuleError (every bad rule in ``more``).

    A bad hysteresis setting (a margin of "abc") does not hide the rules' own problems: they are
    checked as if the dimension had none, and said with it, so an admin fixes everything in one go.
    """
    try:
        definition = RuleSetDefinition.from_dict(data)
    except ValidationError as error:
        if ".hysteresis" not in (error.field or "") or not isinstance(data, dict):
            raise
        try:
            compile_for_tenant(RuleSetDefinition.from_dict(_without_hysteresis(data)))
        except ValidationError as rules:
            error.more = [*error.more, rules, *rules.more]
        raise error from None
    return definition, compile_for_tenant(definition)


def _without_hysteresis(data: dict) -> dict:
    dimensions = data.get("dimensions")
    if not isinstance(dimensions, list):
        return data
    return {**data, "dimensions": [{k: v for k, v in d.items() if k != "hysteresis"} if isinstance(d, dict) else d
                                   for d in dimensions]}


def _in_force(selected) -> sa.Select:
    """``selected`` of the rule set in force: the highest published version."""
    return sa.select(selected).where(RuleSetVersion.number.is_not(None)).order_by(RuleSetVersion.number.desc()).limit(1)


def current_version() -> RuleSetVersion | None:
    """The rule set in force: the highest published version."""
    return db.session.scalar(_in_force(RuleSetVersion))


def definition_in_force() -> RuleSetDefinition | None:
    """The rule set in force, parsed: what every list page and export reads.

    Only the version's id is read, once per configuration version in the process
    (``per_configuration``); published versions never change, so their parsed
    definitions are kept in the process, by tenant and version (loading and parsing
    the definition was about a tenth of a list page's time).
    """
    version_id = _version_in_force()
    return None if version_id is None else published_definition(tenancy.current_tenant_id(), version_id)


@per_configuration
def _version_in_force() -> uuid.UUID | None:
    return db.session.scalar(_in_force(RuleSetVersion.id))


@functools.lru_cache(maxsize=1024)
def published_definition(tenant_id: int, version_id: uuid.UUID) -> RuleSetDefinition:
    """A published version's rule set, parsed.  Immutable once published, so shared by every
    request of the process (frozen dataclasses)."""
    definition = db.session.scalar(sa.select(RuleSetVersion.definition).where(
        RuleSetVersion.tenant_id == tenant_id, RuleSetVersion.id == version_id))
    return RuleSetDefinition.from_dict(definition)


def draft() -> RuleSetVersion | None:
    return db.session.scalar(sa.select(RuleSetVersion).where(RuleSetVersion.number.is_(None)))


def published_versions() -> list[RuleSetVersion]:
    return list(db.session.scalars(sa.select(RuleSetVersion).where(RuleSetVersion.number.is_not(None))
                                   .order_by(RuleSetVersion.number.desc())))


def version_by_number(number: int) -> RuleSetVersion:
    found = db.session.scalar(sa.select(RuleSetVersion).where(RuleSetVersion.number == number))
    if found is None:
        raise NotFoundError(_("no rule set version %(number)s", number=number), field="version")
    return found


def save_draft(data, *, author: str, note: str = "") -> RuleSetVersion:
    """Validate and store the tenant's draft (replacing the previous draft)."""
    definition, _plan = validate(data)
    version = draft()
    if version is None:
        version = RuleSetVersion(definition=definition.to_dict(), created_by=author, note=note)
        db.session.add(version)
    else:
        version.definition = definition.to_dict()
        version.note = note
        version.updated_at = utcnow()
    db.session.flush()
    audit.record("rules.draft_saved", target_type="rule_set_version", target_id=version.id)
    return version


def discard_draft() -> None:
    version = draft()
    if version is None:
        raise NotFoundError(_("there is no draft to discard"))
    db.session.delete(version)
    audit.record("rules.draft_discarded", target_type="rule_set_version", target_id=version.id)


def publish_draft(*, author: str) -> RuleSetVersion:
    """Publish the draft as the next version (re-validated: fields may have changed since)."""
    version = draft()
    if version is None:
        raise NotFoundError(_("there is no draft to publish"))
    validate(version.definition)
    _refuse_identical(version.definition)
    return _publish(version, author=author)


def publish(data, *, author: str, note: str = "") -> RuleSetVersion:
    """Validate and publish in one step (YAML apply, API): any draft is left as it is."""
    definition, _plan = validate(data)
    _refuse_identical(definition.to_dict())
    version = RuleSetVersion(definition=definition.to_dict(), created_by=author, note=note)
    db.session.add(version)
    return _publish(version, author=author)


def identical_in_force(definition: dict) -> RuleSetVersion | None:
    """The version in force if ``definition`` (normalised, ``to_dict``) is exactly it."""
    current = current_version()
    return current if current is not None and current.definition == definition else None


def _refuse_identical(definition: dict) -> None:
    """A new number with an empty diff would only blur the history."""
    current = identical_in_force(definition)
    if current is not None:
        raise ConflictError(_("the rule set is identical to version %(number)s, which is in force",
                              number=current.number))


def roll_back(number: int, *, author: str) -> RuleSetVersion:
    """Publish an older version's definition again, as a new version."""
    old = version_by_number(number)
    current = current_version()
    if current is not None and current.number == number:
        raise ConflictError(_("version %(number)s is already in force", number=number))
    validate(old.definition)  # a field it used may have been removed since
    version = RuleSetVersion(definition=old.definition, created_by=author, restored_from=number,
                             note=f"roll back to version {number}")
    db.session.add(version)
    return _publish(version, author=author)


def _publish(version: RuleSetVersion, *, author: str) -> RuleSetVersion:
    previous = current_version()
    # Two concurrent publishes would pick the same number: the unique key refuses the second.
    number = (previous.number if previous else 0) + 1
    version.number = number
    version.published_by = author
    version.published_at = utcnow()
    db.session.flush()
    diff = definition_diff(previous.definition if previous else None, version.definition)
    audit.record("rules.published", target_type="rule_set_version", target_id=version.id,
                 details={"number": number, "restored_from": version.restored_from,
                          "previous": previous.number if previous else None, "diff": diff})
    return version
