"""``/schedules``: the tenant's recurring retier, scoring and training schedules.

Reading them is for the organisation-wide view of tenant admins and analysts
(``VIEW_ALL_CUSTOMERS``, as for the rule history); changing one is starting
its work, later, so it needs the permission that starting it now needs
(``policy.can_manage_schedule``).  What a schedule does is fixed once created:
delete it and create another to schedule something else.  The domain
functions audit every change.
"""
from __future__ import annotations

import uuid

from flask import abort, request, url_for
from flask_babel import gettext
from flask_login import current_user

from tierwise.errors import ValidationError
from tierwise.jobs import schedules
from tierwise.platform.api import api_blueprint
from tierwise.platform.api.bodies import read_body, request_body
from tierwise.platform.api.serializers import SCHEDULE_FIELDS, serialize
from tierwise.platform.db import db
from tierwise.platform.policy import Permission, allows, can_manage_schedule

READ_SCHEDULES = Permission.VIEW_ALL_CUSTOMERS
ACTION = {"type": "string", "enum": [action.value for action in schedules.Action]}
CHANGES = {"cron": {"type": "string", "example": "0 3 * * *",
                    "description": "5 fields: minute hour day-of-month month day-of-week, read on the schedule's "
                                   "clock."},
           "timezone": {"type": "string", "minLength": 1, "example": "Asia/Shanghai",
                        "description": "An IANA time zone name."},
           "enabled": {"type": "boolean"}}
CREATE_BODY = request_body({"action": ACTION, **CHANGES}, required=("action", "cron"))
CHANGE_BODY = request_body(CHANGES, description="`action` cannot be changed: delete the schedule and create another.")


def _require_read() -> None:
    if not allows(current_user, READ_SCHEDULES):
        abort(403, description=gettext("Schedules are for tenant admins and analysts."))


def _require_manage(action: str) -> None:
    if not can_manage_schedule(current_user, action):
        abort(403, description=gettext("Only tenant admins may schedule this work."))


@api_blueprint.get("/schedules")
def list_schedules():
    _require_read()
    return {"items": [serialize(schedule, SCHEDULE_FIELDS) for schedule in schedules.list_schedules()]}


@api_blueprint.get("/schedules/<uuid:schedule_id>")
def show_schedule(schedule_id: uuid.UUID):
    _require_read()
    schedule = schedules.get_schedule(schedule_id)
    return serialize(schedule, SCHEDULE_FIELDS)


@api_blueprint.post("/schedules")
def create_schedule():
    body = read_body(CREATE_BODY)
    action = body["action"]
    _require_manage(action)
    schedule = schedules.create_schedule(action=action, cron=body["cron"], timezone=body.get("timezone"),
                                         enabled=body.get("enabled", True), author=current_user.email)
    db.session.commit()
    location = url_for("api.show_schedule", schedule_id=schedule.id)
    return serialize(schedule, SCHEDULE_FIELDS), 201, {"Location": location}


@api_blueprint.patch("/schedules/<uuid:schedule_id>")
def change_schedule(schedule_id: uuid.UUID):
    schedule = schedules.get_schedule(schedule_id)
    _require_manage(schedule.action)
    sent = request.get_json(silent=True)
    if isinstance(sent, dict) and "action" in sent:
        raise ValidationError(gettext("cannot be changed: delete the schedule and create another"), field="action")
    body = read_body(CHANGE_BODY)
    schedules.update_schedule(schedule, author=current_user.email, **body)
    db.session.commit()
    return serialize(schedule, SCHEDULE_FIELDS)


@api_blueprint.delete("/schedules/<uuid:schedule_id>")
def delete_schedule(schedule_id: uuid.UUID):
    schedule = schedules.get_schedule(schedule_id)
    _require_manage(schedule.action)
    schedules.delete_schedule(schedule)
    db.session.commit()
    return "", 204
