"""Error responses, registered once: JSON under ``/api/``, a page everywhere else.

Every API error has the same body: ``{"error": {"code": ..., "message": ...,
"field": ...}}``; a rule that cannot be used adds ``position``, the 0-based
offset of the offending text in the rule named by ``field``, and a rule set with
several bad rules lists the others under ``more``.
"""
from __future__ import annotations

import re

from flask import Flask, g, jsonify, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from tierwise.errors import (ConflictError, NotFoundError, PermissionDeniedError, TierwiseError,
                             UnsupportedBodyError, ValidationError)
from tierwise.platform.db import db
from tierwise.platform.i18n import listed

STATUS_BY_ERROR = {  # the first class an error is an instance of decides (subclasses first)
    UnsupportedBodyError: 415,
    ValidationError: 400,
    PermissionDeniedError: 403,
    NotFoundError: 404,
    ConflictError: 409,
}
CODE_BY_STATUS = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "too_large", 414: "uri_too_long", 415: "unsupported_media_type", 429: "too_many_requests",
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, code: str, message: str, field: str | None = None, rows: list | None = None,
                   position: int | None = None, more: list | None = None):
    if wants_json():
        body = {"error": {"code": code, "message": message}}
        if field:
            body["error"]["field"] = field
        if position is not None:  # 0 is a position: the very first character
            body["error"]["position"] = position
        if rows:
            body["error"]["rows"] = rows
        if more:
            body["error"]["more"] = more
        return jsonify(body), status
    return render_template("error.html", status=status, message=message, home=_home()), status


def _enter_site():
    """The organisation whose site an address is under, entered if no view did (``_home``); None if none.

    Entered before the error page says anything: the signed-in user is read again, now in their
    organisation, and so is their language (a Chinese reader's 404 was in English, said as nobody's)."""
    from flask_babel import refresh

    from tierwise.platform.request_context import enter_tenant
    from tierwise.platform.tenant import find_tenant

    tenant = g.get("tenant")
    if tenant is None and request.path.startswith("/t/"):
        slug = request.path.split("/")[2]
        try:
            tenant = find_tenant(slug) if slug else None
            if tenant is not None and tenant.active:
                enter_tenant(tenant)
                g.pop("_login_user", None)  # read before the tenant was entered (as nobody): read again
                refresh()  # and the language chosen from it
        except Exception:  # noqa: BLE001 - the error page must render even if the database cannot answer
            db.session.rollback()
            tenant = None
    return tenant


def _home() -> str:
    """Where "Back to Tierwise" leads: the organisation's home inside its site, else the page that chooses one.

    An address under a site that no page answers (``/t/<slug>/nosuchpage``) ran no view, so the
    organisation was never entered: it is entered here, and the error page keeps the site's top bar
    (its name, the signed-in user's menu) instead of a bare one."""
    tenant = _enter_site()
    if tenant is not None and tenant.active:
        return url_for("tenant.home.index", tenant_slug=tenant.slug)
    return url_for("landing.index")


def _http_error(exc: HTTPException):
    status = exc.code or 500
    if not wants_json():
        _enter_site()
    messages = {
        400: _("The request could not be understood: check its parameters."),
        401: _("Please sign in."),
        403: _("You do not have permission to do that."),
        404: _("Not found."),
        405: _("This address does not accept that method."),
        413: _("The request is too large."),
        414: _("The address is too long."),
        415: _("The request's content type is not supported."),
        429: _("Too many requests. Please wait and try again."),
    }
    # Werkzeug's stock text ("You don't have the permission to access the requested resource. It is
    # either read-protected...") is for browsers of static sites: an API caller gets ours instead.
    said = exc.description if exc.description != type(exc).description else None
    message = messages.get(status) if not wants_json() else (said or messages.get(status))
    field = None
    if status == 404 and wants_json() and request.url_rule is None:
        field, message = _unrouted_parameter() or (None, message)
    response = make_response(error_response(status, CODE_BY_STATUS.get(status, "error"), message or exc.name, field))
    for name, value in exc.get_headers():  # what the client acts on: a 405's Allow, a 429's Retry-After
        if name.lower() != "content-type":
            response.headers[name] = value
    if status == 401 and wants_json():  # RFC 6750: say which scheme to answer with
        response.headers["WWW-Authenticate"] = 'Bearer realm="tierwise"'
    return response


