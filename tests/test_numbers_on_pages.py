"""Numbers read alike on every page: separators for thousands, no stray ``.0`` or ``.00``."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.rule_helpers import in_tenant
from tierwise.platform.db import db
from tierwise.platform.numbers import readable_number
from tierwise.tenants.customers import Customer
from tierwise.tenants.imports.runner import import_records


@pytest.mark.parametrize(("value", "shown"), [(1200000.0, "1,200,000"), (99.0, "99"), (31.0, "31"), (2.5, "2.5"),
                                              (204137.2286, "204,137"), (0.15329, "0.153"), (2503, "2,503"),
                                              (None, "—")])
def test_a_number_reads_with_separators_and_without_stray_decimals(value, shown):
    assert readable_number(value) == shown


def test_the_customer_profile_shows_amounts_as_the_reasons_do(app, make_tenant, browser):
    world = make_tenant("pharma_distributor")
    with in_tenant(app, world):
        import_records([{"external_id": "P1", "name": "药房", "revenue_12m": "1200000", "dso_days": "31.5"}],
                       kind="customers")
        db.session.commit()
        customer_id = db.session.scalar(sa.select(Customer.id).where(Customer.external_id == "P1"))
    browser.login(world)
    page = browser.get(f"/t/{world.slug}/customers/{customer_id}", headers={"Accept-Language": "en"}).text
    assert "<dd>1,200,000</dd>" in page and "<dd>31.5</dd>" in page and "1200000.0" not in page
