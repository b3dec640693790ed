"""Saved column mappings: a tenant's export format, remembered by name and reused.

The CLI (``--map``, ``--mapping``, ``--save-mapping``), the import page and
import runs all come through here, so a mapping saved from one door is the same
mapping in the others: a saved mapping is applied first, explicit
``TARGET=COLUMN`` pairs override it target by target, and the mapping used is
saved only when the import succeeds.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.errors import NotFoundError, ValidationError
from tierwise.platform import audit
from tierwise.platform.db import JSONType, TenantScoped, db
from tierwise.tenants.imports.runner import ImportResult, import_file
from tierwise.tenants.imports.specs import KIND_LABELS, KINDS

MAX_NAME = 100


class ColumnMapping(TenantScoped, db.Model):
    __tablename__ = "column_mappings"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "kind", "name"),)
    noun = _l("column mapping")

    kind: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(100))
    mapping: Mapped[dict] = mapped_column(JSONType, default=dict)  # target -> source column


def parse_pairs(pairs: Iterable[str], *, field: str) -> dict[str, str]:
    """``TARGET=COLUMN`` pairs (the CLI's ``--map``, the import page's mapping box) as a mapping.

    ``TARGET=`` with no column leaves an optional target unfilled: a column its header would have
    filled (``planning``) is ignored instead.
    """
    mapping: dict[str, str] = {}
    for pair in pairs:
        target, sep, column = pair.partition("=")
        if not sep or not target.strip():
            raise ValidationError(_("'%(pair)s' is not TARGET=COLUMN", pair=pair), field=field)
        mapping[target.strip()] = column.strip()
    return mapping


def validate_mapping_name(name: str | None, *, field: str = "mapping_name") -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise ValidationError(_("a mapping name must be 1-%(max)s characters", max=MAX_NAME), field=field)
    return name


def resolve_mapping(kind: str, *, saved_name: str | None = None, explicit: dict[str, str] | None = None) -> dict[str, str]:
    """The mapping an import uses: the saved one called ``saved_name`` (if any), overridden by ``explicit``."""
    saved = load_mapping(kind, saved_name) if saved_name else {}
    return {**saved, **(explicit or {})}


def optional_targets(saved_name: str | None, explicit: dict[str, str] | None = None, *, kind: str) -> list[str]:
    """The targets only the saved mapping maps: a file without their column imports without them.

    A saved mapping describes a tenant's full export; the delta files of the following days
    often leave optional columns out, and were refused ("the file has no column 'AUM 3M Avg'").
    A column mapped on the command line or the form is still required to be there: a typo there
    is the user's to correct.  A required target's column is required either way.
    """
    if not saved_name:
        return []
    return sorted(set(load_mapping(kind, saved_name)) - set(explicit or {}))


def check_save_as(name: str | None, mapping: dict[str, str], *, field: str = "save_mapping") -> str | None:
    """The name to save ``mapping`` under, checked before an import starts rather than after it ran."""
    if not name:
        return None
    name = validate_mapping_name(name, field=field)
    if not mapping:
        raise ValidationError(_("there is no column mapping to save: choose a saved mapping or map columns"),
                              field=field)
    return name


def import_mapped(path: str | Path, *, kind: str, mapping: dict[str, str], save_as: str | None = None,
                  **options) -> ImportResult:
    """``import_file`` with ``mapping``, then, if it succeeded, ``mapping`` saved as ``save_as``."""
    save_as = check_save_as(save_as, mapping)
    result = import_file(path, kind=kind, mapping=mapping, **options)
    if save_as:
        save_mapping(kind, save_as, mapping)
    return result


def save_mapping(kind: str, name: str, mapping: dict[str, str]) -> ColumnMapping:
    """Create or replace the mapping ``name`` for ``kind`` imports."""
    if kind not in KINDS:
        raise ValidationError(_l("unknown import kind '%(kind)s'", kind=kind), field="kind")
    name = validate_mapping_name(name)
    if not all(isinstance(k, str) and isinstance(v, str) and v for k, v in mapping.items()):
        raise ValidationError(_("must map target names to source column names"), field="mapping")
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
        raise NotFoundError(_("no mapping named '%(name)s' is saved for the %(kind)s import", name=name,
                              kind=KIND_LABELS.get(kind, kind)),
                            field="mapping_name")  # as ``start_import_run`` and the CLI name the choice
    return dict(saved.mapping)


def list_mappings() -> list[ColumnMapping]:
    """The current tenant's saved mappings, by kind and name."""
    return list(db.session.scalars(sa.select(ColumnMapping).order_by(ColumnMapping.kind, ColumnMapping.name)))
