"""User management for tenant admins: list, create, edit, reset password."""
from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from tierwise.errors import ConflictError, ValidationError
from tierwise.platform import users as user_service
from tierwise.platform.branches import list_branches
from tierwise.platform.db import db
from tierwise.platform.policy import Permission
from tierwise.platform.web.access import requires
from tierwise.platform.web.forms import ResetPasswordForm, UserForm, show_validation_error

bp = Blueprint("users", __name__, url_prefix="/users")


def _user_form(**kwargs) -> UserForm:
    form = UserForm(**kwargs)
    form.branch_id.choices = [SelectChoice("", _("(no branch)"))] + [
        SelectChoice(str(b.id), f"{b.code} {b.name}") for b in list_branches()]
    return form


def _branch_id(form: UserForm) -> uuid.UUID | None:
    return uuid.UUID(form.branch_id.data) if form.branch_id.data else None


@bp.route("/")
@requires(Permission.MANAGE_USERS)
def index():
    return render_template("users/index.html", users=user_service.list_users())


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def create():
    form = _user_form()
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors = [_("An initial password is required.")]
        else:
            try:
                user = user_service.create_user(
                    email=form.email.data, role=form.role.data, password=form.password.data,
                    display_name=form.display_name.data or "", branch_id=_branch_id(form),
                    book_scope=form.book_scope.data,
                )
            except ValidationError as exc:
                show_validation_error(form, exc)
            except ConflictError as exc:
                form.email.errors = [exc.message]
            else:
                db.session.commit()
                flash(_("User %(email)s created.", email=user.email), "success")
                return redirect(url_for(".index"))
    return render_template("users/form.html", form=form, user=None), 400 if form.errors else 200


@bp.route("/<uuid:user_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def edit(user_id: uuid.UUID):
    user = user_service.get_user(user_id)  # another tenant's id: NotFoundError, a 404
    form = _user_form(obj=user)
    if request.method == "GET":
        form.branch_id.data = str(user.branch_id) if user.branch_id else ""
    if form.validate_on_submit():
        try:
            user_service.update_user(user, role=form.role.data, display_name=form.display_name.data or "",
                                     branch_id=_branch_id(form), book_scope=form.book_scope.data,
                                     active=bool(form.active.data))
        except ValidationError as exc:
            db.session.rollback()
            show_validation_error(form, exc)
        except ConflictError as exc:
            db.session.rollback()
            form.role.errors = [exc.message]
        else:
            db.session.commit()
            flash(_("Changes to %(email)s saved.", email=user.email), "success")
            return redirect(url_for(".index"))
    return render_template("users/form.html", form=form, user=user, reset_form=ResetPasswordForm()), \
        400 if form.errors else 200


@bp.route("/<uuid:user_id>/password", methods=["POST"])
@requires(Permission.MANAGE_USERS)
def reset_password(user_id: uuid.UUID):
    user = user_service.get_user(user_id)  # another tenant's id: NotFoundError, a 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user_service.set_password(user, form.new_password.data, reason="reset by admin")
        except ValidationError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Password of %(email)s reset; their sessions were signed out.", email=user.email), "success")
    else:
        for errors in form.errors.values():
            flash("; ".join(errors), "error")
    return redirect(url_for(".edit", user_id=user.id))

