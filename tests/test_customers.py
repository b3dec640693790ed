"""Customers in the UI and the API: search, the customer page, who sees whom, erasure."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.conftest import Browser, csrf_token_from
from tierwise.platform import tenancy
from tierwise.platform.audit import Actor, AuditEvent, acting_as
from tierwise.platform.db import db
from tierwise.tenants.activity import Activity
from tierwise.tenants.customers import Customer
from tierwise.tenants.interactions import Interaction
from tierwise.tenants.imports.runner import import_records


@pytest.fixture
def book(app, tenant_a):
    """Three customers: one in rm1's book (north), one in rm2's (south), one unassigned; with history."""
    rows = [
        {"external_id": "A-001", "name": "北方客户", "rm_email": tenant_a.email("rm1"), "branch_code": "N"},
        {"external_id": "A-002", "name": "南方客户", "rm_email": tenant_a.email("rm2"), "branch_code": "S"},
        {"external_id": "A-003", "name": "无主客户"},
    ]
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id), acting_as(Actor(label="test")):
        import_records(rows, kind="customers")
        import_records([{"customer": "A-001", "occurred_at": f"2024-{m:02d}-15", "amount": str(100 * m),
                         "category": "deposit"} for m in range(1, 13)], kind="activity")
        import_records([{"customer": "A-001", "occurred_at": "2024-06-01 09:30", "channel": "微博", "type": "投诉",
                         "severity": "4", "summary": "排队太久"}], kind="interactions")
        db.session.commit()
        ids = dict(db.session.execute(sa.select(Customer.external_id, Customer.id)).all())
    return ids


def listed(browser, slug, query="") -> set[str]:
    page = browser.get(f"/t/{slug}/customers/?q={query}")
    assert page.status_code == 200
    return set(re.findall(r">(A-\d{3})</a>", page.text))


def test_admins_and_analysts_see_every_customer_rms_only_their_book(app, tenant_a, book):
    for who, expected in (("admin", {"A-001", "A-002", "A-003"}), ("analyst", {"A-001", "A-002", "A-003"}),
                          ("rm1", {"A-001"}), ("rm2", {"A-002"})):
        person = Browser(app.test_client())
        person.login(tenant_a, who)
        assert listed(person, tenant_a.slug) == expected, who


def test_a_branch_grant_widens_an_rms_book_without_taking_their_own_customers_elsewhere(app, tenant_a, book):
    """rm1 sees the north branch's customers once granted it, and still A-004, assigned to rm1 in the south."""
    from tierwise.platform.users import User, update_user

    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id), acting_as(Actor(label="test")):
        import_records([{"external_id": "A-004", "name": "南方的北方客户", "rm_email": tenant_a.email("rm1"),
                         "branch_code": "S"},
                        {"external_id": "A-005", "name": "北方无主客户", "branch_code": "N"}], kind="customers")
        rm1 = db.session.scalar(sa.select(User).where(User.email == tenant_a.email("rm1")))
        update_user(rm1, role=rm1.role, display_name=rm1.display_name, branch_id=rm1.branch_id, book_scope="branch",
                    active=True)
        db.session.commit()
    person = Browser(app.test_client())
    person.login(tenant_a, "rm1")
    assert listed(person, tenant_a.slug) == {"A-001", "A-004", "A-005"}  # the branch's, and their own elsewhere


def test_an_rm_gets_404_for_a_customer_outside_their_book_in_page_and_api(app, tenant_a, book, issue_token):
    person = Browser(app.test_client())
    person.login(tenant_a, "rm1")
    assert person.get(f"/t/{tenant_a.slug}/customers/{book['A-002']}").status_code == 404
    assert person.get(f"/t/{tenant_a.slug}/customers/{book['A-001']}").status_code == 200
    bearer = {"Authorization": f"Bearer {issue_token(tenant_a, 'rm1')}"}
    client = app.test_client()
    for suffix in ("", "/activity", "/interactions"):
        assert client.get(f"/api/v1/customers/{book['A-002']}{suffix}", headers=bearer).status_code == 404
        assert client.get(f"/api/v1/customers/{book['A-001']}{suffix}", headers=bearer).status_code == 200
    listed_ids = {c["external_id"] for c in client.get("/api/v1/customers", headers=bearer).json["items"]}
    assert listed_ids == {"A-001"}


def test_search_matches_id_prefix_and_part_of_the_name(browser, tenant_a, book):
    browser.login(tenant_a, "admin")
    assert listed(browser, tenant_a.slug, "A-00") == {"A-001", "A-002", "A-003"}
    assert listed(browser, tenant_a.slug, "南方") == {"A-002"}
    assert listed(browser, tenant_a.slug, "%") == set()  # wildcards are searched for, not obeyed


