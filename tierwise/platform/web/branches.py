"""Branches (org units) for tenant admins: add, rename, and delete one nothing refers to any more."""
from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from tierwise.errors import ConflictError, ValidationError
from tierwise.platform import branches as branch_service
from tierwise.platform.db import db
from tierwise.platform.policy import Permission
from tierwise.platform.web.access import requires
from tierwise.platform.web.forms import BranchForm, BranchRenameForm, EmptyForm, show_validation_error

bp = Blueprint("branches", __name__, url_prefix="/branches")


@bp.route("/", methods=["GET", "POST"])
@requires(Permission.MANAGE_BRANCHES)
def index():
    form = BranchForm()
    if form.validate_on_submit():
        try:
            branch = branch_service.create_branch(code=form.code.data, name=form.name.data)
        except (ValidationError, ConflictError) as exc:
            show_validation_error(form, exc)
        else:
            db.session.commit()
            flash(_("Branch %(code)s created.", code=branch.code), "success")
            return redirect(url_for(".index"))
    return render_template("branches.html", form=form, branches=branch_service.list_branches(),
                           uses=branch_service.uses_of(), rename_form=BranchRenameForm(formdata=None),
                           delete_form=EmptyForm()), 400 if form.errors else 200


@bp.route("/<uuid:branch_id>/rename", methods=["POST"])
@requires(Permission.MANAGE_BRANCHES)
def rename(branch_id: uuid.UUID):
    branch = branch_service.get_branch(branch_id)
    previous = branch.name
    try:
        branch_service.rename_branch(branch, name=BranchRenameForm().name.data or "")
    except ValidationError as exc:
        flash(_("Branch %(code)s keeps its name: the new name %(reason)s.", code=branch.code, reason=exc.message),
              "error")
        return redirect(url_for(".index"))
    db.session.commit()
    if branch.name != previous:
        flash(_("Branch %(code)s is now called %(name)s.", code=branch.code, name=branch.name), "success")
    return redirect(url_for(".index"))


@bp.route("/<uuid:branch_id>/delete", methods=["POST"])
@requires(Permission.MANAGE_BRANCHES)
def delete(branch_id: uuid.UUID):
    branch = branch_service.get_branch(branch_id)
    code = branch.code
    try:
        branch_service.delete_branch(branch)
    except ConflictError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".index"))
    db.session.commit()
    flash(_("Branch %(code)s deleted.", code=code), "success")
    return redirect(url_for(".index"))
