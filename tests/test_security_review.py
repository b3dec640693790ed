"""Security review: what an attacker or a curious user tries, and what the product must answer.

Each test states the secure behaviour.  Those marked ``xfail(strict=True)`` are defects
found in this review: they fail today and start passing (then fail the suite) once fixed.
"""
from __future__ import annotations

import io
import uuid

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, Browser, csrf_token_from
from tierwise.platform import tenancy
from tierwise.platform.audit import Actor, acting_as
from tierwise.platform.db import db
from tierwise.tenants.customers import Customer
from tierwise.tenants.fields import FieldDefinition
from tierwise.tenants.imports.runner import import_records


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _customers(app, world, rows: list[dict]) -> dict[str, uuid.UUID]:
    """Import ``rows`` into ``world`` (as the test harness) and return external id -> customer id."""
    with app.app_context(), tenancy.tenant_scope(world.tenant_id), acting_as(Actor(label="test")):
        import_records(rows, kind="customers")
        db.session.commit()
        found = db.session.execute(sa.select(Customer.external_id, Customer.id)).all()
    return dict(found)


def _rm_of(app, world, customer_id) -> uuid.UUID | None:
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        return db.session.scalar(sa.select(Customer.rm_user_id).where(Customer.id == customer_id))


# --- Authorisation ---------------------------------------------------------------------------------


def test_an_analyst_cannot_move_a_customer_to_another_rms_book_by_importing_it(app, client, tenant_a, issue_token):
    ids = _customers(app, tenant_a, [{"external_id": "BOOK-1", "name": "Kept", "rm_email": tenant_a.email("rm1")}])
    response = client.post("/api/v1/imports/customers", headers=_bearer(issue_token(tenant_a, "analyst")),
                           json={"rows": [{"external_id": "BOOK-1", "name": "Kept", "rm_email": tenant_a.email("rm2")}]})
    assert response.status_code == 403  # assigning customers is ASSIGN_CUSTOMERS (tenant admins), by any path
    assert _rm_of(app, tenant_a, ids["BOOK-1"]) == tenant_a.users["rm1"].id


def test_an_analyst_cannot_add_registry_fields_through_an_import(app, client, tenant_a, issue_token):
    response = client.post("/api/v1/imports/customers", headers=_bearer(issue_token(tenant_a, "analyst")),
                           json={"rows": [{"external_id": "F-1", "name": "x", "planted_field": "1"}],
                                 "add_fields": True})
    assert response.status_code == 403  # MANAGE_FIELDS is a tenant admin's
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        assert db.session.scalar(sa.select(FieldDefinition).where(FieldDefinition.name == "planted_field")) is None


def test_rms_and_analysts_are_refused_every_admin_write_in_the_api(app, client, tenant_a, issue_token):
    ids = _customers(app, tenant_a, [{"external_id": "ADM-1", "name": "x", "rm_email": tenant_a.email("rm1")}])
    customer, rm1, rm2 = ids["ADM-1"], tenant_a.users["rm1"].id, tenant_a.users["rm2"].id
    admin = _bearer(issue_token(tenant_a, "admin"))
    definition = client.get("/api/v1/rule-set", headers=admin).get_json()["definition"]
    version_id = client.get("/api/v1/rule-set/versions", headers=admin).get_json()["items"][0]["id"]
    schedule = client.post("/api/v1/schedules", headers=admin, json={"action": "retier", "cron": "7 3 * * *"})
    assert schedule.status_code == 201, schedule.data
    schedule_id = schedule.get_json()["id"]
    writes = [
        ("POST", "/api/v1/rule-set", {"definition": definition}),
        ("PUT", "/api/v1/rule-set/draft", {"definition": definition}),
        ("POST", "/api/v1/rule-set/draft/publish", None),
        ("DELETE", "/api/v1/rule-set/draft", None),
        ("POST", f"/api/v1/rule-set/versions/{version_id}/rollback", None),
        ("POST", "/api/v1/retier-runs", None),
        ("POST", "/api/v1/models/train", {"model": "churn"}),
        ("POST", "/api/v1/models/score", None),
        ("PUT", "/api/v1/lists/settings", {"vip_tiers": []}),
        ("POST", "/api/v1/customers/assignments", {"customer_ids": [str(customer)], "rm_user_id": str(rm2),
                                                   "reason": "planted"}),
        ("POST", f"/api/v1/users/{rm1}/book/reassign", {"to_user_id": str(rm2), "reason": "planted"}),
        ("POST", "/api/v1/schedules", {"action": "retier", "cron": "9 4 * * *"}),
        ("PATCH", f"/api/v1/schedules/{schedule_id}", {"enabled": False}),
        ("DELETE", f"/api/v1/schedules/{schedule_id}", None),
        ("DELETE", f"/api/v1/customers/{customer}", None),
        ("GET", "/api/v1/users", None),
        ("GET", "/api/v1/audit-events", None),
        ("GET", "/api/v1/exports", None),
    ]
    failures = []
    for who in ("rm1", "analyst"):
        headers = _bearer(issue_token(tenant_a, who))
        for method, path, body in writes:
            response = client.open(path, method=method, headers=headers, json=body)
            if response.status_code not in (403, 404):
                failures.append(f"{who}: {method} {path} -> {response.status_code} {response.data[:160]!r}")
    assert not failures, "\n".join(failures)
    assert _rm_of(app, tenant_a, customer) == rm1
    assert client.get(f"/api/v1/schedules/{schedule_id}", headers=admin).get_json()["enabled"] is True


