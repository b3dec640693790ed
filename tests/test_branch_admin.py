"""Tenant admins rename branches and delete the ones nothing refers to; codes are unique ignoring case.

A branch's code never changes (imports put customers in a branch by it), so a
renamed branch still takes an import's rows.  A branch still holding users,
customers or a saved list's filter is not deleted, and the refusal says what
holds it.  Every change is audited and the audit log says it in words.
"""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from tests.conftest import csrf_token_from
from tierwise.errors import ConflictError
from tierwise.platform import audit, tenancy
from tierwise.platform.audit import Actor, AuditEvent, acting_as
from tierwise.platform.branches import Branch, create_branch
from tierwise.platform.db import db
from tierwise.platform.users import User
from tierwise.tenants.lists.filters import ListFilters
from tierwise.tenants.lists.saved import save_list


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def branch_row(app, world, branch_id) -> Branch | None:
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        branch = db.session.scalar(sa.select(Branch).where(Branch.id == branch_id))
        if branch is not None:
            db.session.expunge(branch)
        return branch


def audit_details(app, world, action) -> list[dict]:
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        return [e.details for e in db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action))]


def add_branch(app, world, code: str, name: str) -> uuid.UUID:
    with app.app_context(), tenancy.tenant_scope(world.tenant_id), acting_as(Actor(label="test")):
        branch_id = create_branch(code=code, name=name).id
        db.session.commit()
    return branch_id


def import_customers(client, token, rows: list[dict]) -> None:
    response = client.post("/api/v1/imports/customers", json={"rows": rows}, headers=bearer(token))
    assert response.status_code == 200, response.get_data(as_text=True)


def save_branch_list(app, world, branch_id) -> None:
    """rm1 keeps a list of one branch's VIPs."""
    with app.app_context(), tenancy.tenant_scope(world.tenant_id), acting_as(Actor(label="test")):
        rm = db.session.scalar(sa.select(User).where(User.email == world.email("rm1")))
        save_list(rm, name="North VIPs", base="vip", filters=ListFilters(branch_id=branch_id))
        db.session.commit()


def page_action(browser, world, branch_id, action: str, data: dict | None = None, **kwargs):
    """A branch's rename or delete form on the branches page, sent as a person sends it."""
    page = browser.get(f"/t/{world.slug}/branches/")
    return browser.client.post(f"/t/{world.slug}/branches/{branch_id}/{action}",
                               data={**(data or {}), "csrf_token": csrf_token_from(page.text)}, **kwargs)


# --- the branches page ------------------------------------------------------------------------------------------------

def test_admin_renames_a_branch_and_the_audit_log_says_from_what(app, browser, tenant_a):
    north = tenant_a.branches["north"]
    browser.login(tenant_a, "admin")
    response = page_action(browser, tenant_a, north.id, "rename", {"name": "  浦东支行  "})
    assert response.status_code == 302
    page = browser.get(f"/t/{tenant_a.slug}/branches/").text
    assert "Branch N is now called 浦东支行." in page and 'value="浦东支行"' in page
    assert branch_row(app, tenant_a, north.id).code == "N"  # the code stays
    assert audit_details(app, tenant_a, "branch.renamed") == [{"code": "N", "name": "浦东支行", "previous_name": "North"}]
    log = browser.get(f"/t/{tenant_a.slug}/audit/?action=branch.renamed").text
    assert "<td>Branch renamed<br>" in log and '<span class="muted">Previous name</span> North' in log
    chinese = browser.get(f"/t/{tenant_a.slug}/audit/?action=branch.renamed", headers={"Accept-Language": "zh-CN"})
    assert "分支机构已改名" in chinese.text and '<span class="muted">原名称</span> North' in chinese.text


