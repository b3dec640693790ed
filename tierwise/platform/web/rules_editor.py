"""The rule editor for tenant admins: the draft as a form, inline checks, YAML in and out, preview, publish.

There is at most one draft per tenant.  Without one, the editor opens on the
version in force and the first save creates the draft, so opening the page
writes nothing.  Every button of the form posts the whole form: "Save draft"
saves it, "Preview" saves it and shows what it would change, and the tier and
dimension buttons edit the form without saving (see
``tierwise.tenants.rules.editing``).  Publishing and discarding act on the
saved draft.  Errors are shown next to the input they name.
"""
from __future__ import annotations

import re
from functools import partial

from flask import Blueprint, Response, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import StringField
from wtforms.validators import Length, Optional

from tierwise.errors import ConflictError, NotFoundError, ValidationError
from tierwise.platform.db import db
from tierwise.platform.policy import Permission
from tierwise.platform.web.access import requires
from tierwise.platform.web.forms import EmptyForm
from tierwise.platform.web.rules_help import help_panel
from tierwise.platform.web.rules_versions import change_namer, definition_names, describe_change
from tierwise.tenants.rules import editing, versions, yaml_io
from tierwise.tenants.rules.definition import BUILT_IN_DIMENSIONS, DimensionSpec
from tierwise.tenants.rules.diff import definition_diff
from tierwise.tenants.rules.preview import DimensionPreview, preview
from tierwise.tenants.rules.syntax import RuleError
from tierwise.tenants.rules.templates import template_for

bp = Blueprint("rules_editor", __name__, url_prefix="/rules/draft")
MAX_CHECK_BYTES = 256 * 1024  # a rule set is a few kilobytes
MAX_YAML_BYTES = 1024 * 1024


class DraftForm(FlaskForm):
    """The CSRF token and the note; the rule set's inputs are read by ``editing.definition_from_form``."""

    note = StringField(_l("Note (why this change; kept with the version)"), validators=[Optional(), Length(max=500)])


class UploadForm(FlaskForm):
    file = FileField(_l("YAML file"), validators=[FileRequired(), FileAllowed(
        ["yaml", "yml"], _l("Only .yaml or .yml files can be uploaded."))])


SETTING_NAMES = {"rule": _l("Rule"), "colour": _l("Colour"), "label_zh": _l("Chinese label"),
                 "label_en": _l("English label"), "code": _l("Code"), "description": _l("English description"),
                 "description_zh": _l("Chinese description"),
                 "hysteresis": _l("Hysteresis"), "evaluations": _l("Evaluations in a row"), "margin": _l("Margin")}


def place_of(definition: dict, field: str | None) -> str | None:
    """Where an error's path (``value.private_banking.rule``) is, as the admin names it: 财富等级 › 私人银行 › 规则.

    Codes the definition does not know (a path into a removed tier, ``dimensions``) are kept as written.
    """
    if not field or not isinstance(definition, dict):
        return field
    names = definition_names(definition)
    code, _dot, rest = field.partition(".")
    if (code,) not in names:
        return field
    parts = [names[(code,)] or code]
    for step in [s for s in rest.split(".") if s]:
        by_position = re.fullmatch(r"tiers\[(\d+)\]", step)  # a tier whose code is itself the problem
        if len(parts) == 1 and by_position and (tier := _tier_at(definition, code, int(by_position[1]))):
            typed = tier.get("code")  # whatever was typed: a list is no key of ``names``
            parts.append((names.get((code, typed)) if isinstance(typed, str) else None) or str(typed or step))
        elif len(parts) == 1 and (code, step) in names:
            parts.append(names[(code, step)] or step)
        else:
            parts.append(str(SETTING_NAMES.get(step, step)))
    return " › ".join(dict.fromkeys(parts))  # "hysteresis.margin" names hysteresis once


