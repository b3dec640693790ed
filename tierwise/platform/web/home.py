"""The tenant home page: who is signed in, in which tenant, with which role."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from tierwise.platform.policy import ROLE_PERMISSIONS, Permission
from tierwise.platform.users import Role
from tierwise.platform.web.access import signed_in

bp = Blueprint("home", __name__)


@bp.route("/")
@signed_in
def index():
    granted = ROLE_PERMISSIONS[Role(current_user.role)]
    permissions = [permission for permission in Permission if permission in granted]  # in a stable, meaningful order
    return render_template("home.html", permissions=permissions)
