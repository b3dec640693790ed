"""``tierwise serve``: gunicorn in-process, for the demo and small installs.

Production runs plain ``gunicorn tierwise.platform.wsgi:app`` (see README).
"""
from __future__ import annotations

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # Each worker builds its own app (and connection pool) after the fork.
        from tierwise.platform.app import create_app

        return create_app()


def serve(*, host: str, port: int, workers: int, threads: int) -> None:
    _Gunicorn({
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 120,
        "accesslog": "-",
        # gunicorn's largest: a longer request line is answered by gunicorn itself (HTML); up to this,
        # Tierwise refuses one longer than it reads (``request_context.MAX_URL``) in its own words
        "limit_request_line": 8190,
    }).run()
