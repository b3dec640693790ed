"""Executes one task for one tenant: the same code path on an RQ worker and in-process.

The task runs inside ``tenant_scope(tenant_id)`` with the audit actor
``job:<task name>``; its database work commits when it returns and rolls back
when it raises, and the exception propagates so RQ marks the job failed (a task
never returns its exception).
"""
from __future__ import annotations

import importlib
from contextlib import ExitStack
from typing import Any, Callable

from flask import current_app, has_app_context

from tierwise.platform import tenancy
from tierwise.platform.audit import Actor, acting_as
from tierwise.platform.db import db

TASK_PACKAGES = ("tierwise.", "tests.")  # tasks are looked up only inside these packages


def resolve_task(task: str) -> Callable[..., Any]:
    """The function named ``package.module.function``; ValueError if it is not a task."""
    module_name, _, function_name = task.rpartition(".")
    if not module_name or not task.startswith(TASK_PACKAGES):
        raise ValueError(f"'{task}' is not a Tierwise task (expected a dotted name inside tierwise)")
    function = getattr(importlib.import_module(module_name), function_name, None)
    if not callable(function):
        raise ValueError(f"'{task}' does not name a function")
    return function


def run_tenant_task(tenant_id: int, task: str, params: dict[str, Any]) -> Any:
    function = resolve_task(task)
    with ExitStack() as stack:
        if not has_app_context():  # a plain `rq worker` process: build the app once per job
            from tierwise.platform.app import create_app

            stack.enter_context(create_app().app_context())
        stack.enter_context(tenancy.tenant_scope(tenant_id))
        stack.enter_context(acting_as(Actor(label=f"job:{task.rpartition('.')[2]}")))
        try:
            result = function(**params)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        finally:
            if current_app:
                db.session.remove()
    return result
