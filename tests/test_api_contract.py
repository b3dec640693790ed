"""The API holds every request to what its OpenAPI document says, in one place.

A query parameter the operation does not document (a misspelt filter) or sends
empty is a 400 naming it, not ignored; a cursor is taken back only by the list
(and tenant, and sort) that gave it out; a body of another media type than the
operation takes is a 415, and a key it does not take a 400, on every route,
uploads included.  Every collection pages by the same cursor, and the document
says all of it.
"""
from __future__ import annotations

import io
import re
import uuid

import pytest
import sqlalchemy as sa

from tests.test_api import bearer
from tierwise.platform import tenancy
from tierwise.platform.audit import AuditEvent
from tierwise.platform.db import db
from tierwise.platform.pagination import encode_position


def _error(response, status: int, field: str) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.json["error"]
    assert error["field"] == field, error
    return error["message"]


def _customers(client, token, count: int) -> list[str]:
    rows = [{"external_id": f"C{n:02d}", "name": f"客户 {n}"} for n in range(count)]
    response = client.post("/api/v1/imports/customers", json={"rows": rows}, headers=bearer(token))
    assert response.status_code == 200, response.get_data(as_text=True)
    page = client.get("/api/v1/customers", query_string={"limit": 500}, headers=bearer(token)).json
    return [item["id"] for item in page["items"]]


def _upload(client, token, **form):
    data = {"file": (io.BytesIO(b"external_id,name\nU1,Uploaded\n"), "customers.csv"), **form}
    return client.post("/api/v1/imports/customers", data=data, content_type="multipart/form-data",
                       headers=bearer(token))


def _walk(client, token, path: str) -> tuple[list, int]:
    seen, pages, cursor = [], 0, None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(path, query_string=query, headers=bearer(token))
        assert page.status_code == 200, page.get_data(as_text=True)
        assert len(page.json["items"]) <= 2
        seen += page.json["items"]
        pages += 1
        cursor = page.json["next_cursor"]
        if cursor is None:
            return seen, pages
        assert pages < 10, "pagination does not end"


# --- every collection pages the same way ------------------------------------------------------------------------

def test_the_export_log_and_import_runs_page_by_cursor_and_limit(client, tenant_a, issue_token):
    token = issue_token(tenant_a)
    _customers(client, token, 2)
    for _ in range(3):
        assert client.get("/api/v1/lists/all/export", headers=bearer(token)).status_code == 200
        assert _upload(client, token).status_code == 201

    exports, pages = _walk(client, token, "/api/v1/exports")
    assert len(exports) == 3 and pages == 2
    runs, pages = _walk(client, token, "/api/v1/import-runs")
    assert len(runs) == 3 and pages == 2 and len({run["id"] for run in runs}) == 3
    assert [run["created_at"] for run in runs] == sorted((run["created_at"] for run in runs), reverse=True)


# --- query parameters: only what the document lists ----------------------------------------------------------------

def test_a_misspelt_list_filter_is_refused_naming_it(client, tenant_a, issue_token):
    token = issue_token(tenant_a)
    _customers(client, token, 2)

    message = _error(client.get("/api/v1/lists/all/customers?churnmin=0.5", headers=bearer(token)), 400, "churnmin")
    assert "unknown query parameter 'churnmin'" in message and "churn_min" in message
    assert client.get("/api/v1/lists/all/customers?churn_min=0.5", headers=bearer(token)).status_code == 200


def test_a_parameter_sent_to_a_request_that_takes_none_says_so(client, tenant_a, issue_token):
    message = _error(client.get("/api/v1/tokens?limit=2", headers=bearer(issue_token(tenant_a))), 400, "limit")
    assert message == "unknown query parameter 'limit' (this request takes none)"  # not "(allowed: none)"


def test_a_refusal_lists_what_is_allowed_as_the_readers_language_lists_it(client, tenant_a, issue_token):
    token = issue_token(tenant_a)
    said = {language: client.get("/api/v1/import-runs?bogus=1", headers={**bearer(token), "Accept-Language": language})
            .json["error"]["message"] for language in ("en", "zh-CN")}
    assert said["en"].endswith("(allowed: cursor, limit)")
    assert said["zh-CN"].endswith("（可用：cursor、limit）")  # not "cursor, limit" inside a Chinese sentence


def test_a_tier_filter_of_any_dimension_is_a_documented_parameter(client, tenant_a, issue_token, openapi):
    token = issue_token(tenant_a)
    _customers(client, token, 2)

    kept = client.get("/api/v1/lists/all/customers?tier.value=private_banking", headers=bearer(token))
    assert kept.status_code == 200 and kept.json["items"] == []  # nobody is tiered yet
    _error(client.get("/api/v1/lists/all/customers?tier.nope=x", headers=bearer(token)), 400, "tier.nope")
    _error(client.get("/api/v1/lists/all/customers?tiers.value=x", headers=bearer(token)), 400, "tiers.value")
    documented = [p["name"] for p in openapi["paths"]["/api/v1/lists/{name}/customers"]["get"]["parameters"]]
    assert "tier.{dimension}" in documented


