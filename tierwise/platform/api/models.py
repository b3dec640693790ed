"""``/models``, ``/model-runs`` and ``/customers/{id}/scores``: the churn and value models through the API.

Who may do what (as on the web's model pages):
- the versions, their evidence and the runs: the organisation-wide view of
  tenant admins and analysts (``VIEW_ALL_CUSTOMERS``), as for the rule history;
- training, scoring and making a version champion: ``MANAGE_MODELS``; the
  registry audits every promotion and the run records who started it;
- one customer's scores: anyone who may see that customer (a 404 otherwise).

Feature labels follow the request's language (``Accept-Language``, or the
user's saved choice).  A version is never shown with its LightGBM model text or
its drift reference bins: they are for the scorer, not for readers.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import abort, request, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user

from tierwise.errors import ConflictError, ValidationError
from tierwise.models.registry import MODELS, ModelVersion, promote, versions
from tierwise.models.runs import ACTIVE, ModelRun, launch_scoring, launch_training
from tierwise.platform.api import api_blueprint
from tierwise.platform.api.bodies import NO_BODY, read_body, request_body
from tierwise.platform.api.places import as_parameter
from tierwise.platform.api.serializers import (CUSTOMER_SCORES_FIELDS, MODEL_RUN_FIELDS, MODEL_VERSION_DETAIL_FIELDS,
                                               MODEL_VERSION_FIELDS, serialize)
from tierwise.platform.db import db
from tierwise.platform.i18n import listed
from tierwise.platform.pagination import keyset_page, parse_limit
from tierwise.platform.policy import Permission, allows, visible_customers
from tierwise.platform.score_explanations import explained_scores, labelled_importance
from tierwise.platform.tenant import tenant_timezone
from tierwise.tenants import customer_directory

READ_MODELS = Permission.VIEW_ALL_CUSTOMERS
MAX_REASON = 500
PROMOTE_BODY = request_body({"reason": {"type": "string", "minLength": 1, "maxLength": MAX_REASON}},
                            required=("reason",))
TRAIN_BODY = request_body({
    "model": {"type": "string", "enum": list(MODELS)},
    "horizon_days": {"type": "integer", "minimum": 1, "maximum": 3650,
                     "description": "Default: the champion's horizon; without a champion, churn 90, value 365."},
    "as_of": {"type": "string", "format": "date-time",
              "description": ("Train as if it were this moment; not in the future. A date (2025-06-30) is the "
                             "start of that day on the tenant's clock, as `tierwise train --as-of` reads it; "
                             "a time without a zone is on that clock too.")}},
    required=("model",))


def _require_read() -> None:
    if not allows(current_user, READ_MODELS):
        abort(403, description=gettext("Models and their runs are for tenant admins and analysts."))


def _require_manage() -> None:
    if not allows(current_user, Permission.MANAGE_MODELS):
        abort(403, description=gettext("Only tenant admins may train, score or promote models."))


def _as_of(value) -> datetime | None:
    """A day means its start on the tenant's clock, as ``tierwise train --as-of`` reads it and a refusal
    names days (``models.days``); a time without a zone is on that clock too."""
    from tierwise.models.days import tenant_midnight

    if value is None:
        return None
    try:
        if isinstance(value, str) and len(value) == 10:
            return tenant_midnight(date.fromisoformat(value))
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError(gettext("must be a date or time such as 2025-06-30 or 2025-06-30T00:00:00Z"),
                              field="as_of") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(tenant_timezone()))


def _version(version: ModelVersion, fields: tuple[str, ...] = MODEL_VERSION_FIELDS) -> dict:
    metric, value = version.primary_metric
    view = {"primary_metric": {"name": metric, "value": value}}
    if "importance" in fields:
        view["importance"] = labelled_importance(version, str(get_locale()))
    return serialize({name: view[name] if name in view else getattr(version, name) for name in fields}, fields)


def _run_started(run: ModelRun):
    """202 while the run waits for a worker; 201 when it already ran here (no Redis), with its outcome."""
    status = 202 if run.status in ACTIVE else 201
    return _model_run(run), status, {"Location": url_for("api.show_model_run", model_run_id=run.id)}


def _model_run(run: ModelRun) -> dict:
    """A run as the API shows it: its outcome said in the request's language, without what the run keeps to say
    it again."""
    shown = serialize(run, MODEL_RUN_FIELDS) | {"message": run.said_message()}
    shown["summary"] = {key: value for key, value in (shown.get("summary") or {}).items() if key != "kept"}
    return shown


@api_blueprint.get("/models")
def list_models():
    _require_read()
    found = versions()
    champions = {model: next((v for v in found if v.model == model and v.is_champion), None) for model in MODELS}
    return {"champions": {model: _version(v) if v else None for model, v in champions.items()},
            "items": [_version(v) for v in found]}


@api_blueprint.get("/models/versions/<uuid:model_version_id>")
def show_model_version(model_version_id: uuid.UUID):
    _require_read()
    version = ModelVersion.get(model_version_id)
    return _version(version, MODEL_VERSION_DETAIL_FIELDS)


@api_blueprint.post("/models/versions/<uuid:model_version_id>/promote")
def promote_model_version(model_version_id: uuid.UUID):
    """Make this version the champion whatever its metrics (an override or a rollback); the reason is audited.

    The champion already is what was asked: a conflict with the registry as it stands (409 on
    ``model_version_id``), as rolling the rules back to the version in force is, not a bad request.
    """
    version = ModelVersion.get(model_version_id)
    _require_manage()
    reason = read_body(PROMOTE_BODY)["reason"]
    if len(reason) > MAX_REASON:
        raise ValidationError(gettext("must be text of at most %(max)s characters", max=MAX_REASON), field="reason")
    with as_parameter("model_version_id", None):
        if version.is_champion:
            raise ConflictError(gettext("version %(number)s is already the champion", number=version.number))
        promote(version, by=current_user.email, reason=reason)
    db.session.commit()
    return _version(version, MODEL_VERSION_DETAIL_FIELDS)


@api_blueprint.post("/models/train")
def start_model_training():
    _require_manage()
    body = read_body(TRAIN_BODY)
    model = body["model"]
    if model not in MODELS:
        raise ValidationError(gettext("choose one of: %(choices)s", choices=listed(MODELS)), field="model")
    run = launch_training(model, started_by=current_user.email, as_of=_as_of(body.get("as_of")),
                          horizon_days=body.get("horizon_days"))
    return _run_started(run)


@api_blueprint.post("/models/score")
def start_model_scoring():
    _require_manage()
    read_body(NO_BODY)
    return _run_started(launch_scoring(started_by=current_user.email))


@api_blueprint.get("/model-runs")
def list_model_runs():
    _require_read()
    page = keyset_page(sa.select(ModelRun), key=ModelRun.id, cursor=request.args.get("cursor"),
                       limit=parse_limit(request.args.get("limit")), descending=True)
    return {"items": [_model_run(run) for run in page.items], "next_cursor": page.next_cursor}


@api_blueprint.get("/model-runs/<uuid:model_run_id>")
def show_model_run(model_run_id: uuid.UUID):
    _require_read()
    return _model_run(ModelRun.get(model_run_id))


@api_blueprint.get("/customers/<uuid:customer_id>/scores")
def show_customer_scores(customer_id: uuid.UUID):
    customer = customer_directory.get_visible_customer(customer_id, visible_customers(current_user))
    scores = explained_scores(customer.id, str(get_locale()))
    return serialize({"customer_id": customer.id, "scored_at": scores.scored_at,
                      "churn_probability": scores.churn.score, "churn_reasons": scores.churn.reasons,
                      "churn_version_id": scores.churn.version.id if scores.churn.version else None,
                      "predicted_value": scores.value.score, "value_reasons": scores.value.reasons,
                      "value_version_id": scores.value.version.id if scores.value.version else None},
                     CUSTOMER_SCORES_FIELDS)
