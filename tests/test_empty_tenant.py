"""A new tenant's pages before any customer is imported say so, and what to do, to whoever reads them: an admin is
sent to the import page, an RM learns that their administrator has not imported any; once there are customers, an
RM with none of them is told their own book is empty, as the customers page tells them."""
from __future__ import annotations

import pytest

from tests.conftest import Browser, provision_world
from tierwise.platform import tenancy
from tierwise.platform.audit import Actor, acting_as
from tierwise.platform.db import db
from tierwise.tenants.imports.runner import import_records

PAGES = ["", "customers/", "lists/vip", "lists/high_risk", "dashboard", "models/", "rules/"]
RM_PAGES = [path for path in PAGES if path != "models/"]  # the models page is for admins and analysts


@pytest.fixture(scope="module")
def new_tenant(app):
    """Provisioned, nothing imported: shared by the tests that only read it."""
    return provision_world(app, "bank")


def main_of(app, world, who: str, path: str, language: str = "en") -> str:
    """The page's content, without the top bar (which links an admin to the import page on every page)."""
    person = Browser(app.test_client())
    person.login(world, who)
    page = person.get(f"/t/{world.slug}/{path}", headers={"Accept-Language": language})
    assert page.status_code == 200, path
    return page.text.split("<main>", 1)[1]


@pytest.mark.parametrize("path", PAGES)
def test_a_new_tenants_page_sends_its_admin_to_the_import_page(app, new_tenant, path):
    main = main_of(app, new_tenant, "admin", path)
    assert "No customers yet." in main and f'href="/t/{new_tenant.slug}/imports/"' in main


@pytest.mark.parametrize("path", RM_PAGES)
def test_a_new_tenants_page_tells_an_rm_their_administrator_has_not_imported_any(app, new_tenant, path):
    main = main_of(app, new_tenant, "rm1", path)
    assert "No customers yet: your administrator has not imported any." in main and "/imports/" not in main


def test_the_guidance_is_in_the_readers_language(app, new_tenant):
    import_page = f'<a href="/t/{new_tenant.slug}/imports/">'
    assert f"还没有客户。{import_page}请先导入客户文件。</a>" in main_of(app, new_tenant, "admin", "dashboard", "zh-CN")
    assert f"No customers yet. {import_page}Import a customer file to begin.</a>" in main_of(app, new_tenant, "admin",
                                                                                             "dashboard")
    assert "还没有客户：管理员尚未导入客户。" in main_of(app, new_tenant, "rm1", "lists/vip", "zh-CN")


def test_once_customers_are_imported_an_rm_without_any_is_told_their_book_is_empty(app, make_tenant):
    world = make_tenant("bank")
    with app.app_context(), tenancy.tenant_scope(world.tenant_id), acting_as(Actor(label="test")):
        import_records([{"external_id": "C01", "name": "Someone else's", "rm_email": world.email("rm2")}],
                       kind="customers")
        db.session.commit()
    for path in RM_PAGES:
        main = main_of(app, world, "rm1", path)
        assert "No customers in your book yet." in main and "has not imported" not in main, path
    for path in PAGES:
        assert "No customers yet" not in main_of(app, world, "admin", path), path
    assert "No customers on this list." in main_of(app, world, "admin", "lists/vip")  # not tiered yet: no VIP
