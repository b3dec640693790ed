"""``/rule-set``: the tiering rules in force, their published versions, the draft, validate, preview, publish.

Who may do what (as on the rules pages of the web UI):
- the rule set in force: every role, since RMs act on the tiers it assigns;
- everything else that reads or tries rule sets (the version history and its
  diffs, the draft, validate, preview): the organisation-wide view of tenant
  admins and analysts.  ``policy.py`` has no permission for reading rules, so,
  like the web's version history, this asks for ``VIEW_ALL_CUSTOMERS``; a
  preview also counts every customer and names sample customers;
- saving, discarding and publishing the draft, publishing in one step, rolling
  back: tenant admins (``MANAGE_RULES``).  The domain functions audit each write.

A request that is not a JSON object of the expected keys is a 400; a rule set
that is well-formed JSON but cannot be used (a structure error, or a rule that
does not compile against the tenant's fields) is a 422, with ``field`` and, for
a rule, ``position``: the 0-based offset of the problem in that rule.
"""
from __future__ import annotations

import uuid
from contextlib import contextmanager, nullcontext

from flask import abort, url_for
from flask_babel import gettext
from flask_login import current_user

from tierwise.errors import NotFoundError, ValidationError
from tierwise.platform.api import api_blueprint
from tierwise.platform.api.bodies import NO_BODY, read_body, request_body
from tierwise.platform.api.places import as_parameter, under_key
from tierwise.platform.api.serializers import (PREVIEW_FIELDS, RULE_SET_VERSION_DETAIL_FIELDS,
                                               RULE_SET_VERSION_FIELDS, serialize)
from tierwise.platform.db import db
from tierwise.platform.errors import error_response, further_problems
from tierwise.platform.policy import Permission, allows
from tierwise.tenants.rules import versions
from tierwise.tenants.rules.preview import preview
from tierwise.tenants.rules.published import changes_from_previous, published_version

MAX_NOTE = 500
DEFINITION = {"$ref": "#/components/schemas/RuleSetDefinition"}
NOTE = {"type": "string", "maxLength": MAX_NOTE, "description": "Why, for the version history."}
PUBLISH_BODY = request_body({"definition": DEFINITION, "note": NOTE}, required=("definition",),
                            description="The rule set to publish")
DRAFT_BODY = request_body({"definition": DEFINITION, "note": NOTE}, required=("definition",),
                          description="The draft rule set")
VALIDATE_BODY = request_body({"definition": DEFINITION}, required=("definition",), description="The rule set to check")
PREVIEW_BODY = request_body({"definition": DEFINITION}, optional=True,
                            description="The rule set to preview; send no body (or `{}`) for the draft")
READ_RULE_SETS = Permission.VIEW_ALL_CUSTOMERS  # the web's version history asks for the same


class RuleSetRejected(Exception):
    """The request was well-formed but its rule set cannot be used: 422, where a malformed request is 400."""

    def __init__(self, error: ValidationError) -> None:
        super().__init__(str(error))
        self.error = error


@api_blueprint.errorhandler(RuleSetRejected)
def _rule_set_rejected(rejected: RuleSetRejected):
    error = rejected.error
    return error_response(422, error.code, str(error), error.field, position=getattr(error, "position", None),
                          more=further_problems(error))


@contextmanager
def unusable_rule_set_is_422(sent_as: str | None = None):
    """Inside, a ValidationError (or RuleError) from the domain means the rule set itself is unusable.

    ``sent_as``: the body key the rule set came under, which its errors are said under
    (``definition.dimensions``, ``definition.value.vip.rule``); None for one the tenant keeps (the draft,
    an older version), whose errors name its parts as they are.
    """
    try:
        with under_key(sent_as) if sent_as else nullcontext():
            yield
    except ValidationError as error:
        raise RuleSetRejected(error) from error


def _definition(body: dict) -> dict:
    definition = body.get("definition")
    if not isinstance(definition, dict):
        raise ValidationError(gettext('must be a rule set object: {"value_measure": ..., "dimensions": [...]}'),
                              field="definition")
    return definition


def _note(body: dict) -> str:
    note = body.get("note", "")
    if len(note) > MAX_NOTE:
        raise ValidationError(gettext("must be text of at most %(max)s characters", max=MAX_NOTE), field="note")
    return note.strip()


def _require_manage_rules() -> None:
    if not allows(current_user, Permission.MANAGE_RULES):
        abort(403, description=gettext("Only tenant admins may change the tiering rules."))


