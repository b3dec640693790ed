"""Training and scoring runs: recorded, queued on RQ (or run in-process), one at a time per tenant and model.

A run is recorded before its job is queued, so whoever started it (a person, the
CLI, a schedule) can follow it: queued -> running (with a stage and a progress
fraction, committed as the work goes) -> succeeded or failed, with the reason.
The database allows one queued-or-running run per tenant, job and model.

The work's own writes (a new model version, the new scores) are made in one
final transaction, so a failure, a timeout or a killed worker leaves the
champion and the scores exactly as they were.  A killed worker cannot record
anything itself: the job runner calls ``run_lost`` from the worker that noticed
(see ``tierwise.jobs.runner``), and a run left running past its job's time limit
is given up the next time one starts.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.errors import ConflictError, TierwiseError, ValidationError, said_again
from tierwise.jobs.runner import task
from tierwise.platform import audit
from tierwise.platform.clock import local_time
from tierwise.platform.tenant import tenant_timezone  # the clock a typed as-of is read on
from tierwise.platform.db import JSONType, TenantScoped, db, rollback_or_discard, utcnow

log = logging.getLogger(__name__)

TRAIN, SCORE = "train", "score"
TIME_LIMITS = {TRAIN: 2 * 3600, SCORE: 3600}  # seconds a job may run before RQ stops it
RETRIES = 2  # unexpected failures are retried with backoff; bad input is not
ACTIVE = ("queued", "running")


class ModelRun(TenantScoped, db.Model):
    __tablename__ = "model_runs"
    __table_args__ = (
        sa.CheckConstraint("job IN ('train', 'score')", name="job"),
        sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')", name="status"),
        # one queued-or-running training per model, one scoring, per tenant
        sa.Index("uq_model_runs_active", "tenant_id", "job", "model", unique=True,
                 postgresql_where=sa.text("status IN ('queued', 'running')"),
                 sqlite_where=sa.text("status IN ('queued', 'running')")),
        sa.Index("ix_model_runs_tenant_started_at", "tenant_id", "started_at"),
    )
    noun = _l("model run")

    job: Mapped[str] = mapped_column(sa.String(8))
    model: Mapped[str] = mapped_column(sa.String(16), default="")  # '' for scoring (every champion)
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    stage: Mapped[str] = mapped_column(sa.String(200), default="")
    progress: Mapped[float] = mapped_column(default=0.0)
    as_of: Mapped[datetime | None]
    horizon_days: Mapped[int | None]
    started_by: Mapped[str] = mapped_column(sa.String(254), default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    message: Mapped[str] = mapped_column(sa.Text, default="")
    version_id: Mapped[uuid.UUID | None]  # the version a training produced
    summary: Mapped[dict] = mapped_column(JSONType, default=dict)

    def said_message(self) -> str:
        """The outcome in the current reader's language: a refusal said again from what the run kept (a run is
        read later, and by others, than whoever started it); any other message as stored."""
        kept = (self.summary or {}).get("kept") if self.status == "failed" else None
        return said_again(kept) if kept else self.message

    @property
    def seconds(self) -> float | None:
        end = self.finished_at or (utcnow() if self.status == "running" else None)
        return None if end is None else round((end - self.started_at).total_seconds(), 1)


def _give_up_abandoned(job: str) -> None:
    cutoff = utcnow() - timedelta(seconds=TIME_LIMITS[job] + 600)
    for run in db.session.scalars(sa.select(ModelRun).where(ModelRun.job == job, ModelRun.status.in_(ACTIVE),
                                                            ModelRun.started_at < cutoff)):
        _fail(run, "abandoned: no worker finished it within the job time limit")


def _fail(run: ModelRun, message: str) -> None:
    run.status, run.finished_at, run.message = "failed", utcnow(), message[:2000]


def start_run(job: str, model: str = "", *, started_by: str, as_of: datetime | None = None,
              horizon_days: int | None = None) -> ModelRun:
    """Record a queued run (committed here: the job reloads it); ConflictError if one is already active.

    Bad input is refused before anything is recorded, a ValidationError naming the field:
    a training's cutoffs are planned here too, so an as-of too early for the data fails now.
    """
    if job == TRAIN and model not in ("churn", "value"):
        raise ValidationError(_l("unknown model '%(model)s' (choose churn or value)", model=model), field="model")
    if horizon_days is not None and not 1 <= horizon_days <= 3650:
        raise ValidationError(_("the horizon must be between 1 and 3650 days"), field="horizon_days")
    if as_of is not None and as_of > utcnow():
        raise ValidationError(_("%(when)s is in the future: nothing is known after now",
                                when=local_time(as_of, tenant_timezone())), field="as_of")
    if job == TRAIN:
        from tierwise.models.cutoffs import check_plan
        from tierwise.models.registry import horizon

        if horizon_days is None:
            horizon_days = horizon(model)  # recorded: the run says which question it answered
        check_plan(model, horizon_days, as_of=as_of)  # an as-of or a horizon the data cannot hold: nothing recorded
    _give_up_abandoned(job)
    active = db.session.scalar(sa.select(ModelRun).where(ModelRun.job == job, ModelRun.model == model,
                                                         ModelRun.status.in_(ACTIVE)))
    if active is not None:
        raise ConflictError(_already_active(active))
    run = ModelRun(job=job, model=model, started_by=started_by, as_of=as_of, horizon_days=horizon_days)
    db.session.add(run)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:  # started by someone else between the check and the insert
        db.session.rollback()
        raise ConflictError(_("a train of this model is already queued or running") if job == TRAIN
                            else _("a score of this model is already queued or running")) from None
    return run


def _already_active(active: ModelRun) -> str:
    """Why ``active``, a queued or running run of the same job and model, stops another from starting; its start on
    the reader's clock, as the runs table beside the message shows it."""
    from tierwise.models.registry import MODEL_LABELS

    who, when = active.started_by, local_time(active.started_at)
    if active.job == TRAIN:
        if active.status == "queued":
            return _("%(model)s: a training is already queued (started by %(who)s at %(when)s)",
                     model=MODEL_LABELS.get(active.model, active.model), who=who, when=when)
        return _("%(model)s: a training is already running (started by %(who)s at %(when)s)",
                 model=MODEL_LABELS.get(active.model, active.model), who=who, when=when)
    if active.status == "queued":
        return _("a scoring is already queued (started by %(who)s at %(when)s)", who=who, when=when)
    return _("a scoring is already running (started by %(who)s at %(when)s)", who=who, when=when)


