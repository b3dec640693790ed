"""Pooled PostgreSQL connections: one the server has closed is replaced before use, without a round trip.

The pool's pre-ping asked the server for an empty statement at every
checkout: a round trip on every request, one of twelve on an API list page.
A connection the server ends (a restart, ``pg_terminate_backend``, an idle
timeout) is told so first: the server sends its last message and closes the
socket, so the socket reads as ready while the connection sits idle in the
pool, where nothing else should arrive.  Looking at the socket with a zero
timeout sees that much and costs no round trip; a connection that shows
anything at all is discarded and the pool opens another (SQLAlchemy's
``DisconnectionError`` at checkout).

What neither check sees quickly is a peer that vanished without a word (a
network path that drops the connection silently): the pre-ping hung on it as a
query would.  ``pool_recycle`` (``config``) bounds how old a connection gets.
"""
from __future__ import annotations

import select

import sqlalchemy as sa
from sqlalchemy import exc


def watch(engine: sa.Engine) -> None:
    """Discard, at checkout, pooled connections the server has closed (PostgreSQL only)."""
    if engine.dialect.name == "postgresql":
        sa.event.listen(engine, "checkout", _refuse_closed)


def _refuse_closed(dbapi_connection, connection_record, connection_proxy) -> None:
    if closed_by_server(dbapi_connection):
        raise exc.DisconnectionError("the server closed this pooled connection")


def closed_by_server(dbapi_connection) -> bool:
    """Whether an idle psycopg connection is known closed, or has anything to read (the server's goodbye, or EOF)."""
    if dbapi_connection.closed or dbapi_connection.broken:
        return True
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))
