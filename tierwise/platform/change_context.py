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
from sqlalchemy.orm import Session

from tierwise.platform import audit
from tierwise.platform.db import TenantSession, begin_setting, db, set_transaction_settings

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
        publish(db.session())
        yield
    finally:
        _reason.reset(token)
        publish(db.session())  # later changes in the same transaction must not inherit the reason


def publish(session: Session) -> None:
    """Make the transaction's settings match the current actor and reason (PostgreSQL only)."""
    if not session.in_transaction():
        return  # the next statement opens a transaction; ``after_begin`` publishes then
    wanted = (audit.current_actor().label, _reason.get())
    if session.info.get("change_context") == wanted:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _set(connection, *wanted)
    session.info["change_context"] = wanted


def _set(connection: sa.Connection, actor: str, reason: str) -> None:
    set_transaction_settings(connection, {ACTOR_SETTING: actor, REASON_SETTING: reason})


@event.listens_for(TenantSession, "do_orm_execute")
def _before_statement(state) -> None:
    publish(state.session)


@event.listens_for(TenantSession, "before_flush")
def _before_flush(session: Session, flush_context, instances) -> None:
    publish(session)


@begin_setting
def _on_begin(session: Session) -> dict[str, str]:
    """The actor and reason, set as the transaction begins (with the tenant, one statement)."""
    wanted = (audit.current_actor().label, _reason.get())
    session.info["change_context"] = wanted
    return {ACTOR_SETTING: wanted[0], REASON_SETTING: wanted[1]}


@event.listens_for(TenantSession, "after_transaction_end")
def _on_end(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop("change_context", None)


@event.listens_for(sa.engine.Engine, "connect")
def _register_sqlite_functions(dbapi_connection, connection_record) -> None:
    """SQLite has no session settings: its triggers call back into this process instead."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("tierwise_actor", 0, lambda: audit.current_actor().label)
        dbapi_connection.create_function("tierwise_change_reason", 0, _reason.get)
