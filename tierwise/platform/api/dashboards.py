"""``/dashboard``: the dashboard's figures as JSON, for the caller's customers.

Who sees what (as on the web dashboard, see ``dashboard_scope``):
- tiers, value concentration, churn and value at risk and tier moves: every
  role, computed over the customers the caller may see (an RM's own book or
  branch, the whole tenant for admins and analysts);
- model health: ``VIEW_ALL_CUSTOMERS``, as for ``/models`` (``null`` otherwise);
- runs: retiers for everyone, trainings and scorings with model health, imports
  for ``IMPORT_DATA``.

A tenant with no rules, scores or runs gets a complete, empty dashboard.  The
allow-lists below are what each part shows; the OpenAPI schemas are held to them.
"""
from __future__ import annotations

from typing import Any, Callable

from flask import request
from flask_login import current_user

from tierwise.platform.api import api_blueprint
from tierwise.platform.api.serializers import DIMENSION_DISTRIBUTION_FIELDS, serialize
from tierwise.platform.dashboard_scope import book_scope, reads_model_health, requested_days, visible_job_kinds
from tierwise.platform.policy import visible_customers
from tierwise.tenants.dashboard_operations import job_runs, model_health
from tierwise.tenants.dashboards import customer_figures

PARETO_FIELDS = ("customers", "total_value", "window_start", "window_end", "points", "curve")
PARETO_POINT_FIELDS = ("percent", "customers", "value_share")
RISK_FIELDS = ("dimension", "label_en", "label_zh", "tiers", "total")
TIER_RISK_FIELDS = ("tier", "label_en", "label_zh", "colour", "customers", "scored", "churn_rate", "predicted_value",
                    "value_at_risk")
FLOW_PERIOD_FIELDS = ("since", "retier_run_id", "days")
DIMENSION_FLOWS_FIELDS = ("dimension", "label_en", "label_zh", "moves", "flows", "first_assignment")
FLOW_FIELDS = ("from_tier", "to_tier", "customers")
MODEL_HEALTH_FIELDS = ("model", "champion", "scored_at", "scored_version", "drift_alerts")
CHAMPION_FIELDS = ("id", "number", "trained_at", "horizon_days", "metrics")
DRIFT_ALERT_FIELDS = ("feature", "psi")
JOB_RUN_FIELDS = ("kind", "id", "subject", "status", "started_at", "finished_at", "seconds", "started_by", "message")


def _shown(obj: Any, fields: tuple[str, ...], **nested: Callable[[Any], Any]) -> dict[str, Any] | None:
    """``obj``'s allow-listed fields; those named in ``nested`` go through their own serializer."""
    if obj is None:
        return None
    flat = serialize(obj, tuple(name for name in fields if name not in nested))
    return {name: nested[name](getattr(obj, name)) if name in nested else flat[name] for name in fields}


def _each(fields: tuple[str, ...]) -> Callable[[list], list[dict]]:
    return lambda items: [serialize(item, fields) for item in items]


def _metrics(metrics: dict) -> dict:
    """Each predictor's metrics (the model's and its baselines'), without the calibration table."""
    return {predictor: {k: v for k, v in values.items() if k != "calibration"} for predictor, values in metrics.items()}


@api_blueprint.get("/dashboard")
def show_dashboard():
    """Query: ``dimension`` (risk per tier of it; the value dimension by default), ``days`` (tier moves of
    the last N days instead of the latest retier's)."""
    figures = customer_figures(visible_customers(current_user), dimension=request.args.get("dimension") or None,
                               days=requested_days(request.args.get("days")))
    points = _each(PARETO_POINT_FIELDS)
    tier_risk = _each(TIER_RISK_FIELDS)
    health = [_shown(h, MODEL_HEALTH_FIELDS, drift_alerts=_each(DRIFT_ALERT_FIELDS),
                     champion=lambda version: _shown(version, CHAMPION_FIELDS, metrics=_metrics))
              for h in model_health()] if reads_model_health(current_user) else None
    return {
        "scope": book_scope(current_user),
        "tiers": [serialize(dimension, DIMENSION_DISTRIBUTION_FIELDS) for dimension in figures.distribution],
        "pareto": _shown(figures.pareto, PARETO_FIELDS, points=points, curve=points),
        "risk": _shown(figures.risk, RISK_FIELDS, tiers=tier_risk,
                       total=lambda total: serialize(total, TIER_RISK_FIELDS)),
        "flows": {"period": serialize(figures.period, FLOW_PERIOD_FIELDS),
                  "dimensions": [_shown(f, DIMENSION_FLOWS_FIELDS, flows=_each(FLOW_FIELDS)) for f in figures.flows]},
        "models": health,
        "runs": [serialize(run, JOB_RUN_FIELDS) for run in job_runs(visible_job_kinds(current_user))],
    }
