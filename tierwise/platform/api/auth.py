"""Who is calling the API.

``Authorization: Bearer tw_<slug>_<secret>``: the slug names the tenant, whose
scope is entered before the token is looked up inside it.  Without a header,
the browser session is used (for the UI's own calls) and unsafe methods must
carry the CSRF token in ``X-CSRFToken``.  This runs as a URL value preprocessor
so the identity exists before any ``before_request`` hook asks for it.
"""
from __future__ import annotations

from flask import abort, g, request
from flask_babel import gettext
from flask_login import current_user

from tierwise.platform import api_tokens
from tierwise.platform.api import api_blueprint
from tierwise.platform.extensions import csrf
from tierwise.platform.policy import Permission, allows
from tierwise.platform.request_context import enter_tenant, session_tenant_id, set_request_actor
from tierwise.platform.tenant import Tenant, find_tenant
from tierwise.platform.users import User
from tierwise.platform.db import db

PUBLIC_ENDPOINTS = {"api.openapi_document"}


@api_blueprint.url_value_preprocessor
def authenticate(endpoint, values) -> None:
    if endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    if header:
        user = _user_from_token(header)
    else:
        user = _user_from_session()
    if user is None:
        abort(401, description=gettext("Send 'Authorization: Bearer <token>' with a valid, unrevoked API token."))
    if not allows(user, Permission.USE_API):
        abort(403, description=gettext("Your role may not use the API."))
    set_request_actor(user)


def _user_from_token(header: str) -> User | None:
    scheme, _, presented = header.partition(" ")
    parsed = api_tokens.parse(presented) if scheme.lower() == "bearer" else None
    if parsed is None:
        return None
    slug, secret = parsed
    tenant = find_tenant(slug)
    if tenant is None or not tenant.active:
        return None
    enter_tenant(tenant)
    found = api_tokens.authenticate(secret)
    if found is None:
        return None
    user, token = found
    g._login_user = user  # Flask-Login's current_user for this request, without a session cookie
    g.api_token = token
    return user


def _user_from_session() -> User | None:
    tenant_id = session_tenant_id()
    tenant = db.session.get(Tenant, tenant_id) if tenant_id is not None else None
    if tenant is None or not tenant.active:
        return None
    enter_tenant(tenant)
    g.pop("_login_user", None)
    user = current_user._get_current_object()
    if not isinstance(user, User):
        return None
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    return user
