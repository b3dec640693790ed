"""Account ownership: admins assign customers and move books; every change of RM is recorded.

The history is written by a trigger on customers, so these tests change RMs
every way the product does (the services, the web pages, the API, imports)
and read the history back; the last tests run the same on SQLite, the demo's
database, whose trigger reaches back into Python for who and why.
"""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, Browser, embedded_app
from tierwise.errors import ConflictError, ValidationError
from tierwise.platform import tenancy
from tierwise.platform.audit import Actor, AuditEvent, acting_as
from tierwise.platform.db import db
from tierwise.platform.users import Role, User, update_user
from tierwise.tenants import ownership
from tierwise.tenants.customer_directory import erase_customer
from tierwise.tenants.customers import Customer
from tierwise.tenants.imports.runner import import_records


@dataclass(frozen=True)
class Period:
    rm: str | None  # the RM's email; None: unassigned
    valid_from: datetime
    valid_to: datetime | None
    changed_by: str
    reason: str


@contextmanager
def acting(app, world, who: str = "admin"):
    """Inside the world's tenant, as one of its people (as a signed-in request would be)."""
    with app.app_context(), tenancy.tenant_scope(world.tenant_id), \
            acting_as(Actor(label=world.email(who), user_id=world.users[who].id)):
        yield
        db.session.rollback()  # whatever the block did not commit


def customer_ids(app, world) -> dict[str, uuid.UUID]:
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        return dict(db.session.execute(sa.select(Customer.external_id, Customer.id)).all())


def current_rms(app, world) -> dict[str, str | None]:
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        emails = dict(db.session.execute(sa.select(User.id, User.email)).all())
        rows = db.session.execute(sa.select(Customer.external_id, Customer.rm_user_id)).all()
    return {external_id: emails.get(rm) for external_id, rm in rows}


def periods(app, world, external_id: str) -> list[Period]:
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        emails = dict(db.session.execute(sa.select(User.id, User.email)).all())
        customer = db.session.scalar(sa.select(Customer).where(Customer.external_id == external_id))
        return [Period(emails.get(p.rm_user_id), p.valid_from, p.valid_to, p.changed_by, p.reason)
                for p in ownership.assignment_history(customer)]


def audit_events(app, world, action: str) -> list[AuditEvent]:
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        events = list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))
        db.session.expunge_all()
        return events


@pytest.fixture
def book(app, tenant_a):
    """rm1 looks after A-001 (north) and A-002 (south), rm2 A-003 (south); A-004 has no RM. Imported by 'importer'."""
    rows = [{"external_id": "A-001", "name": "北方客户", "rm_email": tenant_a.email("rm1"), "branch_code": "N"},
            {"external_id": "A-002", "name": "南方客户", "rm_email": tenant_a.email("rm1"), "branch_code": "S"},
            {"external_id": "A-003", "name": "另一客户", "rm_email": tenant_a.email("rm2"), "branch_code": "S"},
            {"external_id": "A-004", "name": "无主客户", "branch_code": "N"}]
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id), acting_as(Actor(label="importer")):
        import_records(rows, kind="customers")
        db.session.commit()
    return customer_ids(app, tenant_a)


# --- the history ---------------------------------------------------------------

def test_importing_customers_records_each_first_assignment_and_who_imported_them(app, tenant_a, book):
    [first] = periods(app, tenant_a, "A-001")
    assert (first.rm, first.valid_to, first.changed_by, first.reason) == (
        tenant_a.email("rm1"), None, "importer", "import of api batch")
    assert periods(app, tenant_a, "A-004") == []  # never assigned: nothing to record


def test_an_uploaded_file_is_recorded_as_the_admin_who_uploaded_it_under_its_own_name(app, browser, tenant_a):
    """The import runs as a job, but the admin did it: the audit log and the history say who, and which file."""
    import io

    from tests.conftest import csrf_token_from

    browser.login(tenant_a, "admin")
    page = browser.get(f"/t/{tenant_a.slug}/imports/")
    content = f"external_id,name,rm_email\nU-001,上传客户,{tenant_a.email('rm1')}\n".encode()
    response = browser.client.post(f"/t/{tenant_a.slug}/imports/", content_type="multipart/form-data", data={
        "csrf_token": csrf_token_from(page.text), "kind": "customers", "file": (io.BytesIO(content), "分行客户.csv")})
    assert response.status_code == 302
    [first] = periods(app, tenant_a, "U-001")
    assert (first.changed_by, first.reason) == (tenant_a.email("admin"), "import of 分行客户.csv")
    [event] = audit_events(app, tenant_a, "import.completed")
    assert event.actor_label == tenant_a.email("admin") and event.actor_user_id == tenant_a.users["admin"].id
    assert "分行客户.csv" in str(event.details) and ".csv" not in str(event.details).replace("分行客户.csv", "")


