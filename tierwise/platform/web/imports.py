"""Uploading CSV or XLSX files: the web door to the one import path, run as a background job."""
from __future__ import annotations

import uuid

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from tierwise.errors import NotFoundError
from tierwise.platform.policy import Permission
from tierwise.platform.web.access import requires
from tierwise.tenants.imports.mappings import load_mapping
from tierwise.tenants.imports.runs import ImportRun, list_runs, start_import_run

bp = Blueprint("imports", __name__, url_prefix="/imports")
KIND_LABELS = {"customers": _l("Customers"), "activity": _l("Activity"), "interactions": _l("Interactions")}


class ImportForm(FlaskForm):
    kind = SelectField(_l("What the file contains"), choices=[SelectChoice(k, v) for k, v in KIND_LABELS.items()])
    file = FileField(_l("CSV or XLSX file"), validators=[FileRequired(), FileAllowed(["csv", "txt", "xlsx"])])
    mapping = StringField(_l("Saved column mapping (optional)"), validators=[Optional(), Length(max=100)])
    skip_invalid = BooleanField(_l("Import the valid rows and list the rejected ones"))
    add_fields = BooleanField(_l("Add unknown customer columns to the field registry"))


@bp.route("/", methods=["GET", "POST"])
@requires(Permission.IMPORT_DATA)
def index():
    form = ImportForm()
    if form.validate_on_submit():
        try:
            mapping = load_mapping(form.kind.data, form.mapping.data) if form.mapping.data else {}
        except NotFoundError as exc:
            form.mapping.errors = [exc.message]
        else:
            upload = form.file.data
            run = start_import_run(upload, kind=form.kind.data, source_name=upload.filename or "upload.csv",
                                   created_by=current_user.email,
                                   options={"mapping": mapping, "skip_invalid": form.skip_invalid.data,
                                            "add_fields": form.add_fields.data})
            return redirect(url_for(".show", run_id=run.id))
    return render_template("imports/index.html", form=form, runs=list_runs()), 400 if form.errors else 200


@bp.route("/runs/<uuid:run_id>")
@requires(Permission.IMPORT_DATA)
def show(run_id: uuid.UUID):
    return render_template("imports/run.html", run=ImportRun.get(run_id))
