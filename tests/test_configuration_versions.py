"""A tenant's fields and rule sets, as every process shows them right after they change.

List pages and exports keep the field labels and the rule set in force in the
process, keyed by the tenant's configuration version, which database triggers
renew whenever either changes, whoever changes it.
"""
from __future__ import annotations

import sqlalchemy as sa

from tests.rule_helpers import in_tenant, publish_and_retier
from tierwise.platform import tenancy
from tierwise.platform.audit import Actor, acting_as
from tierwise.platform.db import db
from tierwise.platform.tenant import Tenant
from tierwise.tenants.fields import FieldDefinition, field_labels, update_field
from tierwise.tenants.imports.runner import import_records
from tierwise.tenants.rules.versions import definition_in_force, publish


def rules(critical_label: str = "Critical") -> dict:
    return {"dimensions": [
        {"code": "value", "tiers": [{"code": "key", "rule": "sum(amount, 365d) >= 1000"},
                                    {"code": "basic", "fallback": True}]},
        {"code": "high_risk", "tiers": [{"code": "critical", "label_en": critical_label, "label_zh": "关键",
                                         "rule": 'facility_type == "hospital"'},
                                        {"code": "standard", "fallback": True}]},
        {"code": "opinion_risk", "tiers": [{"code": "watch", "rule": "count(complaints, 365d) >= 1"},
                                           {"code": "none", "fallback": True}]}]}


def hospital_list(client, token) -> dict:
    response = client.get("/api/v1/lists/high_risk/customers", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    [row] = response.get_json()["items"]
    return row


def version_of(app, world):
    with in_tenant(app, world):
        return db.session.get(Tenant, world.tenant_id).config_version


def test_a_list_says_a_fields_new_label_on_the_very_next_request(app, client, make_tenant, issue_token):
    world = make_tenant("power_utility")
    with app.app_context(), tenancy.tenant_scope(world.tenant_id), acting_as(Actor(label="test")):
        import_records([{"external_id": "H1", "name": "市第一医院", "facility_type": "hospital"}], kind="customers")
        db.session.commit()
    publish_and_retier(app, world, rules())
    token = issue_token(world)
    before = hospital_list(client, token)["reason"]
    assert "Facility type" in str(before)
    with in_tenant(app, world):
        facility = db.session.scalar(sa.select(FieldDefinition).where(FieldDefinition.name == "facility_type"))
        update_field(facility, field_group=facility.field_group, label_zh=facility.label_zh,
                     label_en="Kind of premises", description=facility.description, categories=facility.categories)
        db.session.commit()
    after = hospital_list(client, token)["reason"]
    assert "Kind of premises" in str(after) and "Facility type" not in str(after)


def test_a_rule_set_published_or_a_field_changed_by_any_means_renews_the_tenants_configuration_version(
        app, make_tenant):
    world, other = make_tenant("power_utility"), make_tenant("bank")
    first, others = version_of(app, world), version_of(app, other)
    assert first is not None
    publish_and_retier(app, world, rules())
    published = version_of(app, world)
    assert published != first
    with in_tenant(app, world):  # written as a migration or psql would: no ORM object involved
        db.session.execute(sa.text("UPDATE field_definitions SET label_en = 'Premises' "
                                   "WHERE tenant_id = :t AND name = 'facility_type'"), {"t": world.tenant_id})
        db.session.commit()
    assert version_of(app, world) not in (first, published)
    assert version_of(app, other) == others  # another tenant's pages keep what they read


def test_a_transaction_that_publishes_reads_its_own_rule_set_not_the_one_kept(app, make_tenant):
    world = make_tenant("power_utility")
    publish_and_retier(app, world, rules())
    with in_tenant(app, world):
        tenant = db.session.get(Tenant, world.tenant_id)  # held, as a request holds it (g.tenant), before the publish
        assert tenant.config_version is not None
        assert definition_in_force().dimension("high_risk").tiers[0].label_en == "Critical"
        publish(rules("Life-critical"), author="test")  # renews the version in the database, not in that row
        assert definition_in_force().dimension("high_risk").tiers[0].label_en == "Life-critical"


def test_a_change_rolled_back_is_never_kept_for_the_next_request(app, make_tenant):
    world = make_tenant("pharma_distributor")
    with in_tenant(app, world):
        tenant = db.session.get(Tenant, world.tenant_id)
        assert field_labels()["dso_days"].label_en == "Days sales outstanding"  # kept for this version
        dso = db.session.scalar(sa.select(FieldDefinition).where(FieldDefinition.name == "dso_days"))
        dso.label_en = "Not committed"  # pending, not flushed: a read would flush it under the kept version
        assert field_labels()["dso_days"].label_en == "Not committed"  # this transaction sees its own change
        db.session.rollback()
        tenant = db.session.get(Tenant, world.tenant_id)
        assert tenant.config_version is not None
        assert field_labels()["dso_days"].label_en == "Days sales outstanding"
