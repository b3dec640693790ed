"""A user who reads Chinese meets Chinese everywhere: API refusals, champion decisions, category values."""
from __future__ import annotations

import re
import uuid

import pytest
from flask_babel import force_locale

from tests.conftest import Browser
from tests.model_fixtures import record_model_version
from tests.rule_helpers import in_tenant
from tierwise.platform import tenancy
from tierwise.platform.audit import Actor, acting_as
from tierwise.platform.db import db
from tierwise.platform.web.promotion_notes import promotion_note
from tierwise.tenants.imports.runner import import_records

CHINESE = re.compile(r"[\u4e00-\u9fff]")

# (method, path, who): each refused for its own reason, in its own words
REFUSALS = [
    ("get", "/api/v1/models", "rm1"),
    ("get", "/api/v1/schedules", "rm1"),
    ("get", "/api/v1/rule-set/draft", "rm1"),
    ("delete", "/api/v1/rule-set/draft", "analyst"),
    ("post", "/api/v1/retier-runs", "analyst"),
    ("post", "/api/v1/customers/assignments", "analyst"),
    ("post", "/api/v1/tokens", "rm1"),  # a token may not mint tokens
]


@pytest.mark.parametrize(("method", "path", "who"), REFUSALS)
def test_api_refusals_answer_in_the_language_the_request_asks_for(client, issue_token, tenant_a, method, path, who):
    token = {"Authorization": f"Bearer {issue_token(tenant_a, who)}"}
    body = {"json": {"name": "x"}} if method == "post" else {}  # a body where none is taken is a 400 of its own
    chinese = getattr(client, method)(path, headers=token | {"Accept-Language": "zh-CN"}, **body)
    english = getattr(client, method)(path, headers=token | {"Accept-Language": "en"}, **body)
    assert chinese.status_code == english.status_code == 403
    assert CHINESE.search(chinese.json["error"]["message"]), chinese.json
    assert not CHINESE.search(english.json["error"]["message"]), english.json


def test_a_request_without_a_token_is_told_how_to_send_one_in_its_language(client):
    refused = client.get("/api/v1/me", headers={"Accept-Language": "zh-CN"})
    assert refused.status_code == 401 and "Authorization: Bearer" in refused.json["error"]["message"]
    assert CHINESE.search(refused.json["error"]["message"])


# The sentences ``tierwise.models.registry`` stores, as an English and a Chinese reader see them
FIRST = "first model of this tenant"
OTHER_HORIZON = ("kept version 1 as champion: it predicts over 90 days and this version over 180, so they cannot be "
                 "compared; promote this version to use its horizon")
ROLLBACK = "rollback by admin@bank.test: version 2: the scores drifted"
OVERRIDE = "override by admin@bank.test: validated"
REGISTRY_NOTES = [
    (FIRST, FIRST, "本机构的第一个模型"),
    (OTHER_HORIZON, OTHER_HORIZON,
     "保留版本 1 为冠军：它的预测期为 90 天，此版本为 180 天，二者无法比较；如需使用此版本的预测期，请将其设为冠军"),
    ("beat version 1 on the same validation data (roc_auc 0.8123 against 0.7012)",
     "beat version 1 on the same validation data (ROC AUC 0.8123 against 0.7012)",
     "在同一验证数据上胜过版本 1（ROC AUC 0.8123，对方 0.7012）"),
    ("kept version 3 as champion: rmse 1200.5000 against its undefined on the same validation data",
     "kept version 3 as champion: RMSE 1200.5000 against its undefined on the same validation data",
     "保留版本 3 为冠军：在同一验证数据上本版本未能胜出（均方根误差 RMSE：本版本 1200.5000，冠军 无定义）"),
    (ROLLBACK, ROLLBACK, "由 admin@bank.test 回滚：version 2: the scores drifted"),  # the reason as the admin typed it
    (OVERRIDE, OVERRIDE, "由 admin@bank.test 手动指定：validated"),
]


@pytest.mark.parametrize(("stored", "english", "chinese"), REGISTRY_NOTES)
def test_champion_decisions_are_shown_in_the_readers_language(app, stored, english, chinese):
    with app.test_request_context(), force_locale("zh_CN"):
        assert promotion_note(stored) == chinese
    with app.test_request_context(), force_locale("en"):
        assert promotion_note(stored) == english  # the metric by its label, as the metrics table names it


def test_every_sentence_the_registry_writes_is_translated(app):
    """A sentence added to (or reworded in) the registry without its translation fails here."""
    from tierwise.models.registry import NOTES
    from tierwise.platform.web.promotion_notes import SAID

    assert set(SAID) == set(NOTES)
    values = {"number": 3, "metric": "roc_auc", "ours": "0.8123", "theirs": "0.7012", "by": "a@b.test", "reason": "ok"}
    with app.test_request_context(), force_locale("zh_CN"):
        for kind, template in NOTES.items():
            stored = template.format(**values)
            assert promotion_note(stored) != stored, kind


