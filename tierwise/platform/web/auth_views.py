"""Sign in, sign out, change password, switch language."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from tierwise.errors import ValidationError
from tierwise.platform.db import db
from tierwise.platform.i18n import LOCALES, keep_chosen_locale
from tierwise.platform.login import attempt_login
from tierwise.platform.request_context import set_request_actor
from tierwise.platform.users import User, change_own_password, end_sessions, set_locale
from tierwise.platform.web.access import safe_next, signed_in
from tierwise.platform.web.forms import ChangePasswordForm, LoginForm, show_validation_error

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        result = attempt_login(form.email.data, form.password.data, ip=request.remote_addr)
        if result.user is not None:
            chosen = session.get("locale")  # picked on this page, just now: the latest word on it
            session.clear()  # a fresh session on privilege change (no fixation)
            login_user(result.user)
            set_request_actor(result.user)
            if chosen in LOCALES and chosen != result.user.locale:
                set_locale(result.user, chosen)
                db.session.commit()
            return redirect(safe_next(request.args.get("next")))
        if result.throttled:
            flash(_("Too many failed sign-in attempts. Try again in 15 minutes."), "error")
            status = 429
        else:
            flash(_("Invalid email or password."), "error")
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    user = current_user._get_current_object()
    if isinstance(user, User):
        end_sessions(user)  # a copied cookie must not outlive sign-out (this signs out other devices too)
        db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("tenant.auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@signed_in
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            change_own_password(current_user, current_password=form.current_password.data,
                                new_password=form.new_password.data)
        except ValidationError as exc:
            show_validation_error(form, exc)
        else:
            db.session.commit()
            login_user(current_user._get_current_object())  # the session id carries the new nonce
            flash(_("Your password has been changed. Other sessions were signed out."), "success")
            return redirect(url_for("tenant.home.index"))
    return render_template("auth/password.html", form=form), 400 if form.errors else 200


@bp.route("/locale", methods=["POST"])
def choose_locale():
    locale = keep_chosen_locale()
    if locale is not None:
        user = current_user._get_current_object()
        if isinstance(user, User):
            set_locale(user, locale)
            db.session.commit()
    return redirect(safe_next(request.form.get("next")))
