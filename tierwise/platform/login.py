"""Signing in to a tenant: password check, throttling and the audit trail.

Failures are counted from the audit log itself (per email and per address,
within the tenant), so throttling needs no extra store and works the same with
or without Redis.  Every failure gets the same generic message.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tierwise.platform import audit
from tierwise.platform.audit import Actor
from tierwise.platform.db import db, utcnow
from tierwise.platform.passwords import verify_password
from tierwise.platform.users import User, find_user_by_email

THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_ADDRESS = 20


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    throttled: bool = False


def attempt_login(email: str, password: str, *, ip: str | None) -> LoginResult:
    """Check credentials in the current tenant; records and commits the outcome."""
    email = (email or "").strip().lower()[:254]
    anonymous = Actor(label=email or "(blank)", ip=ip)
    if _is_throttled(anonymous.label, ip):
        audit.record("login.throttled", actor=anonymous, details={"email": email})
        db.session.commit()
        return LoginResult(user=None, throttled=True)
    user = find_user_by_email(email) if email else None
    ok = verify_password(user.password_hash if user else None, password or "")
    if not ok or user is None or not user.active:
        reason = "inactive" if ok and user is not None else "bad_credentials"
        audit.record("login.failure", actor=anonymous, details={"email": email, "reason": reason})
        db.session.commit()
        return LoginResult(user=None)
    user.last_login_at = utcnow()
    audit.record("login.success", actor=Actor(label=user.email, user_id=user.id, ip=ip), target_type="user", target_id=user.id)
    db.session.commit()
    return LoginResult(user=user)


def _is_throttled(label: str, ip: str | None) -> bool:
    if audit.count_recent("login.failure", since=THROTTLE_WINDOW, actor_label=label) >= MAX_FAILURES_PER_EMAIL:
        return True
    return ip is not None and audit.count_recent("login.failure", since=THROTTLE_WINDOW, ip=ip) >= MAX_FAILURES_PER_ADDRESS
