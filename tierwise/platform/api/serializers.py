"""What the API shows of each object: explicit allow-lists, never ``__dict__``.

A new column stays invisible to the API until it is listed here (and in the
OpenAPI schema, which a test keeps in step with these lists).
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping
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
FIELD_DEFINITION_FIELDS = ("name", "field_type", "field_group", "label_zh", "label_en", "description", "description_zh",
                           "categories")
IMPORT_RESULT_FIELDS = ("kind", "source", "rows_read", "inserted", "updated", "unchanged", "rejected",
                        "added_fields", "ignored_columns", "recognised_columns", "dated_ahead", "latest_ahead",
                        "date_order", "set_values")
ROW_ERROR_FIELDS = ("row", "column", "value", "reason")
IMPORT_RUN_FIELDS = ("id", "kind", "source_name", "status", "rows_read", "rows_per_second", "result", "message",
                     "created_by", "created_at", "started_at", "finished_at")
# Rule sets: lists show versions without their definitions; one version (or the draft) shows it.
RULE_SET_VERSION_FIELDS = ("id", "number", "note", "restored_from", "created_by", "created_at", "updated_at",
                           "published_by", "published_at")
RULE_SET_VERSION_DETAIL_FIELDS = RULE_SET_VERSION_FIELDS + ("definition",)
RETIER_RUN_FIELDS = ("id", "rule_version_id", "as_of", "new_data", "status", "started_at", "finished_at", "customers",
                     "changes", "message", "started_by")
SCHEDULE_FIELDS = ("id", "action", "cron", "timezone", "enabled", "next_run_at", "last_run_at", "last_due_at",
                   "last_status", "last_message", "last_run_id", "created_by", "updated_by", "created_at", "updated_at")
TIER_SHARE_FIELDS = ("tier", "label_en", "label_zh", "colour", "customers", "share")
DIMENSION_DISTRIBUTION_FIELDS = ("dimension", "label_en", "label_zh", "tiers", "unclassified", "other")
CUSTOMER_TIER_FIELDS = ("dimension", "tier", "label_en", "label_zh", "colour", "basis", "reason", "rule", "since",
                        "evaluated_at", "decided_at", "version", "pending_tier", "pending_count")
TIER_PERIOD_FIELDS = ("dimension", "tier", "valid_from", "valid_to", "rule_version_id")
PREVIEW_FIELDS = ("as_of", "customers", "total_value", "seconds", "reused", "dimensions")
DIMENSION_PREVIEW_FIELDS = ("dimension", "tiers", "matrix", "moving_up", "moving_down", "unchanged", "held",
                            "unclassified")
TIER_COUNT_FIELDS = ("tier", "customers", "value", "customer_share", "value_share")
TIER_MOVE_FIELDS = ("from", "to", "customers")
MOVING_CUSTOMER_FIELDS = ("customer_id", "external_id", "name", "from_tier", "to_tier", "reason")
# Models: lists show a version's summary; one version shows its evidence (never the model itself, nor its drift bins).
MODEL_VERSION_FIELDS = ("id", "model", "number", "is_champion", "horizon_days", "primary_metric", "trained_at",
                        "trained_by", "promoted_at", "promotion_note")
MODEL_VERSION_DETAIL_FIELDS = MODEL_VERSION_FIELDS + ("data_window", "metrics", "champion_comparison", "curves",
                                                      "importance", "search", "params", "rounds", "training_seconds")
FEATURE_IMPORTANCE_FIELDS = ("feature", "label", "gain_share")
MODEL_RUN_FIELDS = ("id", "job", "model", "status", "stage", "progress", "as_of", "horizon_days", "started_by",
                    "started_at", "finished_at", "seconds", "message", "version_id", "summary")
CUSTOMER_SCORES_FIELDS = ("customer_id", "scored_at", "churn_probability", "churn_version_id", "churn_reasons",
                          "predicted_value", "value_version_id", "value_reasons")
SCORE_REASON_FIELDS = ("feature", "label", "contribution", "value", "effect")
# Account ownership: a customer's RM periods, and what an assignment or a book move did.
RM_ASSIGNMENT_FIELDS = ("customer_id", "rm_user_id", "valid_from", "valid_to", "changed_by", "reason")
ASSIGNMENT_FIELDS = ("rm_user_id", "customers", "changed")
BOOK_MOVE_FIELDS = ("from_user_id", "to_user_id", "branch_id", "moved")

# Fields that hold a list of objects, with the allow-list each object goes through.
NESTED_FIELDS = {
    DIMENSION_DISTRIBUTION_FIELDS: {"tiers": TIER_SHARE_FIELDS},
    PREVIEW_FIELDS: {"dimensions": DIMENSION_PREVIEW_FIELDS},
    DIMENSION_PREVIEW_FIELDS: {"tiers": TIER_COUNT_FIELDS, "matrix": TIER_MOVE_FIELDS,
                               "moving_up": MOVING_CUSTOMER_FIELDS, "moving_down": MOVING_CUSTOMER_FIELDS},
    MODEL_VERSION_DETAIL_FIELDS: {"importance": FEATURE_IMPORTANCE_FIELDS},
    CUSTOMER_SCORES_FIELDS: {"churn_reasons": SCORE_REASON_FIELDS, "value_reasons": SCORE_REASON_FIELDS},
}


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _value(obj: Any, name: str) -> Any:
    return obj[name] if isinstance(obj, Mapping) else getattr(obj, name)


def serialize(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """``obj``'s listed fields (attributes, or keys of a plain dict such as ``Preview.as_dict()``).

    A field listed in ``NESTED_FIELDS`` holds objects, each serialized through its own allow-list.
    """
    nested = NESTED_FIELDS.get(fields, {})
    return {name: [serialize(item, nested[name]) for item in _value(obj, name)] if name in nested
            else _plain(_value(obj, name)) for name in fields}


def serialize_page(page, fields: tuple[str, ...]) -> dict[str, Any]:
    return {"items": [serialize(item, fields) for item in page.items], "next_cursor": page.next_cursor}
