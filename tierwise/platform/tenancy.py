"""The one tenant primitive: which tenant the current request or job acts for.

``tenant_scope(tenant_id)`` is entered once per request (from the URL's slug, the
session or the API token) or once per job.  While it is active:

* every ORM SELECT, UPDATE and DELETE touching a ``TenantOwned`` class gets
  ``tenant_id = <current>`` added by the session (``with_loader_criteria``), so a
  handler cannot forget the filter;
* new ``TenantOwned`` objects get the current ``tenant_id``, and flushing an
  object of another tenant raises;
* on PostgreSQL each transaction starts with ``set_config('tierwise.tenant_id', ...,
  true)``, which the row-level security policies read: a second wall that holds
  even for raw SQL.

Touching tenant data with no scope at all raises ``TenantContextMissing`` (fail
closed).  The automatic filter covers ORM statements; hand-written Core or text
SQL is covered by row-level security on PostgreSQL, and on SQLite (the demo,
which has none) the session refuses it unless it is marked
``execution_options(tenant_filtered=True)`` by code that filters by tenant
itself.  (Statements run directly on a ``Connection``, such as the import
pipeline's, bypass the session: they must filter by ``tenant_id`` explicitly,
and on PostgreSQL RLS still applies.)  ``platform_scope()`` is the one,
deliberately named, way to run unfiltered ORM queries (operator tooling); on
PostgreSQL RLS still hides every tenant row there.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

import sqlalchemy as sa
from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.util import find_tables

from tierwise.platform.db import (TenantOwned, TenantSession, db, set_transaction_settings, tenant_scoped_tables,
                                  transaction_setting)

RLS_SETTING = "tierwise.tenant_id"
_PLATFORM = object()
_current: ContextVar[object] = ContextVar("tierwise_tenant", default=None)


class TenantContextMissing(RuntimeError):
    """Tenant data was touched outside any tenant scope: a programming error."""


class CrossTenantWrite(RuntimeError):
    """An object of one tenant was flushed inside another tenant's scope."""


def current_tenant_id() -> int | None:
    """The tenant the current request or job acts for, or None."""
    value = _current.get()
    return value if isinstance(value, int) else None


def in_platform_scope() -> bool:
    return _current.get() is _PLATFORM


@contextmanager
def tenant_scope(tenant_id: int) -> Iterator[int]:
    """Act for ``tenant_id`` inside the block (nested scopes restore the outer one)."""
    if not isinstance(tenant_id, int) or isinstance(tenant_id, bool):
        raise TypeError(f"tenant_id must be an int, got {tenant_id!r}")
    token = _current.set(tenant_id)
    try:
        yield tenant_id
        _flush_pending()  # write what the block changed while its tenant is still current
    finally:
        _current.reset(token)


@contextmanager
def platform_scope() -> Iterator[None]:
    """Run ORM queries without tenant filtering: operator tooling only."""
    token = _current.set(_PLATFORM)
    try:
        yield
    finally:
        _current.reset(token)


def _flush_pending() -> None:
    if has_app_context() and (db.session.new or db.session.dirty or db.session.deleted):
        db.session.flush()


def enter_tenant_scope(tenant_id: int | None):
    """Set the scope without a ``with`` block (request hooks); returns a reset token."""
    return _current.set(tenant_id)


def leave_scope(token) -> None:
    _current.reset(token)


def _touches_tenant_data(state: ORMExecuteState) -> bool:
    """Whether the statement reads a tenant table, as an entity or only in FROM (counts, subqueries)."""
    if any(issubclass(mapper.class_, TenantOwned) for mapper in state.all_mappers):
        return True
    tenant_tables = set(tenant_scoped_tables())
    return any(table in tenant_tables for table in find_tables(
        state.statement, check_columns=True, include_aliases=True, include_crud=True))


FILTERED_BY_HAND = "tenant_filtered"


@event.listens_for(TenantSession, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    scope = _current.get()
    if scope is _PLATFORM:
        return
    is_text = isinstance(state.statement, sa.TextClause)
    if scope is None:
        if _touches_tenant_data(state) or (is_text and not _has_rls(state.session)):
            raise TenantContextMissing("tenant data queried outside tenant_scope()")
        return
    if not _has_rls(state.session) and not state.execution_options.get(FILTERED_BY_HAND):
        # Without row-level security (SQLite), nothing would stop hand-written SQL or bulk
        # statements from reaching another tenant: they must say they filter by tenant.
        core = is_text or not state.is_orm_statement or state.is_insert
        if core and (is_text or _touches_tenant_data(state)):
            raise TenantContextMissing(
                "Core/text SQL on tenant tables needs execution_options(tenant_filtered=True) "
                "and an explicit tenant_id predicate on databases without row-level security")
    if not state.is_orm_statement or not (state.is_select or state.is_update or state.is_delete):
        return  # Core statements name tables, not entities: loader criteria would only copy them
    tenant_id = scope
    state.statement = state.statement.options(
        with_loader_criteria(TenantOwned, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)
    )


@event.listens_for(TenantSession, "transient_to_pending")
def _stamp_tenant(session: Session, obj) -> None:
    """Give a new tenant object the current tenant the moment it is added."""
    if isinstance(obj, TenantOwned) and obj.tenant_id is None:
        scope = _current.get()
        if not isinstance(scope, int):
            raise TenantContextMissing(f"new {type(obj).__name__} added outside tenant_scope()")
        obj.tenant_id = scope


@event.listens_for(TenantSession, "before_flush")
def _check_flush(session: Session, flush_context, instances) -> None:
    """Refuse to write one tenant's rows inside another tenant's scope (or none)."""
    scope = _current.get()
    if scope is not _PLATFORM:
        for obj in list(session.new) + list(session.dirty) + list(session.deleted):
            if isinstance(obj, TenantOwned) and obj.tenant_id != scope:
                if scope is None:
                    raise TenantContextMissing(f"{type(obj).__name__} of tenant {obj.tenant_id} flushed outside tenant_scope()")
                raise CrossTenantWrite(f"{type(obj).__name__} of tenant {obj.tenant_id} written in tenant {scope}")


def _has_rls(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def set_rls_tenant(connection: sa.Connection, tenant_id: int | None) -> None:
    """Set the row-level security tenant for the connection's current transaction.

    For Core work outside the ORM session (COPY, bulk SQL) run in a transaction.
    A no-op on databases without row-level security (SQLite).
    """
    set_transaction_settings(connection, {RLS_SETTING: "" if tenant_id is None else str(tenant_id)})


@transaction_setting
def _rls_tenant() -> dict[str, str]:
    """The scope's tenant, for the row-level security policies: set as each transaction begins, and
    again before the next statement when the scope changes inside one (``db.transaction_setting``).

    Transaction-local (``is_local``), so a pooled connection never carries one tenant's
    setting into another's transaction.
    """
    tenant_id = current_tenant_id()
    return {RLS_SETTING: "" if tenant_id is None else str(tenant_id)}


def lock_tenant(purpose: str) -> None:
    """Serialise one kind of work per tenant until the transaction ends (PostgreSQL advisory lock).

    Writers that must not interleave for one tenant (a retier and a customer
    erasure, for instance) take the same ``purpose``.  SQLite serialises writers
    by itself, so it is a no-op there.
    """
    session_bind = _session_connection()
    if session_bind.dialect.name != "postgresql":
        return
    session_bind.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:purpose), :tenant_id)"),
                         {"purpose": purpose, "tenant_id": current_tenant_id()})


def _session_connection() -> sa.Connection:
    from tierwise.platform.db import db

    return db.session.connection()
