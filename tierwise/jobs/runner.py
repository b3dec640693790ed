"""Executes one task for one tenant: the same code path on an RQ worker and in-process.

Tasks are registered with ``@task`` and referenced by their dotted name, so a
queue message can only ever name a function that was declared runnable.  The
task runs in its own application context (hence its own database session),
inside ``tenant_scope(tenant_id)`` with the audit actor ``job:<task name>``;
its work commits when it returns and rolls back when it raises, and the
exception propagates so RQ marks the job failed (a task never returns its
exception).  Workers are started with ``tierwise worker``, which provides the
application.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

from flask import current_app, has_app_context

from tierwise.platform import tenancy
from tierwise.platform.audit import Actor, acting_as
from tierwise.platform.db import db

_TASKS: dict[str, Callable[..., Any]] = {}


def task(function: Callable[..., Any]) -> Callable[..., Any]:
    """Declare ``function`` runnable as a background task (by its dotted name)."""
    _TASKS[f"{function.__module__}.{function.__qualname__}"] = function
    return function


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


def run_tenant_task(tenant_id: int, name: str, params: dict[str, Any]) -> Any:
    function = resolve_task(name)
    if not has_app_context():
        raise RuntimeError("run workers with `tierwise worker` (it provides the application)")
    with current_app.app_context(), tenancy.tenant_scope(tenant_id), \
            acting_as(Actor(label=f"job:{name.rpartition('.')[2]}")):
        try:
            result = function(**params)
            db.session.commit()
            return result
        except BaseException:
            db.session.rollback()
            raise
        finally:
            db.session.remove()
