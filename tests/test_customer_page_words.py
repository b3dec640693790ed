"""The customer page's history reads as words in the reader's language, not the codes it was stored with."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.rule_helpers import in_tenant
from tierwise.platform.audit import Actor, acting_as
from tierwise.platform.db import db
from tierwise.tenants.customers import Customer
from tierwise.tenants.imports.runner import import_records


@pytest.mark.parametrize(("language", "by", "why"), [("en", "Demo data", "Import of a batch through the API"),
                                                     ("zh-CN", "演示数据", "通过 API 批量导入")])
def test_an_assignment_by_import_reads_as_words_in_the_readers_language(app, make_tenant, browser, language, by, why):
    world = make_tenant("bank")
    with in_tenant(app, world), acting_as(Actor(label="demo")):
        import_records([{"external_id": "B1", "name": "王先生", "rm_email": world.email("rm1")}], kind="customers")
        db.session.commit()
        customer_id = db.session.scalar(sa.select(Customer.id).where(Customer.external_id == "B1"))
    browser.login(world)
    page = browser.get(f"/t/{world.slug}/customers/{customer_id}", headers={"Accept-Language": language}).text
    history = page.split("assignment-history")[1].split("</table>")[0]
    assert f"<td>{by}</td><td>{why}</td>" in history and "import of" not in history
