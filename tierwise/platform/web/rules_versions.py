"""The rule set's version history: every published version, what changed in it, and rolling back.

Analysts read the history with admins (it explains why customers moved);
rolling back publishes an old version's rules again and is for rule managers.
``policy.py`` has no permission of its own for reading rules yet, so reading
asks for ``VIEW_ALL_CUSTOMERS``: the organisation-wide view that admins and
analysts have and relationship managers do not.
"""
from __future__ import annotations

import re
import uuid
from functools import partial

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from tierwise.errors import ConflictError, ValidationError
from tierwise.platform.db import db
from tierwise.platform.i18n import colon, listed, localised
from tierwise.platform.policy import Permission, allows
from tierwise.platform.web.access import requires
from tierwise.platform.web.forms import EmptyForm
from tierwise.tenants.rules import versions
from tierwise.tenants.rules.published import changes_from_previous, published_version

bp = Blueprint("rules_versions", __name__, url_prefix="/rules/versions")
READ_HISTORY = Permission.VIEW_ALL_CUSTOMERS

# What a diff entry changed, for the sentence that describes it (see tierwise.tenants.rules.diff).
CHANGED = {"label_en": _l("English label"), "label_zh": _l("Chinese label"), "description": _l("English description"),
           "description_zh": _l("Chinese description"),
           "hysteresis": _l("hysteresis"), "rule": _l("rule"), "fallback": _l("fallback"), "colour": _l("colour"),
           "order": _l("order of the tiers")}
# Notes Tierwise writes itself (``tierwise.platform.provisioning``), said in the reader's language; a note
# someone typed is shown as they typed it.
NOTE_LABELS = {"industry template": _l("industry template")}
ROLLBACK_NOTE = re.compile(r"roll back to version (?P<number>\d+)")  # ``versions.rollback`` writes it
UPLOAD_NOTE = re.compile(r"uploaded (?P<name>.+\.ya?ml|YAML)", re.IGNORECASE)  # the editor's YAML upload writes it


def version_note(note: str | None) -> str:
    if note in NOTE_LABELS:
        return str(NOTE_LABELS[note])
    if found := ROLLBACK_NOTE.fullmatch(note or ""):
        return _("roll back to version %(number)s", number=found["number"])
    if found := UPLOAD_NOTE.fullmatch(note or ""):
        return _("uploaded %(name)s", name=found["name"])
    return note or ""


@bp.context_processor
def _note_labels() -> dict:
    return {"version_note": version_note}


def definition_names(*definitions: dict | None) -> dict[tuple, str]:
    """The tenant's names for the dimensions and tiers of rule set definitions (the newer first), in the reader's
    language: ``("value",)`` is 财富等级, ``("value", "vip")`` its tier.  Definitions as stored or as typed
    (a draft may not validate), so anything that is not a dimension or a tier is passed over."""
    locale = str(get_locale() or "en")
    names: dict[tuple, str] = {}
    for definition in reversed([d for d in definitions if isinstance(d, dict)]):  # the newer one wins
        for dimension in definition.get("dimensions") or []:
            if not isinstance(dimension, dict):
                continue
            code = dimension.get("code")
            if not isinstance(code, str):  # typed as a list or a number: the draft's own error says so
                continue
            names[(code,)] = localised(dimension.get("label_en") or "", dimension.get("label_zh") or "", locale)
            for tier in dimension.get("tiers") or []:
                if isinstance(tier, dict) and isinstance(tier.get("code"), str):
                    names[(code, tier.get("code"))] = localised(tier.get("label_en") or "",
                                                                tier.get("label_zh") or "", locale)
    return names


def change_namer(*definitions: dict | None):
    """Names for a diff's codes from the definitions on either side (``definition_names``): ``namer("value")``,
    ``namer("value", "vip")``; a code neither knows stays a code."""
    names = definition_names(*definitions)
    return lambda *codes: names.get(codes) or codes[-1]


def describe_change(change: dict, name=lambda *codes: codes[-1]) -> str:
    """One diff entry as a sentence; its before and after values are shown next to it.

    ``name`` (a ``change_namer``) turns codes into the tenant's names for its dimensions and tiers.
    """
    kind, code, tier_code = change["change"], change.get("dimension"), change.get("tier")
    dimension = name(code) if code else code
    tier = name(code, tier_code) if tier_code else tier_code
    if kind == "created":
        return _("First version, with the dimensions %(dimensions)s",
                 dimensions=listed(name(d) for d in change["dimensions"]))
    if kind == "value_measure":
        return _("Value measure changed")
    if kind == "dimension_added":
        return _("Dimension %(dimension)s added", dimension=dimension)
    if kind == "dimension_removed":
        return _("Dimension %(dimension)s removed", dimension=dimension)
    if kind == "tier_added":
        return _("%(dimension)s: tier %(tier)s added", dimension=dimension, tier=tier)
    if kind == "tier_removed":
        return _("%(dimension)s: tier %(tier)s removed", dimension=dimension, tier=tier)
    what = CHANGED.get(kind, kind)
    if tier:
        return _("%(dimension)s › %(tier)s: %(what)s changed", dimension=dimension, tier=tier, what=what)
    return _("%(dimension)s: %(what)s changed", dimension=dimension, what=what)


def diff_value(value) -> str:
    """A diff's before or after value as the version page shows it: mappings and lists as words, not reprs."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dict):
        return listed(f"{key}{colon()}{diff_value(item)}" for key, item in sorted(value.items()))
    if isinstance(value, (list, tuple)):
        return listed(diff_value(item) for item in value)
    return str(value)


@bp.route("/")
@requires(READ_HISTORY)
def index():
    return render_template("rules/versions.html", versions=versions.published_versions(), draft=versions.draft(),
                           in_force=versions.current_version())


@bp.route("/<uuid:version_id>")
@requires(READ_HISTORY)
def show(version_id: uuid.UUID):
    version = published_version(version_id)  # the draft's or another tenant's id: NotFoundError, a 404
    previous = versions.version_by_number(version.number - 1).definition if version.number > 1 else None
    return render_template("rules/version.html", version=version, definition=version.parsed(),
                           diff=changes_from_previous(version),
                           describe_change=partial(describe_change, name=change_namer(version.definition, previous)),
                           in_force=versions.current_version(),
                           can_roll_back=allows(current_user, Permission.MANAGE_RULES), action_form=EmptyForm())


@bp.route("/<uuid:version_id>/roll-back", methods=["POST"])
@requires(Permission.MANAGE_RULES)
def roll_back(version_id: uuid.UUID):
    number = published_version(version_id).number  # the draft's or another tenant's id: NotFoundError, a 404
    try:
        restored = versions.roll_back(number, author=current_user.email)
    except (ConflictError, ValidationError) as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".show", version_id=version_id))
    restored_id, restored_number = restored.id, restored.number
    db.session.commit()
    flash(_("Version %(new)s is published with the rules of version %(old)s. Retier to assign its tiers.",
            new=restored_number, old=number), "success")
    return redirect(url_for(".show", version_id=restored_id))
