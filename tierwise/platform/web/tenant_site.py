"""The tenant site, ``/t/<slug>/...``: the slug is resolved once, here, for every page.

An unknown or inactive slug is a 404 before any view runs; the tenant scope is
entered before the session's user is loaded, so the user loader can only ever
find a user of this tenant.
"""
from __future__ import annotations

from flask import Blueprint, abort, g

from tierwise.platform.request_context import enter_tenant
from tierwise.platform.tenant import find_tenant
from tierwise.platform.web import (audit_log, auth_views, branches, customers, dashboards, fields, home, imports,
                                   lists, models, rules, rules_editor, rules_versions, schedules, tokens, users)

bp = Blueprint("tenant", __name__, url_prefix="/t/<tenant_slug>")


@bp.url_value_preprocessor
def _resolve_tenant(endpoint, values) -> None:
    slug = (values or {}).pop("tenant_slug", None)
    tenant = find_tenant(slug) if slug else None
    if tenant is None or not tenant.active:
        abort(404)
    enter_tenant(tenant)


@bp.url_defaults
def _add_tenant_slug(endpoint, values) -> None:
    if "tenant_slug" not in values and "tenant" in g:
        values["tenant_slug"] = g.tenant.slug


for child in (auth_views, home, users, branches, tokens, audit_log, customers, lists, fields, imports, rules, rules_editor,
              rules_versions, schedules, models, dashboards):
    bp.register_blueprint(child.bp)