def launch(run: ModelRun) -> ModelRun:
    """Queue the recorded run (or run it now, without Redis); the returned run says how it went."""
    from tierwise.jobs.queue import enqueue

    name = "tierwise.models.runs.train_job" if run.job == TRAIN else "tierwise.models.runs.score_job"
    job_id = f"{run.job}-{run.tenant_id}-{run.model or 'all'}"
    run_id, tenant_id = run.id, run.tenant_id
    try:
        enqueue(name, tenant_id=tenant_id, queue="long", job_id=job_id, timeout=TIME_LIMITS[run.job],
                retries=RETRIES, run_id=str(run_id))
    except ConflictError:
        run = ModelRun.get(run_id)
        _fail(run, "the job is already queued or running on the workers")
        db.session.commit()
        raise
    except TierwiseError:
        pass  # ran in-process and failed: the run records why
    except Exception:
        log.exception("model run %s failed", run_id)  # recorded on the run as well
    db.session.expire_all()
    return ModelRun.get(run_id)


def launch_training(model: str, *, started_by: str, as_of: datetime | None = None,
                    horizon_days: int | None = None) -> ModelRun:
    return launch(start_run(TRAIN, model, started_by=started_by, as_of=as_of, horizon_days=horizon_days))


def launch_scoring(*, started_by: str, as_of: datetime | None = None) -> ModelRun:
    return launch(start_run(SCORE, started_by=started_by, as_of=as_of))


def _progress(run_id: uuid.UUID):
    def report(stage: str, fraction: float) -> None:
        run = ModelRun.get(run_id)
        run.stage, run.progress = stage[:200], round(min(max(fraction, 0.0), 1.0), 3)
        db.session.commit()
    return report


def _begin(run_id: uuid.UUID) -> ModelRun:
    run = ModelRun.get(run_id)
    if run.status not in ACTIVE:
        raise ConflictError(_("run %(id)s has already succeeded", id=run_id) if run.status == "succeeded"
                            else _("run %(id)s has already failed", id=run_id))
    run.status, run.stage, run.progress, run.message = "running", "starting", 0.0, ""
    db.session.commit()
    return run


