"""Who may do what: every permission check in Tierwise is answered here.

Views, API handlers, CLI commands and jobs ask ``allows(user, Permission.X)`` or
one of the object checks below; none of them compares roles themselves.
"""
from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa

from tierwise.platform.users import BookScope, Role, User


class Permission(StrEnum):
    MANAGE_USERS = "manage_users"
    MANAGE_BRANCHES = "manage_branches"
    VIEW_AUDIT_LOG = "view_audit_log"
    MANAGE_ALL_TOKENS = "manage_all_tokens"
    USE_API = "use_api"
    VIEW_ALL_CUSTOMERS = "view_all_customers"
    IMPORT_DATA = "import_data"
    MANAGE_RULES = "manage_rules"
    MANAGE_MODELS = "manage_models"
    EXPORT_LISTS = "export_lists"
    ERASE_CUSTOMERS = "erase_customers"
    MANAGE_FIELDS = "manage_fields"
    ASSIGN_CUSTOMERS = "assign_customers"  # give customers to RMs, move books (tenant admins only)


_ANALYST = frozenset({
    Permission.USE_API, Permission.VIEW_ALL_CUSTOMERS, Permission.IMPORT_DATA, Permission.EXPORT_LISTS,
})
_RELATIONSHIP_MANAGER = frozenset({Permission.USE_API, Permission.EXPORT_LISTS})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.TENANT_ADMIN: frozenset(Permission),
    Role.ANALYST: _ANALYST,
    Role.RELATIONSHIP_MANAGER: _RELATIONSHIP_MANAGER,
}


IMPORT_RIGHTS = ("may_assign", "may_add_fields")  # what ``import_rights`` answers, and a recorded run keeps


def import_rights(user: User | None) -> dict[str, bool]:
    """What ``user`` may do through an import beyond adding data: assign customers to RMs (an ``rm_email``
    column) and add fields to the registry (``add_fields``); the import refuses the rest."""
    return {"may_assign": allows(user, Permission.ASSIGN_CUSTOMERS),
            "may_add_fields": allows(user, Permission.MANAGE_FIELDS)}


def allows(user: User | None, permission: Permission) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    return permission in ROLE_PERMISSIONS.get(Role(user.role), frozenset())


def permissions_of(user: User) -> list[Permission]:
    """What the user's role allows, in the order permissions are declared."""
    granted = ROLE_PERMISSIONS.get(Role(user.role), frozenset())
    return [permission for permission in Permission if permission in granted]


def visible_customers(user: User) -> sa.ColumnElement[bool]:
    """Which customers ``user`` may see: all (admins, analysts), their own book and, if granted, their branch's.

    Every customer query in the product filters with this; a customer outside it
    is answered with 404 wherever it is asked for.  A branch grant widens an RM's
    view: a customer of another branch assigned to the RM stays in their book.
    """
    from tierwise.tenants.customers import Customer

    if allows(user, Permission.VIEW_ALL_CUSTOMERS):
        return sa.true()
    if user.book_scope == BookScope.BRANCH and user.branch_id is not None:
        return sa.or_(Customer.branch_id == user.branch_id, Customer.rm_user_id == user.id)
    return Customer.rm_user_id == user.id


def can_view_user(actor: User, subject: User) -> bool:
    return actor.id == subject.id or allows(actor, Permission.MANAGE_USERS)


def can_manage_token(actor: User, token_user_id) -> bool:
    """A user manages their own tokens; a tenant admin may revoke anyone's."""
    return actor.id == token_user_id or allows(actor, Permission.MANAGE_ALL_TOKENS)


def can_manage_schedule(user: User, action: str) -> bool:
    """Scheduling work is starting it, later: retiers for rule managers, scoring and training for model managers."""
    needed = Permission.MANAGE_RULES if action == "retier" else Permission.MANAGE_MODELS
    return allows(user, needed)
