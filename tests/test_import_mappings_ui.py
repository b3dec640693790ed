"""Column mappings on the import page: map a tenant's export once, save it by name, reuse it.

The page goes through the same mapping code as the CLI's ``--map``,
``--mapping`` and ``--save-mapping``, so a mapping saved at one door is
offered at the other.
"""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from tests.conftest import csrf_token_from
from tests.test_field_registry_ui import field_errors
from tierwise.platform import tenancy
from tierwise.platform.audit import AuditEvent
from tierwise.platform.cli import cli
from tierwise.platform.db import db
from tierwise.tenants.customers import Customer
from tierwise.tenants.imports.mappings import ColumnMapping
from tierwise.tenants.imports.runs import ImportRun

EXPORT_HEADER = "客户编号,客户名称,网点\n"
CORE_BANKING = "external_id=客户编号\nname=客户名称\nbranch_code=网点"


@pytest.fixture
def upload(browser, tenant_a):
    """Sign in as the tenant admin; then ``upload(text, name, **fields)`` posts the import form."""
    browser.login(tenant_a, "admin")
    url = f"/t/{tenant_a.slug}/imports/"

    def post(text: str, filename: str = "export.csv", **fields):
        token = csrf_token_from(browser.get(url).text)
        return browser.client.post(url, content_type="multipart/form-data", data={
            "csrf_token": token, "kind": "customers", **fields, "file": (io.BytesIO(text.encode("gbk")), filename)})

    return post


def customers(app, world) -> dict[str, tuple]:
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        return {c.external_id: (c.name, c.branch_id) for c in db.session.scalars(sa.select(Customer))}


def saved_mappings(app, world) -> dict[tuple[str, str], dict]:
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        return {(m.kind, m.name): dict(m.mapping) for m in db.session.scalars(sa.select(ColumnMapping))}


def run_count(app, world) -> int:
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        return db.session.scalar(sa.select(sa.func.count()).select_from(ImportRun))


def test_a_mapping_saved_with_an_upload_is_listed_and_reused_by_a_later_upload(app, browser, tenant_a, upload):
    first = upload(EXPORT_HEADER + "0100,华东电网,N\n", columns=CORE_BANKING, save_mapping="core-banking")
    assert first.status_code == 302
    run_page = browser.get(first.location).text
    assert "Succeeded" in run_page  # and which column filled which target, as the mapping box wrote it
    assert "<code>branch_code</code> ← 网点, <code>external_id</code> ← 客户编号, <code>name</code> ← 客户名称" in run_page

    page = browser.get(f"/t/{tenant_a.slug}/imports/").text
    assert "Saved column mappings" in page and "core-banking" in page
    assert "<code>branch_code</code> ← 网点" in page
    assert '<option value="core-banking">core-banking</option>' in page

    second = upload(EXPORT_HEADER + "0101,华南电网,S\n", filename="next-month.csv", mapping="core-banking")
    assert second.status_code == 302
    run_page = browser.get(second.location).text
    assert "Succeeded" in run_page and "core-banking" in run_page
    assert customers(app, tenant_a) == {"0100": ("华东电网", tenant_a.branches["north"].id),
                                        "0101": ("华南电网", tenant_a.branches["south"].id)}
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        saved = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "mapping.saved"))
        assert saved.target_id == "core-banking" and saved.details["mapping"]["name"] == "客户名称"


def test_columns_typed_on_the_page_override_the_saved_mapping_target_by_target(app, tenant_a, upload):
    upload(EXPORT_HEADER + "0100,华东电网,N\n", columns=CORE_BANKING, save_mapping="core-banking")
    renamed = "客户编号,户名,网点\n0102,改名客户,S\n"
    response = upload(renamed, mapping="core-banking", columns="name=户名", save_mapping="core-banking-v2")
    assert response.status_code == 302
    assert customers(app, tenant_a)["0102"][0] == "改名客户"
    assert saved_mappings(app, tenant_a)[("customers", "core-banking-v2")] == {
        "external_id": "客户编号", "name": "户名", "branch_code": "网点"}


def test_a_mapping_saved_on_the_page_is_used_by_the_cli_and_the_reverse(app, tmp_path, tenant_a, upload, browser):
    upload(EXPORT_HEADER + "0100,华东电网,N\n", columns=CORE_BANKING, save_mapping="from-the-page")
    path = tmp_path / "cli.csv"
    path.write_text(EXPORT_HEADER + "0103,命令行客户,S\n", encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["import", "customers", "--tenant", tenant_a.slug, str(path),
                                 "--mapping", "from-the-page", "--save-mapping", "from-the-cli"])
    assert result.exit_code == 0, result.stderr
    assert customers(app, tenant_a)["0103"] == ("命令行客户", tenant_a.branches["south"].id)
    assert '<option value="from-the-cli">from-the-cli</option>' in browser.get(f"/t/{tenant_a.slug}/imports/").text


def test_a_mapping_is_not_saved_when_its_import_fails(app, browser, tenant_a, upload):
    response = upload(EXPORT_HEADER + ",无编号客户,N\n", columns=CORE_BANKING, save_mapping="broken")
    run_page = browser.get(response.location).text
    assert "Failed" in run_page and "is required" in run_page
    assert saved_mappings(app, tenant_a) == {}


def test_a_mapping_saved_for_another_kind_is_refused_on_the_form(app, tenant_a, upload):
    upload(EXPORT_HEADER + "0100,华东电网,N\n", columns=CORE_BANKING, save_mapping="core-banking")
    runs = run_count(app, tenant_a)
    response = upload("customer,occurred_at,amount\n0100,2024-01-05,10\n", kind="activity", mapping="core-banking")
    assert response.status_code == 400
    assert field_errors(response.text, "mapping") == ["no mapping named 'core-banking' is saved for the Activity import"]
    assert run_count(app, tenant_a) == runs


@pytest.mark.parametrize("fields,input_name,message", [
    ({"columns": "name"}, "columns", "'name' is not TARGET=COLUMN"),
    ({"save_mapping": "nothing-to-save"}, "save_mapping", "there is no column mapping to save"),
    ({"mapping": "no-such-mapping"}, "mapping", "Not a valid choice"),
])
def test_bad_mapping_input_is_refused_next_to_its_input_and_starts_no_run(app, tenant_a, upload,
                                                                         fields, input_name, message):
    response = upload(EXPORT_HEADER + "0100,华东电网,N\n", **fields)
    assert response.status_code == 400
    assert any(message in error for error in field_errors(response.text, input_name)), response.text
    assert run_count(app, tenant_a) == 0 and customers(app, tenant_a) == {}


def test_saved_mappings_belong_to_their_tenant(app, browser, tenant_a, tenant_b, upload):
    upload(EXPORT_HEADER + "0100,华东电网,N\n", columns=CORE_BANKING, save_mapping="a-only")
    browser.login(tenant_b, "admin")
    page = browser.get(f"/t/{tenant_b.slug}/imports/").text
    assert "a-only" not in page and "No saved mappings yet." in page
