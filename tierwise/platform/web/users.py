"""User management for tenant admins: list, create, edit, reset password, move an RM's book of customers."""
from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from tierwise.errors import ConflictError, ValidationError
from tierwise.platform import users as user_service
from tierwise.platform.branches import list_branches
from tierwise.platform.db import db
from tierwise.platform.i18n import clauses
from tierwise.platform.numbers import readable_number
from tierwise.platform.policy import Permission
from tierwise.platform.web.access import requires
from tierwise.platform.web.forms import ReassignBookForm, ResetPasswordForm, UserForm, show_validation_error
from tierwise.tenants import ownership

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
    return render_template("users/index.html", users=user_service.list_users(), books=ownership.book_sizes())


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
        except ConflictError as exc:  # the field asked to change that cannot: the role, or being active
            db.session.rollback()
            getattr(form, exc.field if exc.field in ("role", "active") else "role").errors = [exc.message]
        else:
            db.session.commit()
            flash(_("Changes to %(email)s saved.", email=user.email), "success")
            return redirect(url_for(".index"))
    return render_template("users/form.html", form=form, user=user, reset_form=ResetPasswordForm(),
                           book=ownership.book_size(user.id)), \
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
            flash(clauses(errors), "error")
    return redirect(url_for(".edit", user_id=user.id))



@bp.route("/<uuid:user_id>/book", methods=["GET", "POST"])
@requires(Permission.ASSIGN_CUSTOMERS)
def book(user_id: uuid.UUID):
    """The customers a user looks after, and moving them (all, or one branch's) to another RM."""
    user = user_service.get_user(user_id)  # another tenant's id: NotFoundError, a 404
    branches = {b.id: b for b in list_branches()}
    form = ReassignBookForm()
    form.to_user_id.choices = [SelectChoice(str(rm.id), rm.label) for rm in ownership.active_rms() if rm.id != user.id]
    form.branch_id.choices = [SelectChoice("", _("(all branches)"))] + [
        SelectChoice(str(b.id), f"{b.code} {b.name}") for b in branches.values()]
    if form.validate_on_submit():
        try:
            move = ownership.reassign_book(user.id, uuid.UUID(form.to_user_id.data), reason=form.reason.data,
                                           branch_id=uuid.UUID(form.branch_id.data) if form.branch_id.data else None)
        except ValidationError as exc:
            db.session.rollback()
            show_validation_error(form, exc)
        else:
            db.session.commit()
            flash(_("%(count)s customers moved to their new relationship manager.",
                    count=readable_number(move.moved)), "success")
            return redirect(url_for(".book", user_id=user.id))
    return render_template("users/book.html", user=user, form=form, branches=branches,
                           by_branch=ownership.book_by_branch(user.id)), 400 if form.errors else 200