def test_a_search_longer_than_a_lists_is_refused_naming_q_in_page_and_api(client, browser, tenant_a, book,
                                                                           issue_token):
    bearer = {"Authorization": f"Bearer {issue_token(tenant_a)}"}
    assert client.get("/api/v1/customers?q=" + "客" * 100, headers=bearer).status_code == 200
    refused = client.get("/api/v1/customers?q=" + "客" * 101, headers=bearer)
    assert refused.status_code == 400 and refused.json["error"]["field"] == "q", refused.json
    browser.login(tenant_a, "admin")
    page = browser.get(f"/t/{tenant_a.slug}/customers/?q=" + "x" * 101)
    assert page.status_code == 400 and "Search customers: at most 100 characters" in page.text
    assert 'maxlength="100"' in page.text and 'value="' + "x" * 101 + '"' in page.text  # kept to correct
    chinese = browser.get(f"/t/{tenant_a.slug}/customers/?q=" + "x" * 101, headers={"Accept-Language": "zh-CN"})
    assert "搜索客户：" in chinese.text  # a full-width colon after Chinese


def test_customer_page_shows_profile_monthly_activity_and_complaints(browser, tenant_a, book):
    browser.login(tenant_a, "admin")
    page = browser.get(f"/t/{tenant_a.slug}/customers/{book['A-001']}").text
    assert "北方客户" in page and "2024-12" in page and "1,200.00" in page
    assert "Social media" in page and "Complaint" in page and "排队太久" in page


def test_api_returns_monthly_activity_and_interactions(app, tenant_a, book, issue_token):
    bearer = {"Authorization": f"Bearer {issue_token(tenant_a, 'analyst')}"}
    activity = app.test_client().get(f"/api/v1/customers/{book['A-001']}/activity", headers=bearer).json["items"]
    assert [row["month"] for row in activity][:2] == ["2024-12", "2024-11"] and activity[0]["amount"] == 1200.0
    interactions = app.test_client().get(f"/api/v1/customers/{book['A-001']}/interactions", headers=bearer).json
    assert interactions["items"][0]["channel"] == "social_media"


def test_activity_is_totalled_by_the_tenants_own_months(app, tenant_a, book, issue_token):
    """A bill dated 1 March at local midnight is stored as 28 February 16:00 UTC; it is March's."""
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id), acting_as(Actor(label="test")):
        import_records([{"customer": "A-002", "occurred_at": "2025-03-01", "amount": "77"}], kind="activity")
        db.session.commit()
    bearer = {"Authorization": f"Bearer {issue_token(tenant_a, 'analyst')}"}
    activity = app.test_client().get(f"/api/v1/customers/{book['A-002']}/activity", headers=bearer).json["items"]
    assert [(row["month"], row["amount"]) for row in activity] == [("2025-03", 77.0)]


def test_erasing_a_customer_removes_its_history_and_is_audited(app, browser, tenant_a, book):
    browser.login(tenant_a, "admin")
    url = f"/t/{tenant_a.slug}/customers/{book['A-001']}"
    unconfirmed = browser.submit(url, {"confirm": "wrong"}, action=f"{url}/erase")
    assert unconfirmed.status_code == 302 and browser.get(url).status_code == 200  # nothing happened
    erased = browser.submit(url, {"confirm": "A-001"}, action=f"{url}/erase")
    assert erased.status_code == 302 and browser.get(url).status_code == 404
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Interaction)) == 0
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "customer.erased")).one()
        assert event.details["external_id"] == "A-001" and event.details["removed"]["activity"] == 12


def test_only_admins_may_erase(app, tenant_a, book, issue_token):
    person = Browser(app.test_client())
    person.login(tenant_a, "analyst")
    url = f"/t/{tenant_a.slug}/customers/{book['A-002']}"
    assert person.submit(url, {"confirm": "A-002"}, action=f"{url}/erase").status_code == 403
    bearer = {"Authorization": f"Bearer {issue_token(tenant_a, 'analyst')}"}
    assert app.test_client().delete(f"/api/v1/customers/{book['A-002']}", headers=bearer).status_code == 403
    assert person.get(url).status_code == 200


