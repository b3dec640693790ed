"""``/audit-events``: the tenant's audit log, newest first (tenant admins)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, request
from flask_login import current_user

from tierwise.platform.api import api_blueprint
from tierwise.platform.api.serializers import AUDIT_EVENT_FIELDS, serialize_page
from tierwise.platform.audit import AuditEvent
from tierwise.platform.pagination import keyset_page, parse_limit
from tierwise.platform.policy import Permission, allows


@api_blueprint.get("/audit-events")
def list_audit_events():
    if not allows(current_user, Permission.VIEW_AUDIT_LOG):
        abort(403)
    query = sa.select(AuditEvent)
    if request.args.get("action"):
        query = query.where(AuditEvent.action == request.args["action"])
    page = keyset_page(query, key=AuditEvent.id, cursor=request.args.get("cursor"),
                       limit=parse_limit(request.args.get("limit")), descending=True)
    return serialize_page(page, AUDIT_EVENT_FIELDS)