def test_a_blank_or_unchanged_name_changes_nothing_and_records_nothing(app, browser, tenant_a):
    north = tenant_a.branches["north"]
    browser.login(tenant_a, "admin")
    page_action(browser, tenant_a, north.id, "rename", {"name": "   "})
    assert "Branch N keeps its name: the new name must be 1-200 characters." in browser.get(
        f"/t/{tenant_a.slug}/branches/").text
    page_action(browser, tenant_a, north.id, "rename", {"name": "North"})
    assert branch_row(app, tenant_a, north.id).name == "North"
    assert audit_details(app, tenant_a, "branch.renamed") == []


def test_the_page_says_the_code_is_fixed_and_asks_before_deleting(browser, tenant_a):
    browser.login(tenant_a, "admin")
    page = browser.get(f"/t/{tenant_a.slug}/branches/").text
    assert "A branch keeps its code for good" in page and "branch_code" in page
    assert 'data-confirm="Delete the branch S (South)?"' in page
    assert f'action="/t/{tenant_a.slug}/branches/{tenant_a.branches["south"].id}/delete"' in page


def test_admin_deletes_a_branch_nothing_refers_to(app, browser, tenant_a):
    east = add_branch(app, tenant_a, "E1", "East 华东")
    browser.login(tenant_a, "admin")
    assert page_action(browser, tenant_a, east, "delete").status_code == 302
    page = browser.get(f"/t/{tenant_a.slug}/branches/").text
    assert "Branch E1 deleted." in page and "East 华东" not in page
    assert branch_row(app, tenant_a, east) is None
    assert audit_details(app, tenant_a, "branch.deleted") == [{"code": "E1", "name": "East 华东"}]
    log = browser.get(f"/t/{tenant_a.slug}/audit/?action=branch.deleted", headers={"Accept-Language": "zh-CN"})
    assert "分支机构已删除" in log.text and "East 华东" in log.text


def test_the_audit_log_names_a_deleted_branch_by_the_name_its_deletion_recorded(app, browser, tenant_a):
    east = add_branch(app, tenant_a, "E1", "East 华东")
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id), acting_as(Actor(label="test")):
        audit.record("export.created", target_type="export", target_id="vip.csv",  # an export of that branch's VIPs
                     details={"list": "vip", "rows": 3, "filters": {"branch_id": str(east)}})
        db.session.commit()
    browser.login(tenant_a, "admin")
    page_action(browser, tenant_a, east, "delete")
    log = browser.get(f"/t/{tenant_a.slug}/audit/?action=export.created").text
    assert "East 华东 (deleted)" in log and str(east) not in log.split("<main")[1]
    chinese = browser.get(f"/t/{tenant_a.slug}/audit/?action=export.created", headers={"Accept-Language": "zh-CN"})
    assert "East 华东（已删除）" in chinese.text


def test_a_branch_in_use_is_not_deleted_and_the_refusal_says_what_holds_it(app, client, browser, tenant_a,
                                                                           issue_token):
    north = tenant_a.branches["north"]
    import_customers(client, issue_token(tenant_a), [{"external_id": f"N{n}", "name": f"客户 {n}", "branch_code": "N"}
                                                      for n in range(3)])
    save_branch_list(app, tenant_a, north.id)
    browser.login(tenant_a, "admin")
    row = browser.get(f"/t/{tenant_a.slug}/branches/").text.split("<td>N</td>")[1].split("</tr>")[0]
    assert "<td>1</td>\n        <td>3</td>" in row  # its user and its customers, counted beside it
    page_action(browser, tenant_a, north.id, "delete")
    assert ("Branch N cannot be deleted while it has 1 user, 3 customers, and 1 saved list that filters on it. "
            f"Saved lists: North VIPs ({tenant_a.email('rm1')})." in browser.get(f"/t/{tenant_a.slug}/branches/").text)
    assert branch_row(app, tenant_a, north.id) is not None
    assert audit_details(app, tenant_a, "branch.deleted") == []
    page_action(browser, tenant_a, north.id, "delete", headers={"Accept-Language": "zh-CN"})
    chinese = browser.get(f"/t/{tenant_a.slug}/branches/", headers={"Accept-Language": "zh-CN"}).text
    assert "分支机构 N 仍有 1 个用户、3 位客户、1 个按其筛选的已保存名单，不能删除。" in chinese
    assert f"已保存名单：North VIPs（{tenant_a.email('rm1')}）。" in chinese  # punctuated as Chinese is


