"""``/customers``, ``/fields`` and ``/imports``: customer data through the API."""
from __future__ import annotations

import json
import uuid

import sqlalchemy as sa
from flask import abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l  # a refusal naming its field says so in any language (ValidationError)
from flask_login import current_user

from tierwise.errors import ValidationError
from tierwise.platform.api import api_blueprint
from tierwise.platform.api.bodies import read_body, request_body
from tierwise.platform.api.serializers import (CUSTOMER_FIELDS, FIELD_DEFINITION_FIELDS, IMPORT_RESULT_FIELDS,
                                               IMPORT_RUN_FIELDS, INTERACTION_FIELDS, MONTHLY_ACTIVITY_FIELDS,
                                               ROW_ERROR_FIELDS,
                                               serialize, serialize_page)
from tierwise.platform.db import db
from tierwise.platform.pagination import keyset_page, parse_limit
from tierwise.platform.policy import Permission, allows, import_rights, visible_customers
from tierwise.tenants import customer_directory
from tierwise.tenants.fields import field_registry
from tierwise.tenants.imports.errors import RowError
from tierwise.tenants.imports.runner import import_records
from tierwise.tenants.imports.runs import ImportRun, start_import_run
from tierwise.tenants.rules.retier_launch import classify_newcomers

MAX_JSON_ROWS = 10_000
MAX_JSON_BYTES = 32 * 1024 * 1024  # 10,000 records of a few kilobytes each
_UPLOAD = {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "additionalProperties": False, "properties": {
        "file": {"type": "string", "format": "binary"},
        "skip_invalid": {"type": "boolean", "default": False, "description": "`true` or `false` (or 1 / 0)."},
        "add_fields": {"type": "boolean", "default": False, "description": "`true` or `false` (or 1 / 0)."},
        "mapping": {"type": "string", "description": "A JSON object, target name -> the file's column, as a JSON "
                                                    "batch's `mapping` (an empty string leaves an optional target "
                                                    "unfilled; a value starting with `=` is given to every row); "
                                                    "it wins over a saved mapping, target by target."},
        "mapping_name": {"type": "string", "description": "A saved column mapping of this kind to use."},
        "save_mapping": {"type": "string", "description": "Save the mapping used under this name once the "
                                                         "import succeeds."}}}}}
IMPORT_BODY = request_body({
    "rows": {"type": "array", "maxItems": MAX_JSON_ROWS, "items": {"type": "object"},
             "description": "The records; an error names a record by its place here, rows[0] the first."},
    "mapping": {"type": "object", "additionalProperties": {"type": "string"},
                "description": "Target name -> the key that holds it in each record; an empty string "
                               "leaves an optional target unfilled, whatever key would have filled it; a value "
                               "starting with `=` is the value itself, given to every record (\"type\": "
                               "\"=complaint\" where no key holds the type)."},
    "skip_invalid": {"type": "boolean", "default": False}, "add_fields": {"type": "boolean", "default": False}},
    required=("rows",), other_content=_UPLOAD,
    description="A JSON batch, or a CSV/XLSX upload whose errors name the file's row (the header is row 1).")


def _customer(customer_id: uuid.UUID):
    return customer_directory.get_visible_customer(customer_id, visible_customers(current_user))


@api_blueprint.get("/customers")
def list_customers():
    page = customer_directory.search_customers(visible_customers(current_user), query=request.args.get("q", ""),
                                               cursor=request.args.get("cursor"),
                                               limit=parse_limit(request.args.get("limit")))
    return serialize_page(page, CUSTOMER_FIELDS)


@api_blueprint.get("/customers/<uuid:customer_id>")
def show_customer(customer_id: uuid.UUID):
    return serialize(_customer(customer_id), CUSTOMER_FIELDS)


@api_blueprint.get("/customers/<uuid:customer_id>/activity")
def customer_activity(customer_id: uuid.UUID):
    rows = customer_directory.monthly_activity(_customer(customer_id))
    return {"items": [serialize(row, MONTHLY_ACTIVITY_FIELDS) for row in rows]}


@api_blueprint.get("/customers/<uuid:customer_id>/interactions")
def customer_interactions(customer_id: uuid.UUID):
    rows = customer_directory.recent_interactions(_customer(customer_id))
    return {"items": [serialize(row, INTERACTION_FIELDS) for row in rows]}


