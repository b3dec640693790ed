"""Every API request held to its operation in the OpenAPI document before the handler runs.

The document says which query parameters each operation takes and whether it
takes a body; this is the one place that holds requests to it, so a misspelt
filter (``churnmin=0.5``) is a 400 naming it instead of being ignored, and a
body sent to an operation that takes none (``DELETE /customers/{id}`` with
``{"bogus": 1}``) is refused rather than dropped.  A parameter sent empty
(``limit=``) is refused too, naming it: leave it out for its default.  So is a
parameter sent twice (``limit=1&limit=2``), which one value would otherwise win
silently, unless the document declares it a list the caller may repeat (an
``array`` exploded in the form style: ``tier.value=key&tier.value=vip``).  A
parameter documented with a ``{placeholder}`` in its name (``tier.{dimension}``)
takes any name of that shape.
"""
from __future__ import annotations

import functools
import re

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tierwise.errors import ValidationError
from tierwise.platform.api import api_blueprint
from tierwise.platform.api.bodies import NO_BODY, body_sent, read_body
from tierwise.platform.i18n import listed


@api_blueprint.before_request
def hold_to_document() -> None:
    operation = _operation(request.url_rule.rule, request.method) if request.url_rule else None
    if operation is None:
        return
    documented = {p["name"]: p for p in operation.get("parameters", ()) if p["in"] == "query"}
    which = _matcher(tuple(documented))
    for name in request.args:
        parameter = which(name)
        if parameter is None and not documented:
            raise ValidationError(_l("unknown query parameter '%(name)s' (this request takes none)", name=name),
                                  field=name)
        if parameter is None:
            raise ValidationError(_l("unknown query parameter '%(name)s' (allowed: %(allowed)s)", name=name,
                                     allowed=listed(documented)), field=name)
        values = request.args.getlist(name)
        if any(value == "" for value in values):
            raise ValidationError(_("give a value, or leave the parameter out"), field=name)
        if len(values) > 1 and not _repeats(documented[parameter]):
            raise ValidationError(_("send this parameter once"), field=name)
    if "requestBody" not in operation:
        if body_sent() and not request.is_json:
            raise ValidationError(_("this request takes no body"), field="body")
        read_body(NO_BODY)  # nothing, or an empty JSON object; a key is refused by name


@functools.cache
def _operation(rule: str, method: str) -> dict | None:
    """The OpenAPI operation of a Flask route and method (HEAD is GET's)."""
    from tierwise.platform.api.openapi import PATHS  # the document imports the API's modules

    path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)
    return PATHS.get(path, {}).get("get" if method == "HEAD" else method.lower())


@functools.cache
def _matcher(documented: tuple[str, ...]):
    """Which of ``documented`` a name sent is, or None (``tier.{dimension}`` takes ``tier.`` and a name)."""
    patterns = [(re.compile(re.sub(r"\\\{[^}]+\\\}", "[^.]+", re.escape(name))), name) for name in documented]
    return lambda sent: next((name for pattern, name in patterns if pattern.fullmatch(sent)), None)


def _repeats(parameter: dict) -> bool:
    """Whether a query parameter may be sent more than once: an array, exploded (form style's default)."""
    exploded = parameter.get("explode", parameter.get("style", "form") == "form")
    return parameter.get("schema", {}).get("type") == "array" and exploded
