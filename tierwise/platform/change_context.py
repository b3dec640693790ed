"""Who is changing tenant data, and why, as the database's own triggers see it.

Some history is kept by the database rather than by Python: a trigger on
``customers`` records every change of relationship manager, whichever code
makes it (see ``tierwise.tenants.ownership``).  A trigger cannot see Python's
context, so the acting user (``audit.current_actor()``, set once per request,
CLI command or job) and the reason given with ``changes_because(...)`` are
handed to it:

* on PostgreSQL as the transaction-local settings ``tierwise.actor`` and
  ``tierwise.change_reason`` (``set_config(..., true)``, so a pooled connection
  never carries them into another transaction), refreshed before every ORM
  statement and flush of the session, exactly like the row-level security tenant;
* on SQLite as the SQL functions ``tierwise_actor()`` and
  ``tierwise_change_reason()``, registered on every connection, which read the
  same context variables at the moment the trigger runs.

Core statements run on ``db.session.connection()`` (the import pipeline's) see
what the last ORM statement or ``changes_because`` published in their transaction.
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event

from tierwise.platform import audit
from tierwise.platform.db import db, sync_transaction_settings, transaction_setting

ACTOR_SETTING = "tierwise.actor"
REASON_SETTING = "tierwise.change_reason"
_reason: ContextVar[str] = ContextVar("tierwise_change_reason", default="")


def current_reason() -> str:
    return _reason.get()


@contextmanager
def changes_because(reason: str) -> Iterator[None]:
    """Changes made inside the block are recorded with ``reason`` (and the current actor)."""
    token = _reason.set(reason)
    try:
        sync_transaction_settings(db.session())  # raw statements on the connection see it too
        yield
    finally:
        _reason.reset(token)
        sync_transaction_settings(db.session())  # later changes in the same transaction must not inherit the reason


@transaction_setting
def _change_context() -> dict[str, str]:
    """The actor and reason, set with the tenant as each transaction begins and before any ORM
    statement or flush that follows a change of them (``db.transaction_setting``)."""
    return {ACTOR_SETTING: audit.current_actor().label, REASON_SETTING: _reason.get()}


@event.listens_for(sa.engine.Engine, "connect")
def _register_sqlite_functions(dbapi_connection, connection_record) -> None:
    """SQLite has no session settings: its triggers call back into this process instead."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("tierwise_actor", 0, lambda: audit.current_actor().label)
        dbapi_connection.create_function("tierwise_change_reason", 0, _reason.get)
