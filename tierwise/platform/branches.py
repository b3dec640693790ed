"""Branches: the org units (支行, 供电所, 办事处) a relationship manager can be scoped to."""
from __future__ import annotations

import re
import uuid

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.errors import ConflictError, ValidationError
from tierwise.platform import audit
from tierwise.platform.db import TenantScoped, db

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


class Branch(TenantScoped, db.Model):
    __tablename__ = "branches"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "code"),)
    noun = _l("branch")

    code: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(200))


def create_branch(*, code: str, name: str) -> Branch:
    code = (code or "").strip()
    name = (name or "").strip()
    if not CODE_PATTERN.match(code):
        raise ValidationError(_("must be 1-40 letters, digits, '.', '_' or '-'"), field="code")
    if not name or len(name) > 200:
        raise ValidationError(_("must be 1-200 characters"), field="name")
    if db.session.scalar(sa.select(Branch.id).where(Branch.code == code)) is not None:
        raise ConflictError(_("a branch with code '%(code)s' already exists", code=code))
    branch = Branch(code=code, name=name)
    db.session.add(branch)
    db.session.flush()
    audit.record("branch.created", target_type="branch", target_id=branch.id, details={"code": code, "name": name})
    return branch


def get_branch(branch_id: uuid.UUID) -> Branch:
    return Branch.get(branch_id)


def find_branch_by_code(code: str) -> Branch | None:
    return db.session.scalar(sa.select(Branch).where(Branch.code == code))


def list_branches() -> list[Branch]:
    return list(db.session.scalars(sa.select(Branch).order_by(Branch.code)))
