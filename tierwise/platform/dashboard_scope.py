"""Whose customers a dashboard covers and which of its job runs the user may follow.

The web page and the API answer the same question the same way, from the
permissions in ``policy``: the customer figures follow ``visible_customers``;
the runs follow the pages and endpoints they come from, so the dashboard never
lists a run its reader could not open: retiers as the tier page and
``/retier-runs`` show them (the whole tenant's: tenant admins and analysts, not
RMs), trainings and scorings as the model pages, imports as the import page.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from tierwise.errors import ValidationError
from tierwise.platform.policy import Permission, allows
from tierwise.platform.users import BookScope, User
from tierwise.tenants.dashboard_operations import JOB_KINDS


def book_scope(user: User) -> str:
    """``tenant`` (every customer), ``branch`` or ``own``: what the figures cover, for the reader to be told."""
    if allows(user, Permission.VIEW_ALL_CUSTOMERS):
        return "tenant"
    return "branch" if user.book_scope == BookScope.BRANCH and user.branch_id is not None else "own"


def reads_model_health(user: User) -> bool:
    """Model metrics and drift describe the whole customer base: as for the model pages."""
    return allows(user, Permission.VIEW_ALL_CUSTOMERS)


def visible_job_kinds(user: User) -> tuple[str, ...]:
    whole_tenant = allows(user, Permission.VIEW_ALL_CUSTOMERS)
    allowed = {"retier": whole_tenant, "train": whole_tenant, "score": whole_tenant,
               "import": allows(user, Permission.IMPORT_DATA)}
    return tuple(kind for kind in JOB_KINDS if allowed[kind])


def requested_days(raw: str | None) -> int | None:
    """``?days=N``: tier moves of the last N days instead of the latest retier's (ValidationError if not a number)."""
    if raw is None or not raw.strip():
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValidationError(_l("days must be a whole number"), field="days") from None
