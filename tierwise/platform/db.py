"""The database extension, the declarative base and the column types every model shares.

Tenant-owned tables inherit ``TenantOwned`` (most via ``TenantScoped``, which adds a
UUIDv7 ``id``): ``tenant_id`` is the first column
of their primary key, so every unique constraint and foreign key can (and must)
include it.  That is what makes a cross-tenant reference impossible in the schema
itself and lets the tables be distributed by ``tenant_id`` (Citus) later.
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, registry

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


_last_id = 0
_id_lock = threading.Lock()


def new_id() -> uuid.UUID:
    """A UUIDv7: time-ordered, so new rows land at the end of the primary key index
    and ids made by one process sort by creation (keyset pagination relies on it);
    random enough that ids cannot be guessed or enumerated across tenants.

    Within one millisecond the 74 random bits are replaced by an increment of the
    previous id (RFC 9562, method 3), so ordering holds there too.
    """
    global _last_id
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    with _id_lock:
        if value >> 80 == _last_id >> 80 and value <= _last_id:
            value = _last_id + 1 + (rand & 0xFFFF)  # stays inside the same millisecond's random bits
        _last_id = value
    return uuid.UUID(int=value)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware timestamp on every backend.

    SQLite drops the offset; this type stores UTC and hands back aware datetimes,
    so comparisons behave the same in the demo and on PostgreSQL.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime(), uuid.UUID: sa.Uuid()},
    )


class TenantOwned:
    """Mixin for every tenant-owned table: ``tenant_id`` leads the primary key.

    The session filters these classes to the current tenant automatically and
    fills ``tenant_id`` on insert; PostgreSQL row-level security checks it again.
    """

    #: History tables with tens of millions of rows set this False: they reach the
    #: tenant through their customer foreign key, and one FK check per row is enough.
    references_tenant = True

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        # sort_order: tenant_id leads the primary key (index locality, distribution column).
        if cls.references_tenant:
            return mapped_column(sa.ForeignKey("tenants.id", ondelete="RESTRICT"), primary_key=True, sort_order=-100)
        return mapped_column(sa.Integer, primary_key=True, sort_order=-100)


class TenantScoped(TenantOwned):
    """A tenant-owned entity with its own id: primary key ``(tenant_id, id)``.

    (History tables such as activity are ``TenantOwned`` with a natural key instead.)
    """

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id, sort_order=-99)

    #: How the object is named in "no such ..." errors.
    noun = _l("object")

    @classmethod
    def get(cls, object_id: uuid.UUID):
        """The object with this id in the current tenant, or NotFoundError (a 404 on the web and API).

        Another tenant's id is simply not found: the session's tenant filter applies.
        """
        from tierwise.errors import NotFoundError

        found = db.session.scalar(sa.select(cls).where(cls.id == object_id))
        if found is None:
            raise NotFoundError(_("no such %(noun)s", noun=cls.noun), sought=object_id)
        return found


class TenantSession(FlaskSession):
    """The session class; ``tierwise.platform.tenancy`` attaches its scoping events to it."""


_SETTING_PROVIDERS: list = []  # () -> {setting: value}, from the current scope
SENT = "transaction_settings"  # session.info: what the session's transaction carries now
ASKED = "transaction_settings_asked"  # session.info: what ``set_for_transaction`` added for this transaction
WROTE = "transaction_wrote"  # session.info: the transaction has flushed or run a statement other than a SELECT


def transaction_setting(provider):
    """Register ``provider() -> {setting: value}``: settings every session transaction carries, kept current.

    They are set as the transaction begins and, when the scope changed since (a request learns its
    tenant, then its user, after its transaction began), again before the next ORM statement or
    flush: only the changed ones, with whatever ``set_for_transaction`` asked for, in one statement.
    The row-level security tenant, the change context and a list's planner settings each had a
    statement of their own: four round trips on an API list page.
    """
    _SETTING_PROVIDERS.append(provider)
    return provider


def set_for_transaction(values: dict[str, str]) -> None:
    """Have the session's transaction carry ``values`` (planner settings, say) from its next ORM or session
    statement on, sent with the scope's settings rather than in a statement of their own.

    Statements run on ``db.session.connection()`` directly do not send them: use
    ``set_transaction_settings`` there.
    """
    db.session().info.setdefault(ASKED, {}).update(values)


def _wanted(session) -> dict[str, str]:
    values: dict[str, str] = {}
    for provider in _SETTING_PROVIDERS:
        values.update(provider())
    values.update(session.info.get(ASKED, {}))
    return values


def _unsent(session) -> dict[str, str]:
    sent = session.info.get(SENT, {})
    return {name: value for name, value in _wanted(session).items() if sent.get(name) != value}


def sync_transaction_settings(session) -> None:
    """Bring the transaction's settings up to what the scope wants: one statement, none if they already are."""
    if not session.in_transaction() or not _unsent(session):
        return  # no transaction: the statement about to run opens one, and ``after_begin`` sends them
    connection = session.connection()  # if this begins on a connection, ``after_begin`` sent them all
    unsent = _unsent(session)
    if unsent:
        set_transaction_settings(connection, unsent)
        session.info.setdefault(SENT, {}).update(unsent)


