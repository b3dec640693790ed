"""Decorators every tenant page starts with: signed in, then permitted."""
from __future__ import annotations

from functools import wraps

from flask import abort, g, redirect, request, url_for
from flask_login import current_user

from tierwise.platform.policy import Permission, allows
from tierwise.platform.users import User


def signed_in(view):
    """Send anonymous visitors to this tenant's login page, then back."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not isinstance(current_user._get_current_object(), User):
            back = request.full_path if request.query_string else request.path  # no stray "?"
            return redirect(url_for("tenant.auth.login", next=back))
        return view(*args, **kwargs)

    return wrapper


def requires(permission: Permission):
    """Signed in and holding ``permission``; otherwise 403."""

    def decorator(view):
        @signed_in
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not allows(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def safe_next(target: str | None) -> str:
    """Only redirect to a path on this tenant's site: never another host, never a header break."""
    return target if on_site(target, f"/t/{g.tenant.slug}/") else url_for("tenant.home.index")


def on_site(target: str | None, prefix: str) -> bool:
    """Whether ``target`` is a plain path under ``prefix`` (a tenant's site, the operator console), safe to
    redirect to: never another host, never a header break."""
    return bool(target and target.startswith(prefix) and "//" not in target and "\\" not in target
                and ".." not in target and all(32 <= ord(ch) < 127 for ch in target))
