"""The landing page: choose your organisation, then sign in to it."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import gettext as _

from tierwise.platform.i18n import keep_chosen_locale
from tierwise.platform.tenant import find_tenant
from tierwise.platform.web.forms import TenantChoiceForm

bp = Blueprint("landing", __name__)


@bp.route("/", methods=["GET", "POST"])
def index():
    form = TenantChoiceForm()
    status = 200
    if form.validate_on_submit():
        tenant = find_tenant(form.slug.data)
        if tenant is not None and tenant.active:
            return redirect(url_for("tenant.auth.login", tenant_slug=tenant.slug))
        form.slug.errors, status = [_("No organisation with that code.")], 404
    elif form.errors:
        status = 400  # nothing typed, or a bad form: the request is at fault, not a missing organisation
    return render_template("landing.html", form=form), status


@bp.route("/locale", methods=["POST"])
def choose_locale():
    """The landing page's language, for this browser: the first page a person meets speaks theirs too.

    Kept in the session, as a tenant's sign-in page keeps it before anyone signs in.
    """
    keep_chosen_locale()
    return redirect(url_for("landing.index"))


@bp.route("/healthz")
def health():
    """For load balancers: the process is up (it does not touch the database)."""
    return {"status": "ok"}
