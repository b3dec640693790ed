"""Branches (org units) for tenant admins."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from tierwise.errors import ConflictError, ValidationError
from tierwise.platform import branches as branch_service
from tierwise.platform.db import db
from tierwise.platform.policy import Permission
from tierwise.platform.web.access import requires
from tierwise.platform.web.forms import BranchForm, show_validation_error

bp = Blueprint("branches", __name__, url_prefix="/branches")


@bp.route("/", methods=["GET", "POST"])
@requires(Permission.MANAGE_BRANCHES)
def index():
    form = BranchForm()
    if form.validate_on_submit():
        try:
            branch = branch_service.create_branch(code=form.code.data, name=form.name.data)
        except ValidationError as exc:
            show_validation_error(form, exc)
        except ConflictError as exc:
            form.code.errors = [exc.message]
        else:
            db.session.commit()
            flash(_("Branch %(code)s created.", code=branch.code), "success")
            return redirect(url_for(".index"))
    return render_template("branches.html", form=form, branches=branch_service.list_branches()), \
        400 if form.errors else 200