def test_assigning_customers_closes_their_period_opens_a_new_one_and_is_audited(app, tenant_a, book):
    with acting(app, tenant_a):
        result = ownership.assign([book["A-001"], book["A-004"]], tenant_a.users["rm2"].id, reason="rebalancing")
        db.session.commit()
    assert (result.customers, result.changed) == (2, 2)
    now, before = periods(app, tenant_a, "A-001")
    assert (now.rm, now.valid_to, now.changed_by, now.reason) == (
        tenant_a.email("rm2"), None, tenant_a.email("admin"), "rebalancing")
    assert before.rm == tenant_a.email("rm1") and before.valid_to == now.valid_from
    assert [p.rm for p in periods(app, tenant_a, "A-004")] == [tenant_a.email("rm2")]
    [event] = audit_events(app, tenant_a, "customers.assigned")
    assert event.actor_label == tenant_a.email("admin")
    assert event.details["customers"] == 2 and event.details["changed"] == 2
    assert event.details["rm_user_id"] == str(tenant_a.users["rm2"].id) and event.details["reason"] == "rebalancing"


def test_assigning_customers_their_own_rm_again_records_nothing_new(app, tenant_a, book):
    with acting(app, tenant_a):
        result = ownership.assign([book["A-001"], book["A-003"]], tenant_a.users["rm1"].id, reason="tidy up")
        db.session.commit()
    assert (result.customers, result.changed) == (2, 1)
    assert len(periods(app, tenant_a, "A-001")) == 1 and len(periods(app, tenant_a, "A-003")) == 2


def test_unassigning_records_a_period_without_an_rm(app, tenant_a, book):
    with acting(app, tenant_a):
        ownership.assign([book["A-003"]], None, reason="rm on leave")
        db.session.commit()
    assert current_rms(app, tenant_a)["A-003"] is None
    assert [(p.rm, p.valid_to is None) for p in periods(app, tenant_a, "A-003")] == [
        (None, True), (tenant_a.email("rm2"), False)]


def test_an_import_that_changes_a_customers_rm_is_recorded(app, tenant_a, book):
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id), acting_as(Actor(label="nightly-sync")):
        result = import_records([{"external_id": "A-003", "name": "另一客户", "rm_email": tenant_a.email("rm1")},
                                 {"external_id": "A-001", "name": "北方客户", "rm_email": tenant_a.email("rm1")}],
                                kind="customers")
        db.session.commit()
    assert result.updated == 1
    now, before = periods(app, tenant_a, "A-003")
    assert (now.rm, now.changed_by, now.reason) == (tenant_a.email("rm1"), "nightly-sync", "import of api batch")
    assert before.rm == tenant_a.email("rm2") and before.valid_to == now.valid_from
    assert len(periods(app, tenant_a, "A-001")) == 1  # same RM: not a change


@pytest.mark.parametrize("who", ["admin", "analyst", "retired rm"])
def test_an_import_cannot_give_customers_to_anyone_but_an_active_rm(app, tenant_a, book, who):
    with acting(app, tenant_a):
        if who == "retired rm":
            ownership.reassign_book(tenant_a.users["rm2"].id, tenant_a.users["rm1"].id, reason="rm2 leaves")
            rm2 = User.get(tenant_a.users["rm2"].id)
            update_user(rm2, role=rm2.role, display_name="", branch_id=rm2.branch_id, book_scope="own", active=False)
        db.session.commit()
    email = tenant_a.email("rm2" if who == "retired rm" else who)
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id), acting_as(Actor(label="nightly-sync")):
        with pytest.raises(ValidationError) as refused:
            import_records([{"external_id": "A-001", "name": "北方客户", "rm_email": tenant_a.email("rm1")},
                            {"external_id": "A-009", "name": "新客户", "rm_email": email.upper()}], kind="customers")
        db.session.rollback()
    assert (refused.value.field, refused.value.row) == ("rm_email", 1)  # the second record as sent (rows[1])
    assert "no active relationship manager with this email" in str(refused.value)
    assert "A-009" not in current_rms(app, tenant_a)  # nothing was imported


