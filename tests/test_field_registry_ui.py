"""The Fields page: tenant admins add and edit the customer attributes their organisation keeps.

Everyone signed in reads the registry; only tenant admins change it, every change
lands in the audit log, and a field's name and type stay what they were created as.
"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.conftest import Browser
from tierwise.platform import tenancy
from tierwise.platform.audit import Actor, AuditEvent, acting_as
from tierwise.platform.db import db
from tierwise.tenants.fields import FieldDefinition, define_field


def registry(app, world) -> dict[str, dict]:
    """The tenant's fields as plain values, by name."""
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        return {f.name: {"id": f.id, "type": f.field_type, "group": f.field_group, "label_zh": f.label_zh,
                         "label_en": f.label_en, "description": f.description, "description_zh": f.description_zh,
                         "categories": f.categories}
                for f in db.session.scalars(sa.select(FieldDefinition))}


def audited(app, world, action: str) -> list[dict]:
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                                    .order_by(AuditEvent.occurred_at))
        return [{"target": e.target_id, "actor": e.actor_label, "details": e.details} for e in events]


def field_errors(html: str, name: str) -> list[str]:
    """The error messages shown under the form input called ``name``."""
    for block in re.findall(r'<div class="field has-error">(.*?)</div>', html, flags=re.S):
        if f'name="{name}"' in block:
            return [re.sub(r"&#3[49];", "'", m) for m in re.findall(r'<p class="error">(.*?)</p>', block)]
    return []


@pytest.fixture
def admin(browser, tenant_a) -> Browser:
    browser.login(tenant_a, "admin")
    return browser


def test_an_admin_adds_a_field_everyone_then_sees_and_the_audit_log_records_it(app, admin, tenant_a):
    site = f"/t/{tenant_a.slug}/fields"
    response = admin.submit(f"{site}/new", {
        "name": "vip_segment", "field_type": "category", "field_group": "value", "label_zh": "贵宾分层",
        "label_en": "VIP segment", "description": "Segment from the wealth team.", "categories": "Gold\nsilver, bronze"})
    assert response.status_code == 302

    added = registry(app, tenant_a)["vip_segment"]
    assert {k: v for k, v in added.items() if k != "id"} == {
        "type": "category", "group": "value", "label_zh": "贵宾分层", "label_en": "VIP segment",
        "description": "Segment from the wealth team.", "description_zh": "",
        "categories": ["gold", "silver", "bronze"]}
    assert audited(app, tenant_a, "field.defined")[-1] == {
        "target": "vip_segment", "actor": tenant_a.email("admin"), "details": {"type": "category", "group": "value"}}

    rm = Browser(app.test_client())
    rm.login(tenant_a, "rm1")
    listing = rm.get(f"{site}/")
    assert listing.status_code == 200
    assert "vip_segment" in listing.text and "贵宾分层" in listing.text and "gold, silver, bronze" in listing.text
    assert "aum_avg_3m" in listing.text  # the bank template's fields are listed too


def test_an_admin_edits_labels_group_description_and_categories_but_never_name_or_type(app, admin, tenant_a):
    occupation = registry(app, tenant_a)["occupation"]
    url = f"/t/{tenant_a.slug}/fields/{occupation['id']}"
    page = admin.get(url)
    assert "cannot change once a field exists" in page.text

    response = admin.submit(url, {
        "field_group": "risk", "label_zh": "职业", "label_en": "Occupation", "description": "From KYC.",
        "description_zh": "来自客户尽职调查。", "categories": "business_owner\nexecutive\nretired",
        "name": "job", "field_type": "text"})  # a forged name and type are ignored
    assert response.status_code == 302

    after = registry(app, tenant_a)
    assert "job" not in after
    assert {k: v for k, v in after["occupation"].items() if k != "id"} == {
        "type": "category", "group": "risk", "label_zh": "职业", "label_en": "Occupation",
        "description": "From KYC.", "description_zh": "来自客户尽职调查。",
        "categories": ["business_owner", "executive", "retired"]}
    listed = admin.get(f"/t/{tenant_a.slug}/fields/", headers={"Accept-Language": "en"}).text
    assert 'Business owner <code class="muted">business_owner</code>' in listed  # the label, the code beside it
    assert ", retired" in listed or "retired</" in listed  # a code without a label, as it is
    event = audited(app, tenant_a, "field.updated")[-1]
    assert event["target"] == "occupation" and event["actor"] == tenant_a.email("admin")
    assert event["details"]["field_group"] == ["profile", "risk"]
    assert event["details"]["categories"][1] == ["business_owner", "executive", "retired"]
    assert set(event["details"]) == {"field_group", "label_zh", "label_en", "description", "description_zh",
                                     "categories"}


