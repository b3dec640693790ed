"""Training end to end: plan the cutoffs, build the examples, train, register."""
from __future__ import annotations

import time
from datetime import datetime

from tierwise.models import cutoffs, dataset, features, snapshot_churn, training
from tierwise.models.labels import CHURN
from tierwise.models.registry import ModelVersion, horizon, register

SEED = 7


def train_model(model: str, *, as_of: datetime | None = None, horizon_days: int | None = None,
                trained_by: str = "", progress=None, budget_seconds: float = training.DEFAULT_BUDGET_SECONDS,
                seed: int = SEED) -> ModelVersion:
    """Train a ``churn`` or ``value`` model on the current tenant's data; returns the registered version."""
    horizon_days = horizon_days or horizon(model)
    spec = features.current_spec(model)

    def report(stage: str, fraction: float) -> None:
        if progress:
            progress(stage, 0.5 * fraction)

    started = time.monotonic()
    data = examples(model, spec, horizon_days, as_of=as_of, seed=seed, progress=report)
    features_seconds = time.monotonic() - started
    trained = training.train(model, data, seed=seed, budget_seconds=budget_seconds, progress=progress)
    trained.timings = {"features": round(features_seconds, 2)} | trained.timings
    if progress:
        progress("registering the model", 0.95)
    return register(model, trained, data, trained_by=trained_by)


def examples(model: str, spec: features.FeatureSpec, horizon_days: int, *, as_of: datetime | None = None,
             seed: int = SEED, progress=None) -> dataset.Dataset:
    """The examples of the time-aware design, or of a snapshot of churn labels where it cannot use them.

    A snapshot (``snapshot_churn``) is the answer only where the cutoffs have nothing to
    learn from the labels: no activity at all, activity too short for any cutoff (without an
    as-of), or no training example that churned while the labels name leavers no cutoff can
    place.  Anything else the plan refuses is refused.
    """
    if model == CHURN and snapshot_churn.labels_without_activity():
        return snapshot_churn.build_dataset(spec, horizon_days=horizon_days, reason="no_activity", as_of=as_of,
                                            seed=seed)
    try:
        plan = cutoffs.plan_cutoffs(model, horizon_days, as_of=as_of)
    except cutoffs.TooLittleHistory:
        if not cutoffs.snapshot_instead(model, as_of):
            raise
        return snapshot_churn.build_dataset(spec, horizon_days=horizon_days, reason="short_history", seed=seed)
    try:
        return dataset.build_dataset(plan, spec, seed=seed, progress=progress)
    except dataset.UnplacedLabels as unplaced:
        if progress:
            progress("the churn labels are a snapshot: learning from the customers' fields", 0.9)
        return snapshot_churn.build_dataset(spec, horizon_days=horizon_days, reason=unplaced.reason, as_of=as_of,
                                            seed=seed)
