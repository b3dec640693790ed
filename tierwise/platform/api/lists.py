"""``/lists``, ``/saved-lists`` and ``/exports``: the RM lists through the API.

The same query as the list pages (``tierwise.tenants.lists.query``) with the
caller's visibility: a token of an RM pages through that RM's book only.
"""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import Response, abort, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from tierwise.errors import ValidationError
from tierwise.platform.api import api_blueprint
from tierwise.platform.api.bodies import read_body, request_body
from tierwise.platform.api.openapi_parts import UUID
from tierwise.platform.api.places import as_parameter, under_key
from tierwise.platform.db import db
from tierwise.platform.audit import AuditEvent
from tierwise.platform.pagination import keyset_page, parse_limit
from tierwise.platform.policy import Permission, allows, visible_customers
from tierwise.tenants import exports
from tierwise.tenants.fields import field_labels
from tierwise.tenants.lists import catalog, saved
from tierwise.tenants.lists.explain import explain
from tierwise.tenants.lists.filters import RANGES, ListFilters, place_in_object
from tierwise.tenants.lists.query import SORTS, ListRow, list_page

FILTERS_SCHEMA = {"type": "object", "additionalProperties": False, "properties": {
    "tiers": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
              "description": 'Tier codes per dimension, e.g. {"value": ["key", "important"]}.'},
    **{key: {"type": "number", "minimum": 0, "maximum": 1, "description": "A churn probability."}
       for key in RANGES if key.startswith("churn")},
    **{key: {"type": "number"} for key in RANGES if key.startswith("value")},
    "branch_id": UUID, "rm_user_id": UUID, "search": {"type": "string", "maxLength": 100},
    "condition": {"type": "string", "maxLength": 1000,
                  "description": "In the rule language, on fields, customer columns and scores."}},
    "description": "A minimum may not be above its maximum."}
SETTINGS_BODY = request_body({
    "vip_tiers": {"type": "array", "items": {"type": "string"}},
    "at_risk_probability": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}},
    required=("vip_tiers",))
SAVED_LIST_BODY = request_body({
    "name": {"type": "string", "minLength": 1, "maxLength": 120},
    "base": {"type": "string", "enum": list(catalog.BUILT_IN)},
    "filters": FILTERS_SCHEMA, "shared": {"type": "boolean", "default": False},
    "sort": {"type": "string", "enum": list(SORTS), "default": "external_id",
             "description": "The order the list opens and exports in."}},
    required=("name", "base"), description="The condition is checked as the list page checks it: a saved list "
                                           "always opens.")


def _settings() -> dict:
    current = catalog.settings()
    return {"vip_tiers": list(current.vip_tiers), "at_risk_probability": current.at_risk_probability,
            "configured": current.configured}


@api_blueprint.get("/lists")
def list_lists():
    locale = str(get_locale())  # the request's language: a token's Accept-Language first
    return {"items": [{"name": spec.name, "label": spec.label(locale), "description": spec.description(locale)}
                      for spec in catalog.built_in_lists()], "settings": _settings()}


@api_blueprint.put("/lists/settings")
def change_list_settings():
    if not allows(current_user, Permission.MANAGE_RULES):
        abort(403)
    body = read_body(SETTINGS_BODY)
    tiers = body["vip_tiers"]
    if not all(isinstance(t, str) for t in tiers):
        raise ValidationError(_("a list of value tier codes"), field="vip_tiers")
    probability = body.get("at_risk_probability", catalog.DEFAULT_AT_RISK)
    catalog.update_settings(vip_tiers=tiers, at_risk_probability=float(probability))
    db.session.commit()
    return _settings()


def _row(row: ListRow, why) -> dict:
    change = None if row.change is None else {"from": row.change["from"], "to": row.change["to"],
                                              "at": row.change["at"].isoformat()}
    return {"customer_id": str(row.customer_id), "external_id": row.external_id, "name": row.name,
            "branch": row.branch, "branch_code": row.branch_code, "rm": row.rm, "rm_email": row.rm_email,
            "tiers": row.tiers, "churn_probability": row.churn_probability,
            "predicted_value": row.predicted_value, "change": change, "reason": why.as_dict()}


@api_blueprint.get("/lists/<name>/customers")
def list_customers_on(name: str):
    with as_parameter("name", "list"):
        page = list_page(name, visible_customers(current_user), filters=ListFilters.from_args(request.args),
                         sort=request.args.get("sort", "external_id"), cursor=request.args.get("cursor"),
                         limit=parse_limit(request.args.get("limit")))
    whys = explain(name, page.rows, field_labels(), str(get_locale()))
    return {"items": [_row(row, why) for row, why in zip(page.rows, whys)], "next_cursor": page.next_cursor,
            "dimensions": [d.code for d in page.dimensions]}


@api_blueprint.get("/lists/<name>/export")
def export_list(name: str):
    if not allows(current_user, Permission.EXPORT_LISTS):
        abort(403)
    with as_parameter("name", "list"):
        export = exports.export_list(name, visible_customers(current_user), via="api",
                                     filters=ListFilters.from_args(request.args),
                                     sort=request.args.get("sort", "external_id"),
                                     fmt=request.args.get("format", "csv"), by=current_user.email,
                                     locale=str(get_locale()))  # headed and labelled in the caller's language
    db.session.commit()
    return Response(export.content, content_type=export.mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{export.filename}"',
                             "X-Content-SHA256": export.sha256})


def _in_filters(field: str) -> str | None:
    """Where under ``filters`` the filter a saved list's error names sits; None for a key of the body itself."""
    return None if field in SAVED_LIST_BODY["content"]["application/json"]["schema"]["properties"] \
        else place_in_object(field)


def _saved(kept) -> dict:
    return {"id": str(kept.id), "name": kept.name, "base": kept.base, "filters": kept.filters,
            "shared": kept.shared, "sort": kept.sort, "owner_id": str(kept.owner_id),
            "created_at": kept.created_at.isoformat()}


@api_blueprint.get("/saved-lists")
def list_saved_lists():
    return {"items": [_saved(kept) for kept in saved.available_lists(current_user)]}


@api_blueprint.post("/saved-lists")
def create_saved_list():
    body = read_body(SAVED_LIST_BODY)
    with under_key("filters"):
        filters = ListFilters.from_dict(body.get("filters", {}))
    with under_key("filters", _in_filters):  # a filter the list's query refuses: a tier the rules lack, a condition
        kept = saved.save_list(current_user, name=body["name"], base=body["base"], filters=filters,
                               shared=body.get("shared", False), sort=body.get("sort", "external_id"))
    db.session.commit()
    return _saved(kept), 201


@api_blueprint.delete("/saved-lists/<uuid:list_id>")
def delete_saved_list(list_id: uuid.UUID):
    kept = saved.get_saved_list(list_id, current_user)
    saved.delete_saved_list(kept, current_user, is_admin=allows(current_user, Permission.MANAGE_RULES))
    db.session.commit()
    return "", 204


@api_blueprint.get("/exports")
def export_log():
    if not allows(current_user, Permission.VIEW_AUDIT_LOG):
        abort(403)
    page = keyset_page(sa.select(AuditEvent).where(AuditEvent.action == exports.EXPORT_ACTION), key=AuditEvent.id,
                       cursor=request.args.get("cursor"), limit=parse_limit(request.args.get("limit")),
                       descending=True, kind="exports")
    return {"items": [{"at": event.occurred_at.isoformat(), "by": event.actor_label, **{
        key: event.details.get(key) for key in ("list", "filters", "sort", "rows", "sha256", "format", "via")}}
        for event in page.items], "next_cursor": page.next_cursor}