def test_erasing_a_customer_erases_its_assignment_history(app, tenant_a, book):
    with acting(app, tenant_a):
        ownership.assign([book["A-001"]], tenant_a.users["rm2"].id, reason="before erasure")
        removed = erase_customer(db.session.get(Customer, (tenant_a.tenant_id, book["A-001"])))
        db.session.commit()
    assert removed["rm_assignments"] == 2
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        left = db.session.scalars(sa.select(ownership.RmAssignment.customer_id)).all()
    assert book["A-001"] not in left and len(left) == 2  # keep theirs


# --- what may be assigned --------------------------------------------------------

@pytest.mark.parametrize("who", ["admin", "analyst", "retired_rm", "unknown", "other_tenants_rm"])
def test_customers_go_only_to_an_active_relationship_manager_of_the_tenant(app, tenant_a, tenant_b, book, who):
    with acting(app, tenant_a):
        retired = User.get(tenant_a.users["rm2"].id)
        ownership.assign([book["A-003"]], tenant_a.users["rm1"].id, reason="before retiring rm2")
        update_user(retired, role=retired.role, display_name="", branch_id=None, book_scope="own", active=False)
        db.session.commit()
    target = {"retired_rm": tenant_a.users["rm2"].id, "unknown": uuid.uuid4(),
              "other_tenants_rm": tenant_b.users["rm1"].id}.get(who) or tenant_a.users[who].id
    with acting(app, tenant_a), pytest.raises(ValidationError) as refused:
        ownership.assign([book["A-004"]], target, reason="try")
    assert refused.value.field == "rm_user_id"
    assert current_rms(app, tenant_a)["A-004"] is None


def test_another_tenants_customer_is_refused_by_id_and_nothing_changes(app, tenant_a, tenant_b, book):
    theirs = book["A-001"]
    with acting(app, tenant_b), pytest.raises(ValidationError) as refused:
        ownership.assign([theirs], tenant_b.users["rm1"].id, reason="grab")
    assert refused.value.field == "customer_ids" and str(theirs) in refused.value.message
    assert current_rms(app, tenant_a)["A-001"] == tenant_a.email("rm1")


def test_a_reason_is_required(app, tenant_a, book):
    with acting(app, tenant_a), pytest.raises(ValidationError) as refused:
        ownership.assign([book["A-004"]], tenant_a.users["rm1"].id, reason="  ")
    assert refused.value.field == "reason"


# --- moving a book --------------------------------------------------------------

def test_reassigning_a_book_moves_exactly_that_rms_customers(app, tenant_a, book):
    with acting(app, tenant_a):
        move = ownership.reassign_book(tenant_a.users["rm1"].id, tenant_a.users["rm2"].id, reason="rm1 leaves")
        db.session.commit()
    assert move.moved == 2
    assert current_rms(app, tenant_a) == {"A-001": tenant_a.email("rm2"), "A-002": tenant_a.email("rm2"),
                                          "A-003": tenant_a.email("rm2"), "A-004": None}
    assert len(periods(app, tenant_a, "A-003")) == 1  # was rm2's already: untouched
    [event] = audit_events(app, tenant_a, "customers.book_reassigned")
    assert event.details["customers"] == 2 and event.target_id == str(tenant_a.users["rm1"].id)


def test_reassigning_one_branchs_part_of_a_book_leaves_the_rest(app, tenant_a, book):
    with acting(app, tenant_a):
        move = ownership.reassign_book(tenant_a.users["rm1"].id, tenant_a.users["rm2"].id, reason="south desk",
                                       branch_id=tenant_a.branches["south"].id)
        db.session.commit()
    assert move.moved == 1
    rms = current_rms(app, tenant_a)
    assert rms["A-001"] == tenant_a.email("rm1") and rms["A-002"] == tenant_a.email("rm2")


