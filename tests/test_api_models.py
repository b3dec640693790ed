"""The churn and value models through the REST API, as an integrator meets them.

Admins and analysts read the champions, each version's evidence and the runs;
admins train, score and promote (a reason is required); anyone reads the scores
of the customers they may see, with reasons labelled in the request's language.
Another tenant's versions and runs are 404, and no response carries the model
itself.
"""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from tests.model_fixtures import fast_training, record_model_run, record_model_version, trained_world
from tests.rule_helpers import in_tenant
from tierwise.models.registry import champion
from tierwise.models.runs import ModelRun
from tierwise.models.scores import CustomerScore
from tierwise.platform.api.serializers import (CUSTOMER_SCORES_FIELDS, MODEL_RUN_FIELDS, MODEL_VERSION_DETAIL_FIELDS,
                                               MODEL_VERSION_FIELDS)
from tierwise.platform.audit import AuditEvent
from tierwise.platform.db import db
from tierwise.tenants.customers import Customer

CHINESE = {"Accept-Language": "zh-CN"}


@pytest.fixture(scope="module")
def bank(app):
    """A bank with churn and value champions and every customer scored (trained once per module)."""
    return trained_world(app)


@pytest.fixture
def recorded(app, make_tenant):
    """A tenant with recorded churn versions 1 (champion) and 2, and a finished scoring run."""
    world = make_tenant("bank")
    with in_tenant(app, world):
        world.versions = {v.number: v.id for v in (record_model_version(make_champion=True), record_model_version())}
        world.run_id = record_model_run().id
        db.session.commit()
    return world


@pytest.fixture
def api(client, issue_token):
    """``api(world, who).get(path, headers=...)``: calls as that user, one API token per user."""
    tokens: dict[tuple[str, str], str] = {}

    class Caller:
        def __init__(self, world, who="admin"):
            key = (world.slug, who)
            if key not in tokens:
                tokens[key] = issue_token(world, who)
            self.token = tokens[key]

        def __getattr__(self, method):
            def call(path, headers=None, **kwargs):
                return client.open(f"/api/v1{path}", method=method.upper(),
                                   headers={"Authorization": f"Bearer {self.token}", **(headers or {})}, **kwargs)
            return call

    return Caller


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.json["error"]


def test_models_lists_the_champions_and_every_version(api, bank):
    body = api(bank, "analyst").get("/models").json
    assert body["champions"]["churn"]["number"] == 1 and body["champions"]["value"]["is_champion"]
    assert {(v["model"], v["number"]) for v in body["items"]} >= {("churn", 1), ("value", 1)}
    assert all(set(v) == set(MODEL_VERSION_FIELDS) for v in body["items"])
    assert body["champions"]["churn"]["primary_metric"]["name"] == "roc_auc"


def test_a_version_shows_its_evidence_with_labels_in_the_requests_language_but_never_the_model(api, bank):
    version_id = api(bank).get("/models").json["champions"]["churn"]["id"]
    english = api(bank, "analyst").get(f"/models/versions/{version_id}")
    assert english.status_code == 200 and set(english.json) == set(MODEL_VERSION_DETAIL_FIELDS)
    detail = english.json
    assert {"model", "logistic_regression", "recency_rule"} <= set(detail["metrics"])
    assert {"roc", "lift"} <= set(detail["curves"]) and detail["data_window"]["validation_examples"] > 0
    labels = {item["feature"]: item["label"] for item in detail["importance"]}
    chinese = api(bank, "analyst").get(f"/models/versions/{version_id}", headers=CHINESE).json
    assert labels["recency_days"] == "Days since the last activity"
    assert {item["feature"]: item["label"] for item in chinese["importance"]}["recency_days"] == "距上次活动天数"
    assert "model_text" not in english.get_data(as_text=True) and "reference" not in detail


