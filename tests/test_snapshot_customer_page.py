"""The customer page of a tenant whose churn model learnt from a snapshot of labels (Kaggle's bank churn file).

Such a model reads no activity and has no horizon: a stayer's probability is not "over the next 3 months",
and a customer the snapshot says had left has no probability because it left, not because it had "no
activity in the 90 days before scoring" (the tenant has no activity at all).
"""
from __future__ import annotations

import sqlalchemy as sa

from tests.rule_helpers import in_tenant
from tests.test_model_data_shapes import score, tenant, train
from tests.test_model_snapshot_labels import bank_snapshot, load_with_fields
from tierwise.platform.db import db
from tierwise.tenants.customers import Customer


def test_a_snapshot_models_customer_page_says_who_left_and_that_the_model_has_no_horizon(app, browser):
    world = tenant(app, "bank")
    people = bank_snapshot(1100)
    load_with_fields(app, world, people)
    status, message, _version = train(app, world, "churn")
    assert status == "succeeded", message
    assert score(app, world)[0] == "succeeded"
    left, stayed = (people.loc[people["Exited"] == flag, "external_id"].iloc[0] for flag in ("1", "0"))
    with in_tenant(app, world):
        ids = dict(db.session.execute(sa.select(Customer.external_id, Customer.id)
                                      .where(Customer.external_id.in_([left, stayed]))).all())
    browser.login(world)

    def scores(external_id: str) -> str:
        page = browser.get(f"/t/{world.slug}/customers/{ids[external_id]}", headers={"Accept-Language": "en"}).text
        return page.split('id="scores"')[1].split("</section>")[0]

    gone = scores(left)
    assert "Recorded as having left: there is no one to keep, so no churn probability is given." in gone, gone
    assert "No activity in the" not in gone and "data-lapsed" not in gone
    kept = scores(stayed)
    assert "Learnt from a snapshot of who had left, with no horizon; model version 1." in kept, kept
    assert "Over the next" not in kept.split("Predicted value")[0]
