"""JSON request bodies: every endpoint that takes one refuses what its OpenAPI schema does not list.

A misspelt or unsupported key is a 400 naming the key, not silently ignored; a
value of the wrong JSON type (``"yes"`` for a boolean, ``true`` for a number) is
a 400 naming the field; a missing required key says it is required.  Nothing
is changed by a refused request, and the document shows the same schema the
endpoint checks.
"""
from __future__ import annotations

import re

import pytest

from tests.conftest import Browser, csrf_token_from
from tests.test_api import bearer

CUSTOMER_ROW = {"external_id": "B1", "name": "接口客户"}
UNKNOWN_KEYS = [
    ("put", "/lists/settings", {"vip_tiers": ["private_banking"], "churn_threshold": 2}, "churn_threshold"),
    ("post", "/saved-lists", {"name": "x", "base": "vip", "bogus": 1}, "bogus"),
    ("post", "/imports/customers", {"rows": [CUSTOMER_ROW], "bogus": 1}, "bogus"),
    ("post", "/retier-runs", {"bogus": 1}, "bogus"),
    ("post", "/schedules", {"action": "retier", "cron": "0 3 * * *", "bogus": 1}, "bogus"),
    ("post", "/models/train", {"model": "churn", "bogus": 1}, "bogus"),
    ("post", "/models/score", {"bogus": 1}, "bogus"),
    ("post", "/rule-set/validate", {"definition": {"dimensions": []}, "bogus": 1}, "bogus"),
    ("post", "/rule-set/draft/publish", {"bogus": 1}, "bogus"),
    ("post", "/customers/assignments", {"customer_ids": [], "rm_user_id": None, "reason": "x", "bogus": 1}, "bogus"),
]
WRONG_TYPES = [
    ("put", "/lists/settings", {"vip_tiers": "private_banking"}, "vip_tiers"),
    ("put", "/lists/settings", {"vip_tiers": ["private_banking"], "at_risk_probability": "0.7"},
     "at_risk_probability"),
    ("post", "/imports/customers", {"rows": [CUSTOMER_ROW], "skip_invalid": "yes"}, "skip_invalid"),
    ("post", "/imports/customers", {"rows": [CUSTOMER_ROW], "add_fields": 1}, "add_fields"),
    ("post", "/imports/customers", {"rows": [CUSTOMER_ROW], "mapping": ["name"]}, "mapping"),
    ("post", "/imports/customers", {"rows": [CUSTOMER_ROW], "mapping": {"name": 5}}, "mapping.name"),
    ("post", "/imports/customers", {"rows": {"0": CUSTOMER_ROW}}, "rows"),
    ("post", "/imports/customers", {"mapping": {}}, "rows"),
    ("post", "/saved-lists", {"name": "x", "base": "vip", "shared": "yes"}, "shared"),
    ("post", "/models/train", {"model": "churn", "horizon_days": 90.5}, "horizon_days"),
    ("post", "/schedules", {"action": "retier", "cron": 3}, "cron"),
]


def _refused(client, token, method, path, body, field) -> str:
    response = client.open(f"/api/v1{path}", method=method.upper(), json=body, headers=bearer(token))
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.json["error"]
    assert (error["code"], error["field"]) == ("invalid", field)
    return error["message"]


@pytest.mark.parametrize("method, path, body, key", UNKNOWN_KEYS, ids=[f"{m} {p}" for m, p, _, _ in UNKNOWN_KEYS])
def test_an_unknown_key_is_refused_naming_it(client, tenant_a, issue_token, method, path, body, key):
    message = _refused(client, issue_token(tenant_a), method, path, body, key)
    assert f"unknown key '{key}'" in message


@pytest.mark.parametrize("method, path, body, field", WRONG_TYPES, ids=[f"{m} {p} {f}" for m, p, _, f in WRONG_TYPES])
def test_a_value_of_the_wrong_type_is_refused_naming_the_field(client, tenant_a, issue_token, method, path, body,
                                                                field):
    _refused(client, issue_token(tenant_a), method, path, body, field)


def test_a_refused_request_changes_nothing(client, tenant_a, issue_token):
    token = issue_token(tenant_a)
    before = client.get("/api/v1/lists", headers=bearer(token)).json["settings"]
    for method, path, body, field in UNKNOWN_KEYS + WRONG_TYPES:
        _refused(client, token, method, path, body, field)
    assert client.get("/api/v1/lists", headers=bearer(token)).json["settings"] == before
    for path in ("/customers", "/retier-runs", "/schedules", "/saved-lists", "/model-runs"):
        assert client.get(f"/api/v1{path}", headers=bearer(token)).json["items"] == [], path


def test_a_body_where_none_is_expected_may_be_left_out_or_empty(client, tenant_a, issue_token):
    token = issue_token(tenant_a)
    assert client.post("/api/v1/retier-runs", headers=bearer(token)).status_code == 202
    assert client.post("/api/v1/models/score", json={}, headers=bearer(token)).status_code in (201, 202)


@pytest.fixture
def session(app, tenant_a):
    """The admin's signed-in browser session, which alone may create tokens, with its CSRF header."""
    person = Browser(app.test_client())
    person.login(tenant_a, "admin")
    csrf = csrf_token_from(person.get(f"/t/{tenant_a.slug}/tokens/").text)
    return lambda body: person.client.post("/api/v1/tokens", json=body, headers={"X-CSRFToken": csrf})


def test_a_token_needs_a_name_and_nothing_else(session):
    missing = session({})
    assert missing.status_code == 400 and missing.json["error"] == {
        "code": "invalid", "field": "name", "message": "field 'name': is required"}
    unknown = session({"name": "x", "bogus": 1})
    assert unknown.status_code == 400 and unknown.json["error"]["field"] == "bogus"
    assert unknown.json["error"]["message"].startswith("unknown key 'bogus' (allowed: ")  # named once, not twice
    assert session({"name": "nightly"}).status_code == 201


# --- the document shows what the endpoints check -------------------------------------------------------------

@pytest.fixture
def openapi(client) -> dict:
    return client.get("/api/v1/openapi.json").json


def test_every_write_route_documents_its_body_and_refuses_other_keys(app, openapi):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in {"post", "put", "patch"} & {m.lower() for m in rule.methods}:
            body = openapi["paths"][path][method].get("requestBody")
            assert body is not None, f"{method} {path} documents no body"
            schema = body["content"]["application/json"]["schema"]
            assert schema["type"] == "object" and schema["additionalProperties"] is False, f"{method} {path}"
            for name, field in schema["properties"].items():
                assert "type" in field or "$ref" in field, f"{method} {path}: {name} has no type"
            assert set(schema.get("required", [])) <= set(schema["properties"]), f"{method} {path}"


def test_the_saved_list_and_import_bodies_are_documented_exactly(openapi):
    saved = openapi["paths"]["/api/v1/saved-lists"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert saved["required"] == ["name", "base"] and saved["properties"]["shared"]["type"] == "boolean"
    filters = saved["properties"]["filters"]
    assert filters["additionalProperties"] is False
    assert (filters["properties"]["churn_min"]["minimum"], filters["properties"]["churn_min"]["maximum"]) == (0, 1)
    imports = openapi["paths"]["/api/v1/imports/{kind}"]["post"]["requestBody"]["content"]["application/json"]
    assert imports["schema"]["properties"]["skip_invalid"]["type"] == "boolean"
    assert "rows[0]" in imports["schema"]["properties"]["rows"]["description"]
    assert "rows[0]" in openapi["components"]["schemas"]["RowError"]["properties"]["row"]["description"]
