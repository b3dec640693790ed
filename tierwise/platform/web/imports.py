"""Uploading CSV or XLSX files: the web door to the one import path, run as a background job.

Column mappings work as on the CLI: a saved mapping (``--mapping``), pairs typed
into the mapping box (``--map``) that override it, and a name to save the mapping
used under (``--save-mapping``), all through ``tierwise.tenants.imports.mappings``.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from tierwise.errors import NotFoundError, ValidationError
from tierwise.platform.policy import Permission, import_rights
from tierwise.platform.web.access import requires
from tierwise.platform.web.forms import show_validation_error
from tierwise.platform.web.labels import IMPORT_KIND_LABELS as KIND_LABELS
from tierwise.tenants.imports.errors import RowError
from tierwise.tenants.imports.mappings import MAX_NAME, ColumnMapping, list_mappings, parse_pairs
from tierwise.tenants.imports.reading import FILE_EXTENSIONS
from tierwise.tenants.imports.runs import ImportRun, list_runs, start_import_run

bp = Blueprint("imports", __name__, url_prefix="/imports")


@bp.app_template_global()
def row_error_reason(error: dict) -> str:
    """A stored bad cell's reason in the reader's language (``RowError.said``)."""
    return RowError(**error).said()


class ImportForm(FlaskForm):
    kind = SelectField(_l("What the file contains"), choices=[SelectChoice(k, v) for k, v in KIND_LABELS.items()])
    file = FileField(_l("CSV or XLSX file"), validators=[FileRequired(), FileAllowed(
        FILE_EXTENSIONS, _l("Only .csv, .txt or .xlsx files can be imported."))])
    mapping = SelectField(_l("Saved column mapping (optional, for the kind chosen above)"), choices=[], default="")
    columns = TextAreaField(_l("Map columns (optional): one TARGET=COLUMN per line, e.g. name=客户名称; "
                               "TARGET==VALUE gives every row one value where the file has no column for it, "
                               "e.g. type==complaint"),
                            validators=[Optional(), Length(max=10_000)])
    save_mapping = StringField(_l("Save the mapping used as (optional)"), validators=[Optional(), Length(max=MAX_NAME)])
    skip_invalid = BooleanField(_l("Import the valid rows and list the rejected ones"))
    add_fields = BooleanField(_l("Add unknown customer columns to the field registry"))


def _import_form(saved: list[ColumnMapping]) -> ImportForm:
    """The form, its saved-mapping choices grouped by the kind they belong to."""
    form = ImportForm()
    form.mapping.choices = [SelectChoice("", _("(none)"))] + [
        SelectChoice(m.name, m.name, optgroup=str(KIND_LABELS.get(m.kind, m.kind))) for m in saved]
    return form


@bp.route("/", methods=["GET", "POST"])
@requires(Permission.IMPORT_DATA)
def index():
    saved = list_mappings()
    form = _import_form(saved)
    rights = import_rights(current_user)
    if not rights["may_add_fields"]:
        del form.add_fields  # adding registry fields is a tenant admin's: not offered, and refused if sent
    if form.validate_on_submit():
        try:
            upload = form.file.data
            lines = [line for line in (form.columns.data or "").splitlines() if line.strip()]
            explicit = parse_pairs(lines, field="columns")
            run = start_import_run(upload, kind=form.kind.data, source_name=upload.filename or "upload.csv",
                                   created_by=current_user.email, mapping_name=form.mapping.data or None,
                                   save_as=form.save_mapping.data or None,
                                   options={"mapping": explicit, "skip_invalid": form.skip_invalid.data,
                                            "add_fields": bool(getattr(form, "add_fields", None) and
                                                               form.add_fields.data), **rights})
        except NotFoundError as exc:
            form.mapping.errors = [exc.message]
        except ValidationError as exc:
            show_validation_error(form, exc)
        else:
            return redirect(url_for(".show", run_id=run.id))
    status = 400 if form.errors else 200
    return render_template("imports/index.html", form=form, runs=list_runs(), mappings=saved), status


@bp.route("/runs/<uuid:run_id>")
@requires(Permission.IMPORT_DATA)
def show(run_id: uuid.UUID):
    run = ImportRun.get(run_id)
    latest = (run.result or {}).get("latest_ahead")  # stored as text in the run's JSON result
    return render_template("imports/run.html", run=run,
                           latest_ahead=datetime.fromisoformat(latest) if latest else None)
