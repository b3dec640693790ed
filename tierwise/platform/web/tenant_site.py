"""The tenant site, ``/t/<slug>/...``: the slug is resolved once, here, for every page.

An unknown or inactive slug is a 404 before any view runs; a slug typed in
another case (``/t/DEMO-BANK/login``) is sent, permanently, to the same page at
the tenant's own address.  The tenant scope is entered before the session's
user is loaded, so the user loader can only ever find a user of this tenant.
"""
from __future__ import annotations

from flask import Blueprint, abort, g, redirect, request, url_for

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
    if slug != tenant.slug:
        abort(_at_own_address(endpoint, values, tenant.slug))
    enter_tenant(tenant)


def _at_own_address(endpoint: str, values: dict, slug: str):
    """The same page and query at the tenant's own slug: one address per page, whatever case was typed.

    308, not 301, so a form posted to the typed address is posted again, not turned into a GET.
    """
    query = request.query_string.decode("utf-8", "replace")  # bytes a browser never sends must not be a 500
    target = url_for(endpoint, tenant_slug=slug, **values) + (f"?{query}" if query else "")
    return redirect(target, 308)


@bp.url_defaults
def _add_tenant_slug(endpoint, values) -> None:
    if "tenant_slug" not in values and "tenant" in g:
        values["tenant_slug"] = g.tenant.slug


for child in (auth_views, home, users, branches, tokens, audit_log, customers, lists, fields, imports, rules, rules_editor,
              rules_versions, schedules, models, dashboards):
    bp.register_blueprint(child.bp)
