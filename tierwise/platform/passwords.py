"""Password hashing and the password policy.

scrypt (Werkzeug's default KDF) is memory-hard; hashes carry their parameters, so
they can be strengthened later without invalidating stored ones.
"""
from __future__ import annotations

from functools import cache

from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from tierwise.errors import ValidationError

MIN_LENGTH = 10
MAX_LENGTH = 256


def validate_password(password: str, *, field: str = "password") -> None:
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise ValidationError(_("must be at least %(min)s characters", min=MIN_LENGTH), field=field)
    if len(password) > MAX_LENGTH:
        raise ValidationError(_("must be at most %(max)s characters", max=MAX_LENGTH), field=field)
    if len(set(password)) < 4:
        raise ValidationError(_("is too simple: use at least four different characters"), field=field)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists, so timing does not reveal it."""
    if not password_hash:
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(password_hash, password)


@cache
def _dummy_hash() -> str:
    return generate_password_hash("not-a-real-password", method="scrypt")
