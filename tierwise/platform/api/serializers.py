"""What the API shows of each object: explicit allow-lists, never ``__dict__``.

A new column stays invisible to the API until it is listed here (and in the
OpenAPI schema, which a test keeps in step with these lists).
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

USER_FIELDS = ("id", "email", "display_name", "role", "active", "branch_id", "book_scope", "locale",
               "created_at", "last_login_at")
BRANCH_FIELDS = ("id", "code", "name")
TOKEN_FIELDS = ("id", "name", "user_id", "display_prefix", "created_at", "last_used_at", "revoked_at")
AUDIT_EVENT_FIELDS = ("id", "occurred_at", "action", "actor_user_id", "actor_label", "ip", "target_type",
                      "target_id", "details")
TENANT_FIELDS = ("slug", "name", "industry")


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def serialize(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: _plain(getattr(obj, name)) for name in fields}


def serialize_page(page, fields: tuple[str, ...]) -> dict[str, Any]:
    return {"items": [serialize(item, fields) for item in page.items], "next_cursor": page.next_cursor}