def test_a_code_differing_only_in_case_is_refused_naming_the_code(app, browser, tenant_a):
    browser.login(tenant_a, "admin")
    refused = browser.submit(f"/t/{tenant_a.slug}/branches/", {"code": "n", "name": "Another north"})
    assert refused.status_code == 400 and "a branch with code &#39;N&#39; already exists" in refused.text
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id), acting_as(Actor(label="test")):
        with pytest.raises(ConflictError) as raised:
            create_branch(code="s", name="Another south")
        assert raised.value.field == "code"
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Branch)) == 2


def test_the_database_refuses_a_code_differing_only_in_case_whatever_writes_it(app, tenant_a):
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        with pytest.raises(sa.exc.IntegrityError, match="uq_branches_tenant_id_lower_code"):
            db.session.execute(sa.insert(Branch).values(tenant_id=tenant_a.tenant_id, id=uuid.uuid4(), code="n",
                                                        name="Past the application's check"))
        db.session.rollback()


def test_of_two_admins_creating_one_code_at_once_the_second_is_refused_as_if_one_came_first(app, tenant_a,
                                                                                          monkeypatch):
    from tierwise.platform import branches

    checked = branches._refuse_taken

    def check_then_lose_the_race(code: str) -> None:
        checked(code)  # passes: nothing is called e1 yet...
        if code == "e1":  # ...then another admin's "E1" commits before this create inserts
            add_branch(app, tenant_a, "E1", "East, the other admin's")

    monkeypatch.setattr(branches, "_refuse_taken", check_then_lose_the_race)
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id), acting_as(Actor(label="test")):
        with pytest.raises(ConflictError) as raised:
            create_branch(code="e1", name="East, mine")
        assert (raised.value.field, raised.value.message) == ("code", "a branch with code 'E1' already exists")
        # the refusal cost a savepoint, not the transaction: the caller goes on, and sees the other admin's
        winner = db.session.scalars(sa.select(Branch.name).where(Branch.code == "E1")).all()
        assert winner == ["East, the other admin's"]
    recorded = [d["name"] for d in audit_details(app, tenant_a, "branch.created") if d["code"].lower() == "e1"]
    assert recorded == ["East, the other admin's"]


def test_a_renamed_branch_still_takes_customers_by_its_code(app, client, browser, tenant_a, issue_token):
    browser.login(tenant_a, "admin")
    page_action(browser, tenant_a, tenant_a.branches["south"].id, "rename", {"name": "南区供电所"})
    token = issue_token(tenant_a)
    import_customers(client, token, [{"external_id": "S1", "name": "医院", "branch_code": "S"}])
    customer = client.get("/api/v1/customers", headers=bearer(token)).json["items"][0]
    assert customer["branch_id"] == str(tenant_a.branches["south"].id)


@pytest.mark.parametrize("who", ["analyst", "rm1"])
@pytest.mark.parametrize("action", ["rename", "delete"])
def test_only_tenant_admins_rename_or_delete_branches(app, browser, tenant_a, who, action):
    east = add_branch(app, tenant_a, "E1", "East")
    browser.login(tenant_a, who)
    token = csrf_token_from(browser.get(f"/t/{tenant_a.slug}/tokens/").text)
    refused = browser.client.post(f"/t/{tenant_a.slug}/branches/{east}/{action}",
                                  data={"name": "Taken over", "csrf_token": token})
    assert refused.status_code == 403
    assert branch_row(app, tenant_a, east).name == "East"


@pytest.mark.parametrize("action", ["rename", "delete"])
def test_another_tenants_branch_is_not_found_and_stays_as_it_was(app, browser, tenant_a, tenant_b, action):
    theirs = tenant_b.branches["south"]
    browser.login(tenant_a, "admin")
    assert page_action(browser, tenant_a, theirs.id, action, {"name": "pwned"}).status_code == 404
    assert branch_row(app, tenant_b, theirs.id).name == "South"


