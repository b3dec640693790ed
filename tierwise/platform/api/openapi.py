"""The OpenAPI 3.1 document, served at ``/api/v1/openapi.json``.

Written out by hand (it is the contract), and held to the code by tests: every
route under ``/api/v1`` must appear here with the same methods, and every
schema's properties must equal the serializer allow-list it documents.
"""
from __future__ import annotations

from flask import url_for

from tierwise.platform.api import api_blueprint, customers, tokens
from tierwise.platform.api import serializers as s
from tierwise.platform.api.openapi_branches import BRANCH_PATHS
from tierwise.platform.api.openapi_models import MODEL_PATHS, MODEL_SCHEMA_FIELDS, MODEL_SCHEMAS
from tierwise.platform.api.openapi_parts import PAGING, page_of
from tierwise.platform.api.openapi_parts import TIME as _TIME
from tierwise.platform.api.openapi_parts import UUID as _UUID
from tierwise.platform.api.openapi_parts import id_param as _id_param
from tierwise.platform.api.openapi_parts import json_body as _json
from tierwise.platform.api.openapi_parts import ref as _ref
from tierwise.platform.api.openapi_parts import responses as _responses
from tierwise.platform.api.openapi_schedules import SCHEDULE_PATHS, SCHEDULE_SCHEMAS
from tierwise.platform.api.openapi_ownership import OWNERSHIP_PATHS, OWNERSHIP_SCHEMA_FIELDS, OWNERSHIP_SCHEMAS
from tierwise.platform.api.openapi_lists import LIST_PATHS, LIST_SCHEMAS
from tierwise.platform.api.openapi_rules import RULE_PATHS, RULE_SCHEMAS
from tierwise.platform.api.openapi_dashboards import DASHBOARD_PATHS, DASHBOARD_SCHEMA_FIELDS, DASHBOARD_SCHEMAS


_PAGING = PAGING


