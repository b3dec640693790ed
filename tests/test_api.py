"""The REST API, ``/api/v1``, as an integrator meets it.

Every failure has the same JSON body ``{"error": {"code", "message"[, "field"]}}``;
API tokens are shown once, stored as a SHA-256 digest, act as their user and stop
working when revoked or when the user is deactivated; lists page by keyset
cursor; and the OpenAPI document matches the routes and serializers exactly.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import uuid

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, Browser, csrf_token_from
from tierwise.platform import tenancy
from tierwise.platform.api.openapi import SCHEMA_FIELDS
from tierwise.platform.api.serializers import TOKEN_FIELDS
from tierwise.platform.api_tokens import ApiToken
from tierwise.platform.audit import Actor, acting_as
from tierwise.platform.db import db
from tierwise.platform.users import User, create_user, set_password, update_user

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.json
    assert list(body) == ["error"]
    error = body["error"]
    assert {"code", "message"} <= set(error) <= {"code", "message", "field"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert error.get("field") == field
    return error


def secret_of(plaintext: str) -> str:
    return plaintext.split("_", 2)[2]


def stored_token(app, world, token_id: str) -> ApiToken:
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        token = db.session.scalar(sa.select(ApiToken).where(ApiToken.id == uuid.UUID(token_id)))
        db.session.expunge(token)
        return token


def create_token(app, world, name: str = "nightly export") -> dict:
    """As the admin in a signed-in browser session (tokens cannot mint tokens)."""
    person = Browser(app.test_client())
    person.login(world, "admin")
    csrf = csrf_token_from(person.get(f"/t/{world.slug}/tokens/").text)
    response = person.client.post("/api/v1/tokens", json={"name": name}, headers={"X-CSRFToken": csrf})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


# --- error bodies -------------------------------------------------------------

@pytest.mark.parametrize("header", [None, "Bearer garbage", "Bearer ", "Basic YWRtaW46cGFzc3dvcmQ=",
                                    "Bearer tw_no-such-tenant_" + "x" * 43])
def test_missing_or_invalid_credentials_get_401_json_naming_the_scheme(client, tenant_a, header):
    headers = {"Authorization": header} if header else {}
    refused = client.get("/api/v1/me", headers=headers)
    assert_error(refused, 401, "unauthorized")
    assert refused.headers["WWW-Authenticate"].startswith("Bearer ")


def test_a_method_the_route_does_not_take_gets_405_json_with_the_allowed_methods(client):
    refused = client.delete("/api/v1/openapi.json")
    assert_error(refused, 405, "method_not_allowed")
    assert set(refused.headers["Allow"].split(", ")) >= {"GET", "HEAD", "OPTIONS"}


def test_unknown_secret_for_a_real_tenant_gets_401(client, tenant_a):
    forged = f"tw_{tenant_a.slug}_{secrets.token_urlsafe(32)}"
    assert_error(client.get("/api/v1/me", headers=bearer(forged)), 401, "unauthorized")


@pytest.mark.parametrize("path", ["/api/v1/users", "/api/v1/audit-events"])
def test_relationship_manager_gets_403_json_for_admin_lists(client, tenant_a, issue_token, path):
    token = issue_token(tenant_a, "rm1")
    refused = client.get(path, headers=bearer(token))
    assert_error(refused, 403, "forbidden")
    assert refused.json["error"]["message"] == "You do not have permission to do that."  # not Werkzeug's stock text
    assert client.get(path, headers=bearer(issue_token(tenant_a, "admin"))).status_code == 200


@pytest.mark.parametrize(("path", "parameter"), [
    ("/api/v1/users/{id}", "user_id"), ("/api/v1/branches/{id}", "branch_id"), ("/api/v1/tokens/{id}", "token_id"),
    ("/api/v1/customers/{id}/activity", "customer_id"), ("/api/v1/rule-set/versions/{id}", "version_id"),
    ("/api/v1/models/versions/{id}", "model_version_id"), ("/api/v1/retier-runs/{id}", "retier_run_id")])
def test_unknown_id_gets_404_json_naming_the_path_parameter(client, tenant_a, issue_token, path, parameter):
    response = client.get(path.format(id=uuid.uuid4()), headers=bearer(issue_token(tenant_a)))
    assert_error(response, 404, "not_found", parameter)


@pytest.mark.parametrize(("path", "parameter"), [
    ("/api/v1/users/not-a-uuid", "user_id"), ("/api/v1/tokens/123", "token_id"),
    ("/api/v1/branches/%27--", "branch_id"), ("/api/v1/customers/x/tiers", "customer_id")])
def test_malformed_id_gets_404_json_naming_the_path_parameter(client, tenant_a, issue_token, path, parameter):
    response = client.get(path, headers=bearer(issue_token(tenant_a)))
    assert_error(response, 404, "not_found", parameter)
    assert "is not an id" in response.json["error"]["message"]


def test_an_unknown_kind_of_import_in_the_path_is_named_with_the_kinds_there_are(client, tenant_a, issue_token):
    response = client.post("/api/v1/imports/bogus", json={"rows": []}, headers=bearer(issue_token(tenant_a)))
    assert_error(response, 404, "not_found", "kind")
    assert "activity, customers, interactions" in response.json["error"]["message"]


def test_an_address_no_route_has_says_only_not_found(client, tenant_a, issue_token):
    response = client.get("/api/v1/nowhere/at-all", headers=bearer(issue_token(tenant_a)))
    assert_error(response, 404, "not_found")
    assert "field" not in response.json["error"]


def test_another_tenants_user_is_404_word_for_word_as_a_missing_one(client, tenant_a, tenant_b, issue_token):
    token = bearer(issue_token(tenant_a))
    theirs = client.get(f"/api/v1/users/{tenant_b.users['admin'].id}", headers=token)
    missing = client.get(f"/api/v1/users/{uuid.uuid4()}", headers=token)
    assert_error(theirs, 404, "not_found", "user_id")
    assert theirs.json == missing.json


# --- token lifecycle ----------------------------------------------------------

def test_new_token_is_shown_once_and_stored_only_as_its_sha256(app, client, tenant_a, issue_token):
    admin_token = issue_token(tenant_a)
    created = create_token(app, tenant_a)
    plaintext = created["token"]
    secret = secret_of(plaintext)
    assert plaintext.startswith(f"tw_{tenant_a.slug}_")
    assert set(created) == set(TOKEN_FIELDS) | {"token"}
    digest = hashlib.sha256(secret.encode()).hexdigest()

    listing = client.get("/api/v1/tokens", headers=bearer(admin_token))
    one = client.get(f"/api/v1/tokens/{created['id']}", headers=bearer(admin_token))
    assert listing.status_code == 200 and one.status_code == 200
    assert created["id"] in [item["id"] for item in listing.json["items"]]
    for item in listing.json["items"]:
        assert set(item) == set(TOKEN_FIELDS)
    for response in (listing, one):
        assert secret not in response.get_data(as_text=True)
        assert digest not in response.get_data(as_text=True)

    row = stored_token(app, tenant_a, created["id"])
    assert re.fullmatch(r"[0-9a-f]{64}", row.token_hash)
    assert row.token_hash == digest != secret
    assert secret not in (row.name, row.display_prefix, row.token_hash)


def test_last_used_at_is_recorded_when_a_token_is_used(app, client, tenant_a, issue_token):
    admin_token = issue_token(tenant_a)
    created = create_token(app, tenant_a)
    assert created["last_used_at"] is None

    assert client.get("/api/v1/me", headers=bearer(created["token"])).status_code == 200

    shown = client.get(f"/api/v1/tokens/{created['id']}", headers=bearer(admin_token)).json
    assert shown["last_used_at"] is not None
    assert stored_token(app, tenant_a, created["id"]).last_used_at is not None


def test_revoked_token_gets_401(app, client, tenant_a, issue_token):
    admin_token = issue_token(tenant_a)
    created = create_token(app, tenant_a)
    assert client.get("/api/v1/me", headers=bearer(created["token"])).status_code == 200

    assert client.delete(f"/api/v1/tokens/{created['id']}", headers=bearer(admin_token)).status_code == 204

    assert_error(client.get("/api/v1/me", headers=bearer(created["token"])), 401, "unauthorized")
    shown = client.get(f"/api/v1/tokens/{created['id']}", headers=bearer(admin_token)).json
    assert shown["revoked_at"] is not None


def test_relationship_manager_cannot_revoke_someone_elses_token(app, client, tenant_a, issue_token):
    admin_token = issue_token(tenant_a)
    created = create_token(app, tenant_a)
    response = client.delete(f"/api/v1/tokens/{created['id']}", headers=bearer(issue_token(tenant_a, "rm1")))
    assert_error(response, 404, "not_found", "token_id")
    assert client.get("/api/v1/me", headers=bearer(created["token"])).status_code == 200


def test_deactivated_users_token_stops_working(app, client, tenant_a, issue_token):
    token = issue_token(tenant_a, "rm1")
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200

    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id), acting_as(Actor(label="test")):
        user = db.session.get(User, (tenant_a.tenant_id, tenant_a.users["rm1"].id))
        update_user(user, role=user.role, display_name=user.display_name, branch_id=user.branch_id,
                    book_scope=user.book_scope, active=False)
        db.session.commit()

    assert_error(client.get("/api/v1/me", headers=bearer(token)), 401, "unauthorized")


def test_token_with_another_tenants_slug_gets_401(client, tenant_a, tenant_b, issue_token):
    token_a = issue_token(tenant_a)
    assert client.get("/api/v1/me", headers=bearer(token_a)).status_code == 200
    forged = f"tw_{tenant_b.slug}_{secret_of(token_a)}"
    assert_error(client.get("/api/v1/me", headers=bearer(forged)), 401, "unauthorized")


def test_session_api_post_without_csrf_header_is_rejected(browser, client, tenant_a):
    assert browser.login(tenant_a).status_code == 302
    assert client.get("/api/v1/me").json["user"]["email"] == tenant_a.email("admin")

    assert_error(client.post("/api/v1/tokens", json={"name": "no csrf"}), 400, "csrf_failed")
    names = [item["name"] for item in client.get("/api/v1/tokens").json["items"]]
    assert "no csrf" not in names

    csrf = csrf_token_from(browser.get(f"/t/{tenant_a.slug}/").text)
    with_header = client.post("/api/v1/tokens", json={"name": "with csrf"}, headers={"X-CSRFToken": csrf})
    assert with_header.status_code == 201


# --- pagination ---------------------------------------------------------------

def test_users_list_walks_every_user_once_by_cursor(app, client, tenant_a, issue_token):
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id), acting_as(Actor(label="test")):
        create_user(email=f"zz.extra@{tenant_a.slug}.test", role="analyst", password=PASSWORD)
        db.session.commit()
    expected = sorted([*(ref.email for ref in tenant_a.users.values()), f"zz.extra@{tenant_a.slug}.test"])
    token = issue_token(tenant_a)

    seen, pages, cursor = [], 0, None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/users", query_string=query, headers=bearer(token))
        assert page.status_code == 200
        assert len(page.json["items"]) <= 2
        seen += [item["email"] for item in page.json["items"]]
        pages += 1
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
        assert pages < 10, "pagination does not end"

    assert seen == expected
    assert pages == 3


def test_garbage_cursor_gives_400_on_cursor(client, tenant_a, issue_token):
    response = client.get("/api/v1/users", query_string={"cursor": "not-a-cursor!!"},
                          headers=bearer(issue_token(tenant_a)))
    assert_error(response, 400, "invalid", field="cursor")


def _cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps([value]).encode()).decode().rstrip("=")


@pytest.mark.parametrize("path,value", [("/api/v1/users", 1), ("/api/v1/users", None), ("/api/v1/users", 1.5),
                                        ("/api/v1/branches", None), ("/api/v1/audit-events", 1),
                                        ("/api/v1/audit-events", [1])])
def test_well_formed_cursor_of_the_wrong_type_gives_400_not_500(client, tenant_a, issue_token, path, value):
    response = client.get(path, query_string={"cursor": _cursor(value)}, headers=bearer(issue_token(tenant_a)))
    assert_error(response, 400, "invalid", field="cursor")


@pytest.mark.parametrize("limit", ["0", "501", "-1", "ten", "2.5", "²"])
def test_out_of_range_limit_gives_400_on_limit(client, tenant_a, issue_token, limit):
    response = client.get("/api/v1/users", query_string={"limit": limit}, headers=bearer(issue_token(tenant_a)))
    assert_error(response, 400, "invalid", field="limit")


# --- OpenAPI ------------------------------------------------------------------

@pytest.fixture
def openapi(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json


def test_openapi_document_is_public(client, openapi):
    assert openapi["openapi"].startswith("3.1")
    assert "/api/v1/me" in openapi["paths"]


def test_openapi_paths_match_the_api_routes_and_methods(app, openapi):
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            routes.setdefault(path, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    documented = {path: set(item) & HTTP_METHODS - {"head", "options"} for path, item in openapi["paths"].items()}
    assert routes, "no /api/v1 routes found"
    assert documented == routes


@pytest.mark.parametrize("schema", sorted(SCHEMA_FIELDS))
def test_openapi_schema_properties_equal_serializer_fields(openapi, schema):
    properties = openapi["components"]["schemas"][schema]["properties"]
    assert sorted(properties) == sorted(SCHEMA_FIELDS[schema])


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_openapi_ref_resolves(openapi):
    refs = set(_refs(openapi))
    assert refs, "document has no $ref at all"
    for ref in refs:
        assert ref.startswith("#/"), ref
        node = openapi
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
            node = node[part]


def test_a_token_cannot_mint_tokens(client, tenant_a, issue_token):
    response = client.post("/api/v1/tokens", json={"name": "child"}, headers=bearer(issue_token(tenant_a)))
    assert_error(response, 403, "forbidden")


@pytest.mark.parametrize("name", [None, 123, ["x"], {"a": 1}])
def test_token_name_must_be_a_string(app, tenant_a, name):
    person = Browser(app.test_client())
    person.login(tenant_a, "admin")
    csrf = csrf_token_from(person.get(f"/t/{tenant_a.slug}/tokens/").text)
    response = person.client.post("/api/v1/tokens", json={"name": name}, headers={"X-CSRFToken": csrf})
    assert_error(response, 400, "invalid", field="name")


def test_resetting_a_password_revokes_the_users_tokens(app, client, tenant_a, issue_token):
    token = issue_token(tenant_a, "rm1")
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id), acting_as(Actor(label="test")):
        user = db.session.get(User, (tenant_a.tenant_id, tenant_a.users["rm1"].id))
        set_password(user, "a-new-secret-99", reason="reset by admin")
        db.session.commit()
    assert_error(client.get("/api/v1/me", headers=bearer(token)), 401, "unauthorized")


@pytest.mark.parametrize("path", ["/api/v1/users/{id}", "/api/v1/tokens/{id}"])
def test_an_rm_cannot_tell_another_users_or_tokens_id_from_one_that_does_not_exist(app, client, tenant_a, issue_token,
                                                                                   path):
    rm = bearer(issue_token(tenant_a, "rm1"))
    someone_elses = tenant_a.users["admin"].id if "users" in path else create_token(app, tenant_a)["id"]
    for method in ("GET", "DELETE") if "tokens" in path else ("GET",):
        theirs = client.open(path.format(id=someone_elses), method=method, headers=rm)
        nobodys = client.open(path.format(id=uuid.uuid4()), method=method, headers=rm)
        assert_error(theirs, 404, "not_found", path.split("/")[3][:-1] + "_id")  # user_id, token_id
        assert theirs.json == nobodys.json, (method, theirs.json, nobodys.json)
    assert client.get(path.format(id=someone_elses), headers=bearer(issue_token(tenant_a))).status_code == 200
