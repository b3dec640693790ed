"""Customer pages: search, the customer page (profile, RM and its history, tiers, scores, activity, interactions),
reassigning the customer to another RM, erasure."""
from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from tierwise.platform.db import db, utcnow
from tierwise.platform.pagination import Page, parse_limit
from tierwise.platform.policy import Permission, allows, visible_customers
from tierwise.platform.score_explanations import explained_scores
from tierwise.platform.users import list_users
from tierwise.platform.branches import list_branches
from tierwise.platform.web.access import requires, signed_in
from tierwise.platform.web.dashboard_charts import activity_chart
from tierwise.errors import ValidationError
from tierwise.platform.web.forms import AssignCustomerForm, EmptyForm, show_validation_error
from tierwise.tenants import customer_directory, ownership
from tierwise.tenants.customer_directory import MAX_QUERY
from tierwise.tenants.fields import field_registry
from tierwise.tenants.rules.profile import lay_out_timeline, tier_profile

bp = Blueprint("customers", __name__, url_prefix="/customers")


@bp.route("/")
@signed_in
def index():
    query, error, status = request.args.get("q", ""), None, 200
    try:
        page = customer_directory.search_customers(visible_customers(current_user), query=query,
                                                   cursor=request.args.get("cursor"),
                                                   limit=parse_limit(request.args.get("limit")))
    except ValidationError as exc:
        if exc.field != "q":
            raise
        # Said beside the search box, which keeps what was typed, as a list's search is
        page, error, status = Page(items=[], next_cursor=None), exc.message, 400
    return render_template("customers/index.html", page=page, query=query, error=error, max_query=MAX_QUERY,
                           branches={b.id: b for b in list_branches()}, people={u.id: u for u in list_users()}), status


@bp.route("/<uuid:customer_id>")
@signed_in
def show(customer_id: uuid.UUID):
    customer = customer_directory.get_visible_customer(customer_id, visible_customers(current_user))
    return _customer_page(customer, _assign_form(customer))


def _customer_page(customer, assign_form: AssignCustomerForm):
    activity = customer_directory.monthly_activity(customer)
    chart = activity_chart(activity) if activity else None
    peak = max((row.amount for row in activity), default=0) or 1
    tiers = tier_profile(customer.id)
    timeline_start = lay_out_timeline(tiers, utcnow())
    return render_template(
        "customers/show.html", customer=customer, activity=activity, peak=peak, activity_chart=chart,
        interactions=customer_directory.recent_interactions(customer), fields=field_registry(),
        tiers=tiers, timeline_start=timeline_start, scores=explained_scores(customer.id, str(get_locale())),
        branches={b.id: b for b in list_branches()}, people={u.id: u for u in list_users()},
        erase_form=EmptyForm(), can_erase=allows(current_user, Permission.ERASE_CUSTOMERS),
        assignments=ownership.assignment_history(customer), assign_form=assign_form,
        can_assign=allows(current_user, Permission.ASSIGN_CUSTOMERS)), 400 if assign_form.errors else 200


def _assign_form(customer) -> AssignCustomerForm:
    form = AssignCustomerForm()
    form.rm_user_id.choices = [SelectChoice("", _("(unassigned)"))] + [
        SelectChoice(str(rm.id), rm.label) for rm in ownership.active_rms()]
    if not form.is_submitted():
        form.rm_user_id.data = str(customer.rm_user_id) if customer.rm_user_id else ""
    return form


@bp.route("/<uuid:customer_id>/assignment", methods=["POST"])
@requires(Permission.ASSIGN_CUSTOMERS)
def assign(customer_id: uuid.UUID):
    customer = customer_directory.get_visible_customer(customer_id, visible_customers(current_user))
    form = _assign_form(customer)
    if form.validate_on_submit():
        rm_user_id = uuid.UUID(form.rm_user_id.data) if form.rm_user_id.data else None
        try:
            result = ownership.assign([customer.id], rm_user_id, reason=form.reason.data)
        except ValidationError as exc:
            db.session.rollback()
            show_validation_error(form, exc)
        else:
            db.session.commit()
            if result.changed:
                flash(_("Customer %(id)s reassigned.", id=customer.external_id), "success")
            else:
                flash(_("Customer %(id)s already has this relationship manager.", id=customer.external_id), "info")
            return redirect(url_for(".show", customer_id=customer.id, _anchor="ownership"))
    return _customer_page(customer, form)


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
