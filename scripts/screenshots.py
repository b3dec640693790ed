#!/usr/bin/env python3
"""Regenerate docs/screenshots/: the main pages as a tenant admin and an RM see them, in headless Chromium.

By default it seeds the demo tenants (``tierwise demo``, at a small scale) into a
throwaway SQLite database, serves it in-process and photographs ``demo-bank``;
nothing outside a temporary folder is touched.  With ``--url`` it photographs a
server that is already running instead, e.g. ``make demo``:

    .venv/bin/python scripts/screenshots.py
    .venv/bin/python scripts/screenshots.py --url http://127.0.0.1:5000

Against a running server it saves a rule draft to photograph the preview and
discards it again afterwards.  Needs Debian's chromium (``make test`` installs
it) and a CJK font for the Chinese names (``apt-get install fonts-wqy-microhei``).
"""
from __future__ import annotations

import argparse
import logging
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a file: the live server and browser helpers live beside the e2e tests

from tests.e2e.live_app import LAPTOP, chromium, serving  # noqa: E402

DEMO_TENANT, DEMO_ADMIN, DEMO_RM = "demo-bank", "admin@bank.demo", "rm.li@bank.demo"
DEMO_PASSWORD = "tierwise-demo"
TIMEOUT_MS = 60_000  # a preview over the demo bank's customers takes a few seconds
THRESHOLD = re.compile(r"(?<![\w.])\d{2,}(?![\w.])")  # a whole number in a rule, not a digit of a name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="photograph this running server instead of a seeded throwaway one")
    parser.add_argument("--tenant", default=DEMO_TENANT)
    parser.add_argument("--admin", default=DEMO_ADMIN, help="a tenant admin's email")
    parser.add_argument("--rm", default=DEMO_RM, help="a relationship manager's email")
    parser.add_argument("--password", default=DEMO_PASSWORD)
    parser.add_argument("--scale", type=float, default=0.05, help="demo data size when seeding (1.0 = make demo)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request of the in-process server
    with nullcontext(args.url.rstrip("/")) if args.url else seeded_demo_server(args.scale) as base_url:
        saved = photograph(base_url, args)
    for path in saved:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


@contextmanager
def seeded_demo_server(scale: float) -> Iterator[str]:
    """The demo tenants, seeded as ``make demo`` seeds them, in a temporary SQLite database served on a free port."""
    from flask_migrate import upgrade

    from tierwise.platform.app import create_app
    from tierwise.platform.config import Settings
    from tierwise.platform.demo import seed_demo

    with tempfile.TemporaryDirectory(prefix="tierwise-screenshots-") as folder:
        settings = Settings.from_env({"TIERWISE_ENV": "development",
                                      "TIERWISE_DATABASE_URL": f"sqlite:///{folder}/demo.db"},
                                     instance_path=Path(folder))
        app = create_app(settings=settings)
        with app.app_context():
            upgrade()
            print(f"seeding the demo tenants at scale {scale} (trains the models; about a minute)...")
            seed_demo(DEMO_PASSWORD, scale=scale)
        with serving(app) as base_url:
            yield base_url


def photograph(base_url: str, args) -> list[Path]:
    """Sign in as the admin, then as the RM, and save one full-page PNG per page."""
    tenant = f"/t/{args.tenant}"
    saved: list[Path] = []
    with chromium() as browser:
        page = browser.new_page(base_url=base_url, viewport=LAPTOP, locale="en-US")
        page.goto(f"{tenant}/login")
        saved.append(save(page, args.out, "00-sign-in"))
        page.close()
        with Camera.signed_in(browser, base_url, tenant, args.admin, args.password, args.out) as admin:
            admin.shoot("01-home", f"{tenant}/")
            admin.shoot("02-customers", f"{tenant}/customers/")
            shoot_customer_page(admin, tenant)
            admin.shoot("04-tiers", f"{tenant}/rules/")
            shoot_rule_preview(admin, tenant)
            admin.shoot("07-rule-versions", f"{tenant}/rules/versions/")
            admin.shoot("08-models", f"{tenant}/models/")
            admin.shoot("09-vip-list", f"{tenant}/lists/vip", optional=True)
            admin.shoot("10-dashboard", f"{tenant}/dashboard", optional=True)
        with Camera.signed_in(browser, base_url, tenant, args.rm, args.password, args.out) as rm:
            rm.shoot("11-rm-customers", f"{tenant}/customers/")
            rm.shoot("12-rm-dashboard", f"{tenant}/dashboard", optional=True)
        saved += admin.saved + rm.saved
    return saved


class Camera:
    """One signed-in browser context that saves full-page PNGs of the pages it visits."""

    def __init__(self, page, out: Path):
        self.page = page
        self.out = out
        self.saved: list[Path] = []

    @classmethod
    @contextmanager
    def signed_in(cls, browser, base_url: str, tenant: str, email: str, password: str, out: Path):
        context = browser.new_context(base_url=base_url, viewport=LAPTOP, locale="en-US")
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto(f"{tenant}/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        if page.url.rstrip("/").endswith("/login"):
            raise SystemExit(f"could not sign in as {email} at {base_url}{tenant}/login")
        try:
            yield cls(page, out)
        finally:
            context.close()

    def shoot(self, name: str, path: str | None = None, *, optional: bool = False) -> None:
        """Open ``path`` (or stay on the current page) and save it; an optional page that is a 404 is skipped."""
        if path is not None:
            response = self.page.goto(path)
            status = response.status if response else None
            if optional and status == 404:
                print(f"skipped {name}: {path} is not in this version of the app")
                return
            if status is None or status >= 400:
                raise SystemExit(f"{path} answered {status}")
        self.saved.append(save(self.page, self.out, name))


def shoot_customer_page(camera: Camera, tenant: str) -> None:
    """The customer page (360 view) of the first VIP (the first customer, while there are no list pages)."""
    page = camera.page
    response = page.goto(f"{tenant}/lists/vip")
    if response is None or response.status != 200 or not page.get_by_test_id("list-row").count():
        page.goto(f"{tenant}/customers/")
    page.locator("main table tbody tr td:first-child a").first.click()
    page.wait_for_load_state()
    camera.shoot("03-customer")


def shoot_rule_preview(camera: Camera, tenant: str) -> None:
    """The editor with one threshold halved, the preview of that draft; then the draft is discarded again."""
    page = camera.page
    page.goto(f"{tenant}/rules/draft")
    if page.get_by_role("button", name="Discard draft").count():
        raise SystemExit("this tenant already has a rule draft; not touching it (discard or publish it first)")
    rule = page.locator('li.tier-editor input[name$=".rule"]').first
    rule.fill(THRESHOLD.sub(lambda m: str(int(m.group()) // 2), rule.input_value(), count=1))
    page.get_by_text("Checked: no problems found.").wait_for()
    camera.shoot("05-rule-editor")
    page.get_by_role("button", name="Save and preview").click()
    page.get_by_role("heading", name="Preview of the draft").wait_for()
    camera.shoot("06-rule-preview")
    page.goto(f"{tenant}/rules/draft")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Discard draft").click()
    page.get_by_text("Draft discarded.").wait_for()


def save(page, out: Path, name: str) -> Path:
    page.wait_for_load_state("networkidle")
    if page.locator("canvas").count():
        page.wait_for_timeout(1500)  # let the charts finish drawing (their entry animation)
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


if __name__ == "__main__":
    sys.exit(main())
