"""The OpenAPI 3.1 document, served at ``/api/v1/openapi.json``.

Written out by hand (it is the contract), and held to the code by tests: every
route under ``/api/v1`` must appear here with the same methods, and every
schema's properties must equal the serializer allow-list it documents.
"""
from __future__ import annotations

from flask import url_for

from tierwise.platform.api import api_blueprint
from tierwise.platform.api import serializers as s

_UUID = {"type": "string", "format": "uuid"}
_TIME = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _page_of(name: str) -> dict:
    return {"type": "object", "required": ["items", "next_cursor"], "properties": {
        "items": {"type": "array", "items": _ref(name)},
        "next_cursor": {"type": ["string", "null"], "description": "Pass as `cursor` for the next page; null on the last."},
    }}


_PAGING = [
    {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "Opaque cursor from the previous page's `next_cursor`."},
    {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
]


def _id_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": _UUID}


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
            "field": {"type": "string", "description": "The parameter or field at fault, when there is one."}}}}},
}

# Which serializer allow-list each schema documents (checked by the tests).
SCHEMA_FIELDS = {"User": s.USER_FIELDS, "Branch": s.BRANCH_FIELDS, "ApiToken": s.TOKEN_FIELDS,
                 "AuditEvent": s.AUDIT_EVENT_FIELDS, "Tenant": s.TENANT_FIELDS}


def _responses(ok: dict, *errors: int) -> dict:
    out = dict(ok)
    for code in (401, *errors):
        out[str(code)] = {"$ref": f"#/components/responses/{code}"}
    return out


PATHS = {
    "/api/v1/me": {"get": {
        "summary": "The calling user, their tenant and permissions", "operationId": "getMe", "tags": ["accounts"],
        "responses": _responses({"200": _json({"type": "object", "properties": {
            "user": _ref("User"), "tenant": _ref("Tenant"), "permissions": {"type": "array", "items": {"type": "string"}}}},
            "The caller")}, 403)}},
    "/api/v1/users": {"get": {
        "summary": "Users of the tenant, by email (tenant admins)", "operationId": "listUsers", "tags": ["accounts"],
        "parameters": _PAGING, "responses": _responses({"200": _json(_page_of("User"), "A page of users")}, 400, 403)}},
    "/api/v1/users/{user_id}": {"get": {
        "summary": "One user (yourself, or anyone for tenant admins)", "operationId": "getUser", "tags": ["accounts"],
        "parameters": [_id_param("user_id")], "responses": _responses({"200": _json(_ref("User"), "The user")}, 403, 404)}},
    "/api/v1/branches": {"get": {
        "summary": "Branches (org units) of the tenant, by code", "operationId": "listBranches", "tags": ["accounts"],
        "parameters": _PAGING, "responses": _responses({"200": _json(_page_of("Branch"), "A page of branches")}, 400, 403)}},
    "/api/v1/branches/{branch_id}": {"get": {
        "summary": "One branch", "operationId": "getBranch", "tags": ["accounts"],
        "parameters": [_id_param("branch_id")], "responses": _responses({"200": _json(_ref("Branch"), "The branch")}, 403, 404)}},
    "/api/v1/tokens": {
        "get": {"summary": "Your API tokens (all of the tenant's for tenant admins)", "operationId": "listTokens",
                "tags": ["tokens"], "responses": _responses({"200": _json({"type": "object", "properties": {
                    "items": {"type": "array", "items": _ref("ApiToken")}}}, "Tokens, newest first")}, 403)},
        "post": {"summary": "Create an API token; the secret is in the response only", "operationId": "createToken",
                 "tags": ["tokens"], "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "required": ["name"], "properties": {"name": {"type": "string", "maxLength": 100}}}}}},
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
        "responses": _responses({"200": _json(_page_of("AuditEvent"), "A page of events")}, 400, 403)}},
    "/api/v1/openapi.json": {"get": {
        "summary": "This document", "operationId": "getOpenApi", "tags": ["meta"], "security": [],
        "responses": {"200": {"description": "OpenAPI 3.1 document"}}}},
}

_ERROR_TEXT = {400: "Invalid parameter or body", 401: "Missing or invalid credentials",
               403: "Your role does not allow this", 404: "Not found, or belongs to another tenant", 409: "Conflict"}


def build_document(server_url: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tierwise API", "version": "1",
                 "description": "Customer tiering for banks, power utilities and pharmaceutical distributors. "
                                "Every call acts inside the tenant of its API token."},
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
