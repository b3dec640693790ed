"""Browser fixtures: the session's app served over HTTP, headless Chromium, a seeded bank per test.

The app is the one ``tests/conftest.py`` builds on the run's throwaway
PostgreSQL database; each test gets a fresh browser context (no cookies carried
over) and a tenant of its own.  A failing test leaves ``failure.png`` of the
page in its pytest tmp dir, and the path is printed with the failure.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, TenantWorld, provision_world
from tests.e2e.live_app import LAPTOP, chromium, serving
from tests.rule_helpers import in_tenant, retier_again
from tierwise.platform.db import db
from tierwise.tenants.customers import Customer
from tierwise.tenants.imports.runner import import_records

TIMEOUT_MS = 10_000


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so the ``page`` fixture knows whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def live_server(app) -> str:
    with serving(app) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def browser_engine():
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser_engine, live_server, request, tmp_path):
    """A fresh browser context (own cookies, English, laptop-sized) with one page on the live server."""
    context = browser_engine.new_context(base_url=live_server, locale="en-US", viewport=LAPTOP,
                                         accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    call = getattr(request.node, "report_call", None)
    if call is not None and call.failed:
        shot = tmp_path / "failure.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"\nscreenshot of the page at {page.url}: {shot}")
    context.close()


@pytest.fixture
def bank(app) -> TenantWorld:
    """A bank on its industry template, tiered: two customers in rm1's book (North), two in rm2's (South)."""
    world = provision_world(app, "bank", prefix="e2e")
    rm1, rm2 = world.email("rm1"), world.email("rm2")
    with in_tenant(app, world):
        import_records([
            {"external_id": "P1", "name": "王总", "aum_avg_3m": "7000000", "rm_email": rm1, "branch_code": "N"},
            {"external_id": "W1", "name": "李女士", "aum_avg_3m": "1500000", "rm_email": rm1, "branch_code": "N"},
            {"external_id": "M1", "name": "张先生", "aum_avg_3m": "50000", "rm_email": rm2, "branch_code": "S"},
            {"external_id": "M2", "name": "赵先生", "aum_avg_3m": "20000", "rm_email": rm2, "branch_code": "S"},
        ], kind="customers")
        db.session.commit()
        world.customers = dict(db.session.execute(sa.select(Customer.external_id, Customer.id)).all())
    retier_again(app, world)
    return world


def sign_in(page, world: TenantWorld, who: str = "admin", password: str = PASSWORD) -> None:
    """Fill in and send the tenant's sign-in form, as a person would."""
    page.goto(f"/t/{world.slug}/login")
    page.get_by_label("Email").fill(world.email(who))
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
