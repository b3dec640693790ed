"""What the API shows of each object: explicit allow-lists, never ``__dict__``.

A new column stays invisible to the API until it is listed here (and in the
OpenAPI schema, which a test keeps in step with these lists).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

USER_FIELDS = ("id", "email", "display_name", "role", "active", "branch_id", "book_scope", "locale",
               "created_at", "last_login_at")
BRANCH_FIELDS = ("id", "code", "name")
TOKEN_FIELDS = ("id", "name", "user_id", "display_prefix", "created_at", "last_used_at", "revoked_at")
AUDIT_EVENT_FIELDS = ("id", "occurred_at", "action", "actor_user_id", "actor_label", "ip", "target_type",
                      "target_id", "details")
TENANT_FIELDS = ("slug", "name", "industry")
CUSTOMER_FIELDS = ("id", "external_id", "name", "party_type", "branch_id", "rm_user_id", "status", "attributes",
                   "churn_label", "label_observed_on", "created_at", "updated_at")
MONTHLY_ACTIVITY_FIELDS = ("month", "category", "amount", "quantity", "events")
INTERACTION_FIELDS = ("occurred_at", "channel", "interaction_type", "severity", "resolved_at", "summary")
FIELD_DEFINITION_FIELDS = ("name", "field_type", "field_group", "label_zh", "label_en", "description", "categories")
IMPORT_RESULT_FIELDS = ("kind", "source", "rows_read", "inserted", "updated", "unchanged", "rejected",
                        "added_fields", "ignored_columns")
ROW_ERROR_FIELDS = ("row", "column", "value", "reason")
IMPORT_RUN_FIELDS = ("id", "kind", "source_name", "status", "rows_read", "rows_per_second", "result", "message",
                     "created_by", "created_at", "started_at", "finished_at")


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def serialize(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: _plain(getattr(obj, name)) for name in fields}


def serialize_page(page, fields: tuple[str, ...]) -> dict[str, Any]:
    return {"items": [serialize(item, fields) for item in page.items], "next_cursor": page.next_cursor}
