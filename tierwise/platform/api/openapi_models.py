"""The models part of the OpenAPI document: schemas and paths, merged into ``openapi.py``'s.

A module of its own so the contract of one concern reads in one place; the
building blocks come from ``openapi_parts``.
"""
from __future__ import annotations

from tierwise.platform.api import serializers as s
from tierwise.platform.api.bodies import NO_BODY
from tierwise.platform.api.models import PROMOTE_BODY, TRAIN_BODY
from tierwise.platform.api.openapi_parts import PAGING, page_of
from tierwise.platform.api.openapi_parts import TIME as _TIME
from tierwise.platform.api.openapi_parts import UUID as _UUID
from tierwise.platform.api.openapi_parts import id_param as _id_param
from tierwise.platform.api.openapi_parts import json_body as _json
from tierwise.platform.api.openapi_parts import ref as _ref
from tierwise.platform.api.openapi_parts import responses as _responses

_MODEL = {"type": "string", "enum": ["churn", "value"]}



_VERSION_PROPERTIES = {
    "id": _UUID, "model": _MODEL, "number": {"type": "integer"},
    "is_champion": {"type": "boolean", "description": "The champion scores customers; one per model."},
    "horizon_days": {"type": "integer", "description": "Days after a cutoff the label looks at."},
    "primary_metric": {"type": "object", "required": ["name", "value"], "properties": {
        "name": {"type": "string", "enum": ["roc_auc", "rmse"]}, "value": {"type": ["number", "null"]}},
        "description": "What versions are compared on: ROC AUC (higher is better) for churn, RMSE (lower) for value."},
    "trained_at": {"type": "string", "format": "date-time"}, "trained_by": {"type": "string"},
    "promoted_at": {**_TIME, "description": "When it last became champion."},
    "promotion_note": {"type": "string", "description": "Why it is or is not champion, or the admin's reason."}}
_METRICS = {"type": "object", "description": "churn: roc_auc, pr_auc, lift_top10, capture_top10, brier, base_rate, "
                                             "examples, calibration; value: rmse, mae, spearman, capture_top10, "
                                             "total_predicted, total_actual, examples; a baseline's also "
                                             "model_difference_se, the standard error of the model's lead over "
                                             "it on the primary metric (paired on the same examples; null where "
                                             "undefined)",
            "additionalProperties": {"type": ["number", "integer", "array", "null"]}}
_CURVE = {"type": "object", "description": "Predictor name -> [[x, y], ...] in the unit square.",
          "additionalProperties": {"type": "array", "items": {"type": "array", "items": {"type": "number"},
                                                               "minItems": 2, "maxItems": 2}}}

