"""Exceptions the user can act on.

One type per kind of failure, each carrying where the problem is (field, row,
parameter).  The web UI, the REST API and the CLI each render them their own way;
domain code only raises them.
"""
from __future__ import annotations


class TierwiseError(Exception):
    """Base for every error meant to reach a user."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(TierwiseError):
    """Input was rejected; ``field`` (and ``row`` for files) say where."""

    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, row: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.row = row

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:
            where.append(f"field '{self.field}'")
        return f"{', '.join(where)}: {self.message}" if where else self.message


def parse_choice(choices, value, *, field: str):
    """``choices(value)`` for an enum, or a ValidationError on ``field`` that lists the allowed values."""
    try:
        return choices(value)
    except ValueError:
        allowed = ", ".join(choice.value for choice in choices)
        raise ValidationError(f"unknown {field} '{value}' (choose one of: {allowed})", field=field) from None


class ConflictError(TierwiseError):
    """The change would clash with something that already exists."""

    code = "conflict"


class NotFoundError(TierwiseError):
    """The named object does not exist (or belongs to another tenant); ``field`` says which name, if asked by one."""

    code = "not_found"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PermissionDeniedError(TierwiseError):
    """The acting user's role does not allow this."""

    code = "forbidden"


class ConfigurationError(TierwiseError):
    """The process was started with settings it cannot run safely with."""

    code = "configuration"
