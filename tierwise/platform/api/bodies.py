"""Request bodies, checked at the door against the ``requestBody`` the OpenAPI document shows.

Every endpoint that takes a body declares it once, with ``request_body``, and
reads it with ``read_body``; the OpenAPI document lists the same object, so the
check and the document cannot drift apart (an operation that documents no body
is held to ``NO_BODY`` by ``api.door``).  A body is refused with a 400 naming
the key when it is not a JSON object, has a key the schema does not list, lacks
a required key, or holds a value of another JSON type than the schema's; a body
of a media type the operation does not take (a form sent to a JSON endpoint) is
a 415 naming ``body``, never read as no body.  A multipart upload's fields obey
the same rules, a boolean field being ``true`` or ``false`` (or ``1`` / ``0``).
What a value means (a known tier, a date in the past, a UUID) stays for the
handler or the domain to check.
"""
from __future__ import annotations

import functools

from flask import abort, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tierwise.errors import UnsupportedBodyError, ValidationError
from tierwise.platform.i18n import listed

JSON_TYPES = {  # JSON Schema type -> (is it, how the message says it)
    "string": (lambda value: isinstance(value, str), _l("a string")),
    "boolean": (lambda value: isinstance(value, bool), _l("true or false")),
    "integer": (lambda value: isinstance(value, int) and not isinstance(value, bool), _l("a whole number")),
    "number": (lambda value: isinstance(value, (int, float)) and not isinstance(value, bool), _l("a number")),
    "array": (lambda value: isinstance(value, list), _l("a list")),
    "object": (lambda value: isinstance(value, dict), _l("an object")),
    "null": (lambda value: value is None, "null"),  # the JSON token, as typed
}


def request_body(properties: dict, *, required: tuple[str, ...] = (), optional: bool = False,
                 description: str = "", other_content: dict | None = None) -> dict:
    """An OpenAPI ``requestBody``: a JSON object of exactly ``properties``.

    ``optional``: the body may be left out (or sent empty), which reads as ``{}``.
    ``other_content``: further media types the endpoint takes (a multipart upload).
    """
    schema = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = list(required)
    body = {"required": not optional, "content": {"application/json": {"schema": schema}, **(other_content or {})}}
    return {**body, "description": description} if description else body


NO_BODY = request_body({}, optional=True, description="No body (or `{}`).")


MAX_BODY_BYTES = 1024 * 1024  # a JSON body; the app's own limit (1 GiB) is for file uploads
MULTIPART = "multipart/form-data"
FORM_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def read_body(declared: dict, *, max_bytes: int = MAX_BODY_BYTES) -> dict:
    """The object sent, refused (ValidationError naming the key) unless it fits ``declared``.

    A JSON body larger than ``max_bytes`` is refused (413) before it is read; one nested past
    what Python parses, or holding a NUL character (which PostgreSQL stores nowhere), is a 400.
    A multipart upload, where ``declared`` takes one, is read by ``_read_form``.
    """
    if request.mimetype == MULTIPART and MULTIPART in declared["content"]:
        return _read_form(declared["content"][MULTIPART]["schema"])
    schema = declared["content"]["application/json"]["schema"]
    properties = schema["properties"]
    if request.content_length is not None and request.content_length > max_bytes:
        abort(413, description=_("a JSON body may hold at most %(size)s KiB", size=format(max_bytes // 1024, ",")))
    request.max_content_length = max_bytes  # a body sent without its length stops there too
    if body_sent() and not request.is_json:  # a form's fields were read (and consumed) by the NUL check
        raise UnsupportedBodyError(_("send the body as application/json (%(types)s: not taken here)",
                                     types=request.mimetype or _("no content type")), field="body")
    if not declared["required"] and not request.get_data(cache=True).strip():
        return {}
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        body = None
    if not isinstance(body, dict):
        keys = listed(properties) or _("no keys")
        raise ValidationError(_("send a JSON object (%(keys)s)", keys=keys), field="body")
    where = _nul_in(body)
    if where is not None:
        raise ValidationError(_("holds a NUL character"), field=where or "body")
    _check_keys(body, schema)
    for key, value in body.items():
        _check_type(value, properties[key], key)
    return body


def _check_keys(sent: dict, schema: dict) -> None:
    """Every key ``sent`` is one ``schema`` lists, and every key it requires is there (a JSON body or a form)."""
    properties = schema["properties"]
    for key in sent:
        if key not in properties:
            raise ValidationError(_("unknown key '%(key)s' (allowed: %(allowed)s)", key=key,
                                    allowed=listed(properties) or _("none")), field=str(key))
    for key in schema.get("required", ()):
        if key not in sent:
            raise ValidationError(_("is required"), field=key)


def body_sent() -> bool:
    """Whether the request carries a body at all, whatever its type, read or not."""
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _read_form(schema: dict) -> dict:
    """A multipart upload's fields and files, held to the rules of a JSON body (``schema``'s keys and types)."""
    properties = schema["properties"]
    sent = {**request.form.to_dict(), **request.files.to_dict()}
    _check_keys(sent, schema)
    for key, value in sent.items():
        if properties[key].get("type") == "boolean":
            if not isinstance(value, str) or value.strip().lower() not in FORM_BOOLEANS:
                raise ValidationError(_("must be %(types)s", types=_("true or false")), field=key)
            sent[key] = FORM_BOOLEANS[value.strip().lower()]
        elif properties[key].get("format") == "binary" and isinstance(value, str):
            raise ValidationError(_("attach a file here"), field=key)
    return sent


def _check_type(value, schema: dict, key: str) -> None:
    """``value`` is of the JSON type(s) ``schema`` names (a schema naming none, such as a ``$ref``, is not checked)."""
    types = schema.get("type")
    if types is None:
        return
    types = [types] if isinstance(types, str) else types
    if not any(JSON_TYPES[name][0](value) for name in types):
        said = [str(JSON_TYPES[name][1]) for name in types]
        either = functools.reduce(lambda first, then: _("%(first)s or %(then)s", first=first, then=then), said)
        raise ValidationError(_("must be %(types)s", types=either), field=key)
    each = schema.get("additionalProperties")
    if isinstance(value, dict) and isinstance(each, dict):  # a map's values (an import's mapping), each named
        for name, item in value.items():
            _check_type(item, each, f"{key}.{name}")


def _nul_in(value, where: str = "") -> str | None:
    """Where in ``value`` a text holds a NUL character (a key path such as ``rows[3].name``), or None."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in str(key):
                return where or "body"
            found = _nul_in(item, f"{where}.{key}" if where else str(key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_in(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None
