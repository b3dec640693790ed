"""The account ownership part of the OpenAPI document: schemas and paths, merged into ``openapi.py``'s."""
from __future__ import annotations

from tierwise.platform.api import serializers as s
from tierwise.platform.api.ownership import ASSIGN_BODY, NULLABLE_UUID, REASSIGN_BODY
from tierwise.platform.api.openapi_parts import TIME as _TIME
from tierwise.platform.api.openapi_parts import UUID as _UUID
from tierwise.platform.api.openapi_parts import id_param as _id_param
from tierwise.platform.api.openapi_parts import items as _items
from tierwise.platform.api.openapi_parts import json_body as _json
from tierwise.platform.api.openapi_parts import ref as _ref
from tierwise.platform.api.openapi_parts import responses as _responses

_NULLABLE_UUID = NULLABLE_UUID
OWNERSHIP_SCHEMAS = {
    "RmAssignment": {"type": "object", "properties": {
        "customer_id": _UUID,
        "rm_user_id": {**_NULLABLE_UUID, "description": "null: the customer had no relationship manager then."},
        "valid_from": {"type": "string", "format": "date-time"},
        "valid_to": {**_TIME, "description": "null for the current period"},
        "changed_by": {"type": "string", "description": "The user's email, or the job or tool that made the change."},
        "reason": {"type": "string"}}},
    "Assignment": {"type": "object", "properties": {
        "rm_user_id": _NULLABLE_UUID, "customers": {"type": "integer", "description": "Customers named."},
        "changed": {"type": "integer", "description": "Of those, the ones that had another relationship manager."}}},
    "BookMove": {"type": "object", "properties": {
        "from_user_id": _UUID, "to_user_id": _UUID, "branch_id": _NULLABLE_UUID,
        "moved": {"type": "integer", "description": "Customers that changed relationship manager."}}},
}
OWNERSHIP_SCHEMA_FIELDS = {"RmAssignment": s.RM_ASSIGNMENT_FIELDS, "Assignment": s.ASSIGNMENT_FIELDS,
                           "BookMove": s.BOOK_MOVE_FIELDS}

OWNERSHIP_PATHS = {
    "/api/v1/customers/{customer_id}/assignments": {"get": {
        "summary": "Who looked after the customer, and when: the current period first",
        "operationId": "getCustomerAssignments", "tags": ["customers"], "parameters": [_id_param("customer_id")],
        "responses": _responses({"200": _items("RmAssignment", "The customer's periods, newest first")}, 403, 404)}},
    "/api/v1/customers/assignments": {"post": {
        "summary": "Give customers to a relationship manager, or unassign them (tenant admins)",
        "operationId": "assignCustomers", "tags": ["customers"],
        "description": "All or nothing: every id must be a customer of this organisation, and `rm_user_id` an active "
                       "relationship manager (or null). Customers that already have that RM are left as they are.",
        "requestBody": ASSIGN_BODY,
        "responses": _responses({"200": _json(_ref("Assignment"), "What changed")}, 400, 403)}},
    "/api/v1/users/{user_id}/book/reassign": {"post": {
        "summary": "Move every customer of this user (optionally one branch's) to another relationship manager "
                   "(tenant admins)",
        "operationId": "reassignBook", "tags": ["users"], "parameters": [_id_param("user_id")],
        "description": "A user who looks after customers cannot be deactivated, or leave the relationship manager "
                       "role, until their book is moved.",
        "requestBody": REASSIGN_BODY,
        "responses": _responses({"200": _json(_ref("BookMove"), "How many customers moved")}, 400, 403, 404)}},
}
