"""Account ownership through the API: a customer's RM history, assigning customers, moving a book.

Anyone who may see a customer may read its history; changing who looks after
customers is for tenant admins (``ASSIGN_CUSTOMERS``).  The domain functions
validate and audit; this module only checks the JSON's shape and turns ids
into UUIDs, naming the field at fault.
"""
from __future__ import annotations

import uuid

from flask import abort
from flask_babel import gettext
from flask_login import current_user

from tierwise.errors import ValidationError
from tierwise.platform.api import api_blueprint
from tierwise.platform.api.bodies import read_body, request_body
from tierwise.platform.api.openapi_parts import UUID
from tierwise.platform.api.serializers import (ASSIGNMENT_FIELDS, BOOK_MOVE_FIELDS, RM_ASSIGNMENT_FIELDS,
                                               serialize)
from tierwise.platform.db import db
from tierwise.platform.policy import Permission, allows, visible_customers
from tierwise.platform.users import get_user
from tierwise.tenants import customer_directory, ownership

NULLABLE_UUID = {"type": ["string", "null"], "format": "uuid"}
REASON = {"type": "string", "minLength": 1, "maxLength": 500, "description": "Why, for the assignment history."}
ASSIGN_BODY = request_body({
    "customer_ids": {"type": "array", "minItems": 1, "maxItems": 10000, "items": UUID},
    "rm_user_id": NULLABLE_UUID, "reason": REASON}, required=("customer_ids", "rm_user_id", "reason"))
REASSIGN_BODY = request_body({
    "to_user_id": UUID, "branch_id": {**NULLABLE_UUID, "description": "Only this branch's customers."},
    "reason": REASON}, required=("to_user_id", "reason"))


def _require_assign() -> None:
    if not allows(current_user, Permission.ASSIGN_CUSTOMERS):
        abort(403, description=gettext("Only tenant admins may assign customers to relationship managers."))


def _uuid(value, *, field: str, nullable: bool = False) -> uuid.UUID | None:
    if value is None and nullable:
        return None
    try:
        return uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        raise ValidationError(gettext("must be a UUID or null") if nullable else gettext("must be a UUID"),
                              field=field) from None


@api_blueprint.get("/customers/<uuid:customer_id>/assignments")
def customer_assignments(customer_id: uuid.UUID):
    customer = customer_directory.get_visible_customer(customer_id, visible_customers(current_user))
    return {"items": [serialize(period, RM_ASSIGNMENT_FIELDS) for period in ownership.assignment_history(customer)]}


@api_blueprint.post("/customers/assignments")
def assign_customers():
    _require_assign()
    body = read_body(ASSIGN_BODY)
    customer_ids = [_uuid(value, field="customer_ids") for value in body["customer_ids"]]
    rm_user_id = _uuid(body["rm_user_id"], field="rm_user_id", nullable=True)
    result = ownership.assign(customer_ids, rm_user_id, reason=body["reason"])
    db.session.commit()
    return serialize(result, ASSIGNMENT_FIELDS)


@api_blueprint.post("/users/<uuid:user_id>/book/reassign")
def reassign_book(user_id: uuid.UUID):
    user = get_user(user_id)  # another tenant's id: 404
    _require_assign()
    body = read_body(REASSIGN_BODY)
    move = ownership.reassign_book(user.id, _uuid(body["to_user_id"], field="to_user_id"), reason=body["reason"],
                                   branch_id=_uuid(body.get("branch_id"), field="branch_id", nullable=True))
    db.session.commit()
    return serialize(move, BOOK_MOVE_FIELDS)