def _tier_at(definition: dict, code: str, position: int) -> dict | None:
    """The tier at ``position`` of dimension ``code`` as typed, if there is one."""
    for dimension in definition.get("dimensions") or []:
        if isinstance(dimension, dict) and dimension.get("code") == code:
            tiers = dimension.get("tiers") or []
            tier = tiers[position] if position < len(tiers) else None
            return tier if isinstance(tier, dict) else None
    return None


def error_details(definition: dict, exc: ValidationError) -> dict:
    """What the form and the check endpoint show: the message, the input it belongs to, a caret for rules."""
    details = {"message": exc.message, "field": exc.field, "place": place_of(definition, exc.field),
               "input": editing.input_for_error(definition, exc.field)}
    if isinstance(exc, RuleError):
        details.update(position=exc.position, expression=exc.expression, pointer=pointer(exc))
    return details


def pointer(exc: RuleError) -> str:
    """The expression with a caret under the problem; wide (CJK) characters get a wide space, so it lines up."""
    return exc.pointer(wide="\u3000")


def _starting_definition() -> dict:
    """The draft, else the version in force (the first save makes it the draft), else the industry template."""
    version = versions.draft() or versions.current_version()
    return version.definition if version else template_for(g.tenant.industry)


def _render(definition: dict, *, error: ValidationError | None = None, unsaved: bool = False,
            form: DraftForm | None = None, upload_form: UploadForm | None = None, status: int = 200):
    draft = versions.draft()
    form = form or DraftForm(data={"note": draft.note if draft else ""})
    problems = [error_details(definition, e) for e in ([error, *error.more] if error else [])]
    return render_template(
        "rules/editor.html", definition=definition, problems=problems,
        at_input={p["input"]: p for p in reversed(problems) if p["input"]},  # an input's first problem
        unsaved=unsaved, draft=draft, in_force=versions.current_version(), form=form,
        upload_form=upload_form or UploadForm(), action_form=EmptyForm(), help=help_panel(),
        built_in=BUILT_IN_DIMENSIONS), status


@bp.route("", methods=["GET", "POST"])
@requires(Permission.MANAGE_RULES)
def edit():
    form = DraftForm()
    if not form.validate_on_submit():
        return _render(_starting_definition(), form=form, status=400 if form.errors else 200)
    definition = editing.definition_from_form(request.form)
    action = request.form.get("action", "save")
    if action not in ("save", "preview"):
        try:
            definition = editing.apply_edit(definition, action)
        except ValidationError as exc:
            return _render(definition, error=exc, unsaved=True, form=form, status=400)
        return _render(definition, unsaved=True, form=form)
    try:
        versions.save_draft(definition, author=current_user.email, note=form.note.data or "")
    except ValidationError as exc:
        db.session.rollback()
        return _render(definition, error=exc, unsaved=True, form=form, status=400)
    db.session.commit()
    if action == "preview":
        return redirect(url_for(".show_preview"))
    flash(_("Draft saved. Preview it to see what it would change, then publish it."), "success")
    return redirect(url_for(".edit"))


@bp.route("/check", methods=["POST"])
@requires(Permission.MANAGE_RULES)
def check():
    """Validate a definition (JSON) without saving it: the editor calls this as the admin types."""
    if (request.content_length or 0) > MAX_CHECK_BYTES:
        return jsonify(ok=False, message=_("The rule set is too large.")), 413
    definition = request.get_json(silent=True)
    if not isinstance(definition, dict):
        return jsonify(ok=False, message=_("Send the rule set as a JSON object.")), 400
    try:
        versions.validate(definition)
    except ValidationError as exc:
        return jsonify(ok=False, **error_details(definition, exc),
                       more=[error_details(definition, e) for e in exc.more])
    return jsonify(ok=True)


