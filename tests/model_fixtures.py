"""Tenants with models for the model page and API tests, and registry rows written without training.

Training is the slow part (seconds per model), so a trained tenant is made once
per test module (``trained_world``), while tests that only read or promote
versions use ``record_model_version``: a complete version row, with plausible
metrics, curves and importance, and no usable LightGBM model behind it.
"""
from __future__ import annotations

from contextlib import contextmanager
from functools import partial

import pytest
import sqlalchemy as sa

from tests.conftest import TenantWorld, provision_world
from tests.model_helpers import seed_history
from tests.rule_helpers import in_tenant
from tierwise.models.features import FeatureSpec
from tierwise.models.registry import ModelVersion, champion
from tierwise.models.runs import ModelRun
from tierwise.platform.db import db, utcnow

SPEC = FeatureSpec(categories=("deposit", "loan"), channels=("phone", "app"))
WINDOW = {"horizon_days": 90, "data_start": "2023-07-01T00:00:00+00:00", "data_end": "2025-06-30T00:00:00+00:00",
          "validation_cutoff": "2025-04-01T00:00:00+00:00",
          "training_cutoffs": ["2024-10-01T00:00:00+00:00", "2024-12-31T00:00:00+00:00"],
          "validation": "later cutoff, label windows do not overlap", "training_examples": 800,
          "validation_examples": 400}
METRICS = {
    "churn": {"model": {"roc_auc": 0.81, "pr_auc": 0.52, "lift_top10": 3.1, "capture_top10": 0.31, "brier": 0.11,
                        "base_rate": 0.1, "examples": 400,
                        "calibration": [{"predicted": 0.05, "observed": 0.04, "customers": 200},
                                        {"predicted": 0.3, "observed": 0.33, "customers": 200}]},
              "logistic_regression": {"roc_auc": 0.76, "pr_auc": 0.41, "lift_top10": 2.5, "capture_top10": 0.25,
                                      "brier": 0.12, "base_rate": 0.1, "examples": 400},
              "recency_rule": {"roc_auc": 0.83, "pr_auc": 0.35, "lift_top10": 2.0, "capture_top10": 0.2,
                               "brier": 0.13, "base_rate": 0.1, "examples": 400}},
    "value": {"model": {"rmse": 1200.0, "mae": 600.0, "spearman": 0.7, "capture_top10": 0.45,
                        "total_predicted": 98000.0, "total_actual": 100000.0, "examples": 400},
              "last_period_carried_forward": {"rmse": 1500.0, "mae": 700.0, "spearman": 0.6, "capture_top10": 0.4,
                                              "total_predicted": 120000.0, "total_actual": 100000.0,
                                              "examples": 400}},
}


def trained_world(app, customers: int = 400) -> TenantWorld:
    """A bank with two years of history, a churn and a value champion, and every customer scored."""
    from tierwise.models import pipeline
    from tierwise.models.scoring import score_all

    world = provision_world(app, "bank", prefix="m")
    seed_history(app, world, customers=customers)
    with fast_training(), in_tenant(app, world):
        for model in ("churn", "value"):
            pipeline.train_model(model, trained_by="test")
            db.session.commit()
        score_all()
        db.session.commit()
    return world


@contextmanager
def fast_training():
    """Training in tests: one thread and a 2-second parameter search.

    LightGBM's defaults (every core, a minute's search) crawl when other test
    processes share the cores: OpenMP threads wait on each other.  Runs started
    from a page or the API find the patched functions, because
    ``runs.run_training`` and ``pipeline.train_model`` look them up when they run.
    """
    from tierwise.models import pipeline, training

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training, "train", partial(training.train, threads=1))
        patch.setattr(pipeline, "train_model", partial(pipeline.train_model, budget_seconds=2))
        yield


def record_model_version(model: str = "churn", *, make_champion: bool = False) -> ModelVersion:
    """The next version of ``model`` in the current tenant, stored as training would store it (uncommitted)."""
    number = (db.session.scalar(sa.select(sa.func.max(ModelVersion.number)).where(ModelVersion.model == model))
              or 0) + 1
    columns = SPEC.columns()
    roc = {name: [[0.0, 0.0], [0.2, share], [1.0, 1.0]] for name, share in
           (("model", 0.6), ("logistic_regression", 0.5), ("recency_rule", 0.55))}
    lift = {name: [[0.0, 0.0], [0.1, values["capture_top10"]], [1.0, 1.0]] for name, values in METRICS[model].items()}
    version = ModelVersion(
        model=model, number=number, horizon_days=90 if model == "churn" else 365, params={"objective": "binary"},
        rounds=10, features={"spec": SPEC.to_dict(), "columns": columns}, data_window=WINDOW,
        metrics=METRICS[model], search=[{"params": {"num_leaves": 31}, "rounds": 10, "roc_auc": 0.8}],
        curves={"lift": lift} | ({"roc": roc} if model == "churn" else {}),
        importance=[{"feature": "recency_days", "gain_share": 0.5}, {"feature": "amount_365d_cat_1", "gain_share": 0.3},
                    {"feature": "complaints_90d", "gain_share": 0.2}],
        reference={}, model_text="not a model", training_seconds=1.0, trained_by="test",
        promotion_note="recorded for a test")
    db.session.add(version)
    if make_champion:
        current = champion(model)
        if current is not None:
            current.is_champion = False
            db.session.flush()
        version.is_champion, version.promoted_at = True, utcnow()
    db.session.flush()
    return version


def record_model_run(job: str = "score", status: str = "succeeded", **values) -> ModelRun:
    """A finished (or queued, or running) run, as the runner would have left it (uncommitted)."""
    run = ModelRun(job=job, model=values.pop("model", "" if job == "score" else "churn"), status=status,
                   started_by=values.pop("started_by", "test"),
                   finished_at=utcnow() if status in ("succeeded", "failed") else None, **values)
    db.session.add(run)
    db.session.flush()
    return run
