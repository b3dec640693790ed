"""A real HTTP server and a real browser around the app, shared by the e2e tests and scripts/screenshots.py.

The server is werkzeug's, in a background thread of this process, so it serves
the very ``create_app`` instance the tests seed through (one database, no
second process to start or kill).  Chromium is Debian's: Playwright drives it
through ``executable_path`` and never downloads a browser of its own.
"""
from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask
from werkzeug.serving import make_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = "/usr/bin/chromium"
# This machine has no network beyond loopback: without these Chromium keeps trying to reach Google at every start.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
LAPTOP = {"width": 1366, "height": 768}


@contextmanager
def serving(app: Flask, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` on a free port until the block ends; yields the base URL."""
    server = make_server(host, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Debian Chromium under Playwright, closed when the block ends."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def app_serves(path: str) -> bool:
    """Whether some route of the app matches ``path`` (e.g. ``/t/any/lists/vip``), without touching a database.

    Lets a test written against a page that is still being built skip until the page lands.
    """
    from werkzeug.exceptions import MethodNotAllowed, NotFound
    from werkzeug.routing import RequestRedirect

    from tierwise.platform.app import create_app
    from tierwise.platform.config import Settings

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings.from_env({"TIERWISE_ENV": "test", "TIERWISE_DATABASE_URL": "sqlite://",
                                      "TIERWISE_SECRET_KEY": "route-check-" + "x" * 40}, instance_path=Path(folder))
        app = create_app(settings=settings)
    try:
        app.url_map.bind("localhost").match(path)
    except NotFound:
        return False
    except (RequestRedirect, MethodNotAllowed):  # a missing slash, or GET not allowed: the route is there
        return True
    return True
