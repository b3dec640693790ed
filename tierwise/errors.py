"""Exceptions the user can act on.

One type per kind of failure, each carrying where the problem is (field, row,
parameter).  The web UI, the REST API and the CLI each render them their own way;
domain code only raises them.

Messages are written in English inside ``gettext`` (``%(name)s`` placeholders, no
f-strings, so Babel can extract them) and said when raised, in the language of
whoever caused them: the signed-in user's, the request's, or English in the CLI
and on workers (what a run records is read by operators).
"""
from __future__ import annotations

import re

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from tierwise.platform.i18n import comma, listed

# The field of an error about a file as a whole (empty, not CSV, a row the parser cannot split): its message
# says "the file ..." itself, so people read it without "field 'file':" before it; the API body still names it.
WHOLE_FILE = "file"


class Phrases(list):
    """Messages (or values) said as one parameter of another (``'x' (did you mean 'y'?), 'z'``): kept, and
    said again, each in its own words and listed as the reader's language lists them ("a, b" or "a、b"), so
    the whole message reads in one language."""

    def __str__(self) -> str:
        return listed(self)


def kept_message(message) -> dict | None:
    """A lazy string's message and parameters (``{"msgid", "params"}``), to be said again later in
    another reader's language; None for text said already.  A parameter that is itself a lazy
    message, or ``Phrases`` of them, is kept the same way."""
    if not isinstance(message, LazyString) or not message._args:
        return None
    return {"msgid": message._args[0], "params": {name: _kept_value(value) for name, value in message._kwargs.items()}}


def _kept_value(value):
    if isinstance(value, Phrases):
        return {"phrases": [_kept_value(phrase) for phrase in value]}
    if isinstance(value, LazyString) and value._args:
        return {"phrase": kept_message(value)}
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def said_again(kept: dict) -> str:
    """A message ``kept_message`` kept, said in the current reader's language."""
    msgid, params = kept["msgid"], kept["params"]
    return _(msgid, **{name: _said_value(value) for name, value in params.items()})


def _said_value(value):
    if isinstance(value, dict) and "phrases" in value:
        return str(Phrases(_said_value(phrase) for phrase in value["phrases"]))
    if isinstance(value, dict) and "phrase" in value:
        return said_again(value["phrase"])
    return value


class TierwiseError(Exception):
    """Base for every error meant to reach a user."""

    code = "error"

    def __init__(self, message: str) -> None:
        self.kept = kept_message(message)  # raised with a lazy string: what a run records can be said again
        message = str(message)  # a lazy string is said now, not wherever it is later stored
        super().__init__(message)
        self.message = message


class ValidationError(TierwiseError):
    """Input was rejected; ``field`` (and ``row`` for files) say where.

    Whether the message names its field itself (``names_field``, see ``_names_field``) is decided once, when
    it is raised, on the field the domain gave and on the message in English, the language the rule reads:
    a route that later says the field as the request holds it (``definition.bogus`` for the rule set's
    ``bogus``, ``places.under_key``) changes where it points, not how the message reads, and a Chinese
    reader gets "天数必须在 1 至 366 之间" without "字段“days”：" before it as an English one gets "days must
    be ...".  Only a lazy message (``lazy_gettext``, which keeps its msgid) can be said in English once it
    is raised: a message that names its field is raised lazily.  One said already is judged as said, which
    in another language keeps the field before it (named twice at worst, never lost).
    """

    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, row: int | None = None,
                 names_field: bool | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.row = row
        # ``names_field``: said by a message that names its field in words the rule cannot see (a label)
        self.names_field = bool(field) and (names_field if names_field is not None
                                            else _names_field(_in_english(message), field))
        self.more: list[ValidationError] = []  # further problems found in the same input (every bad rule)

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(_("row %(row)s", row=self.row))
        if self.field and self.field != WHOLE_FILE and not self.names_field:
            where.append(_("field '%(field)s'", field=self.field))
        return _("%(where)s: %(message)s", where=comma().join(where), message=self.message) if where else self.message


def _in_english(message) -> str:
    """``message`` as an English reader reads it: a lazy message is said again in English."""
    if not isinstance(message, LazyString):
        return str(message)
    with force_locale("en"):
        return str(message)


def _names_field(message: str, field: str) -> bool:
    """Whether the English ``message`` names ``field`` itself: said after "field 'x':" it would name it twice.

    It does when it starts with the field, its subject ("days must be between 1 and 366"); when it quotes
    the field ("unknown query parameter 'bogus'") or the last part of its path, the key or code the request
    wrote there ("the rule set in force has no dimension 'nope'" for ``tier.nope``); and when it says the
    field as the kind of a quoted value ("unknown sort 'bogus'", "unknown format 'pdf'").  A message about
    a part of a path says the rest of the path itself ("unknown key 'bogus' in value.tiers[0]").  One that
    only uses the word ("is not a valid email address") still needs the field said before it; the API body
    gives it as ``field`` either way, for programs."""
    name, last = re.escape(field), re.escape(field.rsplit(".", 1)[-1])
    return (re.match(rf"{name}(?!\w|\.\w)", message) is not None
            or re.search(rf"['‘“]({name}|{last})['’”]", message) is not None
            or re.search(rf"(?<![\w.]){name} ['‘“]", message) is not None)


class UnsupportedBodyError(ValidationError):
    """A request body of a media type the endpoint does not take (a form sent where JSON is read)."""

    code = "unsupported_media_type"


def parse_choice(choices, value, *, field: str):
    """``choices(value)`` for an enum, or a ValidationError on ``field`` that lists the allowed values."""
    try:
        return choices(value)
    except ValueError:
        allowed = listed(choice.value for choice in choices)
        raise ValidationError(_l("unknown %(field)s '%(value)s' (choose one of: %(allowed)s)", field=field,
                                 value=value, allowed=allowed), field=field) from None


class ConflictError(TierwiseError):
    """The change would clash with something that already exists; ``field`` says which value clashes, if one does."""

    code = "conflict"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFoundError(TierwiseError):
    """The named object does not exist (or belongs to another tenant); ``field`` says which name, if asked by one.

    ``sought``: the id looked for, so that an API answer names the path parameter that carried it.
    """

    code = "not_found"

    def __init__(self, message: str, *, field: str | None = None, sought: object = None) -> None:
        super().__init__(message)
        self.field = field
        self.sought = sought


class PermissionDeniedError(TierwiseError):
    """The acting user's role does not allow this."""

    code = "forbidden"


class ConfigurationError(TierwiseError):
    """The process was started with settings it cannot run safely with."""

    code = "configuration"
