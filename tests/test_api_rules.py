"""Tiering rules through the REST API, as an integrator (or the editor) meets them.

A tenant admin drafts, validates, previews and publishes a rule set, rolls back,
and retiers; analysts preview and read tenant-wide counts; relationship managers
read the rules and the tiers of their own book only.  A rule that cannot be used
is a 422 naming the rule and the position in it; another tenant's ids are 404.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from tests.conftest import make_settings
from tests.rule_helpers import in_tenant, publish_and_retier
from tierwise.platform.api.serializers import (CUSTOMER_TIER_FIELDS, PREVIEW_FIELDS, RETIER_RUN_FIELDS,
                                               RULE_SET_VERSION_DETAIL_FIELDS, RULE_SET_VERSION_FIELDS)
from tierwise.platform.audit import AuditEvent
from tierwise.platform.db import db
from tierwise.tenants.customers import Customer
from tierwise.tenants.imports.runner import import_records
from tierwise.tenants.rules import versions
from tierwise.tenants.rules.assignments import RetierRun

PUBLIC = '["social_media", "news_media", "regulator_hotline"]'
CRITICAL = 'facility_type in ["hospital"] and outage_consequence >= 4'
COMPLAINING = f"count(complaints, 90d, channel in {PUBLIC}) >= 2"


def rule_set(vip: str = "sum(amount, 365d) >= 10000", colour: str = "#7c3aed") -> dict:
    return {"dimensions": [
        {"code": "value", "tiers": [{"code": "vip", "rule": vip, "colour": colour},
                                    {"code": "general", "fallback": True}]},
        {"code": "high_risk", "tiers": [{"code": "critical", "rule": CRITICAL}, {"code": "normal", "fallback": True}]},
        {"code": "opinion_risk", "tiers": [{"code": "alert", "rule": COMPLAINING}, {"code": "calm", "fallback": True}]}]}


@pytest.fixture
def utility(app, make_tenant):
    """A power utility: rm1 looks after a hospital and a shop, rm2 after a steel works that bills a lot."""
    world = make_tenant("power_utility")
    month_ago = (date.today() - timedelta(days=30)).isoformat()
    with in_tenant(app, world):
        import_records([
            {"external_id": "H1", "name": "市第一医院", "facility_type": "hospital", "outage_consequence": "5",
             "rm_email": world.email("rm1")},
            {"external_id": "S1", "name": "便利店", "facility_type": "other", "outage_consequence": "1",
             "rm_email": world.email("rm1")},
            {"external_id": "F1", "name": "钢铁厂", "facility_type": "other", "outage_consequence": "2",
             "rm_email": world.email("rm2")},
        ], kind="customers")
        import_records([{"customer": customer, "occurred_at": month_ago, "amount": str(amount)}
                        for customer, amount in (("H1", 200), ("S1", 900), ("F1", 60000))], kind="activity")
        db.session.commit()
    return world


@pytest.fixture
def api(client, issue_token):
    """``api(world, who).get(path)`` etc.: calls as that user, with one API token per user."""
    tokens: dict[tuple[str, str], str] = {}

    class Caller:
        def __init__(self, world, who):
            key = (world.slug, who)
            if key not in tokens:
                tokens[key] = issue_token(world, who)
            self.headers = {"Authorization": f"Bearer {tokens[key]}"}

        def __getattr__(self, method):
            return lambda path, **kwargs: client.open(f"/api/v1{path}", method=method.upper(), headers=self.headers,
                                                      **kwargs)

    return Caller


def retiered(app, world):
    """Publish ``rule_set()`` and retier as of now (the fixture's bills are a month old)."""
    return publish_and_retier(app, world, rule_set(), as_of=datetime.now(timezone.utc))


def customer_id(app, world, external_id: str) -> str:
    with in_tenant(app, world):
        return str(db.session.scalar(sa.select(Customer.id).where(Customer.external_id == external_id)))


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.json["error"]


# --- the admin's flow -----------------------------------------------------------

def test_an_admin_drafts_validates_previews_publishes_and_retiers(app, api, utility):
    admin = api(utility, "admin")
    saved = admin.put("/rule-set/draft", json={"definition": rule_set(), "note": "VIP from 10k a year"})
    assert saved.status_code == 200 and set(saved.json) == set(RULE_SET_VERSION_DETAIL_FIELDS)
    assert saved.json["number"] is None and saved.json["note"] == "VIP from 10k a year"
    assert admin.get("/rule-set/draft").json["definition"] == saved.json["definition"]

    assert admin.post("/rule-set/validate", json={"definition": rule_set()}).json == {
        "ok": True, "dimensions": 3, "rules": 3}

    preview = admin.post("/rule-set/preview")  # no body: the draft
    assert preview.status_code == 200 and set(preview.json) == set(PREVIEW_FIELDS)
    value = next(d for d in preview.json["dimensions"] if d["dimension"] == "value")
    assert {t["tier"]: t["customers"] for t in value["tiers"]} == {"vip": 1, "general": 2}
    assert admin.get("/rule-set").json["number"] == 1  # a preview publishes nothing

    published = admin.post("/rule-set/draft/publish")
    assert published.status_code == 201 and published.json["number"] == 2
    assert published.headers["Location"].endswith(f"/api/v1/rule-set/versions/{published.json['id']}")
    assert error_of(admin.get("/rule-set/draft"), 404)["code"] == "not_found"
    assert admin.get("/rule-set").json["id"] == published.json["id"]

    started = admin.post("/retier-runs")
    assert started.status_code == 202 and set(started.json) == set(RETIER_RUN_FIELDS)
    assert started.json["status"] == "succeeded" and started.json["customers"] == 3  # in-process without Redis
    assert started.json["rule_version_id"] == published.json["id"]
    assert admin.get(started.headers["Location"].removeprefix("/api/v1")).json == started.json
    assert started.json["id"] in [run["id"] for run in admin.get("/retier-runs").json["items"]]

    distribution = {d["dimension"]: {t["tier"]: t["customers"] for t in d["tiers"]}
                    for d in admin.get("/tiers").json["items"]}
    assert distribution["value"] == {"vip": 1, "general": 2}
    assert distribution["high_risk"] == {"critical": 1, "normal": 2}

    factory = admin.get(f"/customers/{customer_id(app, utility, 'F1')}/tiers").json
    value_tier = next(t for t in factory["tiers"] if t["dimension"] == "value")
    assert set(value_tier) == set(CUSTOMER_TIER_FIELDS)
    assert (value_tier["tier"], value_tier["basis"], value_tier["version"]) == ("vip", "rule", 2)
    assert value_tier["rule"] == "sum(amount, 365d) >= 10000"
    assert {(p["dimension"], p["tier"], p["valid_to"]) for p in factory["history"]} >= {("value", "vip", None)}


def test_a_version_shows_what_it_changed_and_an_older_one_can_be_restored(api, utility):
    admin = api(utility, "admin")
    first = admin.post("/rule-set", json={"definition": rule_set(), "note": "ours"}).json
    second = admin.post("/rule-set", json={"definition": rule_set(vip="sum(amount, 365d) >= 50000")}).json
    assert (first["number"], second["number"]) == (2, 3)

    listed = admin.get("/rule-set/versions").json["items"]
    assert [v["number"] for v in listed] == [3, 2, 1] and set(listed[0]) == set(RULE_SET_VERSION_FIELDS)
    shown = admin.get(f"/rule-set/versions/{second['id']}").json
    assert shown["diff"] == [{"change": "rule", "dimension": "value", "tier": "vip",
                              "before": "sum(amount, 365d) >= 10000", "after": "sum(amount, 365d) >= 50000"}]
    assert admin.get(f"/rule-set/versions/{listed[-1]['id']}").json["diff"][0]["change"] == "created"

    restored = admin.post(f"/rule-set/versions/{first['id']}/rollback")
    assert restored.status_code == 201
    assert (restored.json["number"], restored.json["restored_from"]) == (4, 2)
    assert restored.json["definition"] == first["definition"]
    in_force = error_of(admin.post(f"/rule-set/versions/{restored.json['id']}/rollback"), 409)
    assert in_force["code"] == "conflict"
    assert error_of(admin.post("/rule-set", json={"definition": rule_set()}), 409)["code"] == "conflict"


def test_publishing_a_draft_identical_to_the_rules_in_force_is_a_conflict(api, utility):
    admin = api(utility, "admin")
    in_force = admin.get("/rule-set").json
    admin.put("/rule-set/draft", json={"definition": in_force["definition"]})
    assert error_of(admin.post("/rule-set/draft/publish"), 409)["code"] == "conflict"
    assert admin.get("/rule-set").json["number"] == 1


def test_a_discarded_draft_is_gone(api, utility):
    admin = api(utility, "admin")
    admin.put("/rule-set/draft", json={"definition": rule_set()})
    assert admin.delete("/rule-set/draft").status_code == 204
    assert error_of(admin.get("/rule-set/draft"), 404)["code"] == "not_found"
    assert error_of(admin.delete("/rule-set/draft"), 404)["code"] == "not_found"
    assert error_of(admin.post("/rule-set/draft/publish"), 404)["code"] == "not_found"
    assert error_of(admin.post("/rule-set/preview", json={}), 404)["code"] == "not_found"


def test_rule_set_changes_through_the_api_are_audited_with_their_author(app, api, utility):
    admin = api(utility, "admin")
    admin.put("/rule-set/draft", json={"definition": rule_set()})
    admin.post("/rule-set/draft/publish")
    admin.post("/retier-runs")
    with in_tenant(app, utility):
        actions = db.session.execute(sa.select(AuditEvent.action, AuditEvent.actor_label)
                                     .where(AuditEvent.action.like("rules.%"))).all()
    assert {"rules.draft_saved", "rules.published", "rules.retiered"} <= {action for action, _ in actions}
    assert (("rules.published", utility.email("admin"))) in actions


# --- errors an editor can point at ------------------------------------------------

@pytest.mark.parametrize("method, path", [("post", "/rule-set/validate"), ("put", "/rule-set/draft"),
                                          ("post", "/rule-set"), ("post", "/rule-set/preview")])
def test_a_rule_naming_an_unknown_field_is_422_with_the_rule_and_the_position(api, utility, method, path):
    admin = api(utility, "admin")
    response = getattr(admin, method)(path, json={"definition": rule_set(vip="sum(amount, 365d) >= 10 and arrers > 0")})
    error = error_of(response, 422)
    assert error["code"] == "invalid_rule" and error["field"] == "definition.value.vip.rule"
    assert error["position"] == len("sum(amount, 365d) >= 10 and ")
    assert "arrers" in error["message"]
    assert error_of(admin.get("/rule-set/draft"), 404)  # nothing was saved
    assert admin.get("/rule-set").json["number"] == 1  # nor published


def test_every_bad_rule_of_a_rule_set_is_reported_at_once(api, utility):
    definition = rule_set(vip="sum(amount, 365d) >= 10 and arrers > 0")
    definition["dimensions"][2]["tiers"][0]["rule"] = "count(complaints, 90d) >= "
    error = error_of(api(utility, "admin").put("/rule-set/draft", json={"definition": definition}), 422)
    assert error["field"] == "definition.value.vip.rule" and "arrers" in error["message"]
    [other] = error["more"]  # the opinion-risk rule too, not only after the first is fixed
    assert other["field"] == "definition.opinion_risk.alert.rule" and other["position"] == len("count(complaints, 90d) >=")
    assert "more" not in error_of(api(utility, "admin").put(
        "/rule-set/draft", json={"definition": rule_set(vip="arrers > 0")}), 422)


def test_a_misplaced_tier_setting_is_422_naming_the_setting(api, utility):
    response = api(utility, "admin").post("/rule-set/validate", json={"definition": rule_set(colour="purple")})
    error = error_of(response, 422)
    assert error == {"code": "invalid", "field": "definition.value.vip.colour", "message": error["message"]}


def test_an_unknown_key_at_the_top_of_a_rule_set_is_faulted_at_its_path_under_definition(api, utility):
    definition = {**rule_set(), "bogus": 1}
    error = error_of(api(utility, "admin").post("/rule-set/validate", json={"definition": definition}), 422)
    assert error["field"] == "definition.bogus", error  # a path a program can follow, not "definition.rule set.bogus"
    assert error["message"].startswith("unknown key 'bogus' (allowed: dimensions, value_measure)"), error


@pytest.mark.parametrize("body, field", [
    ("not json", "body"), (["a list"], "body"), ({"definition": "value: vip"}, "definition"), ({}, "definition"),
    ({"definition": {"dimensions": []}, "notes": "typo"}, "notes"), ({"definition": rule_set(), "note": 7}, "note"),
])
def test_a_malformed_request_is_400_naming_what_is_wrong(api, utility, body, field):
    admin = api(utility, "admin")
    sent = {"data": body, "content_type": "application/json"} if isinstance(body, str) else {"json": body}
    error = error_of(admin.put("/rule-set/draft", **sent), 400)
    assert (error["code"], error["field"]) == ("invalid", field)


# --- who may do what ----------------------------------------------------------------

WRITES = [("put", "/rule-set/draft"), ("delete", "/rule-set/draft"), ("post", "/rule-set/draft/publish"),
          ("post", "/rule-set"), ("post", "/rule-set/versions/{version}/rollback"), ("post", "/retier-runs")]
WITH_BODY = {("put", "/rule-set/draft"), ("post", "/rule-set")}  # the others take none: a body is a 400 of its own


@pytest.mark.parametrize("who", ["analyst", "rm1"])
@pytest.mark.parametrize("method, path", WRITES)
def test_only_tenant_admins_change_the_rules_or_retier(app, api, utility, who, method, path):
    admin = api(utility, "admin")
    admin.put("/rule-set/draft", json={"definition": rule_set()})
    version = admin.get("/rule-set").json["id"]
    body = {"json": {"definition": rule_set()}} if (method, path) in WITH_BODY else {}
    response = getattr(api(utility, who), method)(path.format(version=version), **body)
    assert error_of(response, 403)["code"] == "forbidden"
    assert admin.get("/rule-set").json["id"] == version and admin.get("/rule-set/draft").status_code == 200
    with in_tenant(app, utility):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RetierRun)) == 0