MODEL_SCHEMAS = {
    "ModelVersion": {"type": "object", "properties": _VERSION_PROPERTIES},
    "ModelVersionDetail": {"type": "object", "properties": {
        **_VERSION_PROPERTIES,
        "data_window": {"type": "object", "description": "design (`cutoffs`: examples at past cutoffs labelled by "
                                                         "what followed; `snapshot`: a churn model from a snapshot "
                                                         "of churn labels and the customers' fields, with "
                                                         "snapshot_reason no_activity, undated or late, "
                                                         "labels_dated (whether the labels carry the day each "
                                                         "left), and outcome_fields: fields left out as each alone "
                                                         "tells who left), "
                                                         "data_start, data_end, validation_cutoff, "
                                                         "training_cutoffs (none for a snapshot), validation (how "
                                                         "it was kept apart), training_examples, "
                                                         "validation_examples, identifier_fields (fields left out "
                                                         "as they only number or name the customers, a different "
                                                         "value for each), suspected_leak (null, or {field, "
                                                         "gain_share, metric, value}: one field carries much of "
                                                         "what a near-perfect model learnt, and may record the "
                                                         "outcome itself); versions trained before a key was "
                                                         "recorded lack it"},
        "metrics": {"type": "object", "additionalProperties": _METRICS,
                    "description": "`model` and each baseline (churn: logistic_regression, recency_rule but for a "
                                   "snapshot; value: "
                                   "last_period_carried_forward, and run_rate where the data before the "
                                   "validation cutoff is shorter than the window carried forward), on the same "
                                   "validation examples."},
        "champion_comparison": {"type": "object", "properties": {
            "champion_number": {"type": "integer"}, "champion": _METRICS},
            "description": "The champion of the day re-scored on this version's validation data; {} for a first "
                           "version."},
        "curves": {"type": "object", "properties": {
            "roc": {**_CURVE, "description": "Churn only: [false positive rate, true positive rate]."},
            "lift": {**_CURVE, "description": "Gain: [share of customers by score, share of the target captured]."}}},
        "importance": {"type": "array", "items": _ref("FeatureImportance"), "description": "Largest first."},
        "search": {"type": "array", "items": {"type": "object"}, "description": "The parameter sets tried."},
        "params": {"type": "object", "description": "LightGBM parameters of the final model."},
        "rounds": {"type": "integer"}, "training_seconds": {"type": "number"}}},
    "FeatureImportance": {"type": "object", "properties": {
        "feature": {"type": "string"}, "label": {"type": "string", "description": "In the request's language."},
        "gain_share": {"type": "number", "description": "Share of the model's total split gain."}}},
    "ModelRun": {"type": "object", "properties": {
        "id": _UUID, "job": {"type": "string", "enum": ["train", "score"]},
        "model": {"type": "string", "enum": ["churn", "value", ""], "description": "'' for scoring (every champion)"},
        "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed"]},
        "stage": {"type": "string"}, "progress": {"type": "number", "minimum": 0, "maximum": 1},
        "as_of": _TIME, "horizon_days": {"type": ["integer", "null"]}, "started_by": {"type": "string"},
        "started_at": {"type": "string", "format": "date-time"}, "finished_at": _TIME,
        "seconds": {"type": ["number", "null"], "description": "How long it ran (so far, while running)."},
        "message": {"type": "string", "description": "Why it failed, if it did."},
        "version_id": {"type": ["string", "null"], "format": "uuid", "description": "The version a training made."},
        "summary": {"type": "object", "description": "Training: version, champion, note, metrics. Scoring: "
                                                    "customers, versions, drift {model: {psi: {feature: value}, "
                                                    "alerts: [...]}} (`__score__` is the score itself), "
                                                    "without_churn_probability (customers lapsed or known to have "
                                                    "left, given none)."}}},
    "CustomerScores": {"type": "object", "properties": {
        "customer_id": _UUID, "scored_at": {**_TIME, "description": (
            "The moment the scores' features were taken as of: the end of the tenant's data (its last "
            "activity, never later than the scoring run). The run's own time is on /model-runs. "
            "null: not scored yet.")},
        "churn_probability": {"type": ["number", "null"]},
        "churn_version_id": {"type": ["string", "null"], "format": "uuid"},
        "churn_reasons": {"type": "array", "items": _ref("ScoreReason")},
        "predicted_value": {"type": ["number", "null"], "description": "Over the value model's horizon."},
        "value_version_id": {"type": ["string", "null"], "format": "uuid"},
        "value_reasons": {"type": "array", "items": _ref("ScoreReason")}}},
    "ScoreReason": {"type": "object", "properties": {
        "feature": {"type": "string"}, "label": {"type": "string", "description": "In the request's language."},
        "contribution": {"type": "number", "description": "Its push on the model's raw score."},
        "value": {"description": "The customer's value of the feature."},
        "effect": {"type": "string", "enum": ["raises", "lowers", "none"]}}},
}
MODEL_SCHEMA_FIELDS = {"ModelVersion": s.MODEL_VERSION_FIELDS, "ModelVersionDetail": s.MODEL_VERSION_DETAIL_FIELDS,
                       "FeatureImportance": s.FEATURE_IMPORTANCE_FIELDS, "ModelRun": s.MODEL_RUN_FIELDS,
                       "CustomerScores": s.CUSTOMER_SCORES_FIELDS, "ScoreReason": s.SCORE_REASON_FIELDS}

