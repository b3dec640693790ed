"""The lists part of the OpenAPI document: built-in and saved lists, exports; merged into ``openapi.py``'s."""
from __future__ import annotations

from tierwise.platform.api.lists import FILTERS_SCHEMA as _FILTERS
from tierwise.platform.api.lists import SAVED_LIST_BODY, SETTINGS_BODY
from tierwise.platform.api.openapi_parts import PAGING, page_of
from tierwise.platform.api.openapi_parts import UUID as _UUID
from tierwise.platform.api.openapi_parts import id_param as _id_param
from tierwise.platform.api.openapi_parts import items as _items
from tierwise.platform.api.openapi_parts import json_body as _json
from tierwise.platform.api.openapi_parts import ref as _ref
from tierwise.platform.api.openapi_parts import responses as _responses
from tierwise.tenants.lists.catalog import BUILT_IN
from tierwise.tenants.lists.filters import RANGES
from tierwise.tenants.lists.query import SORTS

_NUMBER_OR_NULL = {"type": ["number", "null"]}
LIST_SCHEMAS = {
    "ListSettings": {"type": "object", "properties": {
        "vip_tiers": {"type": "array", "items": {"type": "string"},
                      "description": "The value tiers the VIP lists hold."},
        "at_risk_probability": {"type": "number", "description": "The churn threshold of the at-risk lists."},
        "configured": {"type": "boolean", "description": "false: the industry's defaults apply."}}},
    "BuiltInList": {"type": "object", "properties": {
        "name": {"type": "string", "enum": list(BUILT_IN)}, "label": {"type": "string"},
        "description": {"type": "string"}}},
    "ListRow": {"type": "object", "properties": {
        "customer_id": _UUID, "external_id": {"type": "string"}, "name": {"type": "string"},
        "branch": {"type": ["string", "null"], "description": "The branch's name, for people."},
        "branch_code": {"type": ["string", "null"], "description": "The branch's code, for programs: it never "
                        "changes, where its name can."},
        "rm": {"type": ["string", "null"], "description": "The relationship manager's display name, for people."},
        "rm_email": {"type": ["string", "null"], "description": "The relationship manager's email, for programs."},
        "tiers": {"type": "object", "additionalProperties": {"type": ["string", "null"]},
                  "description": "The tier code in each dimension of the rule set in force."},
        "churn_probability": _NUMBER_OR_NULL, "predicted_value": _NUMBER_OR_NULL,
        "change": {"type": ["object", "null"], "description": "For newly_high_risk and value_down: the move.",
                   "properties": {"from": {"type": ["string", "null"]}, "to": {"type": "string"},
                                  "at": {"type": "string", "format": "date-time"}}},
        "reason": _ref("ListReason")}},
    "ListReason": {"type": "object", "description": (
        "Why the customer is on the list. vip, vip_at_risk, value_down and all: the value tier's reason; "
        "high_risk and newly_high_risk: the high-risk tier's; opinion_risk: the opinion-risk tier's. "
        "vip_at_risk and at_risk add the churn probability and the feature that raised it most. "
        "`values` and `text` are in the caller's language (Accept-Language)."),
        "required": ["dimension", "values", "churn", "text"], "properties": {
        "dimension": {"type": ["string", "null"], "description": "The dimension whose tier's reason `values` is."},
        "values": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "Each value the tier's rule looked at, keyed by its rule-language expression."},
        "churn": {"type": ["object", "null"], "properties": {
            "probability": _NUMBER_OR_NULL, "feature": {"type": ["string", "null"]},
            "label": {"type": ["string", "null"]}, "value": {}}},
        "text": {"type": "string", "description": "The reason on one line, field labels and all."}}},
    "SavedList": {"type": "object", "properties": {
        "id": _UUID, "name": {"type": "string"}, "base": {"type": "string", "enum": list(BUILT_IN)},
        "filters": _FILTERS, "shared": {"type": "boolean"}, "owner_id": _UUID,
        "sort": {"type": "string", "enum": list(SORTS), "description": "The order it opens and exports in."},
        "created_at": {"type": "string", "format": "date-time"}}},
    "ExportRecord": {"type": "object", "properties": {
        "at": {"type": "string", "format": "date-time"}, "by": {"type": "string"},
        "list": {"type": "string"}, "filters": _FILTERS, "sort": {"type": ["string", "null"]},
        "rows": {"type": "integer"}, "sha256": {"type": "string"}, "format": {"type": "string"},
        "via": {"type": ["string", "null"], "enum": ["web", "api", "cli", None],
                "description": "Where it was asked for: a list page, the API or tierwise export (null: "
                               "exported before this was recorded)."}}},
}

