"""``/me`` and ``/users`` (``/branches`` are in ``branches``)."""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import abort, g, request
from flask_login import current_user

from tierwise.platform.api import api_blueprint
from tierwise.platform.api.lookups import get_visible
from tierwise.platform.api.serializers import TENANT_FIELDS, USER_FIELDS, serialize, serialize_page
from tierwise.platform.pagination import keyset_page, parse_limit
from tierwise.platform.policy import Permission, allows, can_view_user, permissions_of
from tierwise.platform.users import User


@api_blueprint.get("/me")
def me():
    return {
        "user": serialize(current_user, USER_FIELDS),
        "tenant": serialize(g.tenant, TENANT_FIELDS),
        "permissions": [p.value for p in permissions_of(current_user)],
    }


@api_blueprint.get("/users")
def list_users():
    if not allows(current_user, Permission.MANAGE_USERS):
        abort(403)
    page = keyset_page(sa.select(User), key=User.email, cursor=request.args.get("cursor"),
                       limit=parse_limit(request.args.get("limit")))
    return serialize_page(page, USER_FIELDS)


@api_blueprint.get("/users/<uuid:user_id>")
def show_user(user_id: uuid.UUID):
    user = get_visible(User, user_id, lambda user: can_view_user(current_user, user))
    return serialize(user, USER_FIELDS)