@sa.event.listens_for(TenantSession, "after_begin")
def _begin_settings(session, transaction, connection: sa.Connection) -> None:
    wanted = _wanted(session)
    set_transaction_settings(connection, wanted)
    session.info[SENT] = wanted


@sa.event.listens_for(TenantSession, "do_orm_execute")
def _before_statement(state) -> None:
    sync_transaction_settings(state.session)
    if not state.is_select:
        state.session.info[WROTE] = True


@sa.event.listens_for(TenantSession, "before_flush")
def _before_flush(session, flush_context, instances) -> None:
    sync_transaction_settings(session)


@sa.event.listens_for(TenantSession, "after_flush")
def _after_flush(session, flush_context) -> None:
    session.info[WROTE] = True


def wrote_in_transaction() -> bool:
    """Whether the session's transaction has written (an ORM flush or a statement other than a SELECT
    through the session): what it read before may have changed under it, triggers included."""
    return bool(db.session().info.get(WROTE))


@sa.event.listens_for(TenantSession, "after_transaction_end")
def _forget_settings(session, transaction) -> None:
    """Settings end with the transaction; a savepoint rolled back may have undone some, so the next
    statement sends them all again."""
    session.info.pop(SENT, None)
    if transaction.parent is None:
        session.info.pop(ASKED, None)
        session.info.pop(WROTE, None)


def set_transaction_settings(connection: sa.Connection, values: dict[str, str]) -> None:
    """``set_config(name, value, true)`` for each, in one statement: transaction-local, so a pooled
    connection never carries them into another transaction.  PostgreSQL only (a no-op elsewhere)."""
    if not values or connection.dialect.name != "postgresql":
        return
    names = list(values)
    connection.execute(sa.text("SELECT " + ", ".join(f"set_config(:name_{i}, :value_{i}, true)"
                                                     for i in range(len(names)))),
                       {**{f"name_{i}": name for i, name in enumerate(names)},
                        **{f"value_{i}": values[name] for i, name in enumerate(names)}})


db = SQLAlchemy(model_class=Base, session_options={"class_": TenantSession})


def rollback_or_discard() -> None:
    """Roll the session back; if its connection cannot (a job's time limit struck in the middle of a
    statement: "another command is already in progress"), throw the connection away instead.

    Either way the work is undone and the session is ready to record the failure on a fresh
    connection; a failed rollback left the run "running" for hours.
    """
    try:
        db.session.rollback()
    except Exception:
        db.session().invalidate()  # the scoped proxy does not forward it


def one_snapshot() -> None:
    """Have the session's next statements read one snapshot of the database (PostgreSQL).

    A page built from several queries (the dashboard's distribution, flows and
    risks) otherwise sees each at its own moment: a retier committing between two of
    them put its new tiers beside the previous retier's moves.  Ends the current
    transaction (committing what it holds; callers read) and begins a REPEATABLE READ
    one, whose snapshot is taken at its first query.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return  # SQLite: one writer at a time, readers see a committed whole
    db.session.commit()
    db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def tenant_scoped_tables() -> list[sa.Table]:
    """Every table that carries tenant data (the ones row-level security must cover)."""
    return [
        mapper.local_table
        for mapper in Base.registry.mappers
        if issubclass(mapper.class_, TenantOwned)
    ]