def test_an_rm_reads_the_rules_in_force_and_the_distribution_but_not_the_history_or_drafts(app, api, utility):
    retiered(app, utility)
    admin, rm = api(utility, "admin"), api(utility, "rm1")
    admin.put("/rule-set/draft", json={"definition": rule_set(vip="sum(amount, 365d) >= 1")})
    in_force = rm.get("/rule-set").json
    assert in_force["number"] == 2 and in_force["definition"]["dimensions"]
    assert rm.get("/tiers").status_code == 200
    for response in (rm.get("/rule-set/versions"), rm.get(f"/rule-set/versions/{in_force['id']}"),
                     rm.get("/rule-set/draft"), rm.post("/rule-set/validate", json={"definition": rule_set()}),
                     rm.post("/rule-set/preview", json={"definition": rule_set()}), rm.post("/rule-set/preview")):
        assert error_of(response, 403)["code"] == "forbidden"


def counted(distribution: dict) -> dict[str, int]:
    """Customers counted in each dimension: in a tier, in a tier no longer defined, or unclassified."""
    return {d["dimension"]: sum(t["customers"] for t in d["tiers"]) + d["other"] + d["unclassified"]
            for d in distribution["items"]}


def test_an_rm_counts_the_tiers_of_their_book_and_not_the_whole_tenants_runs(app, api, utility):
    run = retiered(app, utility)
    admin, rm = api(utility, "admin"), api(utility, "rm1")
    everyone, book = counted(admin.get("/tiers").json), counted(rm.get("/tiers").json)
    assert set(everyone.values()) == {3} and set(book.values()) == {2}  # rm1 has the hospital and the shop
    assert admin.get(f"/retier-runs/{run.id}").json["customers"] == 3
    never_there = "01900000-0000-7000-8000-000000000000"
    for response in (rm.get("/retier-runs"), rm.get(f"/retier-runs/{run.id}"), rm.get(f"/retier-runs/{never_there}")):
        assert error_of(response, 403)["code"] == "forbidden"  # the same answer whether the run exists or not


