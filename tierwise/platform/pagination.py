"""Keyset pagination: every page costs the same, at any depth (no OFFSET).

A cursor is an opaque, URL-safe encoding of the last row's key.  Keys must be
unique and ordered: UUIDv7 ids (time-ordered) or a unique column such as email.
"""
from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from flask_babel import gettext as _

from tierwise.errors import ValidationError
from tierwise.platform.db import db

T = TypeVar("T")
MAX_LIMIT = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(value: Any) -> str:
    return encode_position([str(value) if isinstance(value, uuid.UUID) else value])


MAX_CURSOR_LENGTH = 512


def encode_position(position: list) -> str:
    """A cursor for a row's position: its key, or (sort value, key) for lists sorted on something else."""
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def decode_position(cursor: str) -> list:
    """What ``encode_position`` encoded; a ValidationError naming ``cursor`` for anything else."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH or "\x00" in cursor:
            raise ValueError("not a cursor")
        position = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
        if not isinstance(position, list) or any(isinstance(v, str) and "\x00" in v for v in position):
            raise ValueError("not a position")
        return position
    except (ValueError, TypeError, RecursionError, UnicodeDecodeError):
        raise ValidationError(_("is not a cursor this list gave out"), field="cursor") from None


def decode_cursor(cursor: str, key: sa.ColumnElement) -> Any:
    position = decode_position(cursor)
    try:
        (value,) = position
        if isinstance(key.type, sa.Uuid):
            return uuid.UUID(value)
        expected = key.type.python_type
        if not isinstance(value, expected) or isinstance(value, bool):
            raise TypeError(f"cursor holds {type(value).__name__}, not {expected.__name__}")
        return value
    except (ValueError, TypeError, AttributeError, NotImplementedError):
        raise ValidationError(_("is not a cursor this list gave out"), field="cursor") from None


def parse_limit(raw: str | None, default: int = 50) -> int:
    if raw in (None, ""):
        return default
    text = str(raw)
    if len(text) > 3 or not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIMIT:
        raise ValidationError(_("must be a whole number from 1 to %(max)s", max=MAX_LIMIT), field="limit")
    return int(raw)


def keyset_page(query: sa.Select, *, key: sa.ColumnElement, cursor: str | None, limit: int,
                descending: bool = False) -> Page:
    """Run ``query`` for one page after ``cursor``, ordered by ``key``."""
    if cursor:
        after = decode_cursor(cursor, key)
        query = query.where(key < after if descending else key > after)
    query = query.order_by(key.desc() if descending else key.asc()).limit(limit + 1)
    rows = list(db.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(getattr(rows[-1], key.key)) if more and rows else None
    return Page(items=rows, next_cursor=next_cursor)