def test_a_customers_scores_come_with_labelled_reasons(api, bank, app):
    with in_tenant(app, bank):
        customer_id = db.session.scalars(sa.select(CustomerScore.customer_id)
                                         .where(CustomerScore.churn_probability.is_not(None))).first()
    body = api(bank, "analyst").get(f"/customers/{customer_id}/scores").json
    assert set(body) == set(CUSTOMER_SCORES_FIELDS)
    assert 0 <= body["churn_probability"] <= 1 and body["predicted_value"] is not None and body["scored_at"]
    assert len(body["churn_reasons"]) == len(body["value_reasons"]) == 5
    assert {r["effect"] for r in body["churn_reasons"]} <= {"raises", "lowers", "none"}
    chinese = api(bank, "analyst").get(f"/customers/{customer_id}/scores", headers=CHINESE).json
    english_labels = [r["label"] for r in body["churn_reasons"]]
    chinese_labels = [r["label"] for r in chinese["churn_reasons"]]
    assert english_labels != chinese_labels and all(label.isascii() for label in english_labels)


def test_an_rm_reads_scores_only_of_customers_in_their_book(api, bank, app):
    with in_tenant(app, bank):
        theirs, other = db.session.scalars(sa.select(Customer.id).limit(2)).all()
        db.session.get(Customer, (bank.tenant_id, theirs)).rm_user_id = bank.users["rm1"].id
        db.session.commit()
    rm = api(bank, "rm1")
    assert rm.get(f"/customers/{theirs}/scores").status_code == 200
    assert error_of(rm.get(f"/customers/{other}/scores"), 404)["code"] == "not_found"
    assert error_of(rm.get("/models"), 403)["code"] == "forbidden"
    assert error_of(rm.get("/model-runs"), 403)["code"] == "forbidden"


def test_an_analyst_cannot_train_score_or_promote(api, bank):
    analyst = api(bank, "analyst")
    version_id = analyst.get("/models").json["champions"]["value"]["id"]
    assert error_of(analyst.post("/models/train", json={"model": "churn"}), 403)["code"] == "forbidden"
    assert error_of(analyst.post("/models/score"), 403)["code"] == "forbidden"
    assert error_of(analyst.post(f"/models/versions/{version_id}/promote", json={"reason": "x"}), 403)
    assert analyst.get("/model-runs").status_code == 200


@pytest.mark.parametrize("body, field", [
    ({"model": "weather"}, "model"), ({}, "model"), ({"model": "churn", "horizon_days": "90"}, "horizon_days"),
    ({"model": "churn", "horizon_days": 0}, "horizon_days"), ({"model": "churn", "as_of": "yesterday"}, "as_of"),
    ({"model": "churn", "as_of": "2999-01-01"}, "as_of"),
    ({"model": "churn", "budget": 5}, "budget")])
def test_a_training_request_is_checked_at_the_door(api, recorded, body, field):
    assert error_of(api(recorded).post("/models/train", json=body), 400)["field"] == field


def test_training_runs_in_process_and_is_followed_by_its_location(api, bank):
    admin = api(bank)
    with fast_training():
        started = admin.post("/models/train", json={"model": "value", "horizon_days": 180})
    assert started.status_code == 201, started.get_data(as_text=True)  # no Redis: it already ran
    run = started.json
    assert set(run) == set(MODEL_RUN_FIELDS)
    assert (run["job"], run["model"], run["status"], run["horizon_days"]) == ("train", "value", "succeeded", 180)
    assert run["started_by"] == bank.email("admin") and run["summary"]["version"] == 2
    followed = admin.get(started.headers["Location"].removeprefix("http://localhost").removeprefix("/api/v1"))
    assert followed.json["version_id"] == run["version_id"]
    version = admin.get(f"/models/versions/{run['version_id']}").json
    assert version["number"] == 2 and version["horizon_days"] == 180
    assert admin.get("/model-runs").json["items"][0]["id"] == run["id"]


def test_scoring_runs_in_process_and_reports_drift(api, bank):
    scored = api(bank).post("/models/score")
    assert scored.status_code == 201 and scored.json["status"] == "succeeded"
    summary = scored.json["summary"]
    assert summary["customers"] == 400 and set(summary["drift"]) == {"churn", "value"}
    assert "__score__" in summary["drift"]["churn"]["psi"]