def test_a_book_cannot_move_to_its_own_rm_or_another_tenants_branch(app, tenant_a, tenant_b, book):
    rm1, rm2 = tenant_a.users["rm1"].id, tenant_a.users["rm2"].id
    with acting(app, tenant_a), pytest.raises(ValidationError) as same:
        ownership.reassign_book(rm1, rm1, reason="noop")
    with acting(app, tenant_a), pytest.raises(ValidationError) as branch:
        ownership.reassign_book(rm1, rm2, reason="x", branch_id=tenant_b.branches["north"].id)
    assert (same.value.field, branch.value.field) == ("to_user_id", "branch_id")


# --- the deactivation guard ------------------------------------------------------

def test_deactivating_an_rm_with_customers_is_refused_until_their_book_is_reassigned(app, tenant_a, book):
    with acting(app, tenant_a):
        rm1 = User.get(tenant_a.users["rm1"].id)
        with pytest.raises(ConflictError, match="looks after 2 customers: reassign them first"):
            update_user(rm1, role=rm1.role, display_name="", branch_id=rm1.branch_id, book_scope="own", active=False)
        ownership.reassign_book(rm1.id, tenant_a.users["rm2"].id, reason="rm1 leaves")
        update_user(rm1, role=rm1.role, display_name="", branch_id=rm1.branch_id, book_scope="own", active=False)
        db.session.commit()
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        assert not User.get(tenant_a.users["rm1"].id).active


def test_an_rm_with_customers_keeps_the_role_until_their_book_is_reassigned(app, tenant_a, book):
    with acting(app, tenant_a):
        rm2 = User.get(tenant_a.users["rm2"].id)
        with pytest.raises(ConflictError, match="looks after 1 customer: reassign it first"):
            update_user(rm2, role=Role.ANALYST, display_name="", branch_id=None, book_scope="own", active=True)
        update_user(rm2, role=rm2.role, display_name="Still an RM", branch_id=None, book_scope="own", active=True)
        assert rm2.display_name == "Still an RM"  # other changes are not held up


def test_the_user_page_refuses_deactivation_with_the_reason(app, browser, tenant_a, book):
    browser.login(tenant_a, "admin")
    url = f"/t/{tenant_a.slug}/users/{tenant_a.users['rm1'].id}"
    response = browser.submit(url, {"email": tenant_a.email("rm1"), "role": "relationship_manager",
                                     "branch_id": "", "book_scope": "own"})  # "active" unticked
    assert response.status_code == 400 and "looks after 2 customers: reassign them first" in response.text
    assert f"/users/{tenant_a.users['rm1'].id}/book" in response.text
    refused = response.text.split('class="field has-error"')[1].split("</div>")[0]
    assert 'name="active"' in refused and "looks after 2 customers: reassign them first" in refused  # beside Active, not Role


# --- web -------------------------------------------------------------------------

def test_admin_reassigns_a_customer_on_its_page_and_sees_the_history(app, browser, tenant_a, book):
    browser.login(tenant_a, "admin")
    url = f"/t/{tenant_a.slug}/customers/{book['A-002']}"
    response = browser.submit(url, {"rm_user_id": str(tenant_a.users["rm2"].id), "reason": "客户要求更换"},
                              action=f"{url}/assignment")
    assert response.status_code == 302
    page = browser.get(url).text
    assert "客户要求更换" in page and "importer" in page and tenant_a.email("admin") in page
    assert current_rms(app, tenant_a)["A-002"] == tenant_a.email("rm2")
    missing_reason = browser.submit(url, {"rm_user_id": "", "reason": ""}, action=f"{url}/assignment")
    assert missing_reason.status_code == 400 and current_rms(app, tenant_a)["A-002"] == tenant_a.email("rm2")


def test_an_rm_sees_the_history_of_their_customer_but_cannot_reassign_it(app, tenant_a, book, issue_token):
    person = Browser(app.test_client())
    person.login(tenant_a, "rm1")
    url = f"/t/{tenant_a.slug}/customers/{book['A-001']}"
    page = person.get(url).text
    assert "importer" in page and f"{url}/assignment" not in page
    assert person.submit(url, {"rm_user_id": str(tenant_a.users["rm1"].id), "reason": "mine"},
                         action=f"{url}/assignment").status_code == 403
    bearer = {"Authorization": f"Bearer {issue_token(tenant_a, 'rm1')}"}
    response = app.test_client().post("/api/v1/customers/assignments", headers=bearer, json={
        "customer_ids": [str(book["A-004"])], "rm_user_id": str(tenant_a.users["rm1"].id), "reason": "mine"})
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
    assert current_rms(app, tenant_a)["A-004"] is None


