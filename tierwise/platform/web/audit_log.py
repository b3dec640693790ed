"""The audit log page for tenant admins, newest first, keyset-paginated."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from tierwise.platform.audit import AuditEvent
from tierwise.platform.pagination import keyset_page
from tierwise.platform.policy import Permission
from tierwise.platform.web.access import requires
from tierwise.platform.web.labels import AUDIT_ACTION_LABELS, ids_in, name_ids

import sqlalchemy as sa

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.route("/")
@requires(Permission.VIEW_AUDIT_LOG)
def index():
    query = sa.select(AuditEvent)
    action = request.args.get("action", "").strip()
    if action:
        query = query.where(AuditEvent.action == action)
    page = keyset_page(query, key=AuditEvent.id, cursor=request.args.get("cursor"), limit=50, descending=True)
    name_ids(set().union(*(ids_in(event.details) for event in page.items)))  # people and branches by name
    actions = sorted(AUDIT_ACTION_LABELS, key=lambda code: str(AUDIT_ACTION_LABELS[code]))
    if action and action not in AUDIT_ACTION_LABELS:
        actions.append(action)  # a code kept from before, or typed into the address: still filtered on
    return render_template("audit.html", page=page, action=action, actions=actions)
