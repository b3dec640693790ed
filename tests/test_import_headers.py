"""Extracts import under the headers their systems give them, without a mapping.

A bank's core system heads the customer id 客户号, a utility's marketing system 户号 and its bill 应收电费（元）,
a distributor's ERP 客户编码 and 开票日期: each column is read as the target it means (``imports.headers``).
A mapping still decides, two columns that could both be one target are refused rather than one guessed, and
a tenant's own field keeps the column headed by its label.
"""
from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest

from tests.conftest import csrf_token_from
from tests.test_import_inputs import import_cli
from tests.test_imports import rows, run_import, write  # noqa: F401  (run_import is a fixture)
from tierwise.errors import ValidationError
from tierwise.platform import tenancy
from tierwise.platform.audit import Actor, acting_as
from tierwise.platform.db import db
from tierwise.tenants.activity import Activity
from tierwise.tenants.customers import Customer
from tierwise.tenants.imports.headers import SPELLINGS, header_key
from tierwise.tenants.imports.runner import import_records
from tierwise.tenants.imports.specs import BUILT_IN_TARGETS
from tierwise.tenants.interactions import Interaction

# The same rows twice: under the import's own column names, and under the headers the systems export.
ROWS = {
    "customers": "0001,张三,个人,N,{rm1},正常,否\n0002,华联医药,对公,S,,active,yes\n",
    "activity": "0001,2024/1/5,\"1,234.50\",12.5\n0002,2024-03-01 10:00,50000,\n",
    "interactions": "0001,2024-05-01 09:30,95598,投诉,4,2024-05-03,电费有误\n0002,2024-05-02,微信,咨询,,,问账单\n",
}
CANONICAL = {
    "customers": "external_id,name,party_type,branch_code,rm_email,status,churn_label\n",
    "activity": "customer,occurred_at,amount,quantity\n",
    "interactions": "customer,occurred_at,channel,type,severity,resolved_at,summary\n",
}
EXPORTED = {
    "customers": "客户编号,客户名称,客户性质,所属网点,客户经理邮箱,客户状态,是否流失\n",
    "activity": "户号,抄表日期,应收电费（元）,用电量(kWh)\n",
    "interactions": "用户编号,受理时间,受理渠道,工单类型,严重程度,办结时间,诉求内容\n",
}


def stored(app, world) -> dict[str, list[tuple]]:
    """What a tenant holds, by what it means (branch and RM by name, customer by id), to compare two tenants."""
    branch = {ref.id: name for name, ref in world.branches.items()}
    person = {ref.id: who for who, ref in world.users.items()}
    customers = rows(app, world, Customer)
    external = {c.id: c.external_id for c in customers}
    return {
        "customers": sorted((c.external_id, c.name, c.party_type, branch.get(c.branch_id), person.get(c.rm_user_id),
                             c.status, c.churn_label, c.attributes) for c in customers),
        "activity": sorted((external[a.customer_id], a.occurred_at, a.category, a.ordinal, a.amount, a.quantity)
                           for a in rows(app, world, Activity)),
        "interactions": sorted((external[i.customer_id], i.occurred_at, i.channel, i.interaction_type, i.ordinal,
                                i.severity, i.resolved_at, i.summary) for i in rows(app, world, Interaction)),
    }


def test_exported_files_import_without_a_mapping_into_the_same_rows_as_named_columns(app, tmp_path, make_tenant,
                                                                                     run_import):
    named, exported = make_tenant("power_utility"), make_tenant("power_utility")
    for world, headers in ((named, CANONICAL), (exported, EXPORTED)):
        for kind in ("customers", "activity", "interactions"):
            text = headers[kind] + ROWS[kind].format(rm1=world.email("rm1"))
            result = run_import(world, kind, write(tmp_path, f"{world.slug}-{kind}.csv", text))
            assert (result.inserted, result.rejected) == (2, 0), (kind, result.errors)
    assert stored(app, exported) == stored(app, named)
    assert stored(app, named)["activity"][0][4:] == (1234.5, 12.5)  # the optional columns were read too


def test_the_import_says_which_column_it_read_as_which_target(app, tmp_path, tenant_a, run_import):
    text = EXPORTED["customers"] + ROWS["customers"].format(rm1=tenant_a.email("rm1"))
    result = run_import(tenant_a, "customers", write(tmp_path, "c.csv", text.replace("客户名称", "name")))
    assert result.recognised_columns == {
        "external_id": "客户编号", "party_type": "客户性质", "branch_code": "所属网点", "rm_email": "客户经理邮箱",
        "status": "客户状态", "churn_label": "是否流失"}  # ``name`` was named, not recognised
    assert result.summary()["recognised_columns"] == result.recognised_columns  # what runs, the API and audit keep