def _finish(run_id: uuid.UUID, work) -> ModelRun:
    """Run ``work(run)`` and record the outcome; bad input fails the run without a retry."""
    run = _begin(run_id)
    try:
        summary = work(run)
    except TierwiseError as error:
        db.session.rollback()
        run = ModelRun.get(run_id)
        _fail(run, error.message)  # for people: the reason, without the request field it was about
        if error.kept:  # to be said again in each reader's language
            run.summary = {"kept": error.kept}
        db.session.commit()
        _no_retry()  # bad input would fail the same way again, and a retry waiting holds the tenant's slot
        raise
    except BaseException as error:  # a job's time limit too, possibly in the middle of a statement
        rollback_or_discard()
        run = ModelRun.get(run_id)
        message = f"{type(error).__name__}: {error}"
        if _retries_left():
            run.status, run.message = "queued", f"failed, will be retried: {message}"[:2000]
        else:
            _fail(run, message)
        db.session.commit()
        raise
    run = ModelRun.get(run_id)
    run.status, run.finished_at, run.progress, run.stage = "succeeded", utcnow(), 1.0, "done"
    run.summary = summary
    return run


def _no_retry() -> None:
    """Cancel the current RQ job's remaining retries (nothing in-process)."""
    from rq import get_current_job

    job = get_current_job()
    if job is not None:
        job.retries_left = 0


def _retries_left() -> int:
    from rq import get_current_job

    job = get_current_job()
    return (job.retries_left or 0) if job is not None else 0


def run_training(run_id: uuid.UUID, *, budget_seconds: float | None = None) -> ModelRun:
    """The recorded training run, done here; ``budget_seconds``: the parameter search's (default: training's)."""
    from tierwise.models.pipeline import train_model

    budget = {} if budget_seconds is None else {"budget_seconds": budget_seconds}

    def work(run: ModelRun) -> dict:
        version = train_model(run.model, as_of=run.as_of, horizon_days=run.horizon_days,
                              trained_by=run.started_by, progress=_progress(run.id), **budget)
        run = ModelRun.get(run.id)
        run.version_id = version.id
        return {"version": version.number, "champion": version.is_champion, "note": version.promotion_note,
                "metrics": {name: {k: v for k, v in values.items() if k != "calibration"}
                            for name, values in version.metrics.items()}}
    run = _finish(run_id, work)
    audit.record("model.run", target_type="model_run", target_id=run.id,
                 details={"job": run.job, "model": run.model, "status": run.status})
    return run


def run_scoring(run_id: uuid.UUID) -> ModelRun:
    from tierwise.models.scoring import score_all

    def work(run: ModelRun) -> dict:
        result = score_all(as_of=run.as_of, progress=_progress(run.id))
        return {"customers": result.customers, "versions": result.versions, "drift": result.drift,
                "without_churn_probability": result.without_churn}
    run = _finish(run_id, work)
    # Every customer's scores replaced, and the rules and lists that read them with them: audited as a training is
    audit.record("model.run", target_type="model_run", target_id=run.id,
                 details={"job": run.job, "status": run.status, "customers": run.summary.get("customers")})
    return run


def run_lost(params: dict, reason: str) -> None:
    """The job's worker died: mark the run failed (its work never committed)."""
    run = db.session.scalar(sa.select(ModelRun).where(ModelRun.id == uuid.UUID(params["run_id"])))
    if run is not None and run.status in ACTIVE:
        _fail(run, f"the worker stopped before the job finished ({reason}); nothing it did was kept")


@task(on_lost=run_lost)
def train_job(run_id: str) -> dict:
    run = run_training(uuid.UUID(run_id))
    return {"run_id": str(run.id), "status": run.status, "summary": run.summary}


@task(on_lost=run_lost)
def score_job(run_id: str) -> dict:
    from tierwise.tenants.rules.warmup import AFTER_NEW_DATA, queue_warmup

    run = run_scoring(uuid.UUID(run_id))
    if run.status == "succeeded":
        db.session.commit()  # the scores and the run's outcome, before anything else is queued
        queue_warmup(run.tenant_id, AFTER_NEW_DATA)  # rules that read scores preview from the new ones
    return {"run_id": str(run.id), "status": run.status, "customers": run.summary.get("customers")}


def latest_scoring() -> ModelRun | None:
    """The last scoring that finished: its drift describes the customers scored now."""
    return db.session.scalar(sa.select(ModelRun).where(ModelRun.job == SCORE, ModelRun.status == "succeeded")
                             .order_by(ModelRun.finished_at.desc()).limit(1))


def recent_runs(limit: int = 20) -> list[ModelRun]:
    return list(db.session.scalars(sa.select(ModelRun).order_by(ModelRun.started_at.desc()).limit(limit)))