def test_upload_page_imports_a_csv_and_reports_bad_rows(app, browser, tenant_a, tmp_path):
    import io

    browser.login(tenant_a, "admin")
    page = browser.get(f"/t/{tenant_a.slug}/imports/")
    good = io.BytesIO("external_id,name\n0042,上传客户\n".encode("gbk"))
    response = browser.client.post(f"/t/{tenant_a.slug}/imports/", data={
        "csrf_token": csrf_token_from(page.text), "kind": "customers", "file": (good, "客户.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 302 and "/imports/runs/" in response.location
    run_page = browser.get(response.location)
    assert "客户.csv" in run_page.text and "Succeeded" in run_page.text
    bad = io.BytesIO(b"external_id,name\n,Nobody\n")
    response = browser.client.post(f"/t/{tenant_a.slug}/imports/", data={
        "csrf_token": csrf_token_from(page.text), "kind": "customers", "file": (bad, "bad.csv")},
        content_type="multipart/form-data")
    run_page = browser.get(response.location)
    assert "Failed" in run_page.text and "nothing was imported" in run_page.text and "is required" in run_page.text
    assert "bad.csv" in browser.get(f"/t/{tenant_a.slug}/imports/").text  # listed among recent imports
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        assert set(db.session.scalars(sa.select(Customer.external_id))) == {"0042"}


def test_api_imports_a_json_batch_and_refuses_bad_rows_with_their_positions(app, tenant_a, issue_token):
    bearer = {"Authorization": f"Bearer {issue_token(tenant_a, 'analyst')}"}
    client = app.test_client()
    ok = client.post("/api/v1/imports/customers", json={"rows": [{"external_id": "J1", "name": "接口客户"}]},
                     headers=bearer)
    assert ok.status_code == 200 and ok.json["inserted"] == 1
    bad = client.post("/api/v1/imports/activity", json={"rows": [{"customer": "J1", "occurred_at": "2024-13-40",
                                                                  "amount": "1"}]}, headers=bearer)
    assert bad.status_code == 400 and bad.json["error"]["rows"][0] == {
        "row": 0, "column": "occurred_at", "value": "2024-13-40",
        "reason": "is not a date or time such as 2024-01-05, 2024/1/5 13:45 or 2024年1月5日"}
    rm = {"Authorization": f"Bearer {issue_token(tenant_a, 'rm1')}"}
    assert client.post("/api/v1/imports/customers", json={"rows": [{"external_id": "J2", "name": "x"}]},
                       headers=rm).status_code == 403


def test_api_file_upload_becomes_an_import_run_you_can_poll(app, tenant_a, issue_token):
    import io

    bearer = {"Authorization": f"Bearer {issue_token(tenant_a, 'admin')}"}
    client = app.test_client()
    response = client.post("/api/v1/imports/customers", headers=bearer, content_type="multipart/form-data",
                           data={"file": (io.BytesIO("external_id;name\n77;分号客户\n".encode()), "semi.csv")})
    assert response.status_code == 201
    run = client.get(response.headers["Location"], headers=bearer).json
    assert run["status"] == "succeeded" and run["result"]["inserted"] == 1 and run["source_name"] == "semi.csv"
    assert run["id"] in {r["id"] for r in client.get("/api/v1/import-runs", headers=bearer).json["items"]}


def test_an_import_job_on_rq_reports_progress_and_outcome(database_urls, tmp_path, redis_url, tenant_a):
    from rq import Queue, SimpleWorker

    from tests.conftest import make_settings
    from tierwise.jobs.queue import redis_connection
    from tierwise.platform.app import create_app
    from tierwise.tenants.imports.runs import ImportRun, start_import_run

    rq_app = create_app(settings=make_settings(database_urls, tmp_path, TIERWISE_REDIS_URL=redis_url))
    upload = tmp_path / "big.csv"
    upload.write_text("external_id,name\n" + "".join(f"{i:06d},客户{i}\n" for i in range(250_000)))
    with rq_app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id), acting_as(Actor(label="test")):
        run = start_import_run(upload, kind="customers", source_name="big.csv", created_by="test")
        assert run.status == "queued"
        connection = redis_connection()
        SimpleWorker([Queue("long", connection=connection)], connection=connection).work(burst=True)
        db.session.expire_all()
        finished = ImportRun.get(run.id)
        assert finished.status == "succeeded" and finished.rows_read == 250_000 and finished.rows_per_second > 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 250_000


def test_an_empty_customer_page_says_what_to_do_for_who_reads_it(app, browser, make_tenant):
    world = make_tenant("bank")  # no customers yet
    browser.login(world, "admin")
    empty = browser.get(f"/t/{world.slug}/customers/", headers={"Accept-Language": "en"}).text
    assert "No customers yet." in empty and f'href="/t/{world.slug}/imports/"' in empty
    assert "No customers match." in browser.get(f"/t/{world.slug}/customers/", query_string={"q": "nobody"},
                                                headers={"Accept-Language": "en"}).text
    rm = Browser(app.test_client())
    rm.login(world, "rm1")
    assert "No customers yet: your administrator has not imported any." in rm.get(
        f"/t/{world.slug}/customers/", headers={"Accept-Language": "en"}).text  # an RM cannot import
