"""WSGI entry point for gunicorn: ``gunicorn tierwise.platform.wsgi:app``.

In production the process refuses to start if its database role would bypass
row-level security (superuser, BYPASSRLS or table owner).
"""
from tierwise.platform.app import create_app
from tierwise.platform.db import db
from tierwise.platform.rls import check_app_role

app = create_app()

if app.config["TIERWISE"].is_production:
    with app.app_context():
        check_app_role(db.engine)