_RUN_STARTED = {"201": _json(_ref("ModelRun"), "Ran here already (no Redis): the run, succeeded or failed"),
                "202": _json(_ref("ModelRun"), "Queued: poll the Location header")}
MODEL_PATHS = {
    "/api/v1/models": {"get": {
        "summary": "The champions and every version, newest first per model (tenant admins, analysts)",
        "operationId": "listModels", "tags": ["models"],
        "responses": _responses({"200": _json({"type": "object", "required": ["champions", "items"], "properties": {
            "champions": {"type": "object", "properties": {
                model: {"oneOf": [_ref("ModelVersion"), {"type": "null"}]} for model in ("churn", "value")}},
            "items": {"type": "array", "items": _ref("ModelVersion")}}}, "Champions and versions")}, 403)}},
    "/api/v1/models/versions/{model_version_id}": {"get": {
        "summary": "One version with its metrics beside the baselines, curves, importance and data window "
                   "(tenant admins, analysts)",
        "operationId": "getModelVersion", "tags": ["models"], "parameters": [_id_param("model_version_id")],
        "responses": _responses({"200": _json(_ref("ModelVersionDetail"), "The version")}, 403, 404)}},
    "/api/v1/models/versions/{model_version_id}/promote": {"post": {
        "summary": "Make this version the champion whatever its metrics: an override or a rollback (tenant admins)",
        "operationId": "promoteModelVersion", "tags": ["models"], "parameters": [_id_param("model_version_id")],
        "description": "Audited with the reason. Customers get its scores at the next scoring. 409 if it already "
                       "is the champion.",
        "requestBody": PROMOTE_BODY,
        "responses": _responses({"200": _json(_ref("ModelVersionDetail"), "The new champion")},
                                400, 403, 404, 409)}},
    "/api/v1/models/train": {"post": {
        "summary": "Train a new churn or value model version (tenant admins)", "operationId": "trainModel",
        "tags": ["models"],
        "description": "It becomes champion only if it beats the current one on the same validation data. One "
                       "training per model may be queued or running at a time (409 otherwise).",
        "requestBody": TRAIN_BODY,
        "responses": _responses(_RUN_STARTED, 400, 403, 409)}},
    "/api/v1/models/score": {"post": {
        "summary": "Score every customer with the champions, replacing all scores at once (tenant admins)",
        "operationId": "scoreCustomers", "tags": ["models"],
        "description": "One scoring may be queued or running at a time (409 otherwise); without a champion "
                       "the run fails and says so.",
        "requestBody": NO_BODY,
        "responses": _responses(_RUN_STARTED, 400, 403, 409)}},
    "/api/v1/model-runs": {"get": {
        "summary": "Training and scoring runs, newest first (tenant admins, analysts)", "operationId": "listModelRuns",
        "tags": ["models"], "parameters": PAGING,
        "responses": _responses({"200": _json(page_of("ModelRun"), "A page of runs")}, 400, 403)}},
    "/api/v1/model-runs/{model_run_id}": {"get": {
        "summary": "One run: its stage and progress, or how it ended (tenant admins, analysts)",
        "operationId": "getModelRun", "tags": ["models"], "parameters": [_id_param("model_run_id")],
        "responses": _responses({"200": _json(_ref("ModelRun"), "The run")}, 403, 404)}},
    "/api/v1/customers/{customer_id}/scores": {"get": {
        "summary": "The customer's churn probability and predicted value, with the five strongest reasons for each "
                   "(404 if it is not in your book)",
        "operationId": "getCustomerScores", "tags": ["models"], "parameters": [_id_param("customer_id")],
        "responses": _responses({"200": _json(_ref("CustomerScores"), "Scores; null numbers before the first "
                                                                      "scoring")}, 403, 404)}},
}
