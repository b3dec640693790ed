"""The model pages: how good each champion is, the version history, training, scoring, runs and drift.

Reading asks for ``VIEW_ALL_CUSTOMERS`` (admins and analysts), as the rule
history does: the metrics, drift and runs describe the whole customer base.
Training, scoring and making a version champion are for ``MANAGE_MODELS``.
Without Redis a run happens inside the request, so the flash says how it ended;
with Redis it is queued and the page refreshes itself while anything is queued
or running.
"""
from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import HiddenField, IntegerField, TextAreaField
from wtforms.validators import AnyOf, Length, NumberRange, Optional

from tierwise.errors import ConflictError, ValidationError
from tierwise.models.cutoffs import DEFAULT_HORIZON, SNAPSHOT
from tierwise.models.days import tenant_day, tenant_days
from tierwise.models.registry import MODEL_LABELS, MODELS, ModelVersion, champion, design_of, promote, versions
from tierwise.models.runs import ACTIVE, ModelRun, latest_scoring, launch_scoring, launch_training, recent_runs
from tierwise.platform.db import db
from tierwise.platform.i18n import listed
from tierwise.platform.numbers import MISSING
from tierwise.platform.policy import Permission, allows
from tierwise.platform.score_explanations import labelled_importance
from tierwise.platform.web import model_report as report
from tierwise.platform.web.access import requires
from tierwise.platform.web.forms import EmptyForm, show_validation_error
from tierwise.platform.web.model_charts import curve_chart
from tierwise.platform.web.promotion_notes import promotion_note

bp = Blueprint("models", __name__, url_prefix="/models")
READ_MODELS = Permission.VIEW_ALL_CUSTOMERS
REFRESH_SECONDS = 5
TOP_FEATURES = 15
MAX_REASON = 500


class TrainForm(FlaskForm):
    model = HiddenField(validators=[AnyOf(MODELS)])
    horizon_days = IntegerField(_l("Horizon in days (optional)"), validators=[Optional(), NumberRange(1, 3650)])


class PromoteForm(FlaskForm):
    reason = TextAreaField(_l("Why should this version be the champion?"), validators=[Length(max=MAX_REASON)])


# The stages a run records as it goes (``tierwise.models.runs``, ``dataset``, ``training``, ``pipeline``,
# ``scoring``), stored in English for operators; the English labels are the stored words.
STAGE_LABELS = {
    "starting": _l("starting"), "done": _l("done"),
    "reading the activity": _l("reading the activity"), "searching parameters": _l("searching parameters"),
    "training the final model": _l("training the final model"),
    "comparing with baselines": _l("comparing with baselines"), "registering the model": _l("registering the model"),
    "scoring with the churn model": _l("scoring with the churn model"),
    "scoring with the value model": _l("scoring with the value model"), "writing the scores": _l("writing the scores"),
}
FEATURES_STAGE = "features as of "  # followed by the cutoff dates the features are built for


def stage_label(stage: str) -> str:
    """A run's stage in the reader's language; a stage this page does not know, as stored.

    The cutoffs of a features stage are read earliest first, listed as the reader's language lists them:
    training builds the validation cutoff first, and runs recorded before their days were sorted kept that order.
    """
    if stage in STAGE_LABELS:
        return str(STAGE_LABELS[stage])
    if stage.startswith(FEATURES_STAGE):
        return _("features as of %(dates)s", dates=listed(sorted(stage[len(FEATURES_STAGE):].split(", "))))
    return stage


# A filter, not a context variable: the report macros are imported without the page's context.
bp.add_app_template_filter(promotion_note, "promotion_note")


@bp.context_processor
def _model_labels() -> dict:
    return {"model_label": lambda code: str(MODEL_LABELS.get(code, code)),
            "job_label": lambda code: _("Training") if code == "train" else _("Scoring"), "stage_label": stage_label}


def _locale() -> str:
    return str(get_locale())


def _series(curves: dict[str, list]) -> list[tuple[str, list]]:
    return [(report.predictor_label(name), curves[name]) for name in report.ordered(curves)]


def _charts(version: ModelVersion) -> list[Markup]:
    curves = version.curves or {}
    found = []
    if curves.get("roc"):
        found.append(curve_chart(_series(curves["roc"]),
                                 title=_("ROC curve"), x_label=_("False positive rate"),
                                 y_label=_("True positive rate"), random_label=_("Random ranking")))
    if curves.get("lift"):
        captured = _("Share of churners caught") if version.model == "churn" else _("Share of actual value")
        found.append(curve_chart(_series(curves["lift"]),
                                 title=_("Gain curve"), x_label=_("Customers, highest score first"),
                                 y_label=captured, random_label=_("Random ranking")))
    return found


def window_days(window: dict) -> dict[str, str]:
    """A version's data window in days on the tenant's clock, as the dashboard names where the data ends;
    the training cutoffs earliest first, listed as the reader's language lists."""
    days = {key: tenant_day(window.get(key)) for key in ("data_start", "data_end", "validation_cutoff")}
    return days | {"training_cutoffs": listed(tenant_days(window.get("training_cutoffs") or [])) or MISSING}