def test_a_note_the_registry_did_not_write_is_shown_as_stored(app):
    with app.test_request_context(), force_locale("zh_CN"):
        assert promotion_note("imported from the old system") == "imported from the old system"


def test_the_chinese_models_page_says_why_the_first_model_is_champion(app, make_tenant):
    world = make_tenant("bank")
    with in_tenant(app, world):
        record_model_version(make_champion=True).promotion_note = FIRST
        db.session.commit()
    admin = Browser(app.test_client())
    admin.login(world)
    page = admin.get(f"/t/{world.slug}/models/", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    assert "本机构的第一个模型" in page.text and "first model of this tenant" not in page.text


def test_the_customer_page_shows_category_values_by_their_labels(app, browser, make_tenant):
    world = make_tenant("power_utility")
    with app.app_context(), tenancy.tenant_scope(world.tenant_id), acting_as(Actor(label="test")):
        import_records([{"external_id": "P01", "name": "体育中心", "facility_type": "large_venue",
                         "usage_category": "commercial", "illegal_use": "no"}], kind="customers")
        db.session.commit()
    browser.login(world)
    search = browser.get(f"/t/{world.slug}/customers/?q=P01").text
    customer_id = uuid.UUID(re.search(rf"/t/{world.slug}/customers/([0-9a-f-]{{36}})", search).group(1))
    chinese = browser.get(f"/t/{world.slug}/customers/{customer_id}", headers={"Accept-Language": "zh-CN"}).text
    assert "<dd>大型场馆</dd>" in chinese and "<dd>商业</dd>" in chinese and "<dd>否</dd>" in chinese  # not False
    assert "large_venue" not in chinese and ">commercial<" not in chinese
    english = browser.get(f"/t/{world.slug}/customers/{customer_id}", headers={"Accept-Language": "en"}).text
    assert "<dd>Large venue</dd>" in english and "<dd>Commercial</dd>" in english


def test_a_domain_error_is_said_in_the_language_of_who_caused_it_and_in_english_in_the_cli(
        app, client, issue_token, tenant_a, runner):
    token = {"Authorization": f"Bearer {issue_token(tenant_a, 'admin')}"}
    body = {"action": "nap", "cron": "0 3 * * *"}
    chinese = client.post("/api/v1/schedules", headers=token | {"Accept-Language": "zh-CN"}, json=body)
    english = client.post("/api/v1/schedules", headers=token | {"Accept-Language": "en"}, json=body)
    assert chinese.status_code == english.status_code == 400
    assert "未知的 action“nap”" in chinese.json["error"]["message"], chinese.json
    assert "unknown action 'nap'" in english.json["error"]["message"], english.json
    with app.app_context():  # no request: operators read English
        from tierwise.errors import ValidationError, parse_choice
        from tierwise.jobs.schedules import Action

        with pytest.raises(ValidationError, match="^unknown action 'nap' \\("):
            parse_choice(Action, "nap", field="action")


def test_a_program_asking_for_english_gets_english_headings_whatever_the_tokens_owner_reads(
        app, client, issue_token, tenant_a):
    from tierwise.platform.users import User, set_locale

    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id), acting_as(Actor(label="test")):
        set_locale(db.session.get(User, (tenant_a.tenant_id, tenant_a.users["rm1"].id)), "zh_CN")
        db.session.commit()
    token = {"Authorization": f"Bearer {issue_token(tenant_a, 'rm1')}"}

    def headings(**headers) -> str:
        exported = client.get("/api/v1/lists/all/export?format=csv", headers=token | headers)
        assert exported.status_code == 200, exported.get_data(as_text=True)
        return exported.data.decode("utf-8-sig").splitlines()[0]

    assert headings(**{"Accept-Language": "en"}).startswith("Customer id")
    assert CHINESE.search(headings())  # no header: the owner's language
    lists = client.get("/api/v1/lists", headers=token | {"Accept-Language": "en"}).json["items"]
    vip = next(item for item in lists if item["name"] == "vip")
    assert not CHINESE.search(vip["label"] + vip["description"]), vip  # the list names too
    assert CHINESE.search(client.get("/api/v1/lists", headers=token).json["items"][0]["label"])


def test_a_malformed_request_or_a_wrong_method_is_refused_in_the_readers_language(app, client, issue_token, tenant_a):
    token = {"Authorization": f"Bearer {issue_token(tenant_a, 'admin')}"}
    refused = client.delete("/api/v1/me", headers=token | {"Accept-Language": "zh-CN"})
    assert refused.status_code == 405 and CHINESE.search(refused.json["error"]["message"]), refused.json
    person = Browser(app.test_client())
    person.login(tenant_a, "admin")
    person.client.post(f"/t/{tenant_a.slug}/locale", data={"locale": "zh_CN", "next": "/"})
    page = person.client.put(f"/t/{tenant_a.slug}/tokens/")
    assert page.status_code == 405 and "Method Not Allowed" not in page.get_data(as_text=True)
