"""Users of a tenant, their roles and their passwords.

A user belongs to exactly one tenant; the email is unique within it (the same
person may hold accounts in two tenants).  What a role may do is decided in
``tierwise.platform.policy``, never here or in views.
"""
from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tierwise.errors import ConflictError, ValidationError, parse_choice
from tierwise.platform import audit
from tierwise.platform.branches import Branch, get_branch
from tierwise.platform.db import TenantScoped, db, utcnow
from tierwise.platform.i18n import listed
from tierwise.platform.numbers import readable_number
from tierwise.platform.passwords import hash_password, validate_password, verify_password

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LOCALES = ("en", "zh_CN")


class Role(StrEnum):
    TENANT_ADMIN = "tenant_admin"
    ANALYST = "analyst"
    RELATIONSHIP_MANAGER = "relationship_manager"


class BookScope(StrEnum):
    """What part of the customer base an RM sees: their own book, or their branch's."""

    OWN = "own"
    BRANCH = "branch"


class User(TenantScoped, UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "email"),
        sa.ForeignKeyConstraint(["tenant_id", "branch_id"], ["branches.tenant_id", "branches.id"]),
        sa.CheckConstraint("role IN ('tenant_admin', 'analyst', 'relationship_manager')", name="role"),
        sa.CheckConstraint("book_scope IN ('own', 'branch')", name="book_scope"),
    )
    noun = _l("user")

    email: Mapped[str] = mapped_column(sa.String(254))
    display_name: Mapped[str] = mapped_column(sa.String(200), default="")
    role: Mapped[str] = mapped_column(sa.String(32))
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    active: Mapped[bool] = mapped_column(default=True)
    branch_id: Mapped[uuid.UUID | None]
    book_scope: Mapped[str] = mapped_column(sa.String(16), default=BookScope.OWN.value)
    locale: Mapped[str | None] = mapped_column(sa.String(16))  # None: follow the browser
    # Rotated on password change: the session id embeds it, so other sessions end.
    session_nonce: Mapped[str] = mapped_column(sa.String(32), default=lambda: secrets.token_hex(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]

    branch: Mapped[Branch | None] = relationship(viewonly=True, lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        return f"{self.tenant_id}:{self.id}:{self.session_nonce}"

    @property
    def label(self) -> str:
        return self.display_name or self.email

    def __repr__(self) -> str:
        return f"<User {self.email} ({self.role}) of tenant {self.tenant_id}>"


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if len(email) > 254 or not EMAIL_PATTERN.match(email):
        raise ValidationError(_("is not a valid email address"), field="email")
    return email


def validate_role(role: str) -> Role:
    return parse_choice(Role, role, field="role")


def _validate_profile(*, display_name: str, book_scope: str, locale: str | None) -> None:
    if len(display_name) > 200:
        raise ValidationError(_("must be at most %(max)s characters", max=200), field="display_name")
    if book_scope not in {s.value for s in BookScope}:
        raise ValidationError(_("must be 'own' or 'branch'"), field="book_scope")
    if locale is not None and locale not in LOCALES:
        raise ValidationError(_("must be one of %(choices)s", choices=listed(LOCALES)), field="locale")


def _check_branch_scope(role: Role, book_scope: str, branch_id: uuid.UUID | None) -> None:
    """Refuse an RM who would see "their branch" without one: the book scope would quietly stay their own."""
    if role == Role.RELATIONSHIP_MANAGER and book_scope == BookScope.BRANCH.value and branch_id is None:
        raise ValidationError(_("“Whole branch” needs the relationship manager's branch: choose it, "
                                "or choose “Own book”"), field="book_scope")


def create_user(*, email: str, role: str, password: str, display_name: str = "",
                branch_id: uuid.UUID | None = None, book_scope: str = BookScope.OWN.value,
                locale: str | None = None) -> User:
    """Create a user in the current tenant; every field is checked before anything is written."""
    email = normalise_email(email)
    role_value = validate_role(role)
    display_name = (display_name or "").strip()
    _validate_profile(display_name=display_name, book_scope=book_scope, locale=locale)
    _check_branch_scope(role_value, book_scope, branch_id)
    validate_password(password)
    if branch_id is not None:
        get_branch(branch_id)
    if find_user_by_email(email) is not None:
        raise ConflictError(_("a user with email '%(email)s' already exists in this tenant", email=email))
    user = User(email=email, role=role_value.value, display_name=display_name, branch_id=branch_id,
                book_scope=book_scope, locale=locale, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", target_type="user", target_id=user.id, details={"email": email, "role": role_value.value})
    return user


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def get_user(user_id: uuid.UUID) -> User:
    return User.get(user_id)


def list_users() -> list[User]:
    return list(db.session.scalars(sa.select(User).order_by(User.email)))


def update_user(user: User, *, role: str, display_name: str, branch_id: uuid.UUID | None,
                book_scope: str, active: bool) -> User:
    """Change a user's role, profile or status, keeping at least one active tenant admin."""
    role_value = validate_role(role)
    display_name = (display_name or "").strip()
    _validate_profile(display_name=display_name, book_scope=book_scope, locale=user.locale)
    if (role_value.value, book_scope, branch_id) != (user.role, user.book_scope, user.branch_id):
        _check_branch_scope(role_value, book_scope, branch_id)  # one saved before this check can still be switched off
    if branch_id is not None:
        get_branch(branch_id)
    loses_admin = user.role == Role.TENANT_ADMIN and user.active and (role_value != Role.TENANT_ADMIN or not active)
    deactivated = user.active and not active
    if loses_admin and _active_admin_count() <= 1:  # the change refused is the one asked for: the field says which
        raise ConflictError(_("the tenant must keep at least one active tenant admin"),
                            field="active" if deactivated else "role")
    leaves_rm_role = user.role == Role.RELATIONSHIP_MANAGER and role_value != Role.RELATIONSHIP_MANAGER
    if deactivated or leaves_rm_role:
        _refuse_orphaning_customers(user, field="active" if deactivated else "role")
    changes = {}
    for name, value in (("role", role_value.value), ("display_name", display_name), ("branch_id", branch_id),
                        ("book_scope", book_scope), ("active", active)):
        if getattr(user, name) != value:
            changes[name] = {"from": _plain(getattr(user, name)), "to": _plain(value)}
            setattr(user, name, value)
    if "active" in changes and not active:
        _end_sessions_and_tokens(user, reason="deactivated")
    if changes:
        audit.record("user.updated", target_type="user", target_id=user.id, details={"email": user.email, "changes": changes})
    return user


def set_locale(user: User, locale: str) -> None:
    _validate_profile(display_name=user.display_name, book_scope=user.book_scope, locale=locale)
    user.locale = locale


def set_password(user: User, new_password: str, *, reason: str = "reset") -> None:
    """Set a new password and end the user's other sessions."""
    validate_password(new_password, field="new_password")
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    audit.record("user.password_changed", target_type="user", target_id=user.id, details={"email": user.email, "reason": reason})
    _end_sessions_and_tokens(user, reason=f"password {reason}")


def end_sessions(user: User) -> None:
    """Every session cookie issued to the user stops working (the session id embeds the nonce)."""
    user.session_nonce = secrets.token_hex(8)


def _end_sessions_and_tokens(user: User, *, reason: str) -> None:
    """After a credential change, nothing issued before it may still act as the user."""
    from tierwise.platform.api_tokens import revoke_all  # tokens reference users, not the reverse

    end_sessions(user)
    revoke_all(user, reason=reason)


def change_own_password(user: User, *, current_password: str, new_password: str) -> None:
    if not verify_password(user.password_hash, current_password):
        raise ValidationError(_("is not your current password"), field="current_password")
    if current_password == new_password:
        raise ValidationError(_("must differ from the current password"), field="new_password")
    set_password(user, new_password, reason="changed by user")


def _refuse_orphaning_customers(user: User, *, field: str) -> None:
    """No customer may be left with an RM who can no longer look after them: their book moves first."""
    from tierwise.tenants.ownership import book_size  # the domain package reads users, not the reverse

    held = book_size(user.id)
    if held:
        raise ConflictError(ngettext("%(email)s looks after %(count)s customer: reassign it first",
                                     "%(email)s looks after %(count)s customers: reassign them first", held,
                                     email=user.email, count=readable_number(held)), field=field)


def _active_admin_count() -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(User).where(User.role == Role.TENANT_ADMIN.value, User.active.is_(True))
    )


def _plain(value):
    return str(value) if isinstance(value, uuid.UUID) else value