def version_report(version: ModelVersion) -> dict:
    """Everything the report macro shows of one version."""
    return {"version": version, "days": window_days(version.data_window or {}), "columns": report.columns(version), "rows": report.metric_rows(version),
            "verdicts": report.verdicts(version), "charts": _charts(version),
            "partial_period": "run_rate" in version.metrics,  # the data held less than a period to carry forward
            "calibration": version.metrics.get("model", {}).get("calibration") or [],
            "importance": labelled_importance(version, _locale(), TOP_FEATURES),
            "validation": report.validation_label(version.data_window.get("validation")),
            "snapshot": design_of(version) == SNAPSHOT, "leak": _leak(version),
            "snapshot_reason": report.snapshot_reason(version.data_window.get("snapshot_reason")),
            "outcome_fields": _labels(version, "outcome_fields"), "identifier_fields": _labels(version, "identifier_fields")}


def _labels(version: ModelVersion, key: str) -> str:
    """The fields ``data_window[key]`` names, by their labels in the reader's language, listed ('' for none)."""
    return listed([version.spec.label(f"field_{name}", _locale()) for name in version.data_window.get(key) or []])


def _leak(version: ModelVersion) -> dict | None:
    """A field suspected of giving the answer away (``models.leaks``), as the page says it; None for none."""
    leak = (version.data_window or {}).get("suspected_leak")
    if not leak:
        return None
    label, _kind = report.metric_label(version.model, leak["metric"])
    return {"field": version.spec.label(f"field_{leak['field']}", _locale()), "share": leak["gain_share"],
            "metric": label, "value": f"{leak['value']:.3f}"}


def _history(found: list[ModelVersion]) -> dict[str, list[dict]]:
    return {model: [{"version": v, "primary": report.primary(v), "compared": report.compared_with_champion(v)}
                     for v in found if v.model == model] for model in MODELS}


@bp.route("/")
@requires(READ_MODELS)
def index():
    runs = recent_runs(20)
    champions = {model: champion(model) for model in MODELS}
    scoring = latest_scoring()
    busy = any(run.status in ACTIVE for run in runs)  # the page refreshes itself only while something may change
    return render_template(
        "models/index.html", reports={m: version_report(v) for m, v in champions.items() if v is not None},
        history=_history(versions()), runs=runs, refresh=REFRESH_SECONDS if busy else None, scoring=scoring,
        drift=report.drift_rows(scoring, _locale()), can_manage=allows(current_user, Permission.MANAGE_MODELS),
        train_form=TrainForm(), score_form=EmptyForm(),
        horizons={m: v.horizon_days if v is not None else DEFAULT_HORIZON[m] for m, v in champions.items()})


def _render_version(version: ModelVersion, form: PromoteForm, status: int = 200):
    return render_template("models/version.html", version=version, report=version_report(version), form=form,
                           primary=report.primary(version), compared=report.compared_with_champion(version),
                           can_manage=allows(current_user, Permission.MANAGE_MODELS)), status


@bp.route("/versions/<uuid:model_version_id>")
@requires(READ_MODELS)
def show(model_version_id: uuid.UUID):
    return _render_version(ModelVersion.get(model_version_id), PromoteForm())


@bp.route("/versions/<uuid:model_version_id>/promote", methods=["POST"])
@requires(Permission.MANAGE_MODELS)
def make_champion(model_version_id: uuid.UUID):
    """An admin's override or rollback: the reason is required (by the registry) and audited."""
    version = ModelVersion.get(model_version_id)
    form = PromoteForm()
    if form.validate_on_submit():
        try:
            promote(version, by=current_user.email, reason=form.reason.data)
        except ValidationError as exc:
            db.session.rollback()
            show_validation_error(form, exc)
        else:
            number, model = version.number, version.model
            db.session.commit()
            flash(_("%(model)s: version %(number)s is now the champion. Score now for customers to get its scores.",
                    model=MODEL_LABELS[model], number=number), "success")
            return redirect(url_for(".show", model_version_id=model_version_id))
    return _render_version(version, form, 400)


def _flash_outcome(run: ModelRun) -> None:
    if run.status == "failed":  # the run's row below says why, in the reader's language: said once, there
        flash(_("The run failed: the list of runs below says why."), "error")
    elif run.status != "succeeded":
        flash(_("Run started. This page refreshes until it finishes."), "success")
    elif run.job == "score":
        flash(_("Scoring finished: %(customers)s customers scored.",
                customers=f"{run.summary.get('customers', 0):,}"), "success")
    elif run.summary.get("champion"):
        flash(_("Training finished: version %(number)s is the new champion.", number=run.summary.get("version")),
              "success")
    else:  # why not, as the registry decided it: beaten, or a horizon the champion's cannot be compared with
        flash(_("Training finished: version %(number)s is not the champion: %(why)s",
                number=run.summary.get("version"), why=promotion_note(run.summary.get("note"))), "success")


@bp.route("/train", methods=["POST"])
@requires(Permission.MANAGE_MODELS)
def train():
    form = TrainForm()
    if not form.validate_on_submit():  # CSRF is checked before the view: only the fields can be wrong
        flash(_("Choose the churn or the value model.") if form.model.errors
              else _("The horizon must be a whole number of days from 1 to 3650."), "error")
        return redirect(url_for(".index"))
    try:
        run = launch_training(form.model.data, started_by=current_user.email, horizon_days=form.horizon_days.data)
    except (ConflictError, ValidationError) as exc:  # one is already queued or running; a bad horizon
        flash(exc.message, "error")
        return redirect(url_for(".index"))
    _flash_outcome(run)
    return redirect(url_for(".index"))


@bp.route("/score", methods=["POST"])
@requires(Permission.MANAGE_MODELS)
def score():
    try:
        run = launch_scoring(started_by=current_user.email)
    except ConflictError as exc:
        flash(exc.message, "error")
        return redirect(url_for(".index"))
    _flash_outcome(run)
    return redirect(url_for(".index"))