_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string", "enum": list(BUILT_IN)}}
_QUERY = [{"name": "tier.{dimension}", "in": "query", "required": False, "style": "form", "explode": True,
           "schema": {"type": "array", "items": {"type": "string"}},
           "description": "Tier codes of a dimension, comma-separated or the parameter repeated: "
                          "tier.value=key,important or tier.value=key&tier.value=important."},
          *({"name": key, "in": "query", "required": False, "schema": _FILTERS["properties"][key],
             "description": "A minimum may not be above its maximum."} for key in RANGES),
          {"name": "branch_id", "in": "query", "required": False, "schema": _UUID},
          {"name": "rm_user_id", "in": "query", "required": False, "schema": _UUID},
          {"name": "search", "in": "query", "required": False, "schema": {"type": "string"},
           "description": "The start of the external id, or any part of the name."},
          {"name": "condition", "in": "query", "required": False, "schema": {"type": "string"},
           "description": 'In the rule language, e.g. facility_type == "hospital" and churn_probability > 0.3.'},
          {"name": "sort", "in": "query", "required": False,
           "schema": {"type": "string", "enum": list(SORTS), "default": "external_id"},
           "description": "churn and value: highest first, unscored last; ties by external id."}]
LIST_PATHS = {
    "/api/v1/lists": {"get": {
        "summary": "The built-in lists and the tenant's list settings", "operationId": "listLists", "tags": ["lists"],
        "responses": _responses({"200": _json({"type": "object", "properties": {
            "items": {"type": "array", "items": _ref("BuiltInList")}, "settings": _ref("ListSettings")}},
            "The lists")})}},
    "/api/v1/lists/settings": {"put": {
        "summary": "Set the VIP tiers and the at-risk churn threshold (tenant admins)",
        "operationId": "changeListSettings", "tags": ["lists"],
        "requestBody": SETTINGS_BODY,
        "responses": _responses({"200": _json(_ref("ListSettings"), "The settings now")}, 400, 403)}},
    "/api/v1/lists/{name}/customers": {"get": {
        "summary": "One page of a list: only the customers the caller may see", "operationId": "listCustomersOn",
        "tags": ["lists"], "parameters": [_NAME, *_QUERY, *PAGING],
        "description": "Keyset-paginated: pass `next_cursor` back as `cursor` with the same filters and sort.",
        "responses": _responses({"200": _json({"type": "object", "required": ["items", "next_cursor"], "properties": {
            "items": {"type": "array", "items": _ref("ListRow")},
            "next_cursor": {"type": ["string", "null"]},
            "dimensions": {"type": "array", "items": {"type": "string"}}}}, "A page of the list")}, 400, 404)}},
    "/api/v1/lists/{name}/export": {"get": {
        "summary": "The whole list as CSV (UTF-8 with BOM) or XLSX, audited", "operationId": "exportList",
        "tags": ["lists"],
        "parameters": [_NAME, *_QUERY, {"name": "format", "in": "query", "required": False,
                                        "schema": {"type": "string", "enum": ["csv", "xlsx"], "default": "csv"}}],
        "description": "The export log records who, when, the list, filters, row count and the file's SHA-256 "
                       "(also sent as `X-Content-SHA256`).",
        "responses": _responses({"200": {"description": "The file", "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "format": "binary"}}}}}, 400, 403, 404)}},
    "/api/v1/saved-lists": {
        "get": {"summary": "The caller's saved lists and those shared in the tenant", "operationId": "listSavedLists",
                "tags": ["lists"], "responses": _responses({"200": _items("SavedList", "Saved lists by name")})},
        "post": {"summary": "Save a built-in list's filters under a name", "operationId": "createSavedList",
                 "tags": ["lists"],
                 "requestBody": SAVED_LIST_BODY,
                 "responses": _responses({"201": _json(_ref("SavedList"), "The saved list")}, 400, 409)}},
    "/api/v1/saved-lists/{list_id}": {"delete": {
        "summary": "Delete a saved list (its owner; a tenant admin for a shared one)", "operationId": "deleteSavedList",
        "tags": ["lists"], "parameters": [_id_param("list_id")],
        "responses": _responses({"204": {"description": "Deleted"}}, 403, 404)}},
    "/api/v1/exports": {"get": {
        "summary": "The export log, newest first (tenant admins)", "operationId": "listExports", "tags": ["lists"],
        "parameters": PAGING, "responses": _responses({"200": _json(page_of("ExportRecord"), "A page of exports")},
                                                      403)}},
}
