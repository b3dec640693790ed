"""Branches: the org units (支行, 供电所, 办事处) a relationship manager can be scoped to.

A branch's code is its identifier outside Tierwise: imports put customers in a
branch by it (their ``branch_code`` column), so it is fixed once created and
only the name may change.  Codes are compared ignoring case, since "sh01" beside
"SH01" would be two branches that people, and spreadsheets, take for one; a
unique index on ``(tenant_id, lower(code))`` holds to it when two admins create
them at once, and a code typed or imported finds its branch in any case.  A
branch is deleted only when nothing refers to it any more.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass

import sqlalchemy as sa
from babel.lists import format_list
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.errors import ConflictError, ValidationError
from tierwise.platform import audit
from tierwise.platform.db import TenantScoped, db
from tierwise.platform.i18n import gap, listed
from tierwise.platform.numbers import readable_number

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
CODE_INDEX = "uq_branches_tenant_id_lower_code"


class Branch(TenantScoped, db.Model):
    __tablename__ = "branches"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "code"),
        sa.Index(CODE_INDEX, "tenant_id", sa.text("lower(code)"), unique=True),
    )
    noun = _l("branch")

    code: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(200))


@dataclass(frozen=True)
class BranchUse:
    """What still refers to a branch: users scoped to it, customers in it, saved lists filtering on it."""

    users: int = 0
    customers: int = 0
    saved_lists: int = 0

    def __bool__(self) -> bool:
        return bool(self.users or self.customers or self.saved_lists)

    def said(self) -> str:
        """"3 users, 1,204 customers and 2 saved lists that filter on it", in the reader's language."""
        # The catalogues hold no plural forms: English's two are two messages, Chinese says both alike.
        said = []
        if self.users:
            count = readable_number(self.users)
            said.append(_("%(count)s user", count=count) if self.users == 1 else _("%(count)s users", count=count))
        if self.customers:
            count = readable_number(self.customers)
            said.append(_("%(count)s customer", count=count) if self.customers == 1 else
                        _("%(count)s customers", count=count))
        if self.saved_lists:
            count = readable_number(self.saved_lists)
            said.append(_("%(count)s saved list that filters on it", count=count) if self.saved_lists == 1 else
                        _("%(count)s saved lists that filter on it", count=count))
        locale = get_locale()
        if locale is not None and locale.language == "zh":  # CLDR's "A、B和C" sets 和 against a number: "和1 个"
            return listed(said)
        return format_list(said, locale=locale or "en")


def _checked_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationError(_("must be 1-200 characters"), field="name")
    return name


def create_branch(*, code: str, name: str) -> Branch:
    code = (code or "").strip()
    if not CODE_PATTERN.match(code):
        raise ValidationError(_("must be 1-40 letters, digits, '.', '_' or '-'"), field="code")
    name = _checked_name(name)
    _refuse_taken(code)
    branch = Branch(code=code, name=name)
    _insert(branch)
    audit.record("branch.created", target_type="branch", target_id=branch.id, details={"code": code, "name": name})
    return branch


def _refuse_taken(code: str) -> None:
    existing = db.session.scalar(sa.select(Branch.code).where(sa.func.lower(Branch.code) == code.lower()))
    if existing is not None:  # named as it is stored: "sh01" is refused as SH01
        raise ConflictError(_("a branch with code '%(code)s' already exists", code=existing), field="code")


def _insert(branch: Branch) -> None:
    """Insert ``branch``; a code that another create took between ``_refuse_taken`` and here (the unique index
    on lower(code) refuses the second) is refused as ``_refuse_taken`` refuses it.

    On PostgreSQL the insert runs in a savepoint, so the caller's transaction outlives the refusal.  SQLite's
    driver, which begins a transaction only before a write, would commit everything when that savepoint is
    released, so there the refusal rolls the transaction back instead.
    """
    code = branch.code
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    try:
        with db.session.begin_nested() if postgresql else nullcontext():
            db.session.add(branch)
            db.session.flush()
    except sa.exc.IntegrityError:
        if not postgresql:
            db.session.rollback()
        _refuse_taken(code)
        raise