def test_the_run_page_and_import_status_list_the_columns_recognised_by_their_header(app, browser, tenant_a):
    from tests.rule_helpers import in_tenant
    from tierwise.platform.cli_imports import run_report
    from tierwise.tenants.imports.runs import find_run

    browser.login(tenant_a, "admin")
    page = browser.get(f"/t/{tenant_a.slug}/imports/")
    upload = (EXPORTED["customers"] + ROWS["customers"].format(rm1=tenant_a.email("rm1"))).encode()
    response = browser.client.post(f"/t/{tenant_a.slug}/imports/", content_type="multipart/form-data", data={
        "csrf_token": csrf_token_from(page.text), "kind": "customers", "file": (io.BytesIO(upload), "客户.csv")})
    assert response.status_code == 302
    said = browser.get(response.location).text
    assert "<code>external_id</code> ← 客户编号" in said and "<code>status</code> ← 客户状态" in said
    with in_tenant(app, tenant_a):
        status = run_report(find_run(response.location.rstrip("/").rsplit("/", 1)[1]))
    assert ("Columns recognised by their header: branch_code=所属网点, churn_label=是否流失, external_id=客户编号, "
            "name=客户名称, party_type=客户性质, rm_email=客户经理邮箱, status=客户状态") in status


def test_two_columns_that_could_both_be_the_date_are_refused_naming_both(app, tmp_path, tenant_a, run_import):
    run_import(tenant_a, "customers", write(tmp_path, "c.csv", "客户号,客户名称\n0001,张三\n"))
    bills = write(tmp_path, "a.csv", "客户号,交易日期,记账日期,交易金额\n0001,2024-03-01,2024-03-02,100\n")
    with pytest.raises(ValidationError) as refused:
        run_import(tenant_a, "activity", bills)
    said = str(refused.value)
    assert "'交易日期'" in said and "'记账日期'" in said and "'occurred_at'" in said and "--map" in said, said
    assert refused.value.field == "occurred_at"
    assert rows(app, tenant_a, Activity) == []


def test_a_json_batch_with_two_keys_for_one_target_is_refused_naming_both(app, tenant_a):
    records = [{"customer_id": "0001", "客户号": "0001", "date": "2024-03-01", "amount": "5"}]
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id), pytest.raises(ValidationError) as refused:
        import_records(records, kind="activity")
    said = str(refused.value)
    assert "keys 'customer_id', '客户号'" in said and "'customer'" in said and '"mapping"' in said, said
    assert refused.value.field == "customer"


def test_an_explicit_map_still_decides_which_column_fills_a_target(app, tmp_path, tenant_a, run_import, runner):
    run_import(tenant_a, "customers", write(tmp_path, "c.csv", "客户号,客户名称\n0001,张三\n"))
    bills = write(tmp_path, "a.csv", "客户号,交易日期,记账日期,交易金额,金额(元)\n"
                                     "0001,2024-03-01,2024-03-02,100,90\n")
    imported = import_cli(runner, tenant_a, "activity", bills, "--map", "occurred_at=记账日期",
                          "--amount-column", "金额(元)")
    assert imported.exit_code == 0, imported.stderr
    assert "Columns recognised by their header: customer=客户号\n" in imported.stdout
    [bill] = rows(app, tenant_a, Activity)
    shanghai_midnight_march_2 = datetime(2024, 3, 1, 16, tzinfo=timezone.utc)  # 记账日期, not 交易日期
    assert (bill.occurred_at, float(bill.amount)) == (shanghai_midnight_march_2, 90.0)


@pytest.mark.parametrize(("field", "labels", "header", "target"), [
    ("customer_segment", {"label_zh": "客户类型"}, "客户类型", "party_type"),  # a field's label
    ("churn", {"label_zh": "流失风险", "label_en": "Churn risk"}, "churn", "churn_label"),  # a field's name
])
def test_a_tenant_field_named_or_labelled_like_a_header_keeps_its_column(app, tmp_path, tenant_a, run_import, field,
                                                                         labels, header, target):
    from tierwise.tenants.fields import define_field

    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id), acting_as(Actor(label="test")):
        define_field(name=field, field_type="category", **labels)
        db.session.commit()
    customers = f"客户编号,客户名称,{header}\n0001,华联医药,大客户\n"
    result = run_import(tenant_a, "customers", write(tmp_path, "c.csv", customers))
    [customer] = rows(app, tenant_a, Customer)
    assert customer.attributes == {field: "大客户"}
    assert target not in result.recognised_columns
    # said like a spelling when the header is the field's label, not its name
    assert result.recognised_columns.get(field) == (header if header != field else None)
    assert (customer.party_type, customer.churn_label) == ("individual", None)


