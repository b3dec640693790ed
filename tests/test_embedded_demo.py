"""The embedded default (SQLite, no Redis) runs the same features the demo shows.

Production and the rest of the suite use PostgreSQL; this file keeps the demo's
database honest: migrations, imports as import runs, customer pages, erasure.
"""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, Browser, csrf_token_from, embedded_app
from tierwise.platform.db import db


@pytest.fixture
def sqlite_app(database_urls, tmp_path):
    return embedded_app(database_urls, tmp_path, industry="power_utility", name="Lite 轻量")[0]


def test_upload_import_browse_and_erase_on_sqlite(sqlite_app):
    person = Browser(sqlite_app.test_client())
    assert person.submit("/t/lite/login", {"email": "admin@lite.test", "password": PASSWORD}).status_code == 302
    page = person.get("/t/lite/imports/")
    files = {
        "customers": "external_id,name,facility_type,outage_consequence\n001,人民医院,hospital,5\n002,小卖部,other,1\n",
        "activity": "customer,occurred_at,amount,quantity,category\n001,2024/1/31,\"1,200.50\",2400,bill\n"
                    "001,2024/2/29,900,1800,bill\n",
        "interactions": "customer,occurred_at,channel,type,severity\n001,2024-03-01 10:00,12345,投诉,5\n",
    }
    for kind, text in files.items():
        response = person.client.post("/t/lite/imports/", content_type="multipart/form-data", data={
            "csrf_token": csrf_token_from(page.text), "kind": kind, "file": (io.BytesIO(text.encode("gbk")), f"{kind}.csv")})
        assert response.status_code == 302, kind
        assert "Succeeded" in person.get(response.location).text, kind
    listing = person.get("/t/lite/customers/?q=医院").text
    assert "人民医院" in listing and "小卖部" not in listing
    with sqlite_app.app_context():
        from tierwise.platform import tenancy
        from tierwise.platform.tenant import find_tenant
        from tierwise.tenants.customers import Customer

        with tenancy.tenant_scope(find_tenant("lite").id):
            hospital = db.session.scalar(sa.select(Customer).where(Customer.external_id == "001"))
            assert hospital.attributes == {"facility_type": "hospital", "outage_consequence": 5}
            customer_url = f"/t/lite/customers/{hospital.id}"
    page = person.get(customer_url).text
    assert "2024-01" in page and "1,200.50" in page and "Regulator hotline" in page
    assert person.submit(customer_url, {"confirm": "001"}, action=f"{customer_url}/erase").status_code == 302
    assert person.get(customer_url).status_code == 404


def test_the_industry_rule_set_tiers_every_customer_on_sqlite(sqlite_app):
    from datetime import datetime, timezone

    from tierwise.platform import tenancy
    from tierwise.platform.audit import Actor, acting_as
    from tierwise.platform.tenant import find_tenant
    from tierwise.tenants.customers import Customer
    from tierwise.tenants.imports.runner import import_records
    from tierwise.tenants.rules.assignments import TierAssignment
    from tierwise.tenants.rules.preview import preview
    from tierwise.tenants.rules.retier import run_retier, start_retier
    from tierwise.tenants.rules.versions import compile_for_tenant, current_version

    with sqlite_app.app_context():
        with tenancy.tenant_scope(find_tenant("lite").id), acting_as(Actor(label="test")):
            import_records([{"external_id": f"{i:03d}", "name": f"客户{i}", "facility_type": kind,
                             "outage_consequence": str(level), "illegal_use": "no", "arrears_days": "0",
                             "arrears_amount": "0"}
                            for i, (kind, level) in enumerate([("hospital", 5), ("other", 1), ("school", 3),
                                                               ("other", 1)])], kind="customers")
            import_records([{"customer": f"{i:03d}", "occurred_at": f"2024-{m:02d}-28", "amount": str(amount * m)}
                            for i, amount in enumerate([10, 5000, 300, 0]) for m in range(1, 13)]
                           + [{"customer": "001", "occurred_at": f"2023-{m:02d}-28", "amount": "20000"}
                              for m in range(1, 13)], kind="activity")
            import_records([{"customer": "003", "occurred_at": "2024-12-01", "channel": "news_media",
                             "type": "complaint", "severity": "4"}], kind="interactions")
            db.session.commit()
            as_of = datetime(2025, 1, 1, tzinfo=timezone.utc)
            shown = preview(compile_for_tenant(current_version().parsed()), as_of=as_of)
            assert shown.customers == 4 and all(d.unclassified == 0 for d in shown.dimensions)
            db.session.rollback()
            run = start_retier(started_by="test", as_of=as_of)
            db.session.commit()
            run = run_retier(run.id)
            rows = db.session.execute(sa.select(Customer.external_id, TierAssignment.dimension, TierAssignment.tier)
                                      .join(Customer, Customer.id == TierAssignment.customer_id)).all()
    tiers = {(c, d): t for c, d, t in rows}
    assert len(tiers) == 4 * 5  # four customers, five dimensions in the utility template
    assert tiers[("000", "high_risk")] == "critical" and tiers[("000", "value")] != "key"
    # the largest of four customers ranks 7/8 (half its own place counted): above 0.75, short of the top 5%
    assert tiers[("001", "value")] == "important" and tiers[("001", "value_trend")] == "rising"
    with sqlite_app.app_context(), tenancy.tenant_scope(find_tenant("lite").id):
        clear = db.session.scalar(sa.select(TierAssignment.reason).join(Customer, Customer.id == TierAssignment.customer_id)
                                  .where(Customer.external_id == "001", TierAssignment.dimension == "compliance"))
    assert clear["illegal_use"] is False  # a boolean, not SQLite's 0
    assert tiers[("003", "opinion_risk")] == "high"  # unresolved severe complaint through the news