def test_an_analyst_reads_the_history_and_the_draft_validates_and_previews(app, api, utility):
    retiered(app, utility)
    api(utility, "admin").put("/rule-set/draft", json={"definition": rule_set(vip="sum(amount, 365d) >= 1")})
    analyst = api(utility, "analyst")
    assert [v["number"] for v in analyst.get("/rule-set/versions").json["items"]] == [2, 1]
    assert analyst.get("/rule-set/draft").json["number"] is None
    assert analyst.post("/rule-set/validate", json={"definition": rule_set()}).json["ok"] is True
    value = next(d for d in analyst.post("/rule-set/preview").json["dimensions"] if d["dimension"] == "value")
    assert {t["tier"]: t["customers"] for t in value["tiers"]} == {"vip": 3, "general": 0}
    assert {(m["from"], m["to"]): m["customers"] for m in value["matrix"]} == {("vip", "vip"): 1, ("general", "vip"): 2}
    assert [c["external_id"] for c in value["moving_up"]] == ["S1", "H1"]  # the most valuable first


def test_an_rm_sees_the_tiers_of_their_own_customers_only(app, api, utility):
    retiered(app, utility)
    rm = api(utility, "rm1")
    hospital = rm.get(f"/customers/{customer_id(app, utility, 'H1')}/tiers")
    assert {t["dimension"]: t["tier"] for t in hospital.json["tiers"]}["high_risk"] == "critical"
    someone_elses = rm.get(f"/customers/{customer_id(app, utility, 'F1')}/tiers")
    assert error_of(someone_elses, 404)["code"] == "not_found"