def test_saving_an_unchanged_field_writes_no_audit_event(app, admin, tenant_a):
    loan = registry(app, tenant_a)["loan_balance"]
    before = len(audited(app, tenant_a, "field.updated"))
    response = admin.submit(f"/t/{tenant_a.slug}/fields/{loan['id']}", {
        "field_group": loan["group"], "label_zh": loan["label_zh"], "label_en": loan["label_en"],
        "description": loan["description"]})
    assert response.status_code == 302
    assert "Nothing changed" in admin.get(response.location).text
    assert len(audited(app, tenant_a, "field.updated")) == before


@pytest.mark.parametrize("who", ["rm1", "analyst"])
def test_rms_and_analysts_read_the_registry_but_cannot_change_it(app, tenant_a, who):
    person = Browser(app.test_client())
    person.login(tenant_a, who)
    site = f"/t/{tenant_a.slug}/fields"
    before = registry(app, tenant_a)
    listing = person.get(f"{site}/")
    assert listing.status_code == 200 and "occupation" in listing.text
    assert f"{site}/new" not in listing.text and f"{site}/{before['occupation']['id']}" not in listing.text

    assert person.get(f"{site}/new").status_code == 403
    assert person.submit(f"{site}/", {"name": "sneaky", "field_type": "text", "field_group": "profile"},
                         action=f"{site}/new").status_code == 403
    assert person.submit(f"{site}/", {"field_group": "risk", "label_en": "Hijacked"},
                         action=f"{site}/{before['occupation']['id']}").status_code == 403
    assert registry(app, tenant_a) == before


@pytest.mark.parametrize("name,message", [
    ("Risk Score", "'Risk Score' is not a field name"),
    ("9lives", "'9lives' is not a field name"),
    ("status", "'status' is a built-in customer column"),
    ("and", "'and' is reserved by the rule language: choose another name, e.g. 'and_value'"),
    ("amount", "'amount' is reserved by the rule language: choose another name, e.g. 'amount_value'"),
    ("aum_avg_3m", "field 'aum_avg_3m' already exists"),
])
def test_a_bad_field_name_is_refused_with_the_message_on_the_name_input(app, admin, tenant_a, name, message):
    before = registry(app, tenant_a)
    response = admin.submit(f"/t/{tenant_a.slug}/fields/new",
                            {"name": name, "field_type": "number", "field_group": "value", "label_en": "X"})
    assert response.status_code == 400
    assert any(message in error for error in field_errors(response.text, "name")), response.text
    assert registry(app, tenant_a) == before


def test_categories_on_a_field_that_is_not_a_category_are_refused_on_the_categories_input(app, admin, tenant_a):
    response = admin.submit(f"/t/{tenant_a.slug}/fields/new", {
        "name": "segment_score", "field_type": "number", "field_group": "value", "categories": "a, b"})
    assert response.status_code == 400
    assert any("only category fields have categories" in e for e in field_errors(response.text, "categories"))
    assert "segment_score" not in registry(app, tenant_a)


def test_the_same_category_twice_is_refused_when_editing(app, admin, tenant_a):
    occupation = registry(app, tenant_a)["occupation"]
    response = admin.submit(f"/t/{tenant_a.slug}/fields/{occupation['id']}", {
        "field_group": "profile", "label_zh": "职业", "label_en": "Occupation", "categories": "executive\nExecutive"})
    assert response.status_code == 400
    assert any("'executive' is listed more than once" in e for e in field_errors(response.text, "categories"))
    assert registry(app, tenant_a)["occupation"] == occupation


def test_another_tenants_field_is_not_found_and_stays_unchanged(app, admin, tenant_a, tenant_b):
    with app.app_context(), tenancy.tenant_scope(tenant_b.tenant_id), acting_as(Actor(label="test")):
        theirs = define_field(name="grid_secret", field_type="text", label_en="Theirs")
        db.session.commit()
        their_id = theirs.id
    url = f"/t/{tenant_a.slug}/fields/{their_id}"
    assert admin.get(url).status_code == 404
    assert admin.submit(f"/t/{tenant_a.slug}/fields/", {"field_group": "risk", "label_en": "Mine now"},
                        action=url).status_code == 404
    assert "grid_secret" not in admin.get(f"/t/{tenant_a.slug}/fields/").text
    assert registry(app, tenant_b)["grid_secret"]["label_en"] == "Theirs"
