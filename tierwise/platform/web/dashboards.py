"""The dashboard: tiers, value concentration, risk, tier moves, model health and job runs on one page.

Every signed-in user has one, covering the customers they may see (an RM's own
book or branch, everyone for admins and analysts); ``dashboard_scope`` says
which sections beyond the customer figures each role gets.  Charts are drawn by
ECharts from JSON in the page; the tables beside them carry the same numbers
for readers without JavaScript.
"""
from __future__ import annotations

from flask import Blueprint, flash, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from tierwise.errors import ValidationError
from tierwise.models.registry import MODEL_LABELS
from tierwise.models.runs import latest_scoring
from tierwise.platform import clock
from tierwise.platform.dashboard_scope import book_scope, reads_model_health, requested_days, visible_job_kinds
from tierwise.platform.db import db
from tierwise.platform.policy import visible_customers
from tierwise.platform.web import dashboard_charts as charts
from tierwise.platform.web import model_report as report
from tierwise.platform.web.access import signed_in
from tierwise.platform.web.labels import IMPORT_KIND_LABELS, JOB_LABELS
from tierwise.tenants.dashboard_operations import JobRun, job_runs, model_health
from tierwise.tenants.dashboards import CustomerFigures, customer_figures

bp = Blueprint("dashboards", __name__)


def job_subject(run: JobRun) -> str:
    """What a run worked on, as the job table shows it after the job: the model trained, or the import's
    kind and file (stored as ``kind: file``)."""
    if run.kind == "train":
        return str(MODEL_LABELS.get(run.subject, run.subject))
    if run.kind == "import":
        kind, _sep, source = run.subject.partition(": ")
        return _("%(kind)s: %(file)s", kind=IMPORT_KIND_LABELS.get(kind, kind), file=source)
    return run.subject


def _model_sections(locale: str) -> list[dict]:
    """Each model's health with the model pages' own metric table and drift labels."""
    drift = report.drift_rows(latest_scoring(), locale)
    labels = {(model, row.feature): row.label for model, rows in drift.items() for row in rows}
    sections = []
    for health in model_health():
        version = health.champion
        sections.append({
            "health": health, "label": MODEL_LABELS[health.model],
            "primary": report.primary(version) if version else None,
            "columns": report.columns(version) if version else [],
            "rows": report.metric_rows(version) if version else [],
            "alerts": [(labels.get((health.model, a.feature), a.feature), a.psi) for a in health.drift_alerts]})
    return sections


def _charts(figures: CustomerFigures, locale: str) -> dict:
    return {"distribution": [charts.distribution_chart(d, locale) for d in figures.distribution],
            "pareto": charts.pareto_chart(figures.pareto), "risk": charts.risk_chart(figures.risk, locale),
            "flows": {f.dimension: charts.flow_chart(f, locale) for f in figures.flows if f.flows}}


@bp.route("/dashboard")
@signed_in
def index():
    locale = str(get_locale())
    figures, refused = _figures_asked()
    if refused is not None and refused.field != "days":  # the days are refused beside their input
        flash(refused.message, "error")
    page = render_template(
        "dashboards/index.html", figures=figures, charts=_charts(figures, locale), scope=book_scope(current_user),
        data_end=clock.local_date(figures.pareto.window_end) if figures.pareto.window_end else None,
        models=_model_sections(locale) if reads_model_health(current_user) else None,
        runs=job_runs(kinds) if (kinds := visible_job_kinds(current_user)) else None, job_label=lambda kind: JOB_LABELS.get(kind, kind),
        job_subject=job_subject, refused=refused, typed_days=request.args.get("days", ""))
    return (page, 400) if refused is not None else page


def _figures_asked() -> tuple[CustomerFigures, ValidationError | None]:
    """The customer figures for the dimension and days asked for, and None; when one of them is refused (a
    dimension the rules lack, days out of range), the figures without it, as by default, and the refusal:
    the page still shows everything else, as the API answers 400 for the same values."""
    asked = {"dimension": request.args.get("dimension") or None, "days": request.args.get("days")}
    refused = None
    while True:
        try:
            figures = customer_figures(visible_customers(current_user), dimension=asked["dimension"],
                                       days=requested_days(asked["days"]))
            return figures, refused
        except ValidationError as exc:
            db.session.rollback()
            if asked.get(exc.field) is None:  # not a parameter of the page: nothing to show without it
                raise
            refused, asked[exc.field] = refused or exc, None