# --- the REST API -----------------------------------------------------------------------------------------------------

def test_api_renames_and_deletes_a_branch(app, client, tenant_a, issue_token):
    east = add_branch(app, tenant_a, "E1", "East")
    token = issue_token(tenant_a)
    renamed = client.patch(f"/api/v1/branches/{east}", json={"name": "华东"}, headers=bearer(token))
    assert renamed.status_code == 200 and renamed.json == {"id": str(east), "code": "E1", "name": "华东"}
    assert client.delete(f"/api/v1/branches/{east}", headers=bearer(token)).status_code == 204
    gone = client.get(f"/api/v1/branches/{east}", headers=bearer(token))
    assert gone.status_code == 404 and gone.json["error"]["field"] == "branch_id"
    assert audit_details(app, tenant_a, "branch.renamed") == [{"code": "E1", "name": "华东", "previous_name": "East"}]
    assert audit_details(app, tenant_a, "branch.deleted") == [{"code": "E1", "name": "华东"}]


def test_api_refuses_to_change_a_code_or_blank_a_name(app, client, tenant_a, issue_token):
    north, token = tenant_a.branches["north"], issue_token(tenant_a)
    code = client.patch(f"/api/v1/branches/{north.id}", json={"name": "North", "code": "N2"}, headers=bearer(token))
    assert code.status_code == 400 and code.json["error"]["field"] == "code"
    assert "imports put customers in a branch by its code" in code.json["error"]["message"]
    blank = client.patch(f"/api/v1/branches/{north.id}", json={"name": " "}, headers=bearer(token))
    assert blank.status_code == 400 and blank.json["error"]["field"] == "name"
    assert branch_row(app, tenant_a, north.id).code == "N" and audit_details(app, tenant_a, "branch.renamed") == []
    read = client.get(f"/api/v1/branches/{north.id}", headers=bearer(token)).json  # read, renamed, sent back
    echoed = client.patch(f"/api/v1/branches/{north.id}", json={"code": read["code"], "name": "北区"},
                          headers=bearer(token))
    assert echoed.status_code == 200 and echoed.json["name"] == "北区" and echoed.json["code"] == "N"


def test_api_refuses_to_delete_a_branch_in_use_with_a_409_saying_why(app, client, tenant_a, issue_token):
    north = tenant_a.branches["north"]
    refused = client.delete(f"/api/v1/branches/{north.id}", headers=bearer(issue_token(tenant_a)) | {
        "Accept-Language": "zh-CN"})
    assert refused.status_code == 409
    assert refused.json["error"] == {"code": "conflict", "message": "分支机构 N 仍有 1 个用户，不能删除。"}
    assert branch_row(app, tenant_a, north.id) is not None


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_api_answers_another_tenants_branch_as_missing_naming_the_path_parameter(app, client, tenant_a, tenant_b,
                                                                                 issue_token, method):
    token = issue_token(tenant_a)
    for branch_id in (tenant_b.branches["south"].id, uuid.uuid4()):
        response = getattr(client, method)(f"/api/v1/branches/{branch_id}", headers=bearer(token),
                                           **({"json": {"name": "pwned"}} if method == "patch" else {}))
        assert response.status_code == 404
        assert response.json["error"] == {"code": "not_found", "message": "no such branch", "field": "branch_id"}
    assert branch_row(app, tenant_b, tenant_b.branches["south"].id).name == "South"


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_api_refuses_relationship_managers_as_other_admin_routes_do(app, client, tenant_a, issue_token, method):
    east = add_branch(app, tenant_a, "E1", "East")
    response = getattr(client, method)(f"/api/v1/branches/{east}", headers=bearer(issue_token(tenant_a, "rm1")),
                                       **({"json": {"name": "Mine"}} if method == "patch" else {}))
    assert response.status_code == 403
    assert response.json["error"] == {"code": "forbidden", "message": "You do not have permission to do that."}
    assert branch_row(app, tenant_a, east).name == "East"
