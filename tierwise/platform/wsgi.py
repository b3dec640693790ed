"""WSGI entry point for gunicorn: ``gunicorn tierwise.platform.wsgi:app``.

In production ``create_app`` refuses to start if its database role would bypass
row-level security (superuser, BYPASSRLS or table owner).
"""
from tierwise.platform.app import create_app

app = create_app()
