"""The dashboard's operational half: how healthy the models are and how the recent jobs went.

These describe the tenant as a whole (a model is trained on every customer, a
retier evaluates them all), so callers decide who may see which part, as the
model and import pages do; nothing here names a customer.  Model health reads
the registry and the latest scoring run as the model pages do, so both agree.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from tierwise.models import drift
from tierwise.models.registry import MODELS, ModelVersion, champion
from tierwise.models.runs import ModelRun, latest_scoring
from tierwise.models.scores import CustomerScore
from tierwise.platform.db import db
from tierwise.tenants.imports.runs import ImportRun
from tierwise.tenants.rules.assignments import RetierRun

RUNS_PER_KIND = 10
JOB_KINDS = ("retier", "train", "score", "import")


@dataclass
class DriftAlert:
    feature: str
    psi: float


@dataclass
class ModelHealth:
    model: str
    champion: ModelVersion | None
    scored_at: datetime | None  # when customers last got scores from this model
    scored_version: int | None  # the version that scored them (a newer champion may not have scored yet)
    drift_alerts: list[DriftAlert] = field(default_factory=list)  # PSI above ALERT_PSI at that scoring


def model_health() -> list[ModelHealth]:
    """Per model: the champion, when customers were last scored, and the features that drifted then."""
    scoring = latest_scoring()
    summary = scoring.summary if scoring is not None else {}
    last_scores = None if scoring is not None else db.session.scalar(sa.select(sa.func.max(CustomerScore.scored_at)))
    found = []
    for model in MODELS:
        psi = (summary.get("drift") or {}).get(model, {}).get("psi", {})
        alerts = [DriftAlert(feature, psi[feature]) for feature in drift.alerts(psi)]
        scored_version = (summary.get("versions") or {}).get(model)
        best = champion(model)
        if scoring is not None:
            scored_at = scoring.finished_at if scored_version is not None else None
        else:  # scores written without a recorded run (the command line, an older release)
            scored_at = last_scores if best is not None else None
        found.append(ModelHealth(model, best, scored_at, scored_version, alerts))
    return found


@dataclass(frozen=True)
class JobRun:
    kind: str  # one of JOB_KINDS
    id: uuid.UUID
    subject: str  # the model trained, or the file imported; empty for retiers and scorings
    status: str
    started_at: datetime
    finished_at: datetime | None
    started_by: str
    message: str

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 1)


def job_runs(kinds: tuple[str, ...] = JOB_KINDS, limit: int = RUNS_PER_KIND) -> list[JobRun]:
    """The latest ``limit`` runs of each kind asked for, newest first."""
    found: list[JobRun] = []
    if "retier" in kinds:
        found += [JobRun("retier", r.id, "", r.status, r.started_at, r.finished_at, r.started_by, r.message)
                  for r in db.session.scalars(sa.select(RetierRun).order_by(RetierRun.started_at.desc()).limit(limit))]
    for job in ("train", "score"):
        if job in kinds:
            found += [JobRun(job, r.id, r.model, r.status, r.started_at, r.finished_at, r.started_by, r.said_message())
                      for r in db.session.scalars(sa.select(ModelRun).where(ModelRun.job == job)
                                                  .order_by(ModelRun.started_at.desc()).limit(limit))]
    if "import" in kinds:
        found += [JobRun("import", r.id, f"{r.kind}: {r.source_name}", r.status, r.started_at or r.created_at,
                         r.finished_at, r.created_by, r.said_message())
                  for r in db.session.scalars(sa.select(ImportRun).order_by(ImportRun.created_at.desc()).limit(limit))]
    return sorted(found, key=lambda run: run.started_at, reverse=True)
