"""Customer pages: search, the customer page (profile, tiers, scores, activity, interactions), erasure."""
from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from tierwise.platform.db import db
from tierwise.platform.pagination import parse_limit
from tierwise.platform.policy import Permission, allows, visible_customers
from tierwise.platform.score_explanations import explained_scores
from tierwise.platform.users import list_users
from tierwise.platform.branches import list_branches
from tierwise.platform.web.access import requires, signed_in
from tierwise.platform.web.forms import EmptyForm
from tierwise.tenants import customer_directory
from tierwise.tenants.fields import field_registry
from tierwise.tenants.rules.profile import tier_profile

bp = Blueprint("customers", __name__, url_prefix="/customers")


@bp.route("/")
@signed_in
def index():
    query = request.args.get("q", "")
    page = customer_directory.search_customers(visible_customers(current_user), query=query,
                                               cursor=request.args.get("cursor"),
                                               limit=parse_limit(request.args.get("limit")))
    return render_template("customers/index.html", page=page, query=query,
                           branches={b.id: b for b in list_branches()}, people={u.id: u for u in list_users()})


@bp.route("/<uuid:customer_id>")
@signed_in
def show(customer_id: uuid.UUID):
    customer = customer_directory.get_visible_customer(customer_id, visible_customers(current_user))
    activity = customer_directory.monthly_activity(customer)
    peak = max((row.amount for row in activity), default=0) or 1
    return render_template(
        "customers/show.html", customer=customer, activity=activity, peak=peak,
        interactions=customer_directory.recent_interactions(customer), fields=field_registry(),
        tiers=tier_profile(customer.id), scores=explained_scores(customer.id, str(get_locale())),
        branches={b.id: b for b in list_branches()}, people={u.id: u for u in list_users()},
        erase_form=EmptyForm(), can_erase=allows(current_user, Permission.ERASE_CUSTOMERS))


@bp.route("/<uuid:customer_id>/erase", methods=["POST"])
@requires(Permission.ERASE_CUSTOMERS)
def erase(customer_id: uuid.UUID):
    customer = customer_directory.get_visible_customer(customer_id, visible_customers(current_user))
    if request.form.get("confirm") != customer.external_id:
        flash(_("Type the customer's id to confirm erasure."), "error")
        return redirect(url_for(".show", customer_id=customer.id))
    customer_directory.erase_customer(customer)
    db.session.commit()
    flash(_("Customer %(id)s and all its data were erased.", id=customer.external_id), "success")
    return redirect(url_for(".index"))
