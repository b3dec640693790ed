"""The dashboard part of the OpenAPI document: schemas and paths, merged into ``openapi.py``'s.

The schemas' properties are the allow-lists of ``api.dashboards`` (a test holds
them equal, through ``DASHBOARD_SCHEMA_FIELDS``).
"""
from __future__ import annotations

from tierwise.platform.api import dashboards as d
from tierwise.platform.api.openapi_parts import TIME as _TIME
from tierwise.platform.api.openapi_parts import UUID as _UUID
from tierwise.platform.api.openapi_parts import json_body as _json
from tierwise.platform.api.openapi_parts import ref as _ref
from tierwise.platform.api.openapi_parts import responses as _responses

_COUNT = {"type": "integer", "minimum": 0}
_SHARE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_AMOUNT = {"type": ["number", "null"]}
_STATUS = {"type": "string", "enum": ["queued", "running", "succeeded", "failed"]}

DASHBOARD_SCHEMAS = {
    "Dashboard": {"type": "object", "required": ["scope", "tiers", "pareto", "risk", "flows", "models", "runs"],
                  "properties": {
        "scope": {"type": "string", "enum": ["tenant", "branch", "own"],
                  "description": "Whose customers the figures cover: every customer, the caller's branch, or "
                                 "their own book."},
        "tiers": {"type": "array", "items": _ref("DimensionDistribution"),
                  "description": "Customers per tier of each dimension, among the caller's customers (`share` is "
                                 "of those customers). Empty until a rule set is published."},
        "pareto": _ref("Pareto"), "risk": _ref("RiskByTier"),
        "flows": {"type": "object", "required": ["period", "dimensions"], "properties": {
            "period": _ref("FlowPeriod"), "dimensions": {"type": "array", "items": _ref("DimensionFlows")}}},
        "models": {"type": ["array", "null"], "items": _ref("ModelHealth"),
                   "description": "One entry per model; null for roles that may not read the model pages."},
        "runs": {"type": "array", "items": _ref("JobRun"),
                 "description": "The latest 10 runs of each kind the caller may follow, newest first."}}},
    "Pareto": {"type": "object", "description": "Value is each customer's activity amount over the 365 days to "
                                                "`window_end` (the latest activity, never later than now), negative "
                                                "totals counting as zero; shares are measured from it.", "properties": {
        "customers": _COUNT, "total_value": {"type": "number"},
        "window_start": _TIME, "window_end": {**_TIME, "description": "null until activity is imported"},
        "points": {"type": "array", "items": _ref("ParetoPoint"),
                   "description": "The top 1, 5, 10, 20, 50, 80 and 100% of customers."},
        "curve": {"type": "array", "items": _ref("ParetoPoint"), "description": "51 points from 0 to 100%."}}},
    "ParetoPoint": {"type": "object", "properties": {
        "percent": {"type": "number", "description": "Of the customers, ranked by value, highest first."},
        "customers": {**_COUNT, "description": "How many customers that is, rounded up."},
        "value_share": {**_SHARE, "description": "Share of the total value they hold; null when there is none."}}},
    "RiskByTier": {"type": "object", "properties": {
        "dimension": {"type": ["string", "null"], "description": "null when no rule set is in force."},
        "label_en": {"type": "string"}, "label_zh": {"type": "string"},
        "tiers": {"type": "array", "items": _ref("TierRisk")}, "total": _ref("TierRisk")}},
    "TierRisk": {"type": "object", "description": "From the latest scores; null where no model has scored.",
                 "properties": {
        "tier": {"type": ["string", "null"], "description": "null: without a tier in this dimension (or the total)."},
        "label_en": {"type": "string"}, "label_zh": {"type": "string"}, "colour": {"type": "string"},
        "customers": _COUNT, "scored": {**_COUNT, "description": "Customers with a churn probability."},
        "churn_rate": {**_SHARE, "description": "Mean churn probability of the scored customers."},
        "predicted_value": _AMOUNT,
        "value_at_risk": {**_AMOUNT, "description": "Sum of predicted value × churn probability."}}},
    "FlowPeriod": {"type": "object", "properties": {
        "since": _TIME,
        "retier_run_id": {"type": ["string", "null"], "format": "uuid",
                          "description": "The retier whose moves are counted (the latest, by default)."},
        "days": {"type": ["integer", "null"], "description": "Or: every move in the last `days` days."}}},
    "DimensionFlows": {"type": "object", "properties": {
        "dimension": {"type": "string"}, "label_en": {"type": "string"}, "label_zh": {"type": "string"},
        "moves": {"type": "object", "properties": {name: _COUNT for name in ("up", "down", "new")}},
        "flows": {"type": "array", "items": _ref("TierFlow")},
        "first_assignment": {"type": "boolean", "description": (
            "The retier counted gave every customer their first tier in this dimension: where its history "
            "starts, recorded as no move.")}}},
    "TierFlow": {"type": "object", "properties": {
        "from_tier": {"type": ["string", "null"], "description": "null: no tier before."},
        "to_tier": {"type": "string"}, "customers": _COUNT}},
    "ModelHealth": {"type": "object", "properties": {
        "model": {"type": "string", "enum": ["churn", "value"]},
        "champion": {"oneOf": [_ref("ChampionSummary"), {"type": "null"}]},
        "scored_at": _TIME, "scored_version": {"type": ["integer", "null"]},
        "drift_alerts": {"type": "array", "items": _ref("DriftAlert"),
                         "description": "Features whose PSI exceeded 0.2 at the latest scoring."}}},
    "ChampionSummary": {"type": "object", "properties": {
        "id": _UUID, "number": {"type": "integer"}, "trained_at": {"type": "string", "format": "date-time"},
        "horizon_days": {"type": "integer"},
        "metrics": {"type": "object", "description": "Validation metrics of the model and of each baseline.",
                    "additionalProperties": {"type": "object"}}}},
    "DriftAlert": {"type": "object", "properties": {"feature": {"type": "string"}, "psi": {"type": "number"}}},
    "JobRun": {"type": "object", "properties": {
        "kind": {"type": "string", "enum": ["retier", "train", "score", "import"]}, "id": _UUID,
        "subject": {"type": "string", "description": "The model trained, or the import's kind and file."},
        "status": _STATUS, "started_at": {"type": "string", "format": "date-time"}, "finished_at": _TIME,
        "seconds": {"type": ["number", "null"]}, "started_by": {"type": "string"}, "message": {"type": "string"}}},
}

