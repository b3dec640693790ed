"""Tenant admins manage users and branches; other roles cannot; every change is audited."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, Browser
from tierwise.platform import tenancy
from tierwise.platform.audit import AuditEvent
from tierwise.platform.db import db
from tierwise.platform.users import User

ADMIN_PAGES = ["/users/", "/users/new", "/branches/", "/audit/"]


def audit_events(app, world, action):
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def user_row(app, world, email) -> User | None:
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


@pytest.mark.parametrize("who", ["analyst", "rm1"])
@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_only_tenant_admins_reach_the_admin_pages(browser, tenant_a, who, page):
    browser.login(tenant_a, who)
    assert browser.get(f"/t/{tenant_a.slug}{page}").status_code == 403


def test_admin_creates_a_relationship_manager_who_can_then_sign_in(app, client, browser, tenant_a):
    browser.login(tenant_a, "admin")
    response = browser.submit(f"/t/{tenant_a.slug}/users/new", {
        "email": "New.RM@Example.com", "display_name": "新 客户经理", "role": "relationship_manager",
        "branch_id": str(tenant_a.branches["north"].id), "book_scope": "branch", "password": "initial-secret-1"})
    assert response.status_code == 302
    created = user_row(app, tenant_a, "new.rm@example.com")
    assert created.role == "relationship_manager" and created.book_scope == "branch"
    assert created.branch_id == tenant_a.branches["north"].id
    assert [e.details["email"] for e in audit_events(app, tenant_a, "user.created")].count("new.rm@example.com") == 1
    fresh = Browser(app.test_client())
    assert fresh.submit(f"/t/{tenant_a.slug}/login", {"email": "new.rm@example.com", "password": "initial-secret-1"}).status_code == 302


def test_duplicate_email_in_the_same_tenant_is_refused(browser, tenant_a):
    browser.login(tenant_a, "admin")
    response = browser.submit(f"/t/{tenant_a.slug}/users/new", {
        "email": tenant_a.email("rm1"), "role": "analyst", "book_scope": "own", "branch_id": "", "password": "initial-secret-1"})
    assert response.status_code == 400 and "already exists" in response.text


def test_the_same_email_may_exist_in_two_tenants(app, browser, tenant_a, tenant_b):
    browser.login(tenant_a, "admin")
    response = browser.submit(f"/t/{tenant_a.slug}/users/new", {
        "email": tenant_b.email("rm1"), "role": "analyst", "book_scope": "own", "branch_id": "", "password": "initial-secret-1"})
    assert response.status_code == 302
    assert user_row(app, tenant_a, tenant_b.email("rm1")).tenant_id == tenant_a.tenant_id


def test_weak_initial_password_is_refused_with_the_field_named(browser, tenant_a):
    browser.login(tenant_a, "admin")
    response = browser.submit(f"/t/{tenant_a.slug}/users/new", {
        "email": "weak@example.com", "role": "analyst", "book_scope": "own", "branch_id": "", "password": "aaaaaaaaaaaa"})
    assert response.status_code == 400 and "too simple" in response.text


def test_deactivating_a_user_signs_them_out_and_blocks_sign_in(app, browser, tenant_a):
    rm_device = Browser(app.test_client())
    rm_device.login(tenant_a, "rm1")
    browser.login(tenant_a, "admin")
    rm = tenant_a.users["rm1"]
    response = browser.submit(f"/t/{tenant_a.slug}/users/{rm.id}", {
        "email": rm.email, "display_name": "", "role": "relationship_manager",
        "branch_id": str(tenant_a.branches["north"].id), "book_scope": "own"})  # 'active' unticked
    assert response.status_code == 302
    assert rm_device.get(f"/t/{tenant_a.slug}/").status_code == 302
    assert Browser(app.test_client()).login(tenant_a, "rm1").status_code == 401
    changes = audit_events(app, tenant_a, "user.updated")[-1].details["changes"]
    assert changes["active"] == {"from": True, "to": False}


def test_the_last_tenant_admin_cannot_demote_themselves(app, browser, tenant_a):
    browser.login(tenant_a, "admin")
    admin = tenant_a.users["admin"]
    response = browser.submit(f"/t/{tenant_a.slug}/users/{admin.id}", {
        "email": admin.email, "role": "analyst", "branch_id": "", "book_scope": "own", "active": "y"})
    assert response.status_code == 400 and "at least one active tenant admin" in response.text
    assert user_row(app, tenant_a, admin.email).role == "tenant_admin"


def test_admin_resets_a_password_and_the_old_one_stops_working(app, browser, tenant_a):
    browser.login(tenant_a, "admin")
    rm = tenant_a.users["rm2"]
    browser.submit(f"/t/{tenant_a.slug}/users/{rm.id}", {"new_password": "reset-by-admin-1"},
                   action=f"/t/{tenant_a.slug}/users/{rm.id}/password")
    assert Browser(app.test_client()).login(tenant_a, "rm2").status_code == 401
    assert Browser(app.test_client()).login(tenant_a, "rm2", password="reset-by-admin-1").status_code == 302


def test_admin_creates_a_branch_and_duplicates_are_refused(browser, tenant_a):
    browser.login(tenant_a, "admin")
    assert browser.submit(f"/t/{tenant_a.slug}/branches/", {"code": "E1", "name": "East 华东"}).status_code == 302
    assert "East 华东" in browser.get(f"/t/{tenant_a.slug}/branches/").text
    duplicate = browser.submit(f"/t/{tenant_a.slug}/branches/", {"code": "E1", "name": "Again"})
    assert duplicate.status_code == 400 and "already exists" in duplicate.text


def test_audit_log_page_shows_sign_ins_to_admins(browser, tenant_a):
    browser.login(tenant_a, "admin")
    page = browser.get(f"/t/{tenant_a.slug}/audit/?action=login.success")
    assert page.status_code == 200 and "login.success" in page.text and tenant_a.email("admin") in page.text
    assert "<td>Signed in<br>" in page.text  # the action by its name, its code beside it
    assert '<option value="login.success" selected>Signed in</option>' in page.text
    assert "<td>User</td>" in page.text and "<td>user</td>" not in page.text


def test_audit_events_cannot_be_rewritten(app, tenant_a):
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        event = db.session.scalars(sa.select(AuditEvent)).first()
        event.action = "tampered"
        with pytest.raises(PermissionError, match="append-only"):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.scalars(sa.select(AuditEvent)).first())
        with pytest.raises(PermissionError, match="append-only"):
            db.session.flush()
        db.session.rollback()


def test_the_app_role_may_not_update_or_delete_audit_rows_in_postgres(app, tenant_a):
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            db.session.execute(sa.text("DELETE FROM audit_events"))
        db.session.rollback()


def test_audit_details_show_chinese_names_as_written(browser, tenant_a):
    browser.login(tenant_a, "admin")
    browser.submit(f"/t/{tenant_a.slug}/branches/", {"code": "ZH1", "name": "陆家嘴支行"})
    page = browser.get(f"/t/{tenant_a.slug}/audit/?action=branch.created")
    assert "陆家嘴支行" in page.text and "\\u9646" not in page.text
    assert '<span class="muted">Name</span> 陆家嘴支行' in page.text and '"name"' not in page.text  # not JSON


def test_the_audit_log_says_what_changed_about_a_user_in_words_in_both_languages(browser, tenant_a):
    browser.login(tenant_a, "admin")
    rm = tenant_a.users["rm1"]
    browser.submit(f"/t/{tenant_a.slug}/users/{rm.id}", {
        "email": rm.email, "display_name": "李娜", "role": "analyst",
        "branch_id": str(tenant_a.branches["south"].id), "book_scope": "branch"})  # 'active' unticked

    english = browser.get(f"/t/{tenant_a.slug}/audit/?action=user.updated", headers={"Accept-Language": "en"}).text
    changes = english.split('<span class="muted">Changes</span> ')[1].split("</div>")[0]
    assert changes == ("Active: yes → no; Customers visible: Own book → Whole branch; Branch: North → South; "
                       "Name: — → 李娜; Role: Relationship manager → Analyst")
    chinese = browser.get(f"/t/{tenant_a.slug}/audit/?action=user.updated", headers={"Accept-Language": "zh-CN"}).text
    assert '<span class="muted">变更</span> 有效：是 → 否；可见客户范围：本人名下客户 → 本分支机构全部客户；' \
           "分支机构：North → South；名称：— → 李娜；角色：客户经理 → 分析师" in chinese
