"""The tier distribution page (every role) and the admins' "Retier now".

Everyone signed in sees how the customers they may see fall into tiers (an RM
their book, admins and analysts the whole tenant, with its retier runs); only
rule managers start a retier.  The rule editor and the
preview are in ``rules_editor``, the version history in ``rules_versions``.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from tierwise.errors import ConflictError, NotFoundError
from tierwise.platform.clock import local_time
from tierwise.platform.policy import Permission, allows, visible_customers
from tierwise.platform.web.access import requires, signed_in
from tierwise.platform.web.forms import EmptyForm
from tierwise.tenants.rules.distribution import recent_runs, tier_distribution
from tierwise.tenants.rules.retier_launch import launch_retier
from tierwise.tenants.rules.versions import current_version, published_versions

bp = Blueprint("rules", __name__, url_prefix="/rules")

BASIS_LABELS = {"rule": _l("Its rule matched"), "fallback": _l("Fallback: no other tier's rule matched"),
                "held": _l("Held by hysteresis")}


@bp.app_context_processor
def _rule_labels() -> dict:
    """Why a customer has its tier, in words: the rule pages and the customer page show it."""
    return {"basis_label": lambda code: BASIS_LABELS.get(code, code)}


@bp.route("/")
@signed_in
def index():
    in_force = current_version()
    runs = recent_runs(10)
    applied = next((run for run in runs if run.status == "succeeded"), None)
    return render_template(
        "rules/index.html", dimensions=tier_distribution(visible=visible_customers(current_user)),
        whole_tenant=allows(current_user, Permission.VIEW_ALL_CUSTOMERS), in_force=in_force,
        runs=runs if allows(current_user, Permission.VIEW_ALL_CUSTOMERS) else [],
        numbers={v.id: v.number for v in published_versions()},
        not_applied=in_force is not None and (applied is None or applied.rule_version_id != in_force.id),
        can_manage=allows(current_user, Permission.MANAGE_RULES), retier_form=EmptyForm())


@bp.route("/retier", methods=["POST"])
@requires(Permission.MANAGE_RULES)
def retier():
    try:
        run = launch_retier(started_by=current_user.email)
    except (ConflictError, NotFoundError) as exc:  # one already queued or running; nothing published yet
        flash(exc.message, "error")
        return redirect(url_for(".index"))
    if run.status == "succeeded":
        flash(_("Retier finished: %(customers)s customers evaluated on the data as of %(when)s.",
                customers=f"{run.customers:,}", when=local_time(run.as_of)), "success")
    elif run.status == "failed":
        flash(_("The retier failed; the tiers are as they were. See the run below."), "error")
    else:
        flash(_("Retier started. Reload this page to see it finish."), "success")
    return redirect(url_for(".index"))