DASHBOARD_SCHEMA_FIELDS = {
    "Pareto": d.PARETO_FIELDS, "ParetoPoint": d.PARETO_POINT_FIELDS, "RiskByTier": d.RISK_FIELDS,
    "TierRisk": d.TIER_RISK_FIELDS, "FlowPeriod": d.FLOW_PERIOD_FIELDS, "DimensionFlows": d.DIMENSION_FLOWS_FIELDS,
    "TierFlow": d.FLOW_FIELDS, "ModelHealth": d.MODEL_HEALTH_FIELDS, "ChampionSummary": d.CHAMPION_FIELDS,
    "DriftAlert": d.DRIFT_ALERT_FIELDS, "JobRun": d.JOB_RUN_FIELDS,
}

DASHBOARD_PATHS = {
    "/api/v1/dashboard": {"get": {
        "summary": "The dashboard's figures for the customers you may see (every role)",
        "operationId": "getDashboard", "tags": ["dashboard"],
        "description": "An RM's figures cover their own book (or branch); admins' and analysts' the whole tenant. "
                       "A tenant without rules, scores or runs gets empty lists and zeros.",
        "parameters": [
            {"name": "dimension", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "Churn and value at risk per tier of this dimension (default `value`)."},
            {"name": "days", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": 366},
             "description": "Tier moves of the last `days` days instead of the latest retier's."}],
        "responses": _responses({"200": _json(_ref("Dashboard"), "The dashboard")}, 400, 403)}},
}
