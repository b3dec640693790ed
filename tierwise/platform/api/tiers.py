"""``/retier-runs``, ``/tiers`` and ``/customers/{id}/tiers``: the tiers the rules in force assign.

Who may do what (as on the web UI's tier distribution page):
- the tier distribution: every role, each counting the customers they may see
  (an RM their book; the whole tenant's counts are not theirs to read);
- the retier runs (they count the whole tenant): who may see every customer;
- starting a retier: tenant admins (``MANAGE_RULES``); the run is audited when it finishes;
- one customer's tiers and history: anyone who may see that customer, so an RM
  gets a 404 for a customer outside their book, as on every customer endpoint.
"""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import abort, request, url_for
from flask_babel import gettext
from flask_login import current_user

from tierwise.platform.api import api_blueprint
from tierwise.platform.api.bodies import NO_BODY, read_body
from tierwise.platform.api.serializers import (CUSTOMER_TIER_FIELDS, DIMENSION_DISTRIBUTION_FIELDS,
                                               RETIER_RUN_FIELDS, TIER_PERIOD_FIELDS, serialize, serialize_page)
from tierwise.platform.pagination import keyset_page, parse_limit
from tierwise.platform.policy import Permission, allows, visible_customers
from tierwise.tenants import customer_directory
from tierwise.tenants.rules.assignments import RetierRun
from tierwise.tenants.rules.distribution import customer_tier_history, customer_tiers, tier_distribution
from tierwise.tenants.rules.retier_launch import launch_retier


@api_blueprint.post("/retier-runs")
def start_retier_run():
    """Retier under the rules in force: queued (202; poll Location), or already done without Redis."""
    if not allows(current_user, Permission.MANAGE_RULES):
        abort(403, description=gettext("Only tenant admins may retier."))
    read_body(NO_BODY)
    run = launch_retier(started_by=current_user.email)
    return serialize(run, RETIER_RUN_FIELDS), 202, {"Location": url_for("api.show_retier_run", retier_run_id=run.id)}


def _may_read_runs() -> None:
    """Asked before any lookup, so an RM gets the same 403 for any id, of this tenant or not."""
    if not allows(current_user, Permission.VIEW_ALL_CUSTOMERS):
        abort(403, description=gettext("Retier runs count the whole organisation: tenant admins and analysts "
                                       "read them."))


@api_blueprint.get("/retier-runs")
def list_retier_runs():
    _may_read_runs()
    page = keyset_page(sa.select(RetierRun), key=RetierRun.id, cursor=request.args.get("cursor"),
                       limit=parse_limit(request.args.get("limit")), descending=True)
    return serialize_page(page, RETIER_RUN_FIELDS)


@api_blueprint.get("/retier-runs/<uuid:retier_run_id>")
def show_retier_run(retier_run_id: uuid.UUID):
    _may_read_runs()
    run = RetierRun.get(retier_run_id)
    return serialize(run, RETIER_RUN_FIELDS)


@api_blueprint.get("/tiers")
def show_tier_distribution():
    return {"items": [serialize(dimension, DIMENSION_DISTRIBUTION_FIELDS) for dimension in
                      tier_distribution(visible=visible_customers(current_user))]}


@api_blueprint.get("/customers/<uuid:customer_id>/tiers")
def show_customer_tiers(customer_id: uuid.UUID):
    customer = customer_directory.get_visible_customer(customer_id, visible_customers(current_user))
    return {"customer_id": str(customer.id),
            "tiers": [serialize(tier, CUSTOMER_TIER_FIELDS) for tier in customer_tiers(customer.id)],
            "history": [serialize(period, TIER_PERIOD_FIELDS) for period in customer_tier_history(customer.id)]}
