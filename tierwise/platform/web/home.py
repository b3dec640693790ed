"""The tenant home page: who is signed in, in which tenant, with which role."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from tierwise.platform.policy import permissions_of
from tierwise.platform.web.access import signed_in

bp = Blueprint("home", __name__)


@bp.route("/")
@signed_in
def index():
    return render_template("home.html", permissions=permissions_of(current_user))