def rename_branch(branch: Branch, *, name: str) -> Branch:
    """Give a branch a new name (audited); its code stays, as imports and other systems know it by it."""
    name = _checked_name(name)
    # Locked and read again: of two renames at once, the second records the name the first gave
    db.session.scalar(sa.select(Branch).where(Branch.id == branch.id).with_for_update()
                      .execution_options(populate_existing=True))
    if name != branch.name:
        audit.record("branch.renamed", target_type="branch", target_id=branch.id,
                     details={"code": branch.code, "name": name, "previous_name": branch.name})
        branch.name = name
        db.session.flush()
    return branch


def delete_branch(branch: Branch) -> None:
    """Delete a branch nothing refers to (audited); otherwise ConflictError saying what does, and nothing changes.

    The branch row is locked first: a user or customer being put in it meanwhile either committed
    before (and is counted) or waits, then fails its foreign key, rather than racing the count.
    """
    db.session.execute(sa.select(Branch.id).where(Branch.id == branch.id).with_for_update())
    use = uses_of([branch.id]).get(branch.id)
    if use:
        said = _("Branch %(code)s cannot be deleted while it has %(uses)s.", code=branch.code, uses=use.said())
        if use.saved_lists:  # an admin cannot see another user's private list: who to ask
            said += gap() + _("Saved lists: %(lists)s.", lists=listed(_lists_filtering_on(branch.id)))
        raise ConflictError(said)
    audit.record("branch.deleted", target_type="branch", target_id=branch.id,
                 details={"code": branch.code, "name": branch.name})
    db.session.delete(branch)
    db.session.flush()


def _lists_filtering_on(branch_id: uuid.UUID) -> list[str]:
    """"North VIPs (rm.li@bank.demo)": each saved list filtering on the branch, with its owner."""
    from tierwise.platform.users import User
    from tierwise.tenants.lists.saved import SavedList

    rows = db.session.execute(sa.select(SavedList.name, User.email).join(User, User.id == SavedList.owner_id)
                              .where(SavedList.filters["branch_id"].as_string() == str(branch_id))
                              .order_by(User.email, SavedList.name)).all()
    return [_("%(name)s (%(owner)s)", name=name, owner=email) for name, email in rows]



def uses_of(branch_ids: Iterable[uuid.UUID] | None = None) -> dict[uuid.UUID, BranchUse]:
    """What refers to each branch (all of the tenant's when ``branch_ids`` is None), in three grouped queries;
    a branch nothing refers to is left out."""
    # The domain packages read branches, not the reverse: their models are imported here, when asked.
    from tierwise.platform.users import User
    from tierwise.tenants.customers import Customer
    from tierwise.tenants.lists.saved import SavedList

    wanted = None if branch_ids is None else list(branch_ids)
    listed = SavedList.filters["branch_id"].as_string()  # a list's filters keep the id as text
    counts: dict[uuid.UUID, dict[str, int]] = {}
    for key, column in (("users", User.branch_id), ("customers", Customer.branch_id), ("saved_lists", listed)):
        query = sa.select(column, sa.func.count()).where(column.is_not(None)).group_by(column)
        if wanted is not None:
            query = query.where(column.in_([str(i) for i in wanted] if key == "saved_lists" else wanted))
        for branch_id, count in db.session.execute(query):
            counts.setdefault(uuid.UUID(str(branch_id)), {})[key] = count
    return {branch_id: BranchUse(**found) for branch_id, found in counts.items()}


def get_branch(branch_id: uuid.UUID) -> Branch:
    return Branch.get(branch_id)


def find_branch_by_code(code: str) -> Branch | None:
    """The branch a code someone typed names, ignoring case ("sh01" finds SH01), or None."""
    return db.session.scalar(sa.select(Branch).where(sa.func.lower(Branch.code) == (code or "").strip().lower()))


def list_branches() -> list[Branch]:
    return list(db.session.scalars(sa.select(Branch).order_by(Branch.code)))