def test_models_train_score_and_feed_the_rules_on_sqlite(sqlite_app):
    """``make demo`` trains and scores on SQLite with jobs in-process: the same code as on PostgreSQL."""
    from tests.model_helpers import seed_history
    from tests.conftest import TenantWorld
    from tierwise.models.pipeline import train_model
    from tierwise.models.scores import CustomerScore
    from tierwise.models.scoring import score_all
    from tierwise.platform import tenancy
    from tierwise.platform.audit import Actor, acting_as
    from tierwise.platform.tenant import find_tenant

    with sqlite_app.app_context():
        world = TenantWorld(tenant_id=find_tenant("lite").id, slug="lite")
    seed_history(sqlite_app, world, industry="power_utility", customers=300, months=18)
    with sqlite_app.app_context(), tenancy.tenant_scope(world.tenant_id), acting_as(Actor(label="test")):
        for model in ("churn", "value"):
            version = train_model(model, trained_by="test", budget_seconds=5)
            db.session.commit()
            assert version.is_champion and version.metrics["model"]["examples"] > 0
        result = score_all()
        db.session.commit()
        assert result.customers == 300
        scores = list(db.session.scalars(sa.select(CustomerScore)))
        judged = [s for s in scores if s.churn_probability is not None]  # the others lapsed (no NaN on SQLite)
        assert len(scores) == 300 and len(judged) > 200 and all(0 <= s.churn_probability <= 1 for s in judged)
        assert all(s.churn_reasons is None for s in scores if s.churn_probability is None)
        feature, contribution, _value = scores[0].value_reasons[0]
        assert isinstance(feature, str) and isinstance(contribution, float)


def test_a_trend_of_exactly_the_threshold_reaches_it_on_sqlite(sqlite_app):
    # SQLite adds up in floating point: +20% exactly must still be >= 0.2 (see test_tiering for PostgreSQL).
    from datetime import datetime, timezone

    from tierwise.platform import tenancy
    from tierwise.platform.audit import Actor, acting_as
    from tierwise.platform.tenant import find_tenant
    from tierwise.tenants.imports.runner import import_records
    from tierwise.tenants.rules.preview import preview
    from tierwise.tenants.rules.versions import validate

    with sqlite_app.app_context(), tenancy.tenant_scope(find_tenant("lite").id), acting_as(Actor(label="test")):
        import_records([{"external_id": "G1", "name": "扩产工厂", "facility_type": "other", "outage_consequence": "1",
                         "illegal_use": "no", "arrears_days": "0", "arrears_amount": "0"}], kind="customers")
        import_records([{"customer": "G1", "occurred_at": "2024-08-20", "amount": "2612.05"},
                        {"customer": "G1", "occurred_at": "2024-11-20", "amount": "3134.46"}], kind="activity")
        db.session.commit()
        _, plan = validate({"dimensions": [{"code": "value", "tiers": [
            {"code": "growing", "rule": "trend(amount, 90d) >= 0.2"}, {"code": "flat", "fallback": True}]},
            {"code": "high_risk", "tiers": [{"code": "critical", "rule": "outage_consequence >= 5"},
                                            {"code": "normal", "fallback": True}]},
            {"code": "opinion_risk", "tiers": [{"code": "alert", "rule": "count(complaints, 90d) >= 2"},
                                               {"code": "calm", "fallback": True}]}]})
        shown = preview(plan, as_of=datetime(2025, 1, 1, tzinfo=timezone.utc))
    assert {t.tier: t.customers for t in shown.dimensions[0].tiers} == {"growing": 1, "flat": 0}


def test_branch_codes_are_one_code_in_any_case_on_sqlite(sqlite_app):
    person = Browser(sqlite_app.test_client())
    person.submit("/t/lite/login", {"email": "admin@lite.test", "password": PASSWORD})
    assert person.submit("/t/lite/branches/", {"code": "SH01", "name": "上海"}).status_code == 302
    refused = person.submit("/t/lite/branches/", {"code": "sh01", "name": "上海 again"})
    assert refused.status_code == 400 and "a branch with code &#39;SH01&#39; already exists" in refused.text
    page = person.get("/t/lite/imports/")
    response = person.client.post("/t/lite/imports/", content_type="multipart/form-data", data={
        "csrf_token": csrf_token_from(page.text), "kind": "customers",
        "file": (io.BytesIO("external_id,name,branch_code\n001,人民医院,sh01\n".encode()), "customers.csv")})
    assert "Succeeded" in person.get(response.location).text
    with sqlite_app.app_context():
        from tierwise.platform import tenancy
        from tierwise.platform.branches import Branch
        from tierwise.platform.tenant import find_tenant
        from tierwise.tenants.customers import Customer

        with tenancy.tenant_scope(find_tenant("lite").id):
            placed = db.session.execute(sa.select(Branch.code).join(Customer, Customer.branch_id == Branch.id)).all()
            assert placed == [("SH01",)]
