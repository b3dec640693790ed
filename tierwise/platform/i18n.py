"""zh-CN and English: the locale is the user's saved choice, else the session's,
else the browser's preference."""
from __future__ import annotations

from flask import Flask, has_request_context, request, session
from flask_login import current_user

from flask_babel import get_locale

from tierwise.platform.extensions import babel

LOCALES = {"en": "English", "zh_CN": "简体中文"}


def localised(label_en: str, label_zh: str, locale: str) -> str:
    """A label the tenant wrote in both languages (a dimension, a tier), in the reader's language
    (the other one when it is empty)."""
    return (label_zh or label_en) if locale.startswith("zh") else (label_en or label_zh)


def select_locale() -> str:
    """The request's language.

    A program calling the API with a token and an ``Accept-Language`` header
    asked for that language on purpose: an export's column headings must not
    change because the token's owner switched their screens to Chinese.  A
    browser sends the header whatever the person chose, so pages follow the
    user's saved choice, then the session's, then the header.
    """
    if not has_request_context():  # the CLI and workers: what they print and record is read by operators
        return "en"
    if request.authorization is not None and request.authorization.type == "bearer" and request.accept_languages:
        return _best(request.accept_languages)
    user = current_user._get_current_object() if current_user else None
    saved = getattr(user, "locale", None)
    if saved in LOCALES:
        return saved
    if session.get("locale") in LOCALES:
        return session["locale"]
    return _best(request.accept_languages)


def _best(accepted) -> str:
    best = accepted.best_match(["en", "zh-CN", "zh"], default="en")
    return "zh_CN" if best.startswith("zh") else "en"


def _written(english: str, chinese: str) -> str:
    """The one of two ways of writing the same mark the reader's language uses: every separator below."""
    return chinese if str(get_locale()).startswith("zh") else english


def gap() -> str:
    """What goes between two sentences: a space in English, nothing after a Chinese full stop (。)."""
    return _written(" ", "")


def sentence(message) -> str:
    """A message said as a sentence of its own, after another one ("Nothing was imported. The file is empty.").

    Messages are written as fragments, lowercase and without a full stop, so that they compose into others
    ("row 3: the file is empty"); standing alone after a sentence, a fragment starts with a capital and ends
    with the reader's full stop ("." or "。") unless it ends a sentence already."""
    said = str(message)
    if not said:
        return said
    said = said[0].upper() + said[1:]
    return said if said[-1] in ".?!。？！" else said + _written(".", "。")


def colon() -> str:
    """What goes between a caption and what it introduces: ": " in English, a full-width "：" in Chinese."""
    return _written(": ", "：")


def semicolon() -> str:
    """What goes between two clauses: "; " in English, a full-width "；" in Chinese."""
    return _written("; ", "；")


def clauses(items) -> str:
    """Clauses one after another as the reader's language separates them: "a; b" or "a；b"."""
    return semicolon().join(str(item) for item in items)


def captioned(pairs) -> str:
    """(caption, text) pairs one after another as the reader's language writes them: "A: x; B: y" or "A：x；B：y"."""
    return clauses(f"{caption}{colon()}{text}" for caption, text in pairs)


def comma() -> str:
    """What goes between the parts of one phrase ("row 3, field 'x'"): ", " in English, a full-width "，" in Chinese."""
    return _written(", ", "，")


def list_separator() -> str:
    """What goes between two items of a list: ", " in English, the enumeration comma "、" in Chinese."""
    return _written(", ", "、")


def listed(items) -> str:
    """Items one after another as the reader's language lists them: "a, b" or "a、b"."""
    return list_separator().join(str(item) for item in items)


def parenthesised(text) -> str:
    """``text`` in brackets after what it qualifies: " (85 rows/s)" in English, "（85 行/秒）" in Chinese."""
    return _written(f" ({text})", f"（{text}）")


def keep_chosen_locale() -> str | None:
    """The language a switcher's form chose (its ``locale``), kept in the session, where ``select_locale`` reads
    it before anyone signs in; None when the form offers none of ``LOCALES`` (nothing is kept then)."""
    chosen = request.form.get("locale", "")
    if chosen not in LOCALES:
        return None
    session["locale"] = chosen
    return chosen


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals.update(LOCALES=LOCALES, get_locale=get_locale, gap=gap, sentence=sentence, colon=colon,
                                 semicolon=semicolon, list_separator=list_separator, listed=listed,
                                 parenthesised=parenthesised)
