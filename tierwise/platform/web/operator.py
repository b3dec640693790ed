"""The operator console: platform operators create tenants and their first admin.

Operators see tenants (the platform table), never a tenant's data.  They read it
in English or Chinese as tenant users do; an operator has no account row to save
the choice on, so it stays in the browser's session, kept across signing in and out.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from tierwise.errors import ConflictError, ValidationError
from tierwise.platform.db import db
from tierwise.platform.i18n import LOCALES, keep_chosen_locale
from tierwise.platform.login import attempt_operator_login
from tierwise.platform.operators import Operator, end_operator_sessions
from tierwise.jobs.schedules import validate_timezone
from tierwise.platform.provisioning import provision_tenant
from tierwise.platform.tenant import list_tenants, set_active
from tierwise.platform.web.access import on_site
from tierwise.platform.web.forms import EmptyForm, LoginForm, TenantForm, show_validation_error

bp = Blueprint("operator", __name__, url_prefix="/operator")
OPEN_TO_ALL = ("operator.login", "operator.choose_locale")  # the sign-in page, and its language


def _is_operator() -> bool:
    return isinstance(current_user._get_current_object(), Operator)


@bp.before_request
def _operators_only():
    if request.endpoint not in OPEN_TO_ALL and not _is_operator():
        return redirect(url_for("operator.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        result = attempt_operator_login(form.email.data, form.password.data, ip=request.remote_addr)
        if result.user is not None:
            _fresh_session()
            login_user(result.user)
            return redirect(url_for("operator.tenants"))
        if result.throttled:
            flash(_("Too many failed sign-in attempts. Try again in 15 minutes."), "error")
            return render_template("operator/login.html", form=form), 429
        flash(_("Invalid email or password."), "error")
        return render_template("operator/login.html", form=form), 401
    return render_template("operator/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    operator = current_user._get_current_object()
    if isinstance(operator, Operator):
        end_operator_sessions(operator)  # a copied cookie must not outlive sign-out, as for tenant users
        db.session.commit()
    logout_user()
    _fresh_session()
    return redirect(url_for("operator.login"))


def _fresh_session() -> None:
    """A new session on signing in or out (no fixation), in the language the operator chose."""
    chosen = session.get("locale")
    session.clear()
    if chosen in LOCALES:
        session["locale"] = chosen


@bp.route("/locale", methods=["POST"])
def choose_locale():
    """The language of the console, for this browser (``i18n.select_locale`` reads it from the session)."""
    keep_chosen_locale()
    target = request.form.get("next")
    return redirect(target if on_site(target, "/operator/") else url_for("operator.tenants"))


@bp.route("/", methods=["GET", "POST"])
def tenants():
    form = TenantForm()
    if form.validate_on_submit():
        try:
            tenant, _admin = provision_tenant(
                form.slug.data, name=form.name.data, industry=form.industry.data,
                admin_email=form.admin_email.data, admin_password=form.admin_password.data,
                actor_label=f"operator:{current_user.email}",
                settings={"timezone": validate_timezone(form.timezone.data)} if (form.timezone.data or "").strip()
                else {},
            )
        except (ValidationError, ConflictError) as exc:  # a taken slug too: beside the field, a 400 like the rest
            db.session.rollback()
            show_validation_error(form, exc, TenantForm.ALIASES)
        else:
            db.session.commit()
            flash(_("Tenant %(slug)s created.", slug=tenant.slug), "success")
            return redirect(url_for("operator.tenants"))
    return render_template("operator/tenants.html", form=form, tenants=list_tenants(), switch_form=EmptyForm()), \
        400 if form.errors else 200


@bp.route("/tenants/<slug>/active", methods=["POST"])
def switch(slug: str):
    """Switch a tenant off or on again (``tenant.set_active``): the button on each tenant's row."""
    if not EmptyForm().validate_on_submit():
        flash(_("The form expired; try again."), "error")
        return redirect(url_for("operator.tenants"))
    active = request.form.get("active") == "on"
    set_active(slug, active, actor_label=f"operator:{current_user.email}")
    db.session.commit()
    flash(_("Tenant %(slug)s switched on.", slug=slug) if active else
          _("Tenant %(slug)s switched off: nobody can sign in to it; its data is kept.", slug=slug), "success")
    return redirect(url_for("operator.tenants"))
