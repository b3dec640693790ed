"""The branches part of the OpenAPI document: paths, merged into ``openapi.py``'s (the ``Branch`` schema is there)."""
from __future__ import annotations

from tierwise.platform.api.branches import CHANGE_BODY
from tierwise.platform.api.openapi_parts import PAGING
from tierwise.platform.api.openapi_parts import id_param as _id_param
from tierwise.platform.api.openapi_parts import json_body as _json
from tierwise.platform.api.openapi_parts import page_of
from tierwise.platform.api.openapi_parts import ref as _ref
from tierwise.platform.api.openapi_parts import responses as _responses

BRANCH_PATHS = {
    "/api/v1/branches": {"get": {
        "summary": "Branches (org units) of the tenant, by code", "operationId": "listBranches", "tags": ["accounts"],
        "parameters": PAGING,
        "responses": _responses({"200": _json(page_of("Branch"), "A page of branches")}, 400, 403)}},
    "/api/v1/branches/{branch_id}": {
        "get": {"summary": "One branch", "operationId": "getBranch", "tags": ["accounts"],
                "parameters": [_id_param("branch_id")],
                "responses": _responses({"200": _json(_ref("Branch"), "The branch")}, 403, 404)},
        "patch": {"summary": "Rename a branch (tenant admins)", "operationId": "renameBranch", "tags": ["accounts"],
                  "parameters": [_id_param("branch_id")],
                  "description": "Only the name changes; the code stays, as imports put customers in a branch "
                                 "by it (their `branch_code` column).",
                  "requestBody": CHANGE_BODY,
                  "responses": _responses({"200": _json(_ref("Branch"), "The renamed branch")}, 400, 403, 404)},
        "delete": {"summary": "Delete a branch nothing refers to (tenant admins)", "operationId": "deleteBranch",
                   "tags": ["accounts"], "parameters": [_id_param("branch_id")],
                   "description": "409 while users are scoped to it, customers are in it or saved lists filter on "
                                  "it; the message says how many of each, and nothing is deleted.",
                   "responses": _responses({"204": {"description": "Deleted"}}, 403, 404, 409)}},
}
