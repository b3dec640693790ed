"""API tokens: each user manages their own; a tenant admin sees and may revoke all."""
from __future__ import annotations

import secrets
import uuid

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from tierwise.errors import ValidationError
from tierwise.platform import api_tokens
from tierwise.platform.db import db
from tierwise.platform.policy import Permission, allows, can_manage_token
from tierwise.platform.web.access import requires
from tierwise.platform.web.forms import EmptyForm, TokenForm, show_validation_error

bp = Blueprint("tokens", __name__, url_prefix="/tokens")


def _visible_tokens():
    everyone = allows(current_user, Permission.MANAGE_ALL_TOKENS)
    return api_tokens.list_tokens(None if everyone else current_user)


FORM_ONCE = "token_form_once"  # session: the one submission of the new-token form this page handed out


@bp.route("/", methods=["GET", "POST"])
@requires(Permission.USE_API)
def index():
    form = TokenForm()
    if form.validate_on_submit():
        if request.form.get("once") != session.pop(FORM_ONCE, None):
            # The same form sent again (a reload of the "created" page): its token exists and was shown once.
            flash(_("That form was already sent: its token was created and its secret shown once. "
                    "Revoke it below if the secret was not copied."), "warning")
            return redirect(url_for(".index"))
        try:
            token, plaintext = api_tokens.issue(current_user, name=form.name.data, tenant_slug=g.tenant.slug)
        except ValidationError as exc:
            show_validation_error(form, exc)
        else:
            db.session.commit()
            # Shown once, in this response only; never stored or logged.
            return render_template("tokens/created.html", token=token, plaintext=plaintext)
    session[FORM_ONCE] = secrets.token_urlsafe(16)
    return render_template("tokens/index.html", form=form, tokens=_visible_tokens(), revoke_form=EmptyForm(),
                           once=session[FORM_ONCE]), 400 if form.errors else 200


@bp.route("/<uuid:token_id>/revoke", methods=["POST"])
@requires(Permission.USE_API)
def revoke(token_id: uuid.UUID):
    token = api_tokens.get_token(token_id)
    if not can_manage_token(current_user, token.user_id):
        abort(404)  # someone else's token is not even acknowledged to exist
    api_tokens.revoke(token)
    db.session.commit()
    flash(_("Token %(name)s revoked.", name=token.name), "success")
    return redirect(url_for(".index"))