# --- Sessions and the operator console --------------------------------------------------------------


def test_a_copied_operator_cookie_stops_working_after_the_operator_signs_out(app, browser, operator):
    assert browser.submit("/operator/login", {"email": operator, "password": PASSWORD}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("tierwise_session", browser.client.get_cookie("tierwise_session").value)
    assert thief.get("/operator/").status_code == 200
    page = browser.get("/operator/")
    browser.client.post("/operator/logout", data={"csrf_token": csrf_token_from(page.text)})
    assert thief.get("/operator/").status_code == 302  # the copied cookie must be dead too


def test_a_tenant_admin_session_never_opens_the_operator_console(browser, tenant_a):
    browser.login(tenant_a, "admin")
    assert browser.get("/operator/").status_code == 302
    page = browser.get("/operator/login")
    planted = browser.client.post("/operator/", data={"csrf_token": csrf_token_from(page.text), "slug": "planted-x",
                                                      "name": "x", "industry": "bank",
                                                      "admin_email": "a@planted.test", "admin_password": PASSWORD * 2})
    assert planted.status_code == 302
    assert browser.get("/t/planted-x/login").status_code == 404


def test_pages_carry_a_content_security_policy_that_limits_scripts(browser, tenant_a):
    browser.login(tenant_a, "admin")
    policy = browser.get(f"/t/{tenant_a.slug}/").headers["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    scripts = directives.get("script-src", directives.get("default-src"))
    assert scripts is not None and "'unsafe-inline'" not in scripts and "*" not in scripts
    assert directives.get("object-src", directives.get("default-src")) in (["'none'"], ["'self'"])
    assert "base-uri" in directives


# --- Input abuse -------------------------------------------------------------------------------------


def test_a_deeply_nested_json_body_is_a_400_not_a_crash(client, tenant_a, issue_token):
    response = client.post("/api/v1/rule-set/validate", headers=_bearer(issue_token(tenant_a, "admin")),
                           data="[" * 100_000 + "]" * 100_000, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request" or response.get_json()["error"]["field"] == "body"


def test_a_huge_json_body_is_refused_before_it_is_parsed(client, tenant_a, issue_token):
    body = b'{"name": "' + b"x" * (32 * 1024 * 1024) + b'"}'
    response = client.post("/api/v1/saved-lists", headers=_bearer(issue_token(tenant_a, "rm1")), data=body,
                           content_type="application/json")
    assert response.status_code == 413


def test_a_nul_character_in_a_json_import_is_a_400_naming_the_value(app, client, tenant_a, issue_token):
    response = client.post("/api/v1/imports/customers", headers=_bearer(issue_token(tenant_a, "admin")),
                           json={"rows": [{"external_id": "NUL-1", "name": "bad\u0000name"}]})
    assert response.status_code == 400
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        assert db.session.scalar(sa.select(Customer).where(Customer.external_id == "NUL-1")) is None


def test_a_nul_character_in_an_upload_file_name_is_refused(client, tenant_a, issue_token):
    upload = (io.BytesIO(b"external_id,name\nNULF-1,x\n"), "evil\x00.csv")
    response = client.post("/api/v1/imports/customers", headers=_bearer(issue_token(tenant_a, "admin")),
                           data={"file": upload}, content_type="multipart/form-data")
    assert response.status_code == 400


def test_a_traversing_upload_file_name_writes_only_inside_the_upload_folder(app, client, tenant_a, issue_token,
                                                                            tmp_path):
    name = "../../../../../../" + str(tmp_path).lstrip("/") + "/planted.csv"
    upload = (io.BytesIO(b"external_id,name\nTRAV-1,x\n"), name)
    response = client.post("/api/v1/imports/customers", headers=_bearer(issue_token(tenant_a, "admin")),
                           data={"file": upload}, content_type="multipart/form-data")
    assert response.status_code == 201, response.data
    assert not (tmp_path / "planted.csv").exists()
    assert response.get_json()["status"] == "succeeded"


def test_a_csv_with_nul_bytes_fails_its_run_cleanly_and_imports_nothing(app, client, tenant_a, issue_token):
    upload = (io.BytesIO(b"external_id,name\nNULC-1,bad\x00name\nNULC-2,good\n"), "nul.csv")
    response = client.post("/api/v1/imports/customers", headers=_bearer(issue_token(tenant_a, "admin")),
                           data={"file": upload}, content_type="multipart/form-data")
    assert response.status_code == 201, response.data
    run = response.get_json()
    assert run["status"] == "failed" and run["message"]
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        assert not db.session.scalars(sa.select(Customer).where(Customer.external_id.like("NULC-%"))).all()


@pytest.mark.parametrize("trick", ["\u200b", "\u200e", "\u202e", "\ufeff"])
def test_an_external_id_with_invisible_characters_is_refused_not_a_look_alike_customer(
        app, client, tenant_a, issue_token, trick):
    admin = _bearer(issue_token(tenant_a, "admin"))
    assert client.post("/api/v1/imports/customers", headers=admin,
                       json={"rows": [{"external_id": "LOOK-1", "name": "real"}]}).status_code == 200
    response = client.post("/api/v1/imports/customers", headers=admin,
                           json={"rows": [{"external_id": f"LOOK{trick}-1", "name": "fake"}]})
    assert response.status_code == 400
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Customer)
                                 .where(Customer.external_id.like("LOOK%"))) == 1


# --- Rule-language conditions compiled to SQL --------------------------------------------------------


@pytest.mark.parametrize("condition", [
    "name == \"x' OR '1'='1\"",
    "name == \"x\\\" or 1=1 --\"",
    "name == \"'); DELETE FROM customers; --\"",
])
def test_a_condition_cannot_inject_sql_into_a_list(app, client, tenant_a, tenant_b, issue_token, condition):
    _customers(app, tenant_b, [{"external_id": "B-ONLY", "name": "theirs"}])
    _customers(app, tenant_a, [{"external_id": "A-ONLY", "name": "ours"}])
    response = client.get("/api/v1/lists/all/customers", query_string={"condition": condition},
                          headers=_bearer(issue_token(tenant_a, "admin")))
    assert response.status_code in (200, 400), response.data
    if response.status_code == 200:
        assert response.get_json()["items"] == []
    with app.app_context(), tenancy.tenant_scope(tenant_b.tenant_id):
        assert db.session.scalar(sa.select(Customer.name).where(Customer.external_id == "B-ONLY")) == "theirs"


@pytest.mark.parametrize("condition", ["tenant_id == 1", "tenant_id > 0", "rm_user_id != \"\""])
def test_a_condition_cannot_name_tenancy_or_ownership_columns(client, tenant_a, issue_token, condition):
    response = client.get("/api/v1/lists/all/customers", query_string={"condition": condition},
                          headers=_bearer(issue_token(tenant_a, "admin")))
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "condition"


def test_an_rms_condition_and_filters_never_reach_beyond_their_book(app, client, tenant_a, issue_token):
    _customers(app, tenant_a, [{"external_id": "MINE", "name": "n", "rm_email": tenant_a.email("rm1")},
                               {"external_id": "THEIRS", "name": "n", "rm_email": tenant_a.email("rm2")}])
    rm1 = _bearer(issue_token(tenant_a, "rm1"))
    for query in ({"condition": 'name == "n" or not (name == "n")'},
                  {"rm_user_id": str(tenant_a.users["rm2"].id)},
                  {"branch_id": str(tenant_a.branches["south"].id)},
                  {"search": "THEIRS"}):
        page = client.get("/api/v1/lists/all/customers", query_string=query, headers=rm1)
        assert page.status_code in (200, 400), (query, page.data)
        ids = {row["external_id"] for row in (page.get_json().get("items") or [])}
        assert "THEIRS" not in ids, query
        export = client.get("/api/v1/lists/all/export", query_string=query, headers=rm1)
        assert b"THEIRS" not in export.data, query


def test_a_forged_cursor_cannot_inject_sql_or_skip_into_another_book(app, client, tenant_a, issue_token):
    import base64
    import json

    _customers(app, tenant_a, [{"external_id": "ZZ-THEIRS", "name": "n", "rm_email": tenant_a.email("rm2")}])
    rm1 = _bearer(issue_token(tenant_a, "rm1"))
    for position in (["' OR 1=1 --"], [0, "' OR 1=1 --"], ["A", "B", "C"], [{"a": 1}]):
        cursor = base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")
        for sort in ("external_id", "churn", "name"):
            page = client.get("/api/v1/lists/all/customers", query_string={"cursor": cursor, "sort": sort},
                              headers=rm1)
            assert page.status_code in (200, 400), (position, sort, page.data)
            assert b"ZZ-THEIRS" not in page.data
    assert client.get("/api/v1/lists/all/customers", query_string={"sort": "tenant_id"},
                      headers=rm1).status_code == 400


# --- Exports -----------------------------------------------------------------------------------------


def test_the_cli_export_makes_formula_like_names_inert(app, runner, tenant_a, tmp_path):
    from tierwise.platform.cli import cli

    _customers(app, tenant_a, [{"external_id": "FORM-1", "name": '=HYPERLINK("http://evil.test","x")'},
                               {"external_id": "FORM-2", "name": "@SUM(1+1)*cmd|' /C calc'!A0"}])
    out = tmp_path / "all.csv"
    result = runner.invoke(cli, ["export", "--tenant", tenant_a.slug, "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8-sig")
    cells = [cell for line in text.splitlines() for cell in line.split(",")]
    assert not any(cell.lstrip('"').startswith(("=", "@", "+", "-")) for cell in cells), text


def test_web_and_api_exports_make_formula_like_names_inert_and_xlsx_keeps_them_as_written_text(
        app, browser, client, tenant_a, issue_token):
    from openpyxl import load_workbook

    _customers(app, tenant_a, [{"external_id": "FX-1", "name": "=1+cmd|'/C calc'!A0"},
                               {"external_id": "FX-2", "name": "+2+3"}, {"external_id": "FX-3", "name": "@SUM(A1)"}])
    api = client.get("/api/v1/lists/all/export", query_string={"format": "csv"},
                     headers=_bearer(issue_token(tenant_a, "admin")))
    assert api.status_code == 200
    for line in api.data.decode("utf-8-sig").splitlines()[1:]:
        assert not line.split(",")[1].lstrip('"').startswith(("=", "+", "@", "-")), line
    browser.login(tenant_a, "admin")
    sheet = browser.get(f"/t/{tenant_a.slug}/lists/all/export", query_string={"format": "xlsx"})
    names = [row[1] for row in list(load_workbook(io.BytesIO(sheet.data)).active.iter_rows())[1:]]
    assert {cell.value for cell in names} == {"=1+cmd|'/C calc'!A0", "+2+3", "@SUM(A1)"}  # no quote to read past
    assert {cell.data_type for cell in names} == {"s"}  # text, never a formula


# --- CLI and database --------------------------------------------------------------------------------


def test_the_cli_does_not_show_another_tenants_import_run(app, runner, tenant_a, tenant_b, issue_token):
    from tierwise.platform.cli import cli

    upload = (io.BytesIO(b"external_id,name\nRUN-B,secret-name\n"), "b.csv")
    with app.test_client() as client:
        run = client.post("/api/v1/imports/customers", headers=_bearer(issue_token(tenant_b, "admin")),
                          data={"file": upload}, content_type="multipart/form-data").get_json()
    result = runner.invoke(cli, ["import", "status", "--tenant", tenant_a.slug, run["id"]])
    assert result.exit_code != 0
    assert "b.csv" not in result.output and "succeeded" not in result.output


def test_every_table_holding_a_tenant_id_has_forced_row_level_security(app):
    with app.app_context(), db.engine.connect() as connection:
        unprotected = connection.execute(sa.text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> 'tenants' "
            "AND NOT (c.relrowsecurity AND c.relforcerowsecurity)")).scalars().all()
        assert unprotected == []
        owned = connection.execute(sa.text(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user")).scalar()
        assert owned == 0


def test_a_server_error_page_shows_no_sql_trace_or_parameters(database_urls, tmp_path, tenant_a, issue_token):
    """A statement that fails in the database: the client gets the JSON error, and nothing of the SQL."""
    import sqlalchemy as sa

    from tests.conftest import make_settings
    from tierwise.platform.app import create_app
    from tierwise.platform.db import db

    served = create_app(settings=make_settings(database_urls, tmp_path, TIERWISE_ENV="production"))
    def failing_statement():
        db.session.commit()  # as a view that recorded something first: the signed-in user is expired with it
        return str(db.session.execute(sa.text("SELECT 'secret-marker'::int")).scalar())

    served.add_url_rule("/api/v1/failing-statement", "failing_statement", failing_statement)
    response = served.test_client().get("/api/v1/failing-statement", headers=_bearer(issue_token(tenant_a, "admin")))
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"  # the handler answered, after a failed statement
    for leak in (b"Traceback", b"SELECT", b"psycopg", b"secret-marker", b"sqlalchemy"):
        assert leak not in response.data, leak


def test_a_nul_in_an_upload_file_name_is_a_400_naming_the_file(tenant_a, client, issue_token):
    upload = (io.BytesIO(b"external_id,name\nE-1,x\n"), "secret-marker\x00.csv")
    response = client.post("/api/v1/imports/customers", headers=_bearer(issue_token(tenant_a, "admin")),
                           data={"file": upload}, content_type="multipart/form-data")
    assert response.status_code == 400 and response.get_json()["error"]["field"] == "file"


def test_the_import_page_offers_adding_fields_only_to_who_may_add_them(tenant_a, browser):
    browser.login(tenant_a, "analyst")
    assert 'name="add_fields"' not in browser.get(f"/t/{tenant_a.slug}/imports/").text
    browser.login(tenant_a, "admin")
    assert 'name="add_fields"' in browser.get(f"/t/{tenant_a.slug}/imports/").text


@pytest.mark.parametrize("path", ["/api/v1/models/versions/{id}", "/api/v1/model-runs/{id}",
                                  "/api/v1/rule-set/versions/{id}", "/api/v1/schedules/{id}",
                                  "/api/v1/retier-runs/{id}", "/api/v1/import-runs/{id}"])
def test_a_role_refused_a_kind_of_record_is_refused_alike_for_any_id(client, tenant_a, issue_token, path):
    """403 before any lookup: a 404 for ids that do not exist (and 403 for those that do) would tell an RM which do."""
    response = client.get(path.format(id=uuid.uuid4()), headers=_bearer(issue_token(tenant_a, "rm1")))
    assert response.status_code == 403, response.get_data(as_text=True)


def test_an_operator_switches_a_tenant_off_and_on_and_nothing_of_it_answers_meanwhile(
        app, browser, operator, tenant_a, client, issue_token, runner):
    from tierwise.platform.audit import AuditEvent
    from tierwise.platform.cli import cli

    token = {"Authorization": f"Bearer {issue_token(tenant_a)}"}
    admin = Browser(app.test_client())
    admin.login(tenant_a, "admin")
    refused = admin.client.post(f"/operator/tenants/{tenant_a.slug}/active",
                                data={"csrf_token": csrf_token_from(admin.get(f"/t/{tenant_a.slug}/").text)})
    assert refused.status_code == 302 and "/operator/login" in refused.location  # a tenant admin cannot
    assert client.get("/api/v1/me", headers=token).status_code == 200
    assert browser.submit("/operator/login", {"email": operator, "password": PASSWORD}).status_code == 302
    switched = browser.submit("/operator/", {}, action=f"/operator/tenants/{tenant_a.slug}/active")  # no "active"
    assert switched.status_code == 302
    console = browser.get("/operator/").text
    assert "switched off" in console and f'data-tenant="{tenant_a.slug}"' in console
    assert client.get("/api/v1/me", headers=token).status_code in (401, 404)  # its tokens no longer answer
    assert app.test_client().get(f"/t/{tenant_a.slug}/login").status_code == 404  # nor does its sign-in page
    listed = runner.invoke(cli, ["tenant", "list"])
    assert f"{tenant_a.slug}\t" in listed.output and "(switched off)" in listed.output

    assert runner.invoke(cli, ["tenant", "activate", tenant_a.slug]).exit_code == 0
    assert client.get("/api/v1/me", headers=token).status_code == 200  # all of it back: nothing was deleted
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        trail = [(e.action, e.actor_label) for e in db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action.like("tenant.%activated")).order_by(AuditEvent.id))]
    assert trail == [("tenant.deactivated", f"operator:{operator}"), ("tenant.activated", "cli")]
    unknown = runner.invoke(cli, ["tenant", "deactivate", "no-such-tenant"])
    assert unknown.exit_code == 2 and "no tenant 'no-such-tenant'" in unknown.output
