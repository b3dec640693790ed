"""``/tokens``: list, create and revoke API tokens."""
from __future__ import annotations

import uuid

from flask import g
from flask_babel import gettext
from flask_login import current_user

from tierwise.errors import PermissionDeniedError
from tierwise.platform import api_tokens
from tierwise.platform.api import api_blueprint
from tierwise.platform.api.bodies import read_body, request_body
from tierwise.platform.api.lookups import get_visible
from tierwise.platform.api.serializers import TOKEN_FIELDS, serialize
from tierwise.platform.db import db
from tierwise.platform.policy import Permission, allows, can_manage_token

CREATE_BODY = request_body({"name": {"type": "string", "maxLength": 100}}, required=("name",))


@api_blueprint.get("/tokens")
def list_tokens():
    everyone = allows(current_user, Permission.MANAGE_ALL_TOKENS)
    return {"items": [serialize(t, TOKEN_FIELDS) for t in api_tokens.list_tokens(None if everyone else current_user)]}


@api_blueprint.post("/tokens")
def create_token():
    if "api_token" in g:  # a token that mints tokens would outlive its own revocation
        raise PermissionDeniedError(gettext("create tokens from a signed-in session (or `tierwise token create`), "
                                             "not with a token"))
    name = read_body(CREATE_BODY)["name"]
    token, plaintext = api_tokens.issue(current_user, name=name, tenant_slug=g.tenant.slug)
    db.session.commit()
    return {**serialize(token, TOKEN_FIELDS), "token": plaintext}, 201


def _token(token_id: uuid.UUID) -> api_tokens.ApiToken:
    """A token the caller manages; anyone else's is as missing as an id that never was."""
    return get_visible(api_tokens.ApiToken, token_id, lambda token: can_manage_token(current_user, token.user_id))


@api_blueprint.get("/tokens/<uuid:token_id>")
def show_token(token_id: uuid.UUID):
    return serialize(_token(token_id), TOKEN_FIELDS)


@api_blueprint.delete("/tokens/<uuid:token_id>")
def revoke_token(token_id: uuid.UUID):
    token = _token(token_id)
    api_tokens.revoke(token)
    db.session.commit()
    return "", 204