# --- tenants ----------------------------------------------------------------------------

def test_another_tenants_versions_runs_and_customers_are_not_found(app, api, utility, make_tenant):
    theirs = make_tenant("power_utility")
    their_run = retiered(app, theirs)
    with in_tenant(app, theirs):
        their_version = versions.current_version().id
        their_customer = db.session.scalar(sa.select(Customer.id))
    admin = api(utility, "admin")
    for response in (admin.get(f"/rule-set/versions/{their_version}"),
                     admin.post(f"/rule-set/versions/{their_version}/rollback"),
                     admin.get(f"/retier-runs/{their_run.id}"),
                     admin.get(f"/customers/{their_customer}/tiers"),
                     admin.get(f"/rule-set/versions/{uuid.uuid4()}")):
        assert error_of(response, 404)["code"] == "not_found"
    assert their_run.id not in [run["id"] for run in admin.get("/retier-runs").json["items"]]
    with in_tenant(app, theirs):
        assert versions.current_version().id == their_version  # the rollback changed nothing of theirs


def test_the_draft_is_not_a_published_version(api, utility):
    admin = api(utility, "admin")
    draft = admin.put("/rule-set/draft", json={"definition": rule_set()}).json
    assert error_of(admin.get(f"/rule-set/versions/{draft['id']}"), 404)["code"] == "not_found"
    assert error_of(admin.post(f"/rule-set/versions/{draft['id']}/rollback"), 404)["code"] == "not_found"


