"""Where background work runs: on RQ when ``TIERWISE_REDIS_URL`` is set, else in-process.

Callers commit their own changes first (enqueueing with uncommitted changes is
refused) and pass ids, never ORM objects.  A job id makes the job idempotent:
enqueueing the same id while it is queued or running is refused with
``ConflictError``; once it has finished or failed, the id may be used again.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l  # a refusal naming its field says so in any language (ValidationError)
from redis import Redis
from rq import Callback, Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus

from tierwise.errors import ConflictError, ValidationError
from tierwise.jobs.runner import QUEUED_BY, queued_by, resolve_task, run_tenant_task
from tierwise.platform.db import db
from tierwise.platform.i18n import listed

QUEUE_NAMES = ("short", "long")
RUNNER = "tierwise.jobs.runner.run_queued_task"


@dataclass(frozen=True)
class JobHandle:
    id: str | None
    queue: str
    status: str  # "queued" on RQ; "finished" when it already ran in-process
    result: Any = None


def redis_connection() -> Redis | None:
    url = current_app.config["TIERWISE"].redis_url
    return Redis.from_url(url) if url else None


def _forget_if_done(job_id: str, connection: Redis) -> None:
    """A finished, failed or cancelled job frees its id for the next run."""
    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return
    if job.get_status(refresh=False) in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.STOPPED):
        job.delete()


def get_queue(name: str, connection: Redis) -> Queue:
    _check_queue(name)
    return Queue(name, connection=connection)


def _check_queue(name: str) -> None:
    if name not in QUEUE_NAMES:
        raise ValidationError(_l("unknown queue '%(name)s' (choose one of: %(choices)s)", name=name,
                                choices=listed(QUEUE_NAMES)), field="queue")


def enqueue(task: str, *, tenant_id: int, queue: str = "short", job_id: str | None = None,
            timeout: int = 600, retries: int = 0, **params: Any) -> JobHandle:
    """Run ``task(**params)`` for ``tenant_id`` in the background (or right now, without Redis)."""
    try:
        resolve_task(task)
    except ValueError as exc:
        raise ValidationError(str(exc), field="task") from None
    _check_queue(queue)
    if db.session.new or db.session.dirty or db.session.deleted:
        raise RuntimeError("commit before enqueueing: a job reloads what it needs from the database")
    connection = redis_connection()
    if connection is None:
        return JobHandle(id=job_id, queue=queue, status="finished",
                         result=run_tenant_task(tenant_id, task, params, queued_by()))
    rq_queue = Queue(queue, connection=connection)
    if job_id is not None:
        _forget_if_done(job_id, connection)
    try:
        job = rq_queue.enqueue(
            RUNNER, tenant_id, task, params,
            job_id=job_id, unique=job_id is not None, job_timeout=timeout,
            meta={"tenant_id": tenant_id, "task": task, QUEUED_BY: queued_by()},
            retry=Retry(max=retries, interval=[30, 120, 600][:retries] or 30) if retries else None,
            on_failure=Callback("tierwise.jobs.runner.job_failed"),
        )
    except DuplicateJobError:
        raise ConflictError(_("job '%(id)s' is already queued or running", id=job_id)) from None
    return JobHandle(id=job.id, queue=queue, status="queued")