def test_a_second_run_while_one_is_active_is_a_conflict(api, recorded, app):
    with in_tenant(app, recorded):
        record_model_run(job="score", status="running")
        db.session.commit()
    assert error_of(api(recorded).post("/models/score"), 409)["code"] == "conflict"


def test_scoring_without_a_champion_fails_and_says_why(api, make_tenant):
    empty = make_tenant("bank")
    run = api(empty).post("/models/score").json
    assert run["status"] == "failed" and "no champion model yet" in run["message"]


def test_promoting_needs_a_reason_and_is_audited(api, recorded, app):
    admin, challenger = api(recorded), recorded.versions[2]
    assert error_of(admin.post(f"/models/versions/{challenger}/promote", json={}), 400)["field"] == "reason"
    assert error_of(admin.post(f"/models/versions/{challenger}/promote", json={"reason": " "}), 400)["field"] \
        == "reason"
    promoted = admin.post(f"/models/versions/{challenger}/promote", json={"reason": "approved by risk"})
    assert promoted.status_code == 200 and promoted.json["is_champion"]
    assert "approved by risk" in promoted.json["promotion_note"]
    assert error_of(admin.post(f"/models/versions/{challenger}/promote", json={"reason": "again"}), 409)["field"] \
        == "model_version_id"
    rollback = admin.post(f"/models/versions/{recorded.versions[1]}/promote", json={"reason": "back to v1"})
    assert rollback.status_code == 200
    with in_tenant(app, recorded):
        assert champion("churn").number == 1
        actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("model.%"))).all()
        assert sorted(actions) == ["model.override", "model.rollback"]


def test_another_tenants_versions_and_runs_are_not_found(api, recorded, make_tenant):
    stranger = api(make_tenant("bank"))
    for path in (f"/models/versions/{recorded.versions[1]}", f"/model-runs/{recorded.run_id}",
                 f"/models/versions/{uuid.uuid4()}", f"/model-runs/{uuid.uuid4()}", "/model-runs/not-a-uuid"):
        assert error_of(stranger.get(path), 404)["code"] == "not_found", path
    refused = stranger.post(f"/models/versions/{recorded.versions[2]}/promote", json={"reason": "mine now"})
    assert error_of(refused, 404)["code"] == "not_found"
    own = api(recorded)
    assert own.get(f"/model-runs/{recorded.run_id}").status_code == 200


def test_runs_are_listed_newest_first_a_page_at_a_time(api, recorded, app):
    with in_tenant(app, recorded):
        for _ in range(3):
            record_model_run(job="train", status="failed", message="bad data")
        db.session.commit()
    first = api(recorded).get("/model-runs?limit=2").json
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = api(recorded).get(f"/model-runs?limit=2&cursor={first['next_cursor']}").json
    assert len(rest["items"]) == 2 and rest["next_cursor"] is None
    with in_tenant(app, recorded):
        newest = db.session.scalars(sa.select(ModelRun.id).order_by(ModelRun.id.desc())).first()
    assert first["items"][0]["id"] == str(newest)


def test_promoting_the_champion_again_is_a_conflict_as_rolling_back_to_the_rules_in_force_is(api, recorded, app):
    """Already champion: the registry as it stands, not the request, is in the way (409, like a rollback to the
    rule set in force), and the error names the path parameter, the only place the version is named."""
    admin = api(recorded)
    refused = admin.post(f"/models/versions/{recorded.versions[1]}/promote", json={"reason": "still the best"})
    error = error_of(refused, 409)
    assert (error["code"], error["field"]) == ("conflict", "model_version_id")
    assert "version 1 is already the champion" in error["message"]
    operation = admin.get("/openapi.json").json["paths"]["/api/v1/models/versions/{model_version_id}/promote"]["post"]
    assert "409" in operation["responses"] and [p["name"] for p in operation["parameters"]] == ["model_version_id"]
    with in_tenant(app, recorded):
        assert champion("churn").number == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action.like("model.%"))) == 0
