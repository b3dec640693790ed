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
from tierwise.platform.request_context import (enter_tenant, enter_tenant_scope, session_tenant_id,
                                               set_request_actor)
from tierwise.platform.tenant import Tenant, find_tenant, known_tenant_id, remember_tenant_id
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
    found = _tenant_and_token(slug, secret)
    if found is None or not found[0].active:
        return None
    g.tenant = found[0]
    accepted = api_tokens.accept(found[1], secret)
    if accepted is None:
        return None
    user, token = accepted
    g._login_user = user  # Flask-Login's current_user for this request, without a session cookie
    g.api_token = token
    return user


def _tenant_and_token(slug: str, secret: str):
    """The tenant the token's slug names and the token, read together once the slug's tenant id is known.

    The scope is entered with the id before the query, so the token is looked up inside its
    tenant (filter and row-level security); reading the tenant, setting the scope and reading
    the token were three round trips.  An id remembered for the slug that no longer names that
    tenant is forgotten and looked up again.
    """
    remembered = known_tenant_id(slug)
    if remembered is not None:
        enter_tenant_scope(remembered)
        found = api_tokens.look_up(secret, tenant_slug=slug)
        if found is not None:
            return found
        remember_tenant_id(slug, None)
    tenant = find_tenant(slug)
    if tenant is None:
        return None
    remember_tenant_id(slug, tenant.id)
    enter_tenant_scope(tenant.id)
    return api_tokens.look_up(secret, tenant_slug=slug)


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