@pytest.mark.parametrize("path, name", [("/api/v1/users", "limit"), ("/api/v1/customers", "cursor"),
                                        ("/api/v1/customers", "q"), ("/api/v1/lists/all/export", "format"),
                                        ("/api/v1/lists/all/customers", "sort")])
def test_a_parameter_sent_empty_is_refused_naming_it(client, tenant_a, issue_token, path, name):
    _error(client.get(f"{path}?{name}=", headers=bearer(issue_token(tenant_a))), 400, name)


def _operations(openapi):
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_route_refuses_an_undocumented_parameter(client, tenant_a, issue_token, openapi):
    token = issue_token(tenant_a)
    for path, method, _operation in _operations(openapi):
        concrete = re.sub(r"\{[^}]+\}", lambda m: "customers" if m.group() == "{kind}" else (
            "all" if m.group() == "{name}" else str(uuid.uuid4())), path)
        response = client.open(f"{concrete}?bogus=1", method=method.upper(), headers=bearer(token))
        assert response.status_code == 400, (method, path, response.get_data(as_text=True))
        assert response.json["error"]["field"] == "bogus", (method, path)


# --- cursors: bound to the list, the sort and the tenant that gave them out ------------------------------------------

def test_a_cursor_is_taken_back_only_by_the_list_that_gave_it_out(client, tenant_a, tenant_b, issue_token):
    bank, other = issue_token(tenant_a), issue_token(tenant_b)
    _customers(client, bank, 3)
    _customers(client, other, 3)
    cursor = client.get("/api/v1/customers?limit=1", headers=bearer(bank)).json["next_cursor"]
    assert client.get(f"/api/v1/customers?limit=1&cursor={cursor}", headers=bearer(bank)).status_code == 200

    for token, path in ((other, "/api/v1/customers"), (bank, "/api/v1/users"),
                        (bank, "/api/v1/lists/all/customers"), (bank, "/api/v1/import-runs")):
        _error(client.get(path, query_string={"cursor": cursor}, headers=bearer(token)), 400, "cursor")

    by_name = client.get("/api/v1/lists/all/customers?limit=1&sort=name", headers=bearer(bank)).json["next_cursor"]
    for sort in ("external_id", "churn"):
        _error(client.get("/api/v1/lists/all/customers", query_string={"cursor": by_name, "sort": sort},
                          headers=bearer(bank)), 400, "cursor")
    _error(client.get("/api/v1/lists/vip/customers", query_string={"cursor": by_name, "sort": "name"},
                      headers=bearer(bank)), 400, "cursor")


def test_an_unsigned_position_is_not_a_cursor(client, tenant_a, issue_token):
    token = issue_token(tenant_a)
    _customers(client, token, 3)
    _error(client.get("/api/v1/customers", query_string={"cursor": encode_position(["C00"])}, headers=bearer(token)),
           400, "cursor")


# --- bodies: the media type and the keys the operation takes ----------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/models/score", "/api/v1/retier-runs", "/api/v1/rule-set/preview",
                                  "/api/v1/models/train"])
def test_a_form_sent_to_a_json_endpoint_is_refused_and_starts_nothing(client, tenant_a, issue_token, path):
    token = issue_token(tenant_a)
    response = client.post(path, data={"a": "b"}, headers=bearer(token))
    assert _error(response, 415, "body")
    assert response.json["error"]["code"] == "unsupported_media_type"
    for runs in ("/api/v1/model-runs", "/api/v1/retier-runs"):
        assert client.get(runs, headers=bearer(token)).json["items"] == []