@pytest.mark.parametrize("header", ["金额", "金额(元)", "金额（元）", " 金额 【万元】", "Value", "VALUE [CNY]"])
def test_a_header_is_recognised_whatever_its_unit_case_or_spacing(header):
    assert header_key(header) in {header_key(spelling) for spelling in SPELLINGS["activity"]["amount"]}


@pytest.mark.parametrize("kind", sorted(SPELLINGS))
def test_no_header_is_the_spelling_of_two_targets_or_the_name_of_another(kind):
    names = {header_key(target.name): target.name for target in BUILT_IN_TARGETS[kind]}
    assert set(SPELLINGS[kind]) == set(names.values())  # every target has its list (maybe empty, said why)
    owner: dict[str, str] = {}
    for target, spellings in SPELLINGS[kind].items():
        for spelling in spellings:
            key = header_key(spelling)
            assert owner.setdefault(key, target) == target, (spelling, owner[key], target)
            assert names.get(key, target) == target, (spelling, target)


def test_an_optional_target_left_out_with_an_empty_mapping_ignores_the_column_its_header_would_fill(
        app, tmp_path, tenant_a, run_import, runner):
    run_import(tenant_a, "customers", write(tmp_path, "c.csv", "客户号,客户名称\n0001,张三\n"))
    bills = write(tmp_path, "a.csv", "客户号,交易日期,交易金额,数量\n0001,2024-03-01,100,12箱\n")
    imported = import_cli(runner, tenant_a, "activity", bills, "--map", "quantity=")
    assert imported.exit_code == 0, imported.stderr
    [bill] = rows(app, tenant_a, Activity)
    assert (float(bill.amount), bill.quantity) == (100.0, None)
    required = import_cli(runner, tenant_a, "activity", bills, "--map", "occurred_at=")
    assert required.exit_code != 0 and "'occurred_at' cannot be left out: map a column to it" in required.stderr


def test_a_file_missing_several_required_columns_is_refused_once_naming_them_all(app, tmp_path, tenant_a,
                                                                                 run_import):
    run_import(tenant_a, "customers", write(tmp_path, "c.csv", "客户号,客户名称\n0001,张三\n"))
    with pytest.raises(ValidationError) as refused:
        run_import(tenant_a, "activity", write(tmp_path, "a.csv", "客户号,备注\n0001,x\n"))
    said = str(refused.value)
    assert "the file has no columns for 'occurred_at', 'amount'" in said and "(columns: 客户号, 备注)" in said, said
    assert refused.value.field == "occurred_at"
    with pytest.raises(ValidationError) as one:
        run_import(tenant_a, "activity", write(tmp_path, "b.csv", "客户号,交易日期\n0001,2024-03-01\n"))
    assert "the file has no column for 'amount'" in str(one.value) and one.value.field == "amount"
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id), pytest.raises(ValidationError) as keys:
        import_records([{"customer": "0001"}], kind="activity")
    assert "the records have no keys for 'occurred_at', 'amount'" in str(keys.value)


def test_a_file_without_names_whose_id_column_is_mapped_to_the_name_is_told_to_map_it_to_both(
        app, tmp_path, tenant_a, run_import, runner):
    """UCI Online Retail's customers have no names: an admin maps name=CustomerID, which then no longer fills
    the customer id by its header.  "The file has no column for 'external_id'" sent them looking for it."""
    people = write(tmp_path, "c.csv", "CustomerID,Country\n12346,United Kingdom\n")
    refused = import_cli(runner, tenant_a, "customers", people, "--map", "name=CustomerID", "--add-fields")
    assert refused.exit_code != 0
    assert ("'CustomerID' would fill 'external_id', but it is mapped to 'name': map it to 'external_id' too "
            "(external_id=CustomerID)") in refused.stderr, refused.stderr
    imported = import_cli(runner, tenant_a, "customers", people, "--map", "name=CustomerID",
                          "--map", "external_id=CustomerID", "--add-fields")
    assert imported.exit_code == 0, imported.stderr
    assert [(c.external_id, c.name) for c in rows(app, tenant_a, Customer)] == [("12346", "12346")]


def test_an_empty_mapping_ignores_a_customer_files_column_that_would_otherwise_fill_the_target(app, tenant_a):
    """客户类型 holding hospital kinds, not 个人/对公, and a status column of the source system's own codes."""
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id), acting_as(Actor(label="test")):
        result = import_records([{"客户编号": "0001", "客户名称": "市一院", "客户类型": "三甲医院", "status": "X9"}],
                                kind="customers", mapping={"party_type": "", "status": ""})
        db.session.commit()
    assert result.inserted == 1 and sorted(result.ignored_columns) == ["status", "客户类型"]
    [customer] = rows(app, tenant_a, Customer)
    assert (customer.party_type, customer.status, customer.attributes) == ("individual", "active", {})