def _csrf_error(exc: CSRFError):
    return error_response(400, "csrf_failed", _("The form expired or was not sent from Tierwise. Reload the page and try again."))


def _domain_error(exc: TierwiseError):
    db.session.rollback()  # the request's work stops here; its session must answer the error page's queries
    status = next((s for cls, s in STATUS_BY_ERROR.items() if isinstance(exc, cls)), 400)
    rows = [{"row": e.row, "column": e.column, "value": e.value, "reason": e.reason}
            for e in getattr(exc, "errors", [])[:100]]  # an import's bad cells, where they are
    field = getattr(exc, "field", None) or path_parameter_of(getattr(exc, "sought", None))
    return error_response(status, exc.code, str(exc), field, rows,
                          getattr(exc, "position", None), further_problems(exc))  # a RuleError's offset in its rule


def path_parameter_of(sought) -> str | None:
    """The path parameter that carried the id a lookup did not find (``customer_id``), if one did.

    An id the body sent is named by the code that read it; one the path sent is named here,
    once for every route, by the value the route was called with."""
    if sought is None or not request.view_args:
        return None
    return next((name for name, value in request.view_args.items() if value == sought), None)


def _unrouted_parameter() -> tuple[str, str] | None:
    """(parameter, message) for an API path that no route matched only because one path parameter is
    malformed (``/customers/not-an-id``, ``/imports/bogus``): the route it was meant for, named.

    Werkzeug's converters refuse such a value before any view runs, so the 404 would say nothing
    of where the problem is; here each API route is matched again with any value in its parameters.
    """
    from flask import current_app
    from werkzeug.routing import AnyConverter

    for pattern, rule in _relaxed_api_rules(current_app):
        found = pattern.fullmatch(request.path)
        if found is None or request.method not in (rule.methods or ()):
            continue
        for name, value in found.groupdict().items():
            converter = rule._converters[name]
            if re.fullmatch(converter.regex, value):
                continue
            if isinstance(converter, AnyConverter):
                return name, _("unknown %(field)s '%(value)s' (choose one of: %(allowed)s)", field=name, value=value,
                               allowed=listed(sorted(converter.items)))
            return name, _("'%(value)s' is not an id", value=value)
    return None


def _relaxed_api_rules(app: Flask) -> list:
    """Each API route with a parameter, as a pattern taking any value there (built once per app)."""
    kept = app.extensions.get("tierwise_relaxed_api_rules")
    if kept is None:
        kept = []
        for rule in app.url_map.iter_rules():
            if rule.rule.startswith("/api/") and rule.arguments:
                parts = re.split(r"<(?:[^>:]+:)?(\w+)>", rule.rule)  # literal, name, literal, name, ...
                pattern = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)"
                                  for i, part in enumerate(parts))
                kept.append((re.compile(pattern), rule))
        app.extensions["tierwise_relaxed_api_rules"] = kept
    return kept


def further_problems(exc: TierwiseError) -> list[dict]:
    """The error body's ``more``: the other problems found with the first (every bad rule of a rule set)."""
    return [{"message": e.message, **({"field": e.field} if e.field else {}),
             **({"position": e.position} if getattr(e, "position", None) is not None else {})}
            for e in getattr(exc, "more", [])]


def _server_error(exc: Exception):
    # A failed statement leaves the session unusable until rolled back, and saying the error in the
    # user's language reads the user: without this the handler itself failed and the client got a bare 500.
    db.session.rollback()
    return error_response(500, "internal_error", _("Something went wrong on our side. It has been logged."))


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(TierwiseError, _domain_error)
    app.register_error_handler(500, _server_error)
