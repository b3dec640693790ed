"""Numbers read alike on every page: separators for thousands, no stray ``.0`` or ``.00``."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from tests.rule_helpers import in_tenant
from tierwise.platform.db import db
from tierwise.platform.numbers import readable_number, readable_percent
from tierwise.tenants.customers import Customer
from tierwise.tenants.imports.runner import import_records


@pytest.mark.parametrize(("value", "shown"), [(1200000.0, "1,200,000"), (99.0, "99"), (31.0, "31"), (2.5, "2.5"),
                                              (204137.2286, "204,137"), (0.15329, "0.153"), (2503, "2,503"),
                                              (None, "—")])
def test_a_number_reads_with_separators_and_without_stray_decimals(value, shown):
    assert readable_number(value) == shown


@pytest.mark.parametrize(("value", "shown"), [
    (0.694, "69.4%"), (0.9996, "99.96%"), (0.99996, ">99.99%"), (0.0004, "0.04%"), (0.00004, "<0.01%"),
    (1.0, "100.0%"), (0.0, "0.0%"), (0.9994, "99.9%"), (-0.0004, "-0.04%"), (-0.00001, ">-0.01%"),
    (1.0004, "100.0%"), (None, "—")])
def test_a_percentage_never_reads_as_a_certainty_the_value_is_not(value, shown):
    """99.96% is not "100.0%" (a churn the model is sure of), nor 0.04% "0.0%"; a change past 100% may read 100.0%."""
    assert readable_percent(value) == shown


def test_the_models_page_shows_a_share_just_short_of_all_as_short_of_it(app, make_tenant, browser):
    from tests.model_fixtures import record_model_version

    world = make_tenant("bank")
    with in_tenant(app, world):
        version = record_model_version(make_champion=True)
        version.importance = [{"feature": "recency_days", "gain_share": 0.9996},
                              {"feature": "complaints_90d", "gain_share": 0.0004}]
        db.session.commit()
    browser.login(world)
    page = browser.get(f"/t/{world.slug}/models/").text
    assert ">99.96%</td>" in page and ">0.04%</td>" in page and ">100.0%</td>" not in page


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


def test_books_and_audit_details_read_with_separators(app, make_tenant, browser):
    from tierwise.platform import audit
    from tierwise.platform.audit import Actor, acting_as

    world = make_tenant("bank")
    rm = world.email("rm1")
    with in_tenant(app, world):
        import_records([{"external_id": f"C{i:05d}", "name": f"客户{i}", "rm_email": rm} for i in range(1200)],
                       kind="customers")
        with acting_as(Actor(label="test")):
            audit.record("model.trained", target_type="model_version", target_id="v",
                         details={"model": "value", "metrics": {"rmse": 291086.2710507331}, "champion": True})
            audit.record("model.trained", target_type="model_version", target_id="w",
                         details={"model": "churn", "metrics": {"base_rate": 0.0335}, "champion": True})
        db.session.commit()
    browser.login(world)
    users = browser.get(f"/t/{world.slug}/users/", headers={"Accept-Language": "en"}).text
    assert ">1,200</a>" in users
    book = browser.get(f"/t/{world.slug}/users/{world.users['rm1'].id}/book", headers={"Accept-Language": "en"}).text
    assert "Looks after 1,200 customers." in book
    log = browser.get(f"/t/{world.slug}/audit/?action=model.trained", headers={"Accept-Language": "en"}).text
    assert "RMSE: 291,086" in log and "291086.27" not in log and '<span class="muted">Champion</span> yes' in log
    assert "Churn rate: 3.4%" in log and "0.0335" not in log  # a rate as the model page says it


def test_audit_details_say_known_codes_by_their_names(app, make_tenant, browser):
    from tierwise.platform import audit
    from tierwise.platform.audit import Actor, acting_as

    world = make_tenant("bank")
    with in_tenant(app, world), acting_as(Actor(label="test")):
        audit.record("import.completed", target_type="import", target_id="interactions",
                     details={"kind": "interactions", "rows_read": 3})
        audit.record("rules.retiered", target_type="retier_run", target_id="r",
                     details={"changes": {"high_risk": {"up": 3, "down": 0}}})
        audit.record("export.created", target_type="export", target_id="f.csv",
                     details={"list": "vip", "sort": "external_id"})
        audit.record("customers.book_reassigned", target_type="user", target_id="u",
                     details={"from_user_id": str(world.users["rm1"].id), "to_user_id": str(world.users["rm2"].id)})
        audit.record("model.trained", target_type="model_version", target_id="v",
                     details={"model": "churn", "metrics": {"roc_auc": 0.91, "capture_top10": 0.5}})
        audit.record("model_run.finished", target_type="model_run", target_id="m",
                     details={"job": "train", "status": "succeeded"})
        audit.record("schedule.created", target_type="schedule", target_id="s",
                     details={"action": "train_churn", "cron": "0 3 * * 1"})
        audit.record("customer.erased", target_type="customer", target_id="c",
                     details={"external_id": "E1", "removed": {"activity": 2, "customer_scores": 1}})
        with acting_as(Actor(label="operator:ops@tierwise.test")):
            audit.record("tenant.provisioned", target_type="tenant", target_id="t", details={})
        audit.record("export.created", target_type="export", target_id="g.csv",
                     details={"list": "all", "filters": {"churn_min": 0.6, "rm_user_id": str(world.users["rm2"].id)},
                              "saved_list": {"id": "0190a", "name": "流失关注"},
                              "by_user_id": str(uuid.uuid4())})  # an id no user of this tenant has
        audit.record("rules.published", target_type="rule_set_version", target_id="2",
                     details={"number": 2, "diff": [{"change": "rule", "dimension": "value", "tier": "vip",
                                                      "before": "aum_avg_3m >= 1", "after": "aum_avg_3m >= 2"},
                                                     {"change": "hysteresis", "dimension": "value",
                                                      "before": None, "after": {"evaluations": 2}},
                                                     {"change": "fallback", "dimension": "value", "tier": "mass",
                                                      "before": False, "after": True}]})
        db.session.commit()
    browser.login(world)
    log = browser.get(f"/t/{world.slug}/audit/", headers={"Accept-Language": "en"}).text
    assert '<span class="muted">Kind</span> Interactions' in log
    assert "Attrition risk: Moved up: 3; Moved down: 0" in log  # the dimension and the moves, up first
    assert '<span class="muted">List</span> VIP' in log and '<span class="muted">Sort</span> Customer id' in log
    assert f'<span class="muted">From</span> {world.email("rm1")}' in log  # people by their email, not an id
    assert f'<span class="muted">To</span> {world.email("rm2")}' in log
    assert "Churners caught in the top 10%: 50.0%; ROC AUC: 0.910" in log  # as the model pages name and say them
    assert '<span class="muted">Job</span> Training' in log and '<span class="muted">Status</span> Succeeded' in log
    assert "rule changed (aum_avg_3m &gt;= 1 → aum_avg_3m &gt;= 2)" in log  # the diff as the version page says it
    assert "hysteresis changed (— → evaluations: 2)" in log and "fallback changed (no → yes)" in log
    assert "None" not in log and "{&#39;" not in log and "False" not in log  # no Python reprs
    assert '<span class="muted">Work</span> Retrain the churn model' in log
    assert "Activity: 2; Scores: 1" in log and "customer_scores" not in log  # what an erasure removed, in words
    assert "Tierwise operator ops@tierwise.test" in log  # an operator, said as one
    assert f"Churn probability from: 60.0%; Relationship manager: {world.email('rm2')}" in log  # the export log's words
    assert '<span class="muted">Saved list</span> 流失关注' in log and "0190a" not in log


def at_risk_page(app, make_tenant, browser, *, churn: float, value: float) -> str:
    """The at-risk list of a bank whose one customer is scored ``churn`` and ``value``."""
    from tests.rule_helpers import retier_again
    from tierwise.models.scores import CustomerScore

    world = make_tenant("bank")
    with in_tenant(app, world):
        import_records([{"external_id": "B1", "name": "客户B1"}], kind="customers")
        customer = db.session.scalars(sa.select(Customer)).one()
        db.session.add(CustomerScore(customer_id=customer.id, churn_probability=churn, predicted_value=value))
        db.session.commit()
    retier_again(app, world)
    browser.login(world)
    return browser.get(f"/t/{world.slug}/lists/at_risk").text


def test_a_list_shows_a_churn_probability_just_short_of_certain_as_short_of_it(app, make_tenant, browser):
    page = at_risk_page(app, make_tenant, browser, churn=0.9996, value=1.0)
    assert "99.96%" in page and "100.0%" not in page


def test_a_list_shows_a_small_predicted_value_as_its_reason_says_it_not_as_zero(app, make_tenant, browser):
    page = at_risk_page(app, make_tenant, browser, churn=0.9, value=0.388)
    row = page[page.index('data-testid="list-row"'):]
    assert "<td>0.388</td>" in row[:row.index("</tr>")], row[:row.index("</tr>")]
