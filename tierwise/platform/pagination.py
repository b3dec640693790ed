"""Keyset pagination: every page costs the same, at any depth (no OFFSET).

A cursor is the last row's position (its key, or sort value and key), signed
with the app's secret over the tenant and the *kind* of list that gave it out
(the table and key it walks, or a list and its sort).  A cursor is only ever
taken back by the list that produced it: one from another tenant, another
endpoint or another sort, or one edited by hand, is a 400 naming ``cursor``
before its values are read.  Keys must be unique and ordered: UUIDv7 ids
(time-ordered) or a unique column such as email.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from tierwise.errors import ValidationError
from tierwise.platform import tenancy
from tierwise.platform.db import db

T = TypeVar("T")
MAX_LIMIT = 500
MAX_CURSOR_LENGTH = 512
SIGNATURE_BYTES = 16


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_position(position: list) -> str:
    """The unsigned text of a position: what ``cursor_for`` signs."""
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def cursor_for(position: list, *, kind: str) -> str:
    """The cursor of a row's position in the list of ``kind``, for the current tenant."""
    payload = encode_position(position)
    return f"{payload}.{_signature(payload, kind)}"


def position_of(cursor: str, *, kind: str) -> list:
    """The position ``cursor_for`` signed for this tenant and ``kind``; a ValidationError naming ``cursor`` else."""
    refused = ValidationError(_("is not a cursor this list gave out"), field="cursor")
    if len(cursor) > MAX_CURSOR_LENGTH or "\x00" in cursor:
        raise refused
    payload, _dot, signature = cursor.rpartition(".")
    if not payload or not hmac.compare_digest(signature, _signature(payload, kind)):
        raise refused
    try:
        position = json.loads(base64.urlsafe_b64decode((payload + "=" * (-len(payload) % 4)).encode()))
    except (ValueError, TypeError, RecursionError, UnicodeDecodeError):
        raise refused from None
    if not isinstance(position, list):
        raise refused
    return position


def _signature(payload: str, kind: str) -> str:
    """HMAC-SHA256 of tenant, kind and payload under the app's secret (a ``.`` never occurs in the payload)."""
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else key
    message = f"{tenancy.current_tenant_id()}\x1f{kind}\x1f{payload}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _kind(key: sa.ColumnElement, descending: bool) -> str:
    """A ``keyset_page`` list's kind: the table and key it walks, and which way."""
    return f"{key.table.name}.{key.key}:{'desc' if descending else 'asc'}"


def _key_value(position: list, key: sa.ColumnElement) -> Any:
    """The key a position holds, as the key column's Python type."""
    try:
        (value,) = position
        return uuid.UUID(value) if isinstance(key.type, sa.Uuid) else key.type.python_type(value)
    except (ValueError, TypeError, AttributeError, NotImplementedError):
        raise ValidationError(_("is not a cursor this list gave out"), field="cursor") from None


def parse_limit(raw: str | None, default: int = 50) -> int:
    """The page size asked for (not asked, or left empty on a page's form: ``default``); 1 to ``MAX_LIMIT``.

    The API refuses an empty parameter before this is reached (``api.door``).
    """
    if raw in (None, ""):
        return default
    text = str(raw)
    if len(text) > 3 or not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIMIT:
        raise ValidationError(_("must be a whole number from 1 to %(max)s", max=MAX_LIMIT), field="limit")
    return int(raw)


def keyset_page(query: sa.Select, *, key: sa.ColumnElement, cursor: str | None, limit: int,
                descending: bool = False, kind: str | None = None) -> Page:
    """Run ``query`` for one page after ``cursor``, ordered by ``key``.

    ``kind`` names a list that walks part of a table another list walks too (the export log
    among the audit events), so that neither takes the other's cursors.
    """
    kind = kind or _kind(key, descending)
    if cursor:
        after = _key_value(position_of(cursor, kind=kind), key)
        query = query.where(key < after if descending else key > after)
    query = query.order_by(key.desc() if descending else key.asc()).limit(limit + 1)
    rows = list(db.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = getattr(rows[-1], key.key)
        next_cursor = cursor_for([str(last) if isinstance(last, uuid.UUID) else last], kind=kind)
    return Page(items=rows, next_cursor=next_cursor)
