"""Executes one task for one tenant: the same code path on an RQ worker and in-process.

Tasks are registered with ``@task`` and referenced by their dotted name, so a
queue message can only ever name a function that was declared runnable.  The
task runs in its own application context (hence its own database session),
inside ``tenant_scope(tenant_id)`` acting as whoever queued it (``queued_by``: the
admin who pressed "Retier now", a schedule, the job that queued it), or
``job:<task name>`` when no one did;
its work commits when it returns and rolls back when it raises, and the
exception propagates so RQ marks the job failed (a task never returns its
exception).  Workers are started with ``tierwise worker``, which provides the
application.
"""
from __future__ import annotations

import importlib
import uuid
from typing import Any, Callable

from flask import current_app, has_app_context

from tierwise.platform import tenancy
from tierwise.platform.audit import SYSTEM, Actor, acting_as, current_actor
from tierwise.platform.db import db

_TASKS: dict[str, Callable[..., Any]] = {}
_ON_LOST: dict[str, Callable[[dict, str], None]] = {}


def task(function: Callable[..., Any] | None = None, *, on_lost: Callable[[dict, str], None] | None = None):
    """Declare ``function`` runnable as a background task (by its dotted name).

    ``on_lost(params, reason)`` is called, in the tenant's scope, when the job's
    worker dies under it (killed, out of memory, lost): the task cannot record
    its own failure then.
    """
    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        name = f"{function.__module__}.{function.__qualname__}"
        _TASKS[name] = function
        if on_lost is not None:
            _ON_LOST[name] = on_lost
        return function
    return register(function) if function is not None else register


def resolve_task(name: str) -> Callable[..., Any]:
    """The registered task called ``name``; ValueError otherwise."""
    module_name, _, _ = name.rpartition(".")
    if name not in _TASKS and module_name:
        try:
            importlib.import_module(module_name)  # registering happens at import
        except ImportError:
            pass
    if name not in _TASKS:
        raise ValueError(f"'{name}' is not a registered Tierwise task")
    return _TASKS[name]


QUEUED_BY = "queued_by"  # the key of a job's meta that says who queued it (meta is not logged, as arguments are)


def queued_by() -> dict | None:
    """Who is queuing a task, as the job carries it: who its audit records and triggers say acted."""
    actor = current_actor()
    if actor == SYSTEM:
        return None
    return {"label": actor.label, "user_id": str(actor.user_id) if actor.user_id else None}


def _acting(name: str, started_by: dict | None) -> Actor:
    if not started_by:
        return Actor(label=f"job:{name.rpartition('.')[2]}")
    user_id = started_by.get("user_id")
    return Actor(label=started_by["label"], user_id=uuid.UUID(user_id) if user_id else None)


def run_queued_task(tenant_id: int, name: str, params: dict[str, Any]) -> Any:
    """What an RQ worker runs: the task, acting as whoever queued it (kept in the job's meta)."""
    from rq import get_current_job

    job = get_current_job()
    return run_tenant_task(tenant_id, name, params, (job.meta or {}).get(QUEUED_BY) if job else None)


def run_tenant_task(tenant_id: int, name: str, params: dict[str, Any], started_by: dict | None = None) -> Any:
    """``started_by``: ``queued_by()`` where the task was queued."""
    function = resolve_task(name)
    if not has_app_context():
        raise RuntimeError("run workers with `tierwise worker` (it provides the application)")
    with current_app.app_context(), tenancy.tenant_scope(tenant_id), acting_as(_acting(name, started_by)):
        try:
            result = function(**params)
            db.session.commit()
            return result
        except BaseException:
            db.session.rollback()
            raise
        finally:
            db.session.remove()


def job_lost(job, reason: str) -> None:
    """A job's worker died: tell its task (``on_lost``), and do not retry it.

    Called by the worker that noticed, in its application context: the parent of
    a killed work-horse, or the worker that found an abandoned job while cleaning
    RQ's registries.  A job that killed its worker (out of memory, say) would
    only do it again, so its retries are cancelled.
    """
    meta = job.meta or {}
    tenant_id, name = meta.get("tenant_id"), meta.get("task")
    job.retries_left = 0
    handler = _ON_LOST.get(name) if name else None
    if handler is None and name:
        try:
            resolve_task(name)
        except ValueError:
            return
        handler = _ON_LOST.get(name)
    if handler is None or tenant_id is None:
        return
    params = job.args[2] if len(job.args) > 2 else {}
    with current_app.app_context(), tenancy.tenant_scope(tenant_id), acting_as(_acting(name, meta.get(QUEUED_BY))):
        try:
            handler(params, reason)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        finally:
            db.session.remove()


def work_horse_killed(job, retpid, ret_val, rusage) -> None:
    """RQ's hook for a work-horse that died (SIGKILL, out of memory): see ``job_lost``."""
    import os

    signal = f"signal {os.WTERMSIG(ret_val)}" if ret_val and os.WIFSIGNALED(ret_val) else f"exit status {ret_val}"
    job_lost(job, f"worker process killed: {signal}")


def job_failed(job, connection, error_type, error, traceback) -> None:
    """RQ's failure callback: only an abandoned job (its whole worker gone) needs us; tasks record the rest."""
    from rq.exceptions import AbandonedJobError

    if error_type is AbandonedJobError or isinstance(error, AbandonedJobError):
        job_lost(job, "worker stopped responding")
