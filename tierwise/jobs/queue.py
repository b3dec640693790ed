"""Where background work runs: on RQ when ``TIERWISE_REDIS_URL`` is set, else in-process.

Callers commit their own changes first and pass ids, never ORM objects.  A job
id makes the job idempotent: enqueueing the same id while it is queued or
running is refused with ``ConflictError`` rather than running twice.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError

from tierwise.errors import ConflictError, ValidationError
from tierwise.jobs.runner import resolve_task, run_tenant_task

QUEUE_NAMES = ("short", "long")
RUNNER = "tierwise.jobs.runner.run_tenant_task"


@dataclass(frozen=True)
class JobHandle:
    id: str | None
    queue: str
    status: str  # "queued" on RQ; "finished" when it already ran in-process
    result: Any = None


def redis_connection() -> Redis | None:
    url = current_app.config["TIERWISE"].redis_url
    return Redis.from_url(url) if url else None


def get_queue(name: str, connection: Redis) -> Queue:
    if name not in QUEUE_NAMES:
        raise ValidationError(f"unknown queue '{name}' (choose one of: {', '.join(QUEUE_NAMES)})", field="queue")
    return Queue(name, connection=connection)


def enqueue(task: str, *, tenant_id: int, queue: str = "short", job_id: str | None = None,
            timeout: int = 600, retries: int = 0, **params: Any) -> JobHandle:
    """Run ``task(**params)`` for ``tenant_id`` in the background (or right now, without Redis)."""
    try:
        resolve_task(task)
    except (ValueError, ImportError) as exc:
        raise ValidationError(str(exc), field="task") from None
    connection = redis_connection()
    if connection is None:
        if queue not in QUEUE_NAMES:
            raise ValidationError(f"unknown queue '{queue}'", field="queue")
        return JobHandle(id=job_id, queue=queue, status="finished", result=run_tenant_task(tenant_id, task, params))
    rq_queue = get_queue(queue, connection)
    try:
        job = rq_queue.enqueue(
            RUNNER, tenant_id, task, params,
            job_id=job_id, unique=job_id is not None, job_timeout=timeout,
            meta={"tenant_id": tenant_id, "task": task},
            retry=Retry(max=retries, interval=[30, 120, 600][:retries] or 30) if retries else None,
        )
    except DuplicateJobError:
        raise ConflictError(f"job '{job_id}' is already queued or running") from None
    return JobHandle(id=job.id, queue=queue, status="queued")
