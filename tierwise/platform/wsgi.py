"""WSGI entry point for gunicorn: ``gunicorn 'tierwise.platform.wsgi:app'``."""
from tierwise.platform.app import create_app

app = create_app()
