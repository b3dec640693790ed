"""What a new tenant's people read while setting it up: a first import, its users, who exported what.

Each test is a step of that walk where a page misled the person reading it.
"""
from __future__ import annotations

import hashlib
import io

import sqlalchemy as sa

from tests.conftest import csrf_token_from
from tierwise.platform import tenancy
from tierwise.platform.db import db
from tierwise.platform.users import User

ZH = {"Accept-Language": "zh-CN"}


def upload(browser, world, text: str, **fields):
    """Post ``text`` as a customers file on the import page; the run page it leads to."""
    url = f"/t/{world.slug}/imports/"
    token = csrf_token_from(browser.get(url).text)
    response = browser.client.post(url, content_type="multipart/form-data", data={
        "csrf_token": token, "kind": "customers", **fields, "file": (io.BytesIO(text.encode("utf-8")), "客户.csv")})
    assert response.status_code == 302
    return browser.get(response.location)


def test_a_file_whose_every_row_is_skipped_as_invalid_says_that_nothing_was_imported(browser, tenant_a):
    browser.login(tenant_a, "admin")
    page = upload(browser, tenant_a, "客户编号,户名,所属网点\n0001,甲,XX\n0002,乙,YY\n", skip_invalid="y").text
    assert 'data-testid="nothing-imported"' in page and "No row was imported: every row of the file was rejected" in page
    partly = upload(browser, tenant_a, "客户编号,户名,所属网点\n0003,丙,N\n0004,丁,YY\n", skip_invalid="y").text
    assert "Succeeded" in partly and 'data-testid="nothing-imported"' not in partly


def test_an_rm_set_to_see_the_whole_branch_must_have_a_branch(app, browser, tenant_a):
    browser.login(tenant_a, "admin")
    refused = browser.submit(f"/t/{tenant_a.slug}/users/new", {
        "email": "rm3@example.com", "role": "relationship_manager", "branch_id": "", "book_scope": "branch",
        "password": "initial-secret-1"})
    assert refused.status_code == 400 and "“Whole branch” needs the relationship manager&#39;s branch" in refused.text
    edited = browser.submit(f"/t/{tenant_a.slug}/users/{tenant_a.users['rm1'].id}", {
        "email": tenant_a.email("rm1"), "role": "relationship_manager", "branch_id": "", "book_scope": "branch",
        "active": "y"})
    assert edited.status_code == 400
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        emails = set(db.session.scalars(sa.select(User.email)))
        rm1 = db.session.scalar(sa.select(User).where(User.email == tenant_a.email("rm1")))
        assert "rm3@example.com" not in emails and rm1.branch_id == tenant_a.branches["north"].id


def test_the_export_log_shows_the_whole_sha256_of_each_file(browser, tenant_a):
    browser.login(tenant_a, "rm1")
    exported = browser.get(f"/t/{tenant_a.slug}/lists/all/export?format=csv")
    assert exported.status_code == 200
    browser.login(tenant_a, "admin")
    log = browser.get(f"/t/{tenant_a.slug}/lists/exports").text
    assert f'data-testid="export-sha256">{hashlib.sha256(exported.data).hexdigest()}</code>' in log


def test_the_audit_log_names_an_imports_columns_by_the_targets_the_mapping_box_takes(browser, tenant_a):
    browser.login(tenant_a, "admin")
    upload(browser, tenant_a, "客户编号,户名,所属网点\n0001,华东电网,N\n")
    details = browser.get(f"/t/{tenant_a.slug}/audit/?action=import.completed", headers=ZH).text
    assert "branch_code：所属网点；external_id：客户编号；name：户名" in details
    assert "名称：户名" not in details and "客户编号：客户编号" not in details