@api_blueprint.delete("/customers/<uuid:customer_id>")
def erase_customer(customer_id: uuid.UUID):
    customer = _customer(customer_id)
    if not allows(current_user, Permission.ERASE_CUSTOMERS):
        abort(403)
    removed = customer_directory.erase_customer(customer)
    db.session.commit()
    return {"erased": str(customer_id), "removed": removed}


@api_blueprint.get("/fields")
def list_fields():
    return {"items": [serialize(f, FIELD_DEFINITION_FIELDS) for f in field_registry().values()]}


@api_blueprint.post("/imports/<any(customers, activity, interactions):kind>")
def run_import(kind: str):
    """A JSON batch ({"rows": [...]}) or a multipart file upload ("file"), through the one import path."""
    if not allows(current_user, Permission.IMPORT_DATA):
        abort(403)
    body = read_body(IMPORT_BODY, max_bytes=MAX_JSON_BYTES)
    if "file" in body:  # a multipart upload
        upload = body["file"]
        if not upload.filename:
            raise ValidationError(_l("attach the CSV or XLSX file as 'file'"), field="file")
        options = {"skip_invalid": body.get("skip_invalid", False), "add_fields": body.get("add_fields", False),
                   **import_rights(current_user)}
        if body.get("mapping"):
            options["mapping"] = _form_mapping(body["mapping"])
        run = start_import_run(upload, kind=kind, source_name=upload.filename, created_by=current_user.email,
                               options=options, mapping_name=body.get("mapping_name") or None,
                               save_as=body.get("save_mapping") or None)
        return _import_run(run), 201, {"Location": url_for("api.show_import_run", run_id=run.id)}
    if len(body["rows"]) > MAX_JSON_ROWS:
        raise ValidationError(_("at most %(rows)s rows per JSON batch; upload a file for more",
                                rows=format(MAX_JSON_ROWS, ",")), field="rows")
    result = import_records(body["rows"], kind=kind, mapping=body.get("mapping", {}),
                            skip_invalid=body.get("skip_invalid", False), add_fields=body.get("add_fields", False),
                            **import_rights(current_user))
    db.session.commit()
    retier = classify_newcomers(result.inserted, kind=kind, started_by=current_user.email)  # nobody unclassified
    db.session.commit()
    return {**serialize(result, IMPORT_RESULT_FIELDS),
            "errors": [serialize(e, ROW_ERROR_FIELDS) for e in result.errors[:100]],
            "retier_run_id": str(retier.id) if retier is not None else None}


def _form_mapping(text: str) -> dict[str, str]:
    """An upload's ``mapping`` field: a JSON object of target names to column names (text), or a 400 naming it."""
    try:
        mapping = json.loads(text)
    except ValueError:
        mapping = None
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise ValidationError(_l('must be a JSON object of target names to column names, such as {"external_id": '
                                 '"客户编号"}'), field="mapping")
    return mapping


@api_blueprint.get("/import-runs")
def list_import_runs():
    if not allows(current_user, Permission.IMPORT_DATA):
        abort(403)
    page = keyset_page(sa.select(ImportRun), key=ImportRun.id, cursor=request.args.get("cursor"),
                       limit=parse_limit(request.args.get("limit")), descending=True)
    return {"items": [_import_run(run) for run in page.items], "next_cursor": page.next_cursor}


@api_blueprint.get("/import-runs/<uuid:run_id>")
def show_import_run(run_id: uuid.UUID):
    if not allows(current_user, Permission.IMPORT_DATA):
        abort(403)
    return _import_run(ImportRun.get(run_id))


def _import_run(run: ImportRun) -> dict:
    """An import run as the API shows it: its outcome said in the request's language, each bad cell as a
    RowError (its reason in that language too, without what the run keeps to say it again)."""
    shown = serialize(run, IMPORT_RUN_FIELDS) | {"message": run.said_message()}
    if isinstance(run.result, dict) and "kept" in run.result:  # a whole-file refusal: said in ``message``
        shown["result"] = {key: value for key, value in run.result.items() if key != "kept"}
    if isinstance(run.result, dict) and run.result.get("errors"):
        errors = [RowError(**error) for error in run.result["errors"]]
        shown["result"] = run.result | {"errors": [serialize(error, ROW_ERROR_FIELDS) | {"reason": error.said()}
                                                   for error in errors]}
    return shown