def test_book_page_shows_the_count_and_moves_one_branchs_customers(app, browser, tenant_a, book):
    browser.login(tenant_a, "admin")
    users_page = browser.get(f"/t/{tenant_a.slug}/users/").text
    url = f"/t/{tenant_a.slug}/users/{tenant_a.users['rm1'].id}/book"
    assert url in users_page
    assert "Looks after 2 customers." in browser.get(url).text
    response = browser.submit(url, {"to_user_id": str(tenant_a.users["rm2"].id),
                                    "branch_id": str(tenant_a.branches["north"].id), "reason": "north desk"})
    assert response.status_code == 302
    assert "Looks after 1 customers." in browser.get(url).text
    assert current_rms(app, tenant_a)["A-001"] == tenant_a.email("rm2")


# --- API -------------------------------------------------------------------------

def test_api_assigns_many_customers_and_returns_their_history(app, tenant_a, book, issue_token):
    client, bearer = app.test_client(), {"Authorization": f"Bearer {issue_token(tenant_a, 'admin')}"}
    response = client.post("/api/v1/customers/assignments", headers=bearer, json={
        "customer_ids": [str(book["A-003"]), str(book["A-004"])], "rm_user_id": str(tenant_a.users["rm1"].id),
        "reason": "api rebalancing"})
    assert response.status_code == 200
    assert response.json == {"rm_user_id": str(tenant_a.users["rm1"].id), "customers": 2, "changed": 2}
    items = client.get(f"/api/v1/customers/{book['A-003']}/assignments", headers=bearer).json["items"]
    assert [(i["rm_user_id"], i["valid_to"] is None, i["reason"]) for i in items] == [
        (str(tenant_a.users["rm1"].id), True, "api rebalancing"), (str(tenant_a.users["rm2"].id), False, "import of api batch")]
    assert items[0]["changed_by"] == tenant_a.email("admin")
    unassigned = client.post("/api/v1/customers/assignments", headers=bearer, json={
        "customer_ids": [str(book["A-004"])], "rm_user_id": None, "reason": "back to the pool"})
    assert unassigned.json["changed"] == 1 and current_rms(app, tenant_a)["A-004"] is None


@pytest.mark.parametrize("body, field", [
    ({"customer_ids": ["not-a-uuid"], "rm_user_id": None, "reason": "x"}, "customer_ids"),
    ({"customer_ids": [], "rm_user_id": None, "reason": "x"}, "customer_ids"),
    ({"customer_ids": "A-001", "rm_user_id": None, "reason": "x"}, "customer_ids"),
    ({"customer_ids": [], "reason": "x"}, "rm_user_id"),
    ({"customer_ids": [], "rm_user_id": None, "reason": "x", "branch_id": None}, "branch_id"),
    ({"customer_ids": [], "rm_user_id": None, "reason": 5}, "reason"),
])
def test_api_names_the_field_at_fault(app, tenant_a, issue_token, body, field):
    bearer = {"Authorization": f"Bearer {issue_token(tenant_a, 'admin')}"}
    response = app.test_client().post("/api/v1/customers/assignments", headers=bearer, json=body)
    assert response.status_code == 400 and response.json["error"] == {
        "code": "invalid", "message": response.json["error"]["message"], "field": field}


def test_api_refuses_another_tenants_customers_and_users(app, tenant_a, tenant_b, book, issue_token):
    client, bearer = app.test_client(), {"Authorization": f"Bearer {issue_token(tenant_b, 'admin')}"}
    theirs = client.post("/api/v1/customers/assignments", headers=bearer, json={
        "customer_ids": [str(book["A-001"])], "rm_user_id": str(tenant_b.users["rm1"].id), "reason": "grab"})
    assert theirs.status_code == 400 and theirs.json["error"]["field"] == "customer_ids"
    to_their_rm = client.post(f"/api/v1/users/{tenant_b.users['rm1'].id}/book/reassign", headers=bearer,
                              json={"to_user_id": str(tenant_a.users["rm2"].id), "reason": "grab"})
    assert to_their_rm.status_code == 400 and to_their_rm.json["error"]["field"] == "to_user_id"
    their_rm = client.post(f"/api/v1/users/{tenant_a.users['rm1'].id}/book/reassign", headers=bearer,
                           json={"to_user_id": str(tenant_b.users["rm2"].id), "reason": "grab"})
    assert their_rm.status_code == 404 and their_rm.json["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/customers/{book['A-001']}/assignments", headers=bearer).status_code == 404
    assert current_rms(app, tenant_a)["A-001"] == tenant_a.email("rm1")


