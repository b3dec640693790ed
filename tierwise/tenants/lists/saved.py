"""Saved lists: a built-in list narrowed by filters, kept under a name.

A saved list belongs to the user who made it; ``shared`` makes it visible to
everyone in the tenant.  It stores the filters, never customers: opened by an
RM it shows only that RM's book, like every list.
"""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.platform.db import JSONType, TenantScoped, db, utcnow
from tierwise.platform.i18n import listed


class SavedList(TenantScoped, db.Model):
    __tablename__ = "saved_lists"
    __table_args__ = (
        sa.ForeignKeyConstraint(["tenant_id", "owner_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("tenant_id", "owner_id", "name"),
    )
    noun = _l("saved list")

    name: Mapped[str] = mapped_column(sa.String(120))
    owner_id: Mapped[uuid.UUID]
    shared: Mapped[bool] = mapped_column(default=False)
    base: Mapped[str] = mapped_column(sa.String(32))  # the built-in list it narrows
    filters: Mapped[dict] = mapped_column(JSONType, default=dict)
    sort: Mapped[str] = mapped_column(sa.String(32), default="external_id")  # the order it opens in
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def available_lists(user) -> list[SavedList]:
    """The user's own saved lists and those shared in the tenant, by name."""
    return list(db.session.scalars(sa.select(SavedList).where(sa.or_(SavedList.owner_id == user.id, SavedList.shared))
                                   .order_by(SavedList.name, SavedList.id)))


def get_saved_list(list_id: uuid.UUID, user) -> SavedList:
    """A list the user may open (their own, or shared); another's private list is not found."""
    from tierwise.errors import NotFoundError

    saved = db.session.scalar(sa.select(SavedList).where(SavedList.id == list_id,
                                                         sa.or_(SavedList.owner_id == user.id, SavedList.shared)))
    if saved is None:
        raise NotFoundError(_("no such saved list"), sought=list_id)
    return saved


def _hold_branch(branch_id) -> None:
    """Hold the branch a list filters on until the list is saved (PostgreSQL's FOR KEY SHARE).

    A saved list keeps the branch's id in its filters, with no foreign key to stop the branch's
    deletion: without the hold, a deletion counting the lists that filter on the branch, and a
    list saved at that moment, could both commit, and the list would never open again.  The
    deletion's row lock (``branches.delete_branch``) makes one of the two wait for the other.
    """
    from tierwise.platform.branches import Branch

    if branch_id is not None:
        db.session.execute(sa.select(Branch.id).where(Branch.id == branch_id)
                           .with_for_update(read=True, key_share=True))


def save_list(user, *, name: str, base: str, filters, shared: bool = False, sort: str = "external_id") -> SavedList:
    """Keep a built-in list's filters under a name (audited).

    The filters are checked by building the list's query, as a list page does, so
    a saved list always opens: a condition that does not parse or compile, or a
    tier the rule set in force lacks, is refused now rather than when it is opened.
    """
    from tierwise.errors import ConflictError, ValidationError
    from tierwise.platform import audit
    from tierwise.tenants.lists import catalog, query

    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationError(_("give the list a name of at most 120 characters"), field="name")
    if base not in catalog.BUILT_IN:
        raise ValidationError(_("unknown list '%(name)s' (choose one of: %(choices)s)", name=base,
                                choices=listed(catalog.BUILT_IN)), field="base")
    query.sort_key(sort)  # a sort the list pages do not have is refused as they refuse it
    definition = catalog.rule_set()
    _hold_branch(filters.branch_id)
    query.build(base, sa.true(), filters, definition, catalog.settings(definition))
    if db.session.scalar(sa.select(SavedList.id).where(SavedList.owner_id == user.id, SavedList.name == name)):
        raise ConflictError(_("you already have a list named '%(name)s'", name=name), field="name")
    saved = SavedList(name=name, owner_id=user.id, shared=bool(shared), base=base, filters=filters.to_dict(),
                      sort=sort)
    db.session.add(saved)
    db.session.flush()
    audit.record("lists.saved", target_type="saved_list", target_id=saved.id,
                 details={"name": name, "base": base, "filters": saved.filters, "shared": saved.shared, "sort": sort})
    return saved


def delete_saved_list(saved: SavedList, user, *, is_admin: bool) -> None:
    """The owner deletes their list; a tenant admin may delete a shared one.

    ``saved`` is one the user may open (``get_saved_list``): another's shared list is
    refused as forbidden, not as missing, since the user sees it among their lists.
    """
    from tierwise.errors import PermissionDeniedError
    from tierwise.platform import audit

    if saved.owner_id != user.id and not (is_admin and saved.shared):
        raise PermissionDeniedError(_("only its owner or a tenant admin can delete a shared list"))
    audit.record("lists.deleted", target_type="saved_list", target_id=saved.id, details={"name": saved.name})
    db.session.delete(saved)
    db.session.flush()
