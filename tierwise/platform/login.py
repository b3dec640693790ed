"""Signing in: password check, throttling and the trail it leaves, for tenant users and operators.

Failures are counted from the events each sign-in writes (the tenant's audit log,
or the operators' sign-in log), per email and per address, so throttling needs
no extra store and works the same with or without Redis.  On PostgreSQL the
check-verify-record sequence is serialised per account with a transaction-level
advisory lock, so a burst of parallel guesses cannot all slip past the count.
Every failure gets the same generic message.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

import sqlalchemy as sa

from tierwise.platform import audit
from tierwise.platform.audit import Actor
from tierwise.platform.db import db, utcnow
from tierwise.platform.operators import Operator, count_operator_events, find_operator, record_operator_event
from tierwise.platform.passwords import verify_password
from tierwise.platform.users import User, find_user_by_email

THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_ADDRESS = 20


@dataclass(frozen=True)
class LoginResult:
    user: User | Operator | None
    throttled: bool = False


def attempt_login(email: str, password: str, *, ip: str | None) -> LoginResult:
    """Check a tenant user's credentials in the current tenant; records and commits the outcome."""
    label = _label(email)

    def count(action: str, **who) -> int:
        return audit.count_recent(action, since=THROTTLE_WINDOW, **who)

    def record(action: str, user: User | None = None, **details) -> None:
        actor = Actor(label=user.email, user_id=user.id, ip=ip) if user else Actor(label=label, ip=ip)
        audit.record(action, actor=actor, target_type="user" if user else None, target_id=user.id if user else None,
                     details=details)

    return _attempt(f"user:{label}", label, password, ip, find_user_by_email, count, record)


def attempt_operator_login(email: str, password: str, *, ip: str | None) -> LoginResult:
    """Check a platform operator's credentials; records and commits the outcome."""
    label = _label(email)

    def count(action: str, actor_label: str | None = None, ip: str | None = None) -> int:
        return count_operator_events(action, since=THROTTLE_WINDOW, email=actor_label, ip=ip)

    def record(action: str, user: Operator | None = None, **details) -> None:
        record_operator_event(action, email=label, ip=ip)

    return _attempt(f"operator:{label}", label, password, ip, find_operator, count, record)


def _label(email: str) -> str:
    return (email or "").strip().lower()[:254] or "(blank)"


def _attempt(lock_key: str, label: str, password: str, ip: str | None, find: Callable,
             count: Callable[..., int], record: Callable[..., None]) -> LoginResult:
    _serialise(lock_key)
    throttled = count("login.failure", actor_label=label) >= MAX_FAILURES_PER_EMAIL or (
        ip is not None and count("login.failure", ip=ip) >= MAX_FAILURES_PER_ADDRESS)
    if throttled:
        if count("login.throttled", actor_label=label) == 0:  # one marker per window, not one per attempt
            record("login.throttled", email=label)
        db.session.commit()
        return LoginResult(user=None, throttled=True)
    account = find(label) if label != "(blank)" else None
    ok = verify_password(account.password_hash if account else None, password or "")
    if not ok or account is None or not account.active:
        record("login.failure", email=label, reason="inactive" if ok and account is not None else "bad_credentials")
        db.session.commit()
        return LoginResult(user=None)
    if isinstance(account, User):
        account.last_login_at = utcnow()
    record("login.success", account)
    db.session.commit()
    return LoginResult(user=account)


def _serialise(key: str) -> None:
    """Hold a per-account advisory lock until the transaction ends (PostgreSQL only)."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})