SCHEMAS = {
    "User": {"type": "object", "properties": {
        "id": _UUID, "email": {"type": "string"}, "display_name": {"type": "string"},
        "role": {"type": "string", "enum": ["tenant_admin", "analyst", "relationship_manager"]},
        "active": {"type": "boolean"}, "branch_id": {"type": ["string", "null"], "format": "uuid"},
        "book_scope": {"type": "string", "enum": ["own", "branch"]}, "locale": {"type": ["string", "null"], "enum": ["en", "zh_CN", None], "description": "null: follow the browser"},
        "created_at": {"type": "string", "format": "date-time"}, "last_login_at": _TIME}},
    "Branch": {"type": "object", "properties": {"id": _UUID, "code": {"type": "string"}, "name": {"type": "string"}}},
    "ApiToken": {"type": "object", "properties": {
        "id": _UUID, "name": {"type": "string"}, "user_id": _UUID,
        "display_prefix": {"type": "string", "description": "First characters of the secret, to recognise it."},
        "created_at": {"type": "string", "format": "date-time"}, "last_used_at": _TIME, "revoked_at": _TIME}},
    "AuditEvent": {"type": "object", "properties": {
        "id": _UUID, "occurred_at": {"type": "string", "format": "date-time"}, "action": {"type": "string"},
        "actor_user_id": {"type": ["string", "null"], "format": "uuid"}, "actor_label": {"type": "string"},
        "ip": {"type": ["string", "null"]}, "target_type": {"type": ["string", "null"]},
        "target_id": {"type": ["string", "null"]}, "details": {"type": "object"}}},
    "Tenant": {"type": "object", "properties": {
        "slug": {"type": "string"}, "name": {"type": "string"},
        "industry": {"type": "string", "enum": ["bank", "power_utility", "pharma_distributor", "other"]}}},
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "field": {"type": "string", "description": (
                "The parameter or field at fault, when there is one, as the request names it: a path or query "
                "parameter, or a key's path in the body (`filters.churn_min`; for a rule set sent as `definition`, "
                "`definition.value.vip.rule`; for the draft or an older version, which are not sent, "
                "`value.vip.rule`).")},
            "position": {"type": "integer", "minimum": 0,
                         "description": "For a rule that cannot be used: the 0-based offset of the problem in it."},
            "rows": {"type": "array", "items": _ref("RowError"),
                     "description": "For a refused import: the first 100 bad cells."},
            "more": {"type": "array", "description": "For a rule set with several bad rules: the others, "
                                                     "each as `message`, `field` and `position`.",
                     "items": {"type": "object", "required": ["message"], "properties": {
                         "message": {"type": "string"}, "field": {"type": "string"},
                         "position": {"type": "integer", "minimum": 0}}}}}}}},
    "Customer": {"type": "object", "properties": {
        "id": _UUID, "external_id": {"type": "string"}, "name": {"type": "string"},
        "party_type": {"type": "string", "enum": ["individual", "organisation"]},
        "branch_id": {"type": ["string", "null"], "format": "uuid"}, "rm_user_id": {"type": ["string", "null"], "format": "uuid"},
        "status": {"type": "string", "enum": ["active", "dormant", "closed"]},
        "attributes": {"type": "object", "description": "Tenant-defined fields (see /fields)."},
        "churn_label": {"type": ["boolean", "null"]}, "label_observed_on": {"type": ["string", "null"], "format": "date"},
        "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"}}},
    "MonthlyActivity": {"type": "object", "properties": {
        "month": {"type": "string", "example": "2024-05"}, "category": {"type": "string"}, "amount": {"type": "number"},
        "quantity": {"type": ["number", "null"]}, "events": {"type": "integer"}}},
    "Interaction": {"type": "object", "properties": {
        "occurred_at": {"type": "string", "format": "date-time"},
        "channel": {"type": "string", "enum": ["phone", "counter", "web", "app", "sms", "email", "social_media",
                                               "news_media", "regulator_hotline", "other"]},
        "interaction_type": {"type": "string", "enum": ["complaint", "request", "opinion", "praise"]},
        "severity": {"type": "integer", "minimum": 1, "maximum": 5}, "resolved_at": _TIME, "summary": {"type": "string"}}},
    "FieldDefinition": {"type": "object", "properties": {
        "name": {"type": "string"}, "field_type": {"type": "string", "enum": ["number", "integer", "boolean", "category", "date", "text"]},
        "field_group": {"type": "string", "enum": ["profile", "behaviour", "value", "risk", "compliance"]},
        "label_zh": {"type": "string"}, "label_en": {"type": "string"},
        "description": {"type": "string", "description": "In English (empty when not written)."},
        "description_zh": {"type": "string", "description": "In Chinese (empty when not written)."},
        "categories": {"type": ["array", "null"], "items": {"type": "string"}}}},
    "ImportResult": {"type": "object", "properties": {
        "kind": {"type": "string"}, "source": {"type": "string"}, "rows_read": {"type": "integer"},
        "inserted": {"type": "integer"}, "updated": {"type": "integer"}, "unchanged": {"type": "integer"},
        "rejected": {"type": "integer"}, "added_fields": {"type": "array", "items": {"type": "string"}},
        "ignored_columns": {"type": "array", "items": {"type": "string"}},
        "recognised_columns": {"type": "object", "additionalProperties": {"type": "string"},
                               "description": "Targets filled by a column whose header is one of the target's "
                                              "spellings (客户编号 for external_id), and that column."},
        "dated_ahead": {"type": "integer", "description": "Rows dated after the import: kept, and read by the rules, "
                                                         "models and dashboards once their day comes."},
        "latest_ahead": {"type": ["string", "null"], "format": "date-time",
                         "description": "The latest of those rows' moments."},
        "date_order": {"type": ["string", "null"], "enum": ["mdy", "dmy", None],
                       "description": "How dates written with the year last (12/13/2010) were read: month first "
                                      "or day first, as the file's own dates showed; null when it wrote none."},
        "set_values": {"type": "object", "additionalProperties": {"type": "string"},
                       "description": "Targets given one value for every row by the mapping (\"type\": "
                                      "\"=complaint\"), and that value."}}},
    "ImportRun": {"type": "object", "properties": {
        "id": _UUID, "kind": {"type": "string", "enum": ["customers", "activity", "interactions"]},
        "source_name": {"type": "string"}, "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed"]},
        "rows_read": {"type": "integer"}, "rows_per_second": {"type": ["number", "null"]},
        "result": {"type": ["object", "null"], "description": "ImportResult plus its first errors, once finished."},
        "message": {"type": "string"}, "created_by": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"}, "started_at": _TIME, "finished_at": _TIME}},
    "RowError": {"type": "object", "properties": {
        "row": {"type": "integer", "description": "In a file, the row as a spreadsheet numbers it (the header is "
                                                  "row 1); in a JSON batch, the record's index in `rows` (the "
                                                  "first is 0, and the message says rows[0])."},
        "column": {"type": "string"}, "value": {"type": "string"}, "reason": {"type": "string"}}},
    **RULE_SCHEMAS,
    **SCHEDULE_SCHEMAS,
    **OWNERSHIP_SCHEMAS,
    **LIST_SCHEMAS,
    **DASHBOARD_SCHEMAS,
    **MODEL_SCHEMAS,
}

