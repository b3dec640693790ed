"""Training end to end: plan the cutoffs, build the examples, train, register."""
from __future__ import annotations

import time
from datetime import datetime

from tierwise.models import cutoffs, dataset, features, training
from tierwise.models.registry import ModelVersion, horizon, register

SEED = 7


def train_model(model: str, *, as_of: datetime | None = None, horizon_days: int | None = None,
                trained_by: str = "", progress=None, budget_seconds: float = training.DEFAULT_BUDGET_SECONDS,
                seed: int = SEED) -> ModelVersion:
    """Train a ``churn`` or ``value`` model on the current tenant's data; returns the registered version."""
    plan = cutoffs.plan_cutoffs(model, horizon_days or horizon(model), as_of=as_of)
    spec = features.current_spec(model)

    def report(stage: str, fraction: float) -> None:
        if progress:
            progress(stage, 0.5 * fraction)

    started = time.monotonic()
    data = dataset.build_dataset(plan, spec, seed=seed, progress=report)
    features_seconds = time.monotonic() - started
    trained = training.train(model, data, seed=seed, budget_seconds=budget_seconds, progress=progress)
    trained.timings = {"features": round(features_seconds, 2)} | trained.timings
    if progress:
        progress("registering the model", 0.95)
    return register(model, trained, data, trained_by=trained_by)