# --- background retier --------------------------------------------------------------------

def test_a_second_retier_while_one_is_queued_is_a_conflict(database_urls, tmp_path, redis_url, issue_token, utility):
    from rq import Queue, SimpleWorker

    from tierwise.jobs.queue import redis_connection
    from tierwise.platform.app import create_app

    rq_app = create_app(settings=make_settings(database_urls, tmp_path, TIERWISE_REDIS_URL=redis_url))
    client, headers = rq_app.test_client(), {"Authorization": f"Bearer {issue_token(utility, 'admin')}"}
    queued = client.post("/api/v1/retier-runs", headers=headers)
    assert queued.status_code == 202 and queued.json["status"] == "queued"
    refused = client.post("/api/v1/retier-runs", headers=headers)
    assert error_of(refused, 409)["code"] == "conflict" and "already queued" in error_of(refused, 409)["message"]
    with rq_app.app_context():
        connection = redis_connection()
        SimpleWorker([Queue("long", connection=connection)], connection=connection).work(burst=True)
    runs = {run["id"]: run for run in client.get("/api/v1/retier-runs", headers=headers).json["items"]}
    assert runs[queued.json["id"]]["status"] == "succeeded" and runs[queued.json["id"]]["customers"] == 3
    assert list(runs) == [queued.json["id"]]  # the refused attempt is not a run: the answer said why


# --- the contract -----------------------------------------------------------------------------

