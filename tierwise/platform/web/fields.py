"""The field registry page: everyone signed in reads it, tenant admins add and edit fields.

Reading is open to every role because the fields are what customer pages,
imports and (later) rules talk about; the API's ``GET /fields`` is open the same way.
"""
from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from tierwise.errors import ConflictError, ValidationError
from tierwise.platform.db import db
from tierwise.platform.policy import Permission, allows
from tierwise.platform.web.access import requires, signed_in
from tierwise.platform.web.forms import (FIELD_GROUP_LABELS, FIELD_TYPE_LABELS, FieldForm, NewFieldForm,
                                         show_validation_error)
from tierwise.tenants import fields as field_service

bp = Blueprint("fields", __name__, url_prefix="/fields")


def _render(template: str, **context):
    return render_template(template, type_label=lambda code: FIELD_TYPE_LABELS.get(code, code),
                           group_label=lambda code: FIELD_GROUP_LABELS.get(code, code), **context)


@bp.route("/")
@signed_in
def index():
    return _render("fields/index.html", fields=list(field_service.field_registry().values()),
                   can_edit=allows(current_user, Permission.MANAGE_FIELDS))


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_FIELDS)
def create():
    form = NewFieldForm()
    if form.validate_on_submit():
        try:
            definition = field_service.define_field(
                name=form.name.data, field_type=form.field_type.data, field_group=form.field_group.data,
                label_zh=form.label_zh.data, label_en=form.label_en.data, description=form.description.data,
                description_zh=form.description_zh.data, categories=form.category_codes())
        except ValidationError as exc:
            show_validation_error(form, exc)
        except ConflictError as exc:
            form.name.errors = [exc.message]
        else:
            db.session.commit()
            flash(_("Field %(name)s added.", name=definition.name), "success")
            return redirect(url_for(".index"))
    return _render("fields/form.html", form=form, definition=None), 400 if form.errors else 200


@bp.route("/<uuid:field_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_FIELDS)
def edit(field_id: uuid.UUID):
    definition = field_service.get_field(field_id)  # another tenant's id: NotFoundError, a 404
    form = FieldForm(data={"field_group": definition.field_group, "label_zh": definition.label_zh,
                           "label_en": definition.label_en, "description": definition.description,
                           "description_zh": definition.description_zh,
                           "categories": "\n".join(definition.categories or ())})
    if form.validate_on_submit():
        try:
            changes = field_service.update_field(
                definition, field_group=form.field_group.data, label_zh=form.label_zh.data,
                label_en=form.label_en.data, description=form.description.data,
                description_zh=form.description_zh.data, categories=form.category_codes())
        except ValidationError as exc:
            db.session.rollback()
            show_validation_error(form, exc)
        else:
            db.session.commit()
            if changes:
                flash(_("Changes to %(name)s saved.", name=definition.name), "success")
            else:
                flash(_("Nothing changed in %(name)s.", name=definition.name), "info")
            return redirect(url_for(".index"))
    return _render("fields/form.html", form=form, definition=definition), 400 if form.errors else 200
