"""Per-request identity: which tenant, which user, who acts for the audit log.

The tenant is resolved once per request (URL slug for pages, API token or session
for the API) and entered as the tenant scope; ``teardown_request`` always leaves
it, so a worker thread never carries one request's tenant into the next.
"""
from __future__ import annotations

import hmac
import uuid

import sqlalchemy as sa
from flask import Flask, abort, g, request
from flask_babel import gettext as _
from flask_login import current_user

from tierwise.errors import ValidationError
from tierwise.platform import audit, tenancy
from tierwise.platform.db import db
from tierwise.platform.extensions import login_manager
from tierwise.platform.numbers import readable_number
from tierwise.platform.operators import Operator
from tierwise.platform.tenant import Tenant
from tierwise.platform.users import User

# Scripts and everything else only from Tierwise itself (ECharts is served locally), no inline script
# (the pages' behaviour is in static/*.js; chart options travel as JSON blocks); inline style attributes
# stay allowed for the few computed widths the templates write.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                           "frame-ancestors 'none'; form-action 'self'")


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_session_identity)
    app.before_request(_refuse_long_addresses)
    app.before_request(_reject_nul_bytes)
    app.before_request(_set_actor)
    app.after_request(_security_headers)
    app.teardown_request(_leave_request_scopes)


def enter_tenant(tenant: Tenant) -> None:
    """Act for ``tenant`` for the rest of this request."""
    enter_tenant_scope(tenant.id)
    g.tenant = tenant


def enter_tenant_scope(tenant_id: int) -> None:
    """Act for the tenant with this id before its row is read (an API token's tenant is read with the token);
    the caller sets ``g.tenant`` once it has it.  Entering another replaces it: one scope per request."""
    previous = g.pop("_tenant_scope_token", None)
    if previous is not None:
        tenancy.leave_scope(previous)
    g._tenant_scope_token = tenancy.enter_tenant_scope(tenant_id)


def session_tenant_id() -> int | None:
    """The tenant of the user signed in with the session cookie, if any."""
    from flask import session

    parts = _identity_parts(str(session.get("_user_id", "")))
    return int(parts[0]) if parts and parts[0].isdigit() else None


def _identity_parts(identity: str) -> list[str] | None:
    """``<tenant id>:<user id>:<nonce>`` or ``operator:<id>:<nonce>`` (see ``get_id``), split; None if malformed."""
    parts = identity.split(":")
    return parts if len(parts) == 3 else None


def load_session_identity(identity: str):
    """Flask-Login's loader: a user of the current tenant, or an operator on operator pages."""
    parts = _identity_parts(identity)
    if parts is None:
        return None
    if parts[0] == "operator":
        if request.blueprint != "operator" or not parts[1].isdigit():
            return None
        account = db.session.get(Operator, int(parts[1]))
    else:
        if tenancy.current_tenant_id() is None or parts[0] != str(tenancy.current_tenant_id()):
            return None
        try:
            user_id = uuid.UUID(parts[1])
        except ValueError:
            return None
        account = db.session.scalar(sa.select(User).where(User.id == user_id))
    if account is None or not account.active or not hmac.compare_digest(account.session_nonce, parts[2]):
        return None
    return account


MAX_URL = 4096  # characters of path and query string: more is no list filter anyone typed


def _refuse_long_addresses() -> None:
    """An address longer than ``MAX_URL``: 414 in the usual error body (gunicorn's own page only past 8190)."""
    if len(request.full_path) > MAX_URL:
        abort(414, description=_("The address is too long: at most %(count)s characters.",
                                 count=readable_number(MAX_URL)))


def _reject_nul_bytes() -> None:
    """NUL never belongs in text input, and PostgreSQL refuses it: answer 400 naming where it is, not 500."""
    named = [("path", request.path), *request.args.items(multi=True)]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        named += list(request.form.items(multi=True))
    for name, value in named:
        if "\x00" in value:
            raise ValidationError(_("must not contain NUL characters"), field=name)


def _security_headers(response):
    """Pages carry customer data and token secrets: never cached, never framed."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response


def set_request_actor(user: User | None) -> None:
    """Record who acts in this request's audit events (re-set once an API token is checked)."""
    previous = g.pop("_actor_token", None)
    if previous is not None:
        audit.reset_actor(previous)
    ip = request.remote_addr
    actor = audit.Actor(label=user.email, user_id=user.id, ip=ip) if user else audit.Actor(label="anonymous", ip=ip)
    g._actor_token = audit.set_actor(actor)


def _set_actor() -> None:
    user = current_user._get_current_object()
    set_request_actor(user if isinstance(user, User) else None)


def _leave_request_scopes(exc) -> None:
    db.session.remove()
    for name, leave in (("_actor_token", audit.reset_actor), ("_tenant_scope_token", tenancy.leave_scope)):
        token = g.pop(name, None)
        if token is not None:
            leave(token)