def test_the_openapi_document_lists_the_rules_routes_and_the_error_position(client):
    document = client.get("/api/v1/openapi.json").json
    expected = {"/api/v1/rule-set": {"get", "post"}, "/api/v1/rule-set/versions": {"get"},
                "/api/v1/rule-set/versions/{version_id}": {"get"},
                "/api/v1/rule-set/versions/{version_id}/rollback": {"post"},
                "/api/v1/rule-set/draft": {"get", "put", "delete"}, "/api/v1/rule-set/draft/publish": {"post"},
                "/api/v1/rule-set/validate": {"post"}, "/api/v1/rule-set/preview": {"post"},
                "/api/v1/retier-runs": {"get", "post"}, "/api/v1/retier-runs/{retier_run_id}": {"get"},
                "/api/v1/tiers": {"get"}, "/api/v1/customers/{customer_id}/tiers": {"get"}}
    for path, methods in expected.items():
        assert set(document["paths"][path]) == methods, path
    assert "position" in document["components"]["schemas"]["Error"]["properties"]["error"]["properties"]
    assert "422" in document["paths"]["/api/v1/rule-set/draft"]["put"]["responses"]


def test_a_rule_error_is_explained_in_the_language_the_request_asks_for(client, issue_token, utility):
    token = {"Authorization": f"Bearer {issue_token(utility, 'admin')}"}
    body = {"definition": rule_set(vip="sum(amount, 365d) >= 10 and arrers > 0")}
    chinese = client.post("/api/v1/rule-set/validate", json=body, headers=token | {"Accept-Language": "zh-CN"})
    english = client.post("/api/v1/rule-set/validate", json=body, headers=token | {"Accept-Language": "en"})
    said = chinese.json["error"]["message"]
    assert chinese.json["error"]["position"] == english.json["error"]["position"]
    assert "未知字段“arrers”" in said and "arrears" in said, said  # the field names stay as written
    assert "unknown field 'arrers'" in english.json["error"]["message"]


@pytest.mark.parametrize(("language", "facility", "consequence"), [
    ("en", '<span title="facility_type">Facility type</span> = Hospital',
     '<span title="outage_consequence">Outage consequence severity (1-5)</span> = 5'),
    ("zh-CN", '<span title="facility_type">设施类型</span> = 医院',
     '<span title="outage_consequence">停电后果严重程度（1-5）</span> = 5')])
def test_the_customer_page_names_a_tier_reasons_fields_and_categories_by_their_labels(app, utility, language,
                                                                                       facility, consequence):
    from tests.conftest import Browser

    retiered(app, utility)
    hospital = customer_id(app, utility, "H1")
    admin = Browser(app.test_client())
    admin.login(utility, "admin")
    page = admin.get(f"/t/{utility.slug}/customers/{hospital}", headers={"Accept-Language": language}).text
    assert facility in page and consequence in page  # as the profile names them, not "facility_type = hospital"


@pytest.mark.parametrize("method, path", [("post", "/rule-set/validate"), ("put", "/rule-set/draft"),
                                          ("post", "/rule-set"), ("post", "/rule-set/preview")])
def test_a_rule_set_sent_in_the_body_is_faulted_at_its_place_under_definition(api, utility, method, path):
    """The body holds the rule set under `definition` (as the document's request body says), so an error
    in it names `definition.dimensions`, not `dimensions`, which the body does not have."""
    admin = api(utility, "admin")
    only_value = {"dimensions": rule_set()["dimensions"][:1]}  # the built-in high_risk and opinion_risk are missing
    error = error_of(getattr(admin, method)(path, json={"definition": only_value}), 422)
    assert error["field"] == "definition.dimensions" and "high_risk" in error["message"], error
    document = admin.get("/openapi.json").json
    body = document["paths"][f"/api/v1{path}"][method]["requestBody"]["content"]["application/json"]["schema"]
    assert "definition" in body["properties"]


def test_rolling_back_to_the_version_in_force_is_a_conflict_on_the_version_asked_for(api, utility):
    admin = api(utility, "admin")
    in_force = admin.get("/rule-set").json
    error = error_of(admin.post(f"/rule-set/versions/{in_force['id']}/rollback"), 409)
    assert (error["code"], error["field"]) == ("conflict", "version_id")
    assert admin.get("/rule-set").json["id"] == in_force["id"]