def test_a_body_key_on_a_route_that_takes_no_body_is_refused_and_changes_nothing(client, tenant_a, issue_token):
    token = issue_token(tenant_a)
    (customer_id,) = _customers(client, token, 1)

    _error(client.delete(f"/api/v1/customers/{customer_id}", json={"bogus": 1}, headers=bearer(token)), 400, "bogus")
    _error(client.delete(f"/api/v1/customers/{customer_id}", data={"bogus": "1"}, headers=bearer(token)), 400, "body")
    assert client.get(f"/api/v1/customers/{customer_id}", headers=bearer(token)).status_code == 200
    assert client.delete(f"/api/v1/customers/{customer_id}", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("form, field", [({"skip_invalid": "maybe"}, "skip_invalid"), ({"bogus": "1"}, "bogus"),
                                         ({"add_fields": ""}, "add_fields")])
def test_an_upload_form_is_held_to_the_same_rules_as_a_json_body(client, tenant_a, issue_token, form, field):
    token = issue_token(tenant_a)
    _error(_upload(client, token, **form), 400, field)
    assert client.get("/api/v1/import-runs", headers=bearer(token)).json["items"] == []
    assert _upload(client, token, skip_invalid="true", add_fields="0").status_code == 201


# --- list settings: the audit log says what was stored ---------------------------------------------------------------

def test_list_settings_audit_what_was_stored(app, client, tenant_a, issue_token):
    response = client.put("/api/v1/lists/settings", json={"vip_tiers": ["private_banking", "private_banking"]},
                          headers=bearer(issue_token(tenant_a)))
    assert response.status_code == 200 and response.json["vip_tiers"] == ["private_banking"]
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "lists.settings_changed"))
        assert event.details["after"]["vip_tiers"] == ["private_banking"]


# --- the document says all of it --------------------------------------------------------------------------------------

@pytest.fixture
def openapi(client) -> dict:
    return client.get("/api/v1/openapi.json").json


def test_every_operation_documents_the_400_it_can_answer(client, tenant_a, issue_token, openapi):
    for path, method, operation in _operations(openapi):
        assert "400" in operation["responses"], (method, path)
        if "requestBody" in operation:
            assert "415" in operation["responses"], (method, path)
    response = client.get("/api/v1/customers/%00", headers=bearer(issue_token(tenant_a)))
    assert response.status_code == 400
    long = client.get("/api/v1/customers?q=" + "a" * 5000, headers=bearer(issue_token(tenant_a)))
    assert long.status_code == 414 and long.json["error"]["code"] == "uri_too_long"  # the usual body, not HTML
    nul = client.get("/api/v1/customers?q=a%00b", headers=bearer(issue_token(tenant_a))).json["error"]
    assert (nul["code"], nul["field"]) == ("invalid", "q")  # a refused value, named like every other


def test_the_export_log_and_import_runs_document_their_paging(openapi):
    for path in ("/api/v1/exports", "/api/v1/import-runs"):
        operation = openapi["paths"][path]["get"]
        assert {p["name"] for p in operation["parameters"]} == {"cursor", "limit"}
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]["required"] == [
            "items", "next_cursor"]


@pytest.mark.parametrize("query, name", [("limit=1&limit=2", "limit"), ("q=C0&q=C1", "q"),
                                         ("cursor=a&limit=3&cursor=b", "cursor")])
def test_a_parameter_sent_twice_is_refused_naming_it(client, tenant_a, issue_token, query, name):
    message = _error(client.get(f"/api/v1/customers?{query}", headers=bearer(issue_token(tenant_a))), 400, name)
    assert "once" in message


def test_a_tier_filter_the_document_declares_a_list_may_be_repeated(client, tenant_a, issue_token, openapi):
    token = issue_token(tenant_a)
    _customers(client, token, 2)
    [tiers] = [p for p in openapi["paths"]["/api/v1/lists/{name}/customers"]["get"]["parameters"]
               if p["name"] == "tier.{dimension}"]
    assert tiers["schema"]["type"] == "array" and tiers["explode"] is True

    repeated = client.get("/api/v1/lists/all/customers?tier.value=private_banking&tier.value=vip_counter",
                          headers=bearer(token))
    assert repeated.status_code == 200, repeated.get_data(as_text=True)
    _error(client.get("/api/v1/lists/all/customers?tier.value=private_banking&sort=name&sort=external_id",
                      headers=bearer(token)), 400, "sort")


@pytest.mark.parametrize("path", ["/api/v1/lists/nope/customers", "/api/v1/lists/nope/export"])
def test_an_unknown_list_is_named_by_the_path_parameter_the_document_gives_it(client, tenant_a, issue_token, openapi,
                                                                             path):
    response = client.get(path, headers=bearer(issue_token(tenant_a)))
    assert response.status_code == 404 and response.json["error"]["field"] == "name", response.json
    operation = openapi["paths"][path.replace("nope", "{name}")]["get"]
    assert "name" in [p["name"] for p in operation["parameters"] if p["in"] == "path"]


def test_a_model_versions_data_window_is_described_key_by_key(openapi):
    """What a version records of its data is read by programs: the fields left out as identifiers and the
    suspected leak are named in the contract with the rest."""
    said = openapi["components"]["schemas"]["ModelVersionDetail"]["properties"]["data_window"]["description"]
    for key in ("design", "snapshot_reason", "labels_dated", "outcome_fields", "training_examples",
                "identifier_fields", "suspected_leak"):
        assert key in said, key