def _require_rule_work() -> None:
    if not allows(current_user, READ_RULE_SETS):
        abort(403, description=gettext("The rule history, the draft, validation and preview are for tenant admins "
                                       "and analysts; GET /rule-set shows the rules in force."))


def _version_created(version):
    location = url_for("api.show_rule_set_version", version_id=version.id)
    return serialize(version, RULE_SET_VERSION_DETAIL_FIELDS), 201, {"Location": location}


@api_blueprint.get("/rule-set")
def show_rule_set():
    version = versions.current_version()
    if version is None:
        raise NotFoundError(gettext("no rule set has been published yet"))
    return serialize(version, RULE_SET_VERSION_DETAIL_FIELDS)


@api_blueprint.get("/rule-set/versions")
def list_rule_set_versions():
    _require_rule_work()
    return {"items": [serialize(version, RULE_SET_VERSION_FIELDS) for version in versions.published_versions()]}


@api_blueprint.get("/rule-set/versions/<uuid:version_id>")
def show_rule_set_version(version_id: uuid.UUID):
    _require_rule_work()
    version = published_version(version_id)
    return {**serialize(version, RULE_SET_VERSION_DETAIL_FIELDS), "diff": changes_from_previous(version)}


@api_blueprint.post("/rule-set/versions/<uuid:version_id>/rollback")
def roll_back_rule_set(version_id: uuid.UUID):
    """Publish this version's rules again, as a new version (409, on ``version_id``, if it is the one in force)."""
    version = published_version(version_id)
    _require_manage_rules()
    read_body(NO_BODY)
    with as_parameter("version_id", None), unusable_rule_set_is_422():  # a field its rules use may be gone since
        restored = versions.roll_back(version.number, author=current_user.email)
    db.session.commit()
    return _version_created(restored)


@api_blueprint.post("/rule-set")
def publish_rule_set():
    """Validate and publish in one step, as ``tierwise rules apply`` does; any draft is left alone."""
    _require_manage_rules()
    body = read_body(PUBLISH_BODY)
    definition, note = _definition(body), _note(body)
    with unusable_rule_set_is_422(sent_as="definition"):
        version = versions.publish(definition, author=current_user.email, note=note)
    db.session.commit()
    return _version_created(version)


@api_blueprint.get("/rule-set/draft")
def show_draft():
    _require_rule_work()
    draft = versions.draft()
    if draft is None:
        raise NotFoundError(gettext("there is no draft"))
    return serialize(draft, RULE_SET_VERSION_DETAIL_FIELDS)


@api_blueprint.put("/rule-set/draft")
def save_draft():
    _require_manage_rules()
    body = read_body(DRAFT_BODY)
    definition, note = _definition(body), _note(body)
    with unusable_rule_set_is_422(sent_as="definition"):
        draft = versions.save_draft(definition, author=current_user.email, note=note)
    db.session.commit()
    return serialize(draft, RULE_SET_VERSION_DETAIL_FIELDS)


@api_blueprint.delete("/rule-set/draft")
def discard_draft():
    _require_manage_rules()
    versions.discard_draft()
    db.session.commit()
    return "", 204


@api_blueprint.post("/rule-set/draft/publish")
def publish_draft():
    """The draft becomes the next version (re-validated: the tenant's fields may have changed since)."""
    _require_manage_rules()
    read_body(NO_BODY)
    with unusable_rule_set_is_422():
        version = versions.publish_draft(author=current_user.email)
    db.session.commit()
    return _version_created(version)


@api_blueprint.post("/rule-set/validate")
def validate_rule_set():
    _require_rule_work()
    definition = _definition(read_body(VALIDATE_BODY))
    with unusable_rule_set_is_422(sent_as="definition"):
        parsed, _plan = versions.validate(definition)
    return {"ok": True, "dimensions": len(parsed.dimensions),
            "rules": sum(len(dimension.tiers) - 1 for dimension in parsed.dimensions)}


@api_blueprint.post("/rule-set/preview")
def preview_rule_set():
    """What the definition sent (or, with no body, the draft) would do if published and run now; writes nothing."""
    _require_rule_work()
    body = read_body(PREVIEW_BODY)
    if body:
        definition = _definition(body)
    else:
        draft = versions.draft()
        if draft is None:
            raise NotFoundError(gettext("there is no draft to preview: send a definition, or save a draft first"))
        definition = draft.definition
    with unusable_rule_set_is_422(sent_as="definition" if body else None):
        _parsed, plan = versions.validate(definition)
    result = preview(plan)
    db.session.rollback()  # the preview's temporary table goes with the transaction
    return serialize(result.as_dict(), PREVIEW_FIELDS)
