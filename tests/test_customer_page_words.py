"""The customer page's history reads as words in the reader's language, not the codes it was stored with."""
from __future__ import annotations

import json

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


def test_activity_categories_read_by_their_labels_in_the_table_and_the_chart(app, make_tenant, browser):
    world = make_tenant("bank")
    with in_tenant(app, world):
        import_records([{"external_id": "B2", "name": "李女士"}], kind="customers")
        import_records([{"customer": "B2", "occurred_at": "2025-06-01", "amount": "100", "category": "deposit"},
                        {"customer": "B2", "occurred_at": "2025-06-02", "amount": "50", "category": "card_spend"}],
                       kind="activity")
        db.session.commit()
        customer_id = db.session.scalar(sa.select(Customer.id).where(Customer.external_id == "B2"))
    browser.login(world)
    page = browser.get(f"/t/{world.slug}/customers/{customer_id}", headers={"Accept-Language": "zh-CN"}).text
    assert "<td>存款</td>" in page and "<td>信用卡消费</td>" in page
    chart = json.loads(page.split('id="activity-chart">')[1].split("</script>")[0])
    assert {series["name"] for series in chart["option"]["series"]} == {"存款", "信用卡消费"}  # the legend
    assert ">deposit<" not in page and ">card_spend<" not in page