# Which serializer allow-list each schema documents (checked by the tests).
SCHEMA_FIELDS = {"User": s.USER_FIELDS, "Branch": s.BRANCH_FIELDS, "ApiToken": s.TOKEN_FIELDS,
                 "AuditEvent": s.AUDIT_EVENT_FIELDS, "Tenant": s.TENANT_FIELDS, "Customer": s.CUSTOMER_FIELDS,
                 "MonthlyActivity": s.MONTHLY_ACTIVITY_FIELDS, "Interaction": s.INTERACTION_FIELDS,
                 "FieldDefinition": s.FIELD_DEFINITION_FIELDS, "ImportResult": s.IMPORT_RESULT_FIELDS,
                 "RowError": s.ROW_ERROR_FIELDS, "ImportRun": s.IMPORT_RUN_FIELDS,
                 "RuleSetVersion": s.RULE_SET_VERSION_FIELDS, "RuleSetVersionDetail": s.RULE_SET_VERSION_DETAIL_FIELDS,
                 "RetierRun": s.RETIER_RUN_FIELDS, "TierShare": s.TIER_SHARE_FIELDS,
                 "DimensionDistribution": s.DIMENSION_DISTRIBUTION_FIELDS, "CustomerTier": s.CUSTOMER_TIER_FIELDS,
                 "TierPeriod": s.TIER_PERIOD_FIELDS, "Preview": s.PREVIEW_FIELDS,
                 "DimensionPreview": s.DIMENSION_PREVIEW_FIELDS, "TierCount": s.TIER_COUNT_FIELDS,
                 "TierMove": s.TIER_MOVE_FIELDS, "MovingCustomer": s.MOVING_CUSTOMER_FIELDS,
                 "Schedule": s.SCHEDULE_FIELDS, **MODEL_SCHEMA_FIELDS,
                 **OWNERSHIP_SCHEMA_FIELDS, **DASHBOARD_SCHEMA_FIELDS}