@bp.route("/yaml")
@requires(Permission.MANAGE_RULES)
def download():
    """The draft as YAML (the version in force while there is no draft), for ``tierwise rules apply`` too."""
    version = versions.draft() or versions.current_version()
    if version is None:
        raise NotFoundError("there is no rule set yet")
    name = f"rules-{g.tenant.slug}-{'draft' if version.is_draft else f'v{version.number}'}.yaml"
    return Response(yaml_io.dump(version.definition), mimetype="application/yaml",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/upload", methods=["POST"])
@requires(Permission.MANAGE_RULES)
def upload():
    """Replace the draft with a YAML file, validated exactly as the form is."""
    upload_form = UploadForm()
    if not upload_form.validate_on_submit():
        return _render(_starting_definition(), upload_form=upload_form, status=400)
    try:
        raw = upload_form.file.data.read(MAX_YAML_BYTES + 1)
        if len(raw) > MAX_YAML_BYTES:
            raise ValidationError(_("the file is larger than 1 MB"), field="file")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(_("the file must be UTF-8 text"), field="file") from None
        versions.save_draft(yaml_io.load(text), author=current_user.email,
                            note=f"uploaded {upload_form.file.data.filename or 'YAML'}"[:500])
    except ValidationError as exc:
        db.session.rollback()
        upload_form.file.errors = [_upload_error(exc)]
        return _render(_starting_definition(), upload_form=upload_form, status=400)
    db.session.commit()
    flash(_("The draft was replaced by the uploaded file."), "success")
    return redirect(url_for(".edit"))


def _upload_error(exc: ValidationError) -> str:
    if isinstance(exc, RuleError):
        return f"{exc.field}: {exc.message}\n{pointer(exc)}"
    return str(exc)


@bp.route("/preview")
@requires(Permission.MANAGE_RULES)
def show_preview():
    draft = versions.draft()
    if draft is None:
        flash(_("There is no draft to preview: save one first."), "info")
        return redirect(url_for(".edit"))
    try:
        definition, plan = versions.validate(draft.definition)  # fields may have changed since it was saved
    except ValidationError as exc:
        return _render(draft.definition, error=exc, status=400)
    result = preview(plan)
    db.session.rollback()  # the preview wrote nothing, but left a temporary table in the transaction
    in_force = versions.current_version()
    return render_template("rules/preview.html", definition=definition, result=result, matrix_rows=matrix_rows,
                           in_force=in_force, action_form=EmptyForm(),
                           describe_change=partial(describe_change, name=change_namer(
                               draft.definition, in_force.definition if in_force else None)),
                           diff=definition_diff(in_force.definition if in_force else None, draft.definition))


def matrix_rows(dimension: DimensionPreview, spec: DimensionSpec) -> list[str | None]:
    """The migration matrix's rows: the tiers in order, codes the draft no longer has, then "not assigned yet"."""
    codes = [t.code for t in spec.tiers]
    others = sorted(code for code in dimension.matrix if code is not None and code not in codes)
    return codes + others + ([None] if None in dimension.matrix else [])


@bp.route("/publish", methods=["POST"])
@requires(Permission.MANAGE_RULES)
def publish():
    try:
        version = versions.publish_draft(author=current_user.email)
    except NotFoundError:
        flash(_("There is no draft to publish."), "info")
        return redirect(url_for(".edit"))
    except ConflictError as exc:  # the draft is the rule set in force
        flash(exc.message, "error")
        return redirect(url_for(".edit"))
    except ValidationError as exc:
        db.session.rollback()
        return _render(versions.draft().definition, error=exc, status=400)
    number = version.number
    db.session.commit()
    flash(_("Version %(number)s is published and in force. Retier to assign the new tiers.", number=number),
          "success")
    return redirect(url_for("tenant.rules.index"))


@bp.route("/discard", methods=["POST"])
@requires(Permission.MANAGE_RULES)
def discard():
    try:
        versions.discard_draft()
    except NotFoundError:
        flash(_("There is no draft to discard."), "info")
        return redirect(url_for(".edit"))
    db.session.commit()
    flash(_("Draft discarded. The editor shows the version in force again."), "success")
    return redirect(url_for(".edit"))
