"""``/branches``: every user reads the tenant's branches; tenant admins rename them and delete unused ones.

A branch's code is fixed (imports name branches by it), so a change sends only
the name.  The domain functions audit every change and refuse to delete a branch
anything still refers to, saying what does (409).
"""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import abort, request
from flask_babel import gettext
from flask_login import current_user

from tierwise.errors import ValidationError
from tierwise.platform import branches
from tierwise.platform.api import api_blueprint
from tierwise.platform.api.bodies import read_body, request_body
from tierwise.platform.api.serializers import BRANCH_FIELDS, serialize, serialize_page
from tierwise.platform.db import db
from tierwise.platform.pagination import keyset_page, parse_limit
from tierwise.platform.policy import Permission, allows

CHANGE_BODY = request_body({"name": {"type": "string", "minLength": 1, "maxLength": 200},
                            "code": {"type": "string", "description": "The branch's own code, if sent at all (a "
                                     "branch read and sent back): any other is refused."}},
                           required=("name",),
                           description="`code` cannot be changed: imports put customers in a branch by it.")


def _require_manage() -> None:
    if not allows(current_user, Permission.MANAGE_BRANCHES):
        abort(403)


@api_blueprint.get("/branches")
def list_branches():
    page = keyset_page(sa.select(branches.Branch), key=branches.Branch.code, cursor=request.args.get("cursor"),
                       limit=parse_limit(request.args.get("limit")))
    return serialize_page(page, BRANCH_FIELDS)


@api_blueprint.get("/branches/<uuid:branch_id>")
def show_branch(branch_id: uuid.UUID):
    return serialize(branches.get_branch(branch_id), BRANCH_FIELDS)


@api_blueprint.patch("/branches/<uuid:branch_id>")
def rename_branch(branch_id: uuid.UUID):
    _require_manage()
    branch = branches.get_branch(branch_id)
    body = read_body(CHANGE_BODY)
    if "code" in body and body["code"] != branch.code:  # the branch as read, sent back renamed, is fine
        raise ValidationError(gettext("cannot be changed: imports put customers in a branch by its code"),
                              field="code")
    branches.rename_branch(branch, name=body["name"])
    db.session.commit()
    return serialize(branch, BRANCH_FIELDS)


@api_blueprint.delete("/branches/<uuid:branch_id>")
def delete_branch(branch_id: uuid.UUID):
    _require_manage()
    branches.delete_branch(branches.get_branch(branch_id))
    db.session.commit()
    return "", 204