PATHS = {
    "/api/v1/me": {"get": {
        "summary": "The calling user, their tenant and permissions", "operationId": "getMe", "tags": ["accounts"],
        "responses": _responses({"200": _json({"type": "object", "properties": {
            "user": _ref("User"), "tenant": _ref("Tenant"), "permissions": {"type": "array", "items": {"type": "string"}}}},
            "The caller")}, 403)}},
    "/api/v1/users": {"get": {
        "summary": "Users of the tenant, by email (tenant admins)", "operationId": "listUsers", "tags": ["accounts"],
        "parameters": _PAGING, "responses": _responses({"200": _json(page_of("User"), "A page of users")}, 400, 403)}},
    "/api/v1/users/{user_id}": {"get": {
        "summary": "One user (yourself, or anyone for tenant admins)", "operationId": "getUser", "tags": ["accounts"],
        "parameters": [_id_param("user_id")], "responses": _responses({"200": _json(_ref("User"), "The user")}, 403, 404)}},
    **BRANCH_PATHS,
    "/api/v1/tokens": {
        "get": {"summary": "Your API tokens (all of the tenant's for tenant admins)", "operationId": "listTokens",
                "tags": ["tokens"], "responses": _responses({"200": _json({"type": "object", "properties": {
                    "items": {"type": "array", "items": _ref("ApiToken")}}}, "Tokens, newest first")}, 403)},
        "post": {"summary": "Create an API token; the secret is in the response only", "operationId": "createToken",
                 "tags": ["tokens"], "requestBody": tokens.CREATE_BODY,
                 "responses": _responses({"201": _json({"allOf": [_ref("ApiToken"), {"type": "object", "properties": {
                     "token": {"type": "string", "description": "tw_<tenant>_<secret>; shown once"}}}]}, "The new token")},
                     400, 403)}},
    "/api/v1/tokens/{token_id}": {
        "get": {"summary": "One API token (yours, or anyone's for tenant admins)", "operationId": "getToken",
                "tags": ["tokens"], "parameters": [_id_param("token_id")],
                "responses": _responses({"200": _json(_ref("ApiToken"), "The token")}, 403, 404)},
        "delete": {"summary": "Revoke an API token", "operationId": "revokeToken", "tags": ["tokens"],
                   "parameters": [_id_param("token_id")],
                   "responses": _responses({"204": {"description": "Revoked"}}, 403, 404)}},
    "/api/v1/audit-events": {"get": {
        "summary": "The tenant's audit log, newest first (tenant admins)", "operationId": "listAuditEvents",
        "tags": ["audit"], "parameters": _PAGING + [{"name": "action", "in": "query", "required": False,
                                                     "schema": {"type": "string"}, "description": "e.g. login.failure"}],
        "responses": _responses({"200": _json(page_of("AuditEvent"), "A page of events")}, 400, 403)}},
    "/api/v1/customers": {"get": {
        "summary": "Customers you may see, by external id; `q` matches the id's start or part of the name",
        "operationId": "listCustomers", "tags": ["customers"],
        "parameters": _PAGING + [{"name": "q", "in": "query", "required": False,
                                  "schema": {"type": "string", "maxLength": 100},
                                  "description": "The start of the external id, or any part of the name."}],
        "responses": _responses({"200": _json(page_of("Customer"), "A page of customers")}, 400, 403)}},
    "/api/v1/customers/{customer_id}": {
        "get": {"summary": "One customer (404 if it is not in your book)", "operationId": "getCustomer",
                "tags": ["customers"], "parameters": [_id_param("customer_id")],
                "responses": _responses({"200": _json(_ref("Customer"), "The customer")}, 403, 404)},
        "delete": {"summary": "Erase the customer and all its data (audited)", "operationId": "eraseCustomer",
                   "tags": ["customers"], "parameters": [_id_param("customer_id")],
                   "responses": _responses({"200": _json({"type": "object", "properties": {
                       "erased": _UUID, "removed": {"type": "object", "additionalProperties": {"type": "integer"}}}},
                       "Rows removed per table")}, 403, 404)}},
    "/api/v1/customers/{customer_id}/activity": {"get": {
        "summary": "The customer's activity totals per month and category, newest first", "operationId": "getCustomerActivity",
        "tags": ["customers"], "parameters": [_id_param("customer_id")],
        "responses": _responses({"200": _json({"type": "object", "properties": {
            "items": {"type": "array", "items": _ref("MonthlyActivity")}}}, "Monthly totals")}, 403, 404)}},
    "/api/v1/customers/{customer_id}/interactions": {"get": {
        "summary": "The customer's latest interactions (complaints, requests, opinions, praise)",
        "operationId": "getCustomerInteractions", "tags": ["customers"], "parameters": [_id_param("customer_id")],
        "responses": _responses({"200": _json({"type": "object", "properties": {
            "items": {"type": "array", "items": _ref("Interaction")}}}, "Interactions, newest first")}, 403, 404)}},
    "/api/v1/fields": {"get": {
        "summary": "The tenant's field registry", "operationId": "listFields", "tags": ["customers"],
        "responses": _responses({"200": _json({"type": "object", "properties": {
            "items": {"type": "array", "items": _ref("FieldDefinition")}}}, "Fields by name")}, 403)}},
    "/api/v1/imports/{kind}": {"post": {
        "summary": "Import customers, activity or interactions: a JSON batch or a CSV/XLSX upload, all or nothing",
        "operationId": "runImport", "tags": ["imports"],
        "parameters": [{"name": "kind", "in": "path", "required": True,
                        "schema": {"type": "string", "enum": ["customers", "activity", "interactions"]}}],
        "requestBody": customers.IMPORT_BODY,
        "responses": _responses({
            "200": _json({"allOf": [_ref("ImportResult"), {"type": "object", "properties": {
                "errors": {"type": "array", "items": _ref("RowError")},
                "retier_run_id": {**_UUID, "type": ["string", "null"], "description": (
                    "When the batch added customers to a tenant with a rule set in force: the retier started "
                    "to classify them (follow it at /retier-runs/{id}); null otherwise.")}}}]},
                "JSON batch: what was imported"),
            "201": _json(_ref("ImportRun"), "File upload: the import run (queued, or finished without Redis); "
                                            "poll the Location header")}, 400, 403)}},
    "/api/v1/import-runs": {"get": {
        "summary": "Import runs, newest first", "operationId": "listImportRuns", "tags": ["imports"],
        "parameters": _PAGING, "responses": _responses({"200": _json(page_of("ImportRun"), "A page of runs")}, 403)}},
    "/api/v1/import-runs/{run_id}": {"get": {
        "summary": "One import run, with its progress or outcome", "operationId": "getImportRun", "tags": ["imports"],
        "parameters": [_id_param("run_id")],
        "responses": _responses({"200": _json(_ref("ImportRun"), "The run")}, 403, 404)}},
    **RULE_PATHS,
    **SCHEDULE_PATHS,
    **OWNERSHIP_PATHS,
    **LIST_PATHS,
    **DASHBOARD_PATHS,
    **MODEL_PATHS,
    "/api/v1/openapi.json": {"get": {
        "summary": "This document", "operationId": "getOpenApi", "tags": ["meta"], "security": [],
        "responses": {"200": {"description": "OpenAPI 3.1 document"},
                      "400": {"$ref": "#/components/responses/400"}}}},
}