def test_api_moves_a_book_and_then_the_rm_can_be_deactivated(app, tenant_a, book, issue_token):
    client, bearer = app.test_client(), {"Authorization": f"Bearer {issue_token(tenant_a, 'admin')}"}
    response = client.post(f"/api/v1/users/{tenant_a.users['rm1'].id}/book/reassign", headers=bearer,
                           json={"to_user_id": str(tenant_a.users["rm2"].id), "branch_id": None, "reason": "leaving"})
    assert response.status_code == 200 and response.json == {
        "from_user_id": str(tenant_a.users["rm1"].id), "to_user_id": str(tenant_a.users["rm2"].id),
        "branch_id": None, "moved": 2}
    with acting(app, tenant_a):
        rm1 = User.get(tenant_a.users["rm1"].id)
        update_user(rm1, role=rm1.role, display_name="", branch_id=None, book_scope="own", active=False)
        db.session.commit()


# --- SQLite (the demo's database) ---------------------------------------------------

@pytest.fixture
def sqlite_app(database_urls, tmp_path):
    return embedded_app(database_urls, tmp_path)[0]


def test_assignment_history_is_recorded_on_sqlite_too(sqlite_app):
    from tierwise.platform.tenant import find_tenant
    from tierwise.platform.users import create_user

    with sqlite_app.app_context():
        tenant_id = find_tenant("lite").id
        with tenancy.tenant_scope(tenant_id), acting_as(Actor(label="demo")):
            first = create_user(email="rm1@lite.test", role=Role.RELATIONSHIP_MANAGER, password=PASSWORD)
            second = create_user(email="rm2@lite.test", role=Role.RELATIONSHIP_MANAGER, password=PASSWORD)
            import_records([{"external_id": "L1", "name": "轻量客户", "rm_email": "rm1@lite.test"}], kind="customers")
            db.session.commit()
            customer = db.session.scalar(sa.select(Customer))
            rm1, rm2 = first.id, second.id
        with tenancy.tenant_scope(tenant_id), acting_as(Actor(label="admin@lite.test")):
            assert ownership.reassign_book(rm1, rm2, reason="sqlite move").moved == 1
            db.session.commit()
            now, before = ownership.assignment_history(customer)
    assert (now.rm_user_id, now.valid_to, now.changed_by, now.reason) == (rm2, None, "admin@lite.test", "sqlite move")
    assert (before.rm_user_id, before.changed_by, before.reason) == (rm1, "demo", "import of api batch")
    assert before.valid_to == now.valid_from and before.valid_from <= now.valid_from


def test_upgrading_records_assignments_made_before_history_was_kept(sqlite_app):
    from flask_migrate import downgrade, upgrade

    from tierwise.platform.tenant import find_tenant
    from tierwise.platform.users import create_user

    with sqlite_app.app_context():
        tenant_id = find_tenant("lite").id
        with tenancy.tenant_scope(tenant_id), acting_as(Actor(label="demo")):
            rm = create_user(email="rm@lite.test", role=Role.RELATIONSHIP_MANAGER, password=PASSWORD).id
            import_records([{"external_id": "L1", "name": "老客户", "rm_email": "rm@lite.test"},
                            {"external_id": "L2", "name": "无主客户"}], kind="customers")
            db.session.commit()
        db.session.remove()
        downgrade(revision="0008")  # as if these customers had been assigned before revision 0009
        upgrade()
        with tenancy.tenant_scope(tenant_id):
            customers = {c.external_id: c for c in db.session.scalars(sa.select(Customer))}
            [period] = ownership.assignment_history(customers["L1"])
            assert ownership.assignment_history(customers["L2"]) == []
    assert (period.rm_user_id, period.valid_to, period.changed_by) == (rm, None, "migration")
    assert period.valid_from == customers["L1"].created_at
