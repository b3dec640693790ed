"""The schedules part of the OpenAPI document: schemas and paths, merged into ``openapi.py``'s."""
from __future__ import annotations

from tierwise.platform.api.openapi_parts import TIME as _TIME
from tierwise.platform.api.schedules import ACTION, CHANGE_BODY, CHANGES, CREATE_BODY
from tierwise.platform.api.openapi_parts import UUID as _UUID
from tierwise.platform.api.openapi_parts import id_param as _id_param
from tierwise.platform.api.openapi_parts import items as _items
from tierwise.platform.api.openapi_parts import json_body as _json
from tierwise.platform.api.openapi_parts import ref as _ref
from tierwise.platform.api.openapi_parts import responses as _responses

_SCHEDULE_ACTION = ACTION
_CRON, _ZONE = CHANGES["cron"], CHANGES["timezone"]
SCHEDULE_SCHEMAS = {
    "Schedule": {"type": "object", "properties": {
        "id": _UUID, "action": _SCHEDULE_ACTION, "cron": _CRON, "timezone": _ZONE, "enabled": {"type": "boolean"},
        "next_run_at": {"type": ["string", "null"], "format": "date-time", "description": "null while disabled"},
        "last_run_at": _TIME,
        "last_due_at": {**_TIME, "description": "When the last run was due; much earlier than last_run_at: it "
                                                "ran late (no worker was running then)."},
        "last_status": {"type": ["string", "null"], "enum": ["started", "skipped", "failed", None],
                        "description": "skipped: the same work was already queued or running."},
        "last_message": {"type": "string"},
        "last_run_id": {"type": ["string", "null"], "format": "uuid",
                        "description": "The run it started last (a retier run for `retier`)."},
        "created_by": {"type": "string"}, "updated_by": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"}}},
}

SCHEDULE_PATHS = {
    "/api/v1/schedules": {
        "get": {"summary": "The tenant's schedules (tenant admins, analysts)", "operationId": "listSchedules",
                "tags": ["schedules"],
                "responses": _responses({"200": _items("Schedule", "Schedules by action and cron")}, 403)},
        "post": {"summary": "Schedule recurring work (tenant admins)", "operationId": "createSchedule",
                 "tags": ["schedules"],
                 "description": "`timezone` defaults to the tenant's. The work starts as a run with "
                                "`started_by` `schedule:<id>`, within a minute of its time, while `tierwise cron` "
                                "and a worker run.",
                 "requestBody": CREATE_BODY,
                 "responses": _responses({"201": _json(_ref("Schedule"), "The new schedule; its address is in "
                                                                        "Location")}, 400, 403, 409)}},
    "/api/v1/schedules/{schedule_id}": {
        "get": {"summary": "One schedule, with its next run and its last outcome (tenant admins, analysts)",
                "operationId": "getSchedule", "tags": ["schedules"], "parameters": [_id_param("schedule_id")],
                "responses": _responses({"200": _json(_ref("Schedule"), "The schedule")}, 403, 404)},
        "patch": {"summary": "Change a schedule's time or switch it on or off (tenant admins)",
                  "operationId": "changeSchedule", "tags": ["schedules"], "parameters": [_id_param("schedule_id")],
                  "description": "The next run is computed again from now; missed runs are not caught up. "
                                 "The action cannot change.",
                  "requestBody": CHANGE_BODY,
                  "responses": _responses({"200": _json(_ref("Schedule"), "The changed schedule")},
                                          400, 403, 404, 409)},
        "delete": {"summary": "Delete a schedule (tenant admins); runs it started are kept",
                   "operationId": "deleteSchedule", "tags": ["schedules"], "parameters": [_id_param("schedule_id")],
                   "responses": _responses({"204": {"description": "Deleted"}}, 403, 404)}},
}