for _operation in (op for item in PATHS.values() for op in item.values()):
    if "requestBody" in _operation:  # a body of another media type than those listed
        _operation["responses"]["415"] = {"$ref": "#/components/responses/415"}

_ERROR_TEXT = {400: "Invalid parameter or body: `field` names it (an undocumented, empty or repeated query "
                    "parameter, a cursor another list gave out, an unknown body key, a NUL character in the "
                    "address)",
               401: "Missing or invalid credentials",
               403: "Your role does not allow this",
               404: "Not found: it does not exist, belongs to another tenant or is not yours to see, all answered "
                    "alike",
               409: "Conflicts with the current state (a run already going, a name taken, a version already in "
                    "force or already champion, a branch still in use)",
               415: "The body is not of a media type the operation takes (`field` is `body`)",
               422: "The rule set cannot be used: `field` says where (and `position`, for a rule, where in it)"}


def build_document(server_url: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tierwise API", "version": "1",
                 "description": "Customer tiering for banks, power utilities and pharmaceutical distributors. "
                                "Every call acts inside the tenant of its API token. Messages and export "
                                "headings are in English or Chinese: with a token, as `Accept-Language` asks "
                                "(`en`, `zh-CN`), else as the token's owner chose. Times are ISO 8601 in UTC."},
        "servers": [{"url": server_url}],
        "security": [{"bearerToken": []}, {"sessionCookie": []}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "responses": {str(code): _json(_ref("Error"), text) for code, text in _ERROR_TEXT.items()},
            "securitySchemes": {
                "bearerToken": {"type": "http", "scheme": "bearer",
                                "description": "An API token `tw_<tenant slug>_<secret>` from the Tokens page or `tierwise token create`."},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "tierwise_session",
                                  "description": "The web session; unsafe methods also need the X-CSRFToken header."},
            },
        },
    }


@api_blueprint.get("/openapi.json")
def openapi_document():
    return build_document(url_for("landing.index", _external=True).rstrip("/"))
