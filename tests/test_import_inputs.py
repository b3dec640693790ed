"""Import inputs as tenants really send them, and bad input refused whole.

Real exports arrive as UTF-8 (with or without BOM) or GBK, comma/semicolon/tab
separated, or as XLSX, with Chinese headers and codes, thousands separators and
dates in every local spelling; they must import as-is.  Anything wrong is
reported by spreadsheet row (header = row 1), column, value and reason, and
nothing at all is written; ``skip_invalid`` applies the good rows and writes the
bad ones to a rejects CSV.  Re-importing the same file changes nothing.
"""
from __future__ import annotations

import csv
import io
import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from tests.test_cli import one_line_error
from tests.test_imports import rows, run_import, write  # noqa: F401  (run_import is a fixture)
from tierwise.errors import ValidationError
from tierwise.platform import tenancy
from tierwise.platform.cli import cli
from tierwise.platform.db import db
from tierwise.tenants.activity import Activity
from tierwise.tenants.customers import Customer
from tierwise.tenants.fields import FieldDefinition, field_registry
from tierwise.tenants.imports.errors import ImportRejected
from tierwise.tenants.interactions import Interaction

CUSTOMERS = (
    "external_id,name,party_type,branch_code,rm_email,status,aum_avg_3m,occupation,churn_label,label_observed_on\n"
    '0001,张三,个人,N,{rm1},正常,"1,234,567.89",executive,否,2024-06-30\n'
    "0002,Acme Ltd,对公,S,{rm2},active,￥2000,,yes,2024/6/30\n"
)
ACTIVITY = (
    "customer,occurred_at,amount,quantity,category\n"
    '0001,2024-01-05,"1,234.50",,deposit\n'
    '0001,2024-01-05,"1,234.50",,deposit\n'
    "0002,2024/3/1 10:00,50000,12.5,loan\n"
)
INTERACTIONS = (
    "customer,occurred_at,channel,type,severity,resolved_at,summary\n"
    "0001,2024-05-01 09:30,微博,投诉,4,,网点排队太久\n"
    "0002,2024-05-02,regulator_hotline,complaint,5,2024-05-09,利率争议\n"
    "0001,2024-05-03,电话,咨询,,,问理财\n"
)
SHANGHAI_MIDNIGHT_JAN_5 = datetime(2024, 1, 4, 16, tzinfo=timezone.utc)


def seed(run_import, tmp_path: Path, world) -> dict[str, Path]:
    """Two customers (with attributes), three activity rows and three interactions."""
    files = {"customers": write(tmp_path, "seed-c.csv", CUSTOMERS.format(rm1=world.email("rm1"),
                                                                         rm2=world.email("rm2").upper())),
             "activity": write(tmp_path, "seed-a.csv", ACTIVITY),
             "interactions": write(tmp_path, "seed-i.csv", INTERACTIONS)}
    for kind, path in files.items():
        assert run_import(world, kind, path).inserted == {"customers": 2, "activity": 3, "interactions": 3}[kind]
    return files


def snapshot(app, world) -> dict[str, list[dict]]:
    """Every column of every row the tenant has in the import's tables."""
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        found = {m.__tablename__: db.session.execute(sa.select(m.__table__)).mappings().all()
                 for m in (Customer, Activity, Interaction, FieldDefinition)}
        return {table: sorted((dict(r) for r in records), key=repr) for table, records in found.items()}


def customers(app, world) -> dict[str, Customer]:
    return {c.external_id: c for c in rows(app, world, Customer)}


def cells(exc: ImportRejected) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.value) for e in exc.errors]


def import_cli(runner, world, kind, path, *options):
    return runner.invoke(cli, ["import", kind, "--tenant", world.slug, str(path), *map(str, options)])


def delimited(records: list[list[str]], delimiter: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(records)
    return buffer.getvalue()


# --- real-world files are accepted as they are ---------------------------------------------------------------------

@pytest.mark.parametrize("encoding,delimiter", [("utf-8", ","), ("utf-8-sig", ","), ("utf-8-sig", ";"), ("gbk", ","),
                                                ("gbk", "\t"), ("gb18030", ";"), ("utf-8", "\t")])
def test_chinese_exports_in_any_encoding_and_delimiter_import_the_same(app, tmp_path, tenant_a, run_import,
                                                                       encoding, delimiter):
    text = delimited([["客户编号", "客户名称", "客户类型", "状态", "日均资产"],
                      ["007", "张三", "个人", "正常", "1,234,567.89"],
                      ["0100", "华东电网有限公司", "对公", "销户", "￥2,000"]], delimiter)
    result = run_import(tenant_a, "customers", write(tmp_path, "export.csv", text, encoding), mapping={
        "external_id": "客户编号", "name": "客户名称", "party_type": "客户类型", "status": "状态", "aum_avg_3m": "日均资产"})

    assert (result.inserted, result.rejected) == (2, 0)
    found = {k: (c.name, c.party_type, c.status, c.attributes) for k, c in customers(app, tenant_a).items()}
    assert found == {"007": ("张三", "individual", "active", {"aum_avg_3m": 1234567.89}),
                     "0100": ("华东电网有限公司", "organisation", "closed", {"aum_avg_3m": 2000})}


def test_gbk_export_whose_first_chinese_name_is_far_down_still_imports(app, tmp_path, tenant_a, run_import):
    text = "external_id,name\n" + "".join(f"{i:06d},Corporate client {i}\n" for i in range(1, 4001)) + "999999,张三\n"
    assert run_import(tenant_a, "customers", write(tmp_path, "late.csv", text, "gbk")).inserted == 4001
    assert customers(app, tenant_a)["999999"].name == "张三"


def workbook(tmp_path: Path, second_status: str) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(["External_ID", "Name", "AUM_Avg_3M", "products_held", "Label_Observed_On", "STATUS"])
    sheet.append(["007", "张三", 1234567.89, 3, datetime(2024, 1, 5), "正常"])
    sheet.append([None] * 6)  # a blank row, as people leave them
    sheet.append(["0100", "Acme Ltd", 2000, 1, date(2024, 2, 29), second_status])
    path = tmp_path / "customers.xlsx"
    book.save(path)
    return path


def test_xlsx_with_mixed_case_headers_imports_numbers_dates_and_leading_zero_ids(app, tmp_path, tenant_a, run_import):
    with pytest.raises(ImportRejected) as refused:  # rows numbered as Excel shows them: the blank row counts
        run_import(tenant_a, "customers", workbook(tmp_path, "zombie"))
    assert cells(refused.value) == [(4, "STATUS", "zombie")]

    result = run_import(tenant_a, "customers", workbook(tmp_path, "休眠"))
    assert (result.rows_read, result.inserted) == (2, 2)
    found = customers(app, tenant_a)
    assert set(found) == {"007", "0100"}
    assert found["007"].attributes == {"aum_avg_3m": 1234567.89, "products_held": 3}
    assert (found["007"].label_observed_on, found["0100"].label_observed_on) == (date(2024, 1, 5), date(2024, 2, 29))
    assert (found["007"].status, found["0100"].status) == ("active", "dormant")


def test_dates_times_and_amounts_in_local_spellings(app, tmp_path, tenant_a, run_import):
    run_import(tenant_a, "customers", write(tmp_path, "c.csv", "external_id,name\n007,A\n"))
    activity = ("customer,occurred_at,amount,category\n"
                '007,2024-01-05,"1,234,567.89",iso\n007,2024/1/5,"￥2,000",slashes\n007,2024年1月5日,3,chinese\n'
                "007,20240105,(4.50),compact\n007,2024-01-05 13:45,5,iso-time\n007,2024/1/5 13:45:30,6,slash-time\n"
                "007,2024年1月5日 13时45分,7,chinese-time\n")
    assert run_import(tenant_a, "activity", write(tmp_path, "a.csv", activity)).inserted == 7

    found = {a.category: (a.occurred_at, a.amount) for a in rows(app, tenant_a, Activity)}
    afternoon = datetime(2024, 1, 5, 5, 45, tzinfo=timezone.utc)  # 13:45 in Asia/Shanghai
    midnight = SHANGHAI_MIDNIGHT_JAN_5
    assert found == {
        "iso": (midnight, Decimal("1234567.89")), "slashes": (midnight, Decimal("2000")),
        "chinese": (midnight, Decimal("3")), "compact": (midnight, Decimal("-4.50")),
        "iso-time": (afternoon, Decimal("5")), "slash-time": (afternoon.replace(second=30), Decimal("6")),
        "chinese-time": (afternoon, Decimal("7"))}


def test_dates_with_the_year_last_are_read_in_the_order_the_files_own_dates_show(app, tmp_path, tenant_a,
                                                                                run_import, runner):
    """UCI's Online Retail writes 12/1/2010 8:26: one cell cannot say whether that is 1 December or
    12 January, but the same file's 12/13/2010 can only be month first."""
    run_import(tenant_a, "customers", write(tmp_path, "c.csv", "external_id,name\n007,A\n"))
    us = write(tmp_path, "us.csv", "customer,occurred_at,amount,category\n"
               "007,12/1/2010 8:26,1,first\n007,12/13/2010 9:01,2,thirteenth\n007,1/5/2011,3,january\n")

    result = import_cli(runner, tenant_a, "activity", us)

    assert result.exit_code == 0, result.stderr
    assert "Dates with the year last: read month first (month/day/year), as the file's own dates show" in result.stdout
    shanghai = timezone(timedelta(hours=8))
    assert {a.category: a.occurred_at for a in rows(app, tenant_a, Activity)} == {
        "first": datetime(2010, 12, 1, 8, 26, tzinfo=shanghai),
        "thirteenth": datetime(2010, 12, 13, 9, 1, tzinfo=shanghai), "january": datetime(2011, 1, 5, tzinfo=shanghai)}
    european = write(tmp_path, "eu.csv",
                     "customer,occurred_at,amount,category\n007,13.12.2010,4,eu\n007,01.05.2011,5,may\n")
    assert run_import(tenant_a, "activity", european).date_order == "dmy"
    assert {a.category: a.occurred_at for a in rows(app, tenant_a, Activity) if a.category in ("eu", "may")} == {
        "eu": datetime(2010, 12, 13, tzinfo=shanghai), "may": datetime(2011, 5, 1, tzinfo=shanghai)}


def test_year_last_dates_on_a_12_hour_clock_are_read_as_the_times_they_say(app, tmp_path, tenant_a, run_import):
    """A US export writes 12/13/2010 8:26 PM: with the file's order known, the time was refused as no date."""
    run_import(tenant_a, "customers", write(tmp_path, "c.csv", "external_id,name\n007,A\n"))
    us = write(tmp_path, "us.csv", "customer,occurred_at,amount,category\n007,12/13/2010 8:26 PM,1,evening\n"
               "007,12/1/2010 12:05 AM,2,midnight\n007,1/5/2011 9:01:30 am,3,morning\n")

    assert run_import(tenant_a, "activity", us).date_order == "mdy"

    shanghai = timezone(timedelta(hours=8))
    assert {a.category: a.occurred_at for a in rows(app, tenant_a, Activity)} == {
        "evening": datetime(2010, 12, 13, 20, 26, tzinfo=shanghai),
        "midnight": datetime(2010, 12, 1, 0, 5, tzinfo=shanghai),
        "morning": datetime(2011, 1, 5, 9, 1, 30, tzinfo=shanghai)}


def test_year_last_dates_written_both_ways_in_one_file_are_refused(app, tmp_path, tenant_a, run_import):
    run_import(tenant_a, "customers", write(tmp_path, "c.csv", "external_id,name\n007,A\n"))
    both = write(tmp_path, "both.csv", "customer,occurred_at,amount\n007,12/13/2010,1\n007,13/12/2010,2\n")

    with pytest.raises(ImportRejected) as refused:
        run_import(tenant_a, "activity", both)

    assert [e.value for e in refused.value.errors] == ["12/13/2010", "13/12/2010"]
    assert "no date in the file tells whether its day or its month comes first" in refused.value.errors[0].reason


def test_the_date_that_tells_the_order_may_lie_deep_in_a_large_file(app, tmp_path, tenant_a, run_import):
    """Read from the start until a chunk tells: the first 100,000 rows of 1 to 12 December say nothing."""
    run_import(tenant_a, "customers", write(tmp_path, "c.csv", "external_id,name\n007,A\n"))
    lines = [f"007,12/{1 + i % 12}/2010,1,{i}\n" for i in range(120_000)] + ["007,12/24/2010,9,eve\n"]
    path = write(tmp_path, "deep.csv", "customer,occurred_at,amount,category\n" + "".join(lines))

    result = run_import(tenant_a, "activity", path)

    assert (result.date_order, result.inserted) == ("mdy", 120_001)
    shanghai = timezone(timedelta(hours=8))
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        december = db.session.scalar(sa.select(sa.func.count()).where(
            Activity.occurred_at >= datetime(2010, 12, 1, tzinfo=shanghai),
            Activity.occurred_at < datetime(2011, 1, 1, tzinfo=shanghai)))
    assert december == 120_001  # every row month first: 12/5/2010 is 5 December, not 12 May


MONTHS_ALONE = ["2024年01月", "2024年1月", "2024年1月份", "2024-01", "2024-1", "2024/01", "2024.01", "202401"]
SHANGHAI_MIDNIGHT_JAN_1 = datetime(2023, 12, 31, 16, tzinfo=timezone.utc)


def test_a_month_written_alone_is_its_first_day_on_the_tenants_clock(app, tmp_path, tenant_a, run_import):
    """A bill's period (账期) is how utilities and banks date a bill: read as the month's first moment."""
    run_import(tenant_a, "customers", write(tmp_path, "c.csv", "external_id,name\n007,A\n"))
    activity = "customer,occurred_at,amount,category\n" + "".join(
        f"007,{month},{i},{month}\n" for i, month in enumerate(MONTHS_ALONE, start=1))
    activity += "007,202411,1,six-digits-are-a-month\n007,20241105,1,eight-digits-are-a-day\n"
    activity += "007,2024年11月5日,1,chinese-day\n"
    assert run_import(tenant_a, "activity", write(tmp_path, "a.csv", activity)).inserted == len(MONTHS_ALONE) + 3

    found = {a.category: a.occurred_at for a in rows(app, tenant_a, Activity)}
    assert {month: found.pop(month) for month in MONTHS_ALONE} == dict.fromkeys(MONTHS_ALONE, SHANGHAI_MIDNIGHT_JAN_1)
    november_1 = datetime(2024, 10, 31, 16, tzinfo=timezone.utc)  # 202411 once read as 2024-01-01 (%Y%m%d)
    november_5 = datetime(2024, 11, 4, 16, tzinfo=timezone.utc)
    assert found == {"six-digits-are-a-month": november_1, "eight-digits-are-a-day": november_5,
                     "chinese-day": november_5}


def test_a_month_alone_reads_the_same_in_interactions_and_date_fields(app, tmp_path, tenant_a, run_import):
    run_import(tenant_a, "customers", write(tmp_path, "c.csv", "external_id,name,churn_label,label_observed_on\n"
                                                               "007,A,否,2024年06月\n"))
    run_import(tenant_a, "interactions", write(tmp_path, "i.csv", "customer,occurred_at,channel,type,resolved_at\n"
                                                                  "007,202405,phone,complaint,2024/06\n"))
    assert customers(app, tenant_a)["007"].label_observed_on == date(2024, 6, 1)
    [complaint] = rows(app, tenant_a, Interaction)
    assert (complaint.occurred_at, complaint.resolved_at) == (datetime(2024, 4, 30, 16, tzinfo=timezone.utc),
                                                              datetime(2024, 5, 31, 16, tzinfo=timezone.utc))


def test_cli_imports_bills_dated_by_their_period_as_the_readme_shows(app, tmp_path, tenant_a, run_import, runner):
    run_import(tenant_a, "customers", write(tmp_path, "c.csv", "external_id,name\n3100001,华东用户\n"))
    bills = write(tmp_path, "bills.csv", "户号,账期,电费(元)\n3100001,2024年01月,120.50\n3100001,2024年02月,98\n")
    options = ("--customer-column", "户号", "--time-column", "账期", "--amount-column", "电费(元)")

    result = import_cli(runner, tenant_a, "activity", bills, *options)

    assert result.exit_code == 0, result.stderr
    assert sorted((a.occurred_at, a.amount) for a in rows(app, tenant_a, Activity)) == [
        (SHANGHAI_MIDNIGHT_JAN_1, Decimal("120.50")),
        (datetime(2024, 1, 31, 16, tzinfo=timezone.utc), Decimal("98"))]

    bad = write(tmp_path, "bad.csv", "户号,账期,电费(元)\n3100001,202403,1\n3100001,202413,2\n")
    refused = import_cli(runner, tenant_a, "activity", bad, *options)
    assert refused.exit_code != 0
    assert "row 3, column '账期', value '202413': has month 13: a month is 01 to 12" in one_line_error(refused)
    assert len(rows(app, tenant_a, Activity)) == 2


@pytest.mark.parametrize("text", ["customer,occurred_at,amount\n007,2024-01-05,10\n",
                                  "customer,occurred_at,amount,category\n007,2024-01-05,10,\n"],
                         ids=["no-category-column", "blank-category"])
def test_activity_without_a_category_imports(app, tmp_path, tenant_a, run_import, text):
    run_import(tenant_a, "customers", write(tmp_path, "c.csv", "external_id,name\n007,A\n"))
    assert run_import(tenant_a, "activity", write(tmp_path, "a.csv", text)).inserted == 1
    assert [(a.category, a.amount) for a in rows(app, tenant_a, Activity)] == [("", Decimal("10"))]


def test_a_customer_file_of_ids_alone_adds_customers_named_by_their_id_until_a_file_names_them(
        app, tmp_path, tenant_a, run_import):
    """A churn snapshot or a status delta has ids but no names: still a customer file, and no name is lost."""
    ids = write(tmp_path, "ids.csv", "external_id,churn_label\n0007,yes\n0008,no\n")
    ids_alone = run_import(tenant_a, "customers", ids)
    assert ids_alone.inserted == 2
    assert {cid: c.name for cid, c in customers(app, tenant_a).items()} == {"0007": "0007", "0008": "0008"}

    named = run_import(tenant_a, "customers", write(tmp_path, "named.csv", "external_id,name\n0007,张三\n0008,\n"))
    delta = run_import(tenant_a, "customers", write(tmp_path, "delta.csv", "external_id,status\n0007,closed\n"))

    assert (named.updated, delta.updated) == (1, 1)  # a blank name cell erases nothing
    assert {cid: (c.name, c.status) for cid, c in customers(app, tenant_a).items()} == {
        "0007": ("张三", "closed"), "0008": ("0008", "active")}


def test_explicit_mapping_and_cli_id_column_and_map_options(app, tmp_path, tenant_a, run_import, runner):
    text = "客户编号,客户名称\n007,张三\n"
    mapped = run_import(tenant_a, "customers", write(tmp_path, "c.csv", text),
                        mapping={"external_id": "客户编号", "name": "客户名称"})
    assert mapped.inserted == 1

    result = import_cli(runner, tenant_a, "customers", write(tmp_path, "c2.csv", text + "0100,李四\n"),
                        "--id-column", "客户编号", "--map", "name=客户名称")
    assert result.exit_code == 0, result.stderr
    assert "1 new, 0 updated, 1 unchanged, 0 rejected" in result.stdout
    assert {k: c.name for k, c in customers(app, tenant_a).items()} == {"007": "张三", "0100": "李四"}


# --- bad input: a clear error per cell, nothing written ------------------------------------------------------------

GOOD_ROW = {  # a bad file is a good row followed by the same row with one cell spoiled (row 3)
    "customers": {"external_id": "0003", "name": "A", "party_type": "个人", "status": "正常", "branch_code": "N",
                  "rm_email": "{rm1}", "churn_label": "是", "occupation": "executive"},
    "activity": {"customer": "0001", "occurred_at": "2024-01-05", "amount": "10", "category": "fee"},
    "interactions": {"customer": "0001", "occurred_at": "2024-05-01", "channel": "微博", "type": "投诉", "severity": "5",
                     "resolved_at": "2024-05-01 18:00"},
}
BAD_CELLS = [
    ("activity", "amount", "abc", "is not a number"),
    ("activity", "occurred_at", "2024-13-45", "is not a date or time such as 2024-01-05"),
    ("activity", "occurred_at", "202413", "has month 13: a month is 01 to 12"),  # not 2024-01-03
    ("activity", "occurred_at", "2024年13月", "has month 13: a month is 01 to 12"),
    ("interactions", "resolved_at", "2024-00", "has month 00: a month is 01 to 12"),
    ("activity", "occurred_at", "12/1/2010 8:26", "has the year last, and no date in the file tells whether its day"),
    ("interactions", "resolved_at", "01.05.2024 18:00", "write dates year first, such as 2024-03-04 13:45"),
    ("activity", "occurred_at", "1000-01-05", "is not a date or time"),  # a year no timestamp holds: no crash
    ("interactions", "occurred_at", "1000-01-01T00:00:00Z", "is not a date or time"),
    ("customers", "party_type", "alien", "is not one of: individual, organisation"),
    ("customers", "status", "zombie", "is not one of: active, closed, dormant"),
    ("customers", "occupation", "astronaut", "is not one of: business_owner, executive"),
    ("interactions", "channel", "pigeon", "is not one of: app, counter, email"),
    ("interactions", "type", "rant", "is not one of: complaint, opinion, praise, request"),
    ("interactions", "severity", "9", "is not a whole number from 1 to 5"),
    ("customers", "churn_label", "maybe", "is not a churn outcome"),
    ("customers", "external_id", "", "is required"),
    ("activity", "occurred_at", "", "is required"),
    ("customers", "name", "长" * 201, "is longer than 200 characters"),
    ("customers", "branch_code", "Z", "no branch with this code"),
    ("customers", "rm_email", "ghost@nowhere.test", "no active relationship manager with this email"),
    ("activity", "customer", "0404", "no customer with this id"),
    ("activity", "amount", "1234,5", "a comma that does not group thousands"),  # a decimal comma, not 12345
    ("activity", "amount", "1,5", "a comma that does not group thousands"),
    ("activity", "amount", "1.234,50", "a comma that does not group thousands"),
    ("activity", "amount", "12,34,567", "a comma that does not group thousands"),
    ("interactions", "severity", "4,5", "a comma that does not group thousands"),
    ("interactions", "resolved_at", "2024-04-30", "is before occurred_at"),
]


@pytest.mark.parametrize("kind,column,value,reason", BAD_CELLS, ids=[f"{c[0]}-{c[1]}-{c[2][:8]}" for c in BAD_CELLS])
def test_a_bad_cell_rejects_the_file_naming_row_column_value_and_reason(app, tmp_path, tenant_a, run_import,
                                                                        kind, column, value, reason):
    seed(run_import, tmp_path, tenant_a)
    before = snapshot(app, tenant_a)
    good = {k: v.replace("{rm1}", tenant_a.email("rm1")) for k, v in GOOD_ROW[kind].items()}
    bad = {**good, **({"external_id": "0004"} if kind == "customers" else {}), column: value}
    path = write(tmp_path, "bad.csv", delimited([list(good), list(good.values()), list(bad.values())], ","))

    with pytest.raises(ImportRejected) as refused:
        run_import(tenant_a, kind, path)

    assert cells(refused.value) == [(3, column, value)]
    assert reason in refused.value.errors[0].reason
    assert (refused.value.field, refused.value.row) == (column, 3)
    assert f"row 3, column '{column}'" in str(refused.value) and "nothing was imported" in str(refused.value)
    assert snapshot(app, tenant_a) == before


FILE_PROBLEMS = [
    ("customers", "no-id.csv", b"name,status\nA,active\n", "external_id", None, r"no column for 'external_id'"),
    ("activity", "no-amount.csv", b"customer,occurred_at\n0001,2024-01-05\n", "amount", None,
     r"no column for 'amount'"),
    ("customers", "twice.csv", b"external_id,name,name\n0003,A,B\n", "name", 1, r"'name' appears twice"),
    ("customers", "typo.csv", b"external_id,name,loan_balnce\n0003,A,5\n", "loan_balnce", None,
     r"'loan_balnce' \(did you mean 'loan_balance'\?\)"),
    ("customers", "typo2.csv", b"external_id,name,staus\n0003,A,active\n", "staus", None,
     r"'staus' \(did you mean 'status'\?\)"),
    ("customers", "odd.csv", b"external_id,name,favourite_colour\n0003,A,red\n", "favourite_colour", None,
     r"^(?!.*did you mean).*'favourite_colour'.*--add-fields"),
    ("customers", "nothing.csv", b"", "file", None, r"the file is empty"),
    ("customers", "header-only.csv", b"external_id,name\n", "file", None, r"header but no rows"),
    ("customers", "noise.csv", random.Random(7).randbytes(4096), "file", None, r"neither UTF-8 nor GBK/GB18030"),
    ("customers", "legacy.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "file", None, r"\.xls workbooks"),
    ("customers", "broken.xlsx", b"PK\x03\x04 not really a workbook", "file", None, r"not a readable \.xlsx"),
]


@pytest.mark.parametrize("kind,name,content,field,row,message", FILE_PROBLEMS, ids=[c[1] for c in FILE_PROBLEMS])
def test_a_malformed_file_is_refused_with_the_field_at_fault(app, tmp_path, tenant_a, run_import,
                                                             kind, name, content, field, row, message):
    seed(run_import, tmp_path, tenant_a)
    before = snapshot(app, tenant_a)
    (tmp_path / name).write_bytes(content)

    with pytest.raises(ValidationError, match=message) as refused:
        run_import(tenant_a, kind, tmp_path / name)

    assert not isinstance(refused.value, ImportRejected)
    assert (refused.value.field, refused.value.row) == (field, row)
    assert snapshot(app, tenant_a) == before


# --- atomicity ----------------------------------------------------------------------------------------------------

ALMOST_GOOD = {  # each would update existing rows and insert new ones, but one row is bad
    "customers": ("external_id,name,branch_code,segment\n0001,张三(改名),S,gold\n0009,New Co,N,silver\n"
                  "0010,Ghost,Z,gold\n", (4, "branch_code", "Z")),
    "activity": ("customer,occurred_at,amount,category\n0001,2024-01-05,999,deposit\n0002,2024-07-01,5,fee\n"
                 "0404,2024-07-02,5,fee\n", (4, "customer", "0404")),
    "interactions": ("customer,occurred_at,channel,type,resolved_at\n0001,2024-05-01 09:30,微博,投诉,2024-05-20\n"
                     "0002,2024-07-01,柜台,表扬,\n0002,2024-07-02,柜台,表扬,someday\n", (4, "resolved_at", "someday")),
}


@pytest.mark.parametrize("kind", ALMOST_GOOD)
def test_a_failed_import_leaves_the_tenant_data_exactly_as_before(app, tmp_path, tenant_a, run_import, kind):
    seed(run_import, tmp_path, tenant_a)
    before = snapshot(app, tenant_a)
    assert [len(before[table]) for table in ("customers", "activity", "interactions")] == [2, 3, 3]
    text, bad_cell = ALMOST_GOOD[kind]

    with pytest.raises(ImportRejected) as refused:
        run_import(tenant_a, kind, write(tmp_path, "almost.csv", text), add_fields=kind == "customers")

    assert cells(refused.value) == [bad_cell]
    assert snapshot(app, tenant_a) == before


def test_duplicate_ids_and_a_bad_row_deep_in_a_large_file_reject_the_whole_file(app, tmp_path, tenant_a, run_import):
    records = [f"{i:07d},Customer {i},active\n" for i in range(250_000)]
    records[148_000] = "0000000,Same id as row 2,active\n"  # row 148,002, in the second 100,000-row chunk
    records[240_000] = "0240000,Customer,zombie\n"  # row 240,002, in the third chunk
    path = write(tmp_path, "big.csv", "external_id,name,status\n" + "".join(records))

    with pytest.raises(ImportRejected) as refused:
        run_import(tenant_a, "customers", path)

    assert cells(refused.value) == [(2, "external_id", "0000000"), (148_002, "external_id", "0000000"),
                                    (240_002, "status", "zombie")]
    assert [e.reason for e in refused.value.errors[:2]] == ["this id appears more than once in the file"] * 2
    assert customers(app, tenant_a) == {}


def test_a_decimal_comma_in_a_semicolon_file_is_refused_not_read_as_thousands(app, tmp_path, tenant_a, run_import,
                                                                             runner):
    seed(run_import, tmp_path, tenant_a)
    before = snapshot(app, tenant_a)
    path = write(tmp_path, "eu.csv", "customer;occurred_at;amount\n0001;2024-02-01;1234,5\n0002;2024-02-01;1.234\n")

    with pytest.raises(ImportRejected) as refused:
        run_import(tenant_a, "activity", path)
    assert cells(refused.value) == [(2, "amount", "1234,5")]
    error = one_line_error(import_cli(runner, tenant_a, "activity", path))
    assert "row 2, column 'amount', value '1234,5'" in error and "thousands" in error
    assert snapshot(app, tenant_a) == before


def test_commas_grouping_thousands_still_import(app, tmp_path, tenant_a, run_import):
    seed(run_import, tmp_path, tenant_a)
    path = write(tmp_path, "a.csv", 'customer,occurred_at,amount\n0001,2024-02-10,"12,345"\n'
                                    '0001,2024-02-11,"-1,234,567.5"\n0001,2024-02-12,"(1,000.25)"\n')
    assert run_import(tenant_a, "activity", path).inserted == 3
    amounts = sorted(a.amount for a in rows(app, tenant_a, Activity) if a.occurred_at.month == 2)
    assert amounts == [Decimal("-1234567.50"), Decimal("-1000.25"), Decimal("12345.00")]


def test_an_interaction_resolved_when_it_happened_or_later_imports(app, tmp_path, tenant_a, run_import):
    seed(run_import, tmp_path, tenant_a)
    path = write(tmp_path, "i.csv", "customer,occurred_at,channel,type,resolved_at\n"
                                    "0001,2024-06-01 09:00,phone,request,2024-06-01 09:00\n"
                                    "0002,2024-06-01 09:00,phone,request,2024-06-03\n")
    assert run_import(tenant_a, "interactions", path).inserted == 2



def test_an_activity_dated_before_1900_or_years_ahead_is_refused_naming_the_year(app, tmp_path, tenant_a, run_import):
    seed(run_import, tmp_path, tenant_a)
    path = write(tmp_path, "a.csv", "customer,occurred_at,amount\n0001,1800-01-01,5\n0001,2131-01-01,5\n"
                                    "0001,2024-06-01,5\n")
    with pytest.raises(ImportRejected) as refused:
        run_import(tenant_a, "activity", path)
    assert [(e.row, e.value, str(e.reason)) for e in refused.value.errors] == [
        (2, "1800-01-01", "is before 1900: check the year"), (3, "2131-01-01", "is more than a year ahead: check the year")]


def test_rows_dated_after_today_are_kept_and_said_so(app, tmp_path, tenant_a, run_import, runner, issue_token):
    from datetime import timedelta

    seed(run_import, tmp_path, tenant_a)
    before = len(rows(app, tenant_a, Activity))
    soon = (datetime.now(timezone.utc) + timedelta(days=40)).date()
    path = write(tmp_path, "a.csv", f"customer,occurred_at,amount\n0001,2024-06-11,5\n0001,{soon},5\n"
                                    f"0001,{soon - timedelta(days=9)},5\n")
    imported = import_cli(runner, tenant_a, "activity", path)
    assert imported.exit_code == 0, imported.stderr
    assert f"2 rows are dated after today (the latest {soon} 00:00 UTC+8): kept" in imported.output
    assert len(rows(app, tenant_a, Activity)) == before + 3
    answered = app.test_client().post("/api/v1/imports/activity", json={"rows": [
        {"customer": "0001", "occurred_at": f"{soon}T10:00:00+08:00", "amount": "7"}]},
        headers={"Authorization": f"Bearer {issue_token(tenant_a)}"})
    assert answered.status_code in (200, 201), answered.json
    result = answered.json.get("result", answered.json)
    assert result["dated_ahead"] == 1 and result["latest_ahead"].startswith(f"{soon}T02:00:00"), answered.json


# --- JSON batches name a record by its place in the batch ----------------------------------------------------------

def test_a_json_batch_error_names_the_record_as_it_was_sent(app, tenant_a, issue_token):
    client, admin = app.test_client(), {"Authorization": f"Bearer {issue_token(tenant_a)}"}
    records = [{"external_id": "J1", "name": "第一"}, {"external_id": "J2", "name": "第二", "status": "zombie"}]
    refused = client.post("/api/v1/imports/customers", json={"rows": records}, headers=admin)
    assert refused.status_code == 400
    assert refused.json["error"]["rows"] == [{"row": 1, "column": "status", "value": "zombie",
                                              "reason": "is not one of: active, closed, dormant"}]
    assert "rows[1], column 'status', value 'zombie'" in refused.json["error"]["message"]
    assert "row 3" not in refused.json["error"]["message"]
    comma = client.post("/api/v1/imports/activity", json={"rows": [
        {"customer": "J1", "occurred_at": "2024-01-05", "amount": "1,5"}]}, headers=admin)
    assert comma.status_code == 400 and comma.json["error"]["rows"][0]["row"] == 0
    assert "rows[0], column 'amount', value '1,5'" in comma.json["error"]["message"]
    assert client.get("/api/v1/customers", headers=admin).json["items"] == []


def test_a_json_batch_says_a_list_is_no_value_and_a_huge_number_is_too_large(app, tenant_a, issue_token):
    client, admin = app.test_client(), {"Authorization": f"Bearer {issue_token(tenant_a)}"}
    client.post("/api/v1/imports/customers", json={"rows": [{"external_id": "J1", "name": "第一"}]}, headers=admin)
    listed = client.post("/api/v1/imports/activity", json={"rows": [
        {"customer": "J1", "occurred_at": "2024-01-05", "amount": 5},
        {"customer": "J1", "occurred_at": "2024-01-06", "amount": [1, 2]}]}, headers=admin)
    assert listed.status_code == 400 and listed.json["error"]["field"] == "rows[1].amount"
    assert "not a list" in listed.json["error"]["message"] and "comma" not in listed.json["error"]["message"]
    huge = client.post("/api/v1/imports/activity", json={"rows": [
        {"customer": "J1", "occurred_at": "2024-01-05", "amount": 1e300}]}, headers=admin)
    assert huge.status_code == 400 and huge.json["error"]["rows"][0]["reason"].startswith("is too large")


def test_a_skipped_record_of_a_json_batch_is_named_by_its_index(app, tenant_a, issue_token):
    client, admin = app.test_client(), {"Authorization": f"Bearer {issue_token(tenant_a)}"}
    records = [{"external_id": "J1", "name": "第一", "status": "zombie"}, {"external_id": "J2", "name": "第二"}]
    done = client.post("/api/v1/imports/customers", json={"rows": records, "skip_invalid": True}, headers=admin)
    assert done.status_code == 200 and done.json["inserted"] == 1
    assert [(e["row"], e["column"]) for e in done.json["errors"]] == [(0, "status")]


# --- skip_invalid -------------------------------------------------------------------------------------------------

PARTLY_BAD = "external_id,name,status,branch_code\n0003,A,active,N\n0004,B,zombie,N\n0005,C,dormant,Z\n0001,张三改,,S\n"


def read_rejects(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


def test_skip_invalid_applies_good_rows_and_writes_the_rejects_file(app, tmp_path, tenant_a, run_import):
    seed(run_import, tmp_path, tenant_a)
    rejects = tmp_path / "out" / "rejects.csv"
    result = run_import(tenant_a, "customers", write(tmp_path, "c.csv", PARTLY_BAD), skip_invalid=True,
                        rejects_path=rejects)

    assert (result.inserted, result.updated, result.rejected) == (1, 1, 2)
    assert result.rejects_path == str(rejects)
    assert read_rejects(rejects) == [["row", "column", "value", "reason"],
                                     ["3", "status", "zombie", "is not one of: active, closed, dormant"],
                                     ["4", "branch_code", "Z", "no branch with this code"]]
    found = customers(app, tenant_a)
    assert set(found) == {"0001", "0002", "0003"}
    assert (found["0001"].name, found["0001"].branch_id) == ("张三改", tenant_a.branches["south"].id)


def test_the_rejects_file_is_in_the_files_row_order_whatever_was_found_first(app, tmp_path, tenant_a, run_import):
    """An unknown branch is found once the whole file is read, after every bad cell: row 2 came after row 3."""
    seed(run_import, tmp_path, tenant_a)
    rejects = tmp_path / "rejects.csv"
    mixed = "external_id,name,status,branch_code\n0005,A,active,Z\n0006,B,zombie,N\n0007,C,active,N\n"
    run_import(tenant_a, "customers", write(tmp_path, "c.csv", mixed), skip_invalid=True, rejects_path=rejects)
    assert [line[:2] for line in read_rejects(rejects)] == [["row", "column"], ["2", "branch_code"], ["3", "status"]]


def test_cli_skip_invalid_writes_rejects_next_to_the_file(app, tmp_path, tenant_a, run_import, runner):
    seed(run_import, tmp_path, tenant_a)
    path = write(tmp_path, "c.csv", PARTLY_BAD)
    result = import_cli(runner, tenant_a, "customers", path, "--skip-invalid")

    assert result.exit_code == 0, result.stderr
    assert "1 new, 1 updated, 0 unchanged, 2 rejected" in result.stdout
    assert f"{path}.rejects.csv" in result.stdout
    assert [r[:3] for r in read_rejects(f"{path}.rejects.csv")] == [
        ["row", "column", "value"], ["3", "status", "zombie"], ["4", "branch_code", "Z"]]


def test_skip_invalid_counts_and_writes_every_rejected_row_of_a_big_file(app, tmp_path, tenant_a, run_import):
    text = "external_id,name,status\n" + "".join(f"{i:06d},C{i},{'zombie' if i % 2 else 'active'}\n"
                                                 for i in range(20_100))
    result = run_import(tenant_a, "customers", write(tmp_path, "c.csv", text), skip_invalid=True,
                        rejects_path=tmp_path / "rejects.csv")
    assert (result.inserted, result.rejected) == (10_050, 10_050)
    assert len(read_rejects(tmp_path / "rejects.csv")) == 1 + 10_050


# --- idempotency --------------------------------------------------------------------------------------------------

def test_reimporting_the_same_files_changes_nothing(app, tmp_path, tenant_a, run_import):
    files = seed(run_import, tmp_path, tenant_a)
    before = snapshot(app, tenant_a)
    for kind, path in files.items():
        result = run_import(tenant_a, kind, path)
        assert (result.inserted, result.updated, result.unchanged, result.rejected) == (0, 0, result.rows_read, 0)
    assert snapshot(app, tenant_a) == before


def test_reimporting_a_resolved_complaint_updates_exactly_that_row(app, tmp_path, tenant_a, run_import):
    seed(run_import, tmp_path, tenant_a)
    before = snapshot(app, tenant_a)
    resolved = INTERACTIONS.replace("微博,投诉,4,,", "微博,投诉,4,2024-05-06 18:00,")

    result = run_import(tenant_a, "interactions", write(tmp_path, "i2.csv", resolved))

    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 2)
    after = snapshot(app, tenant_a)
    interactions_before, interactions_after = before.pop("interactions"), after.pop("interactions")
    assert after == before  # customers, activity and fields untouched

    def key(r):
        return r["customer_id"], r["occurred_at"], r["channel"], r["interaction_type"], r["ordinal"]
    old, new = ({key(r): r for r in found} for found in (interactions_before, interactions_after))
    assert old.keys() == new.keys()
    (changed,) = [k for k in old if old[k] != new[k]]
    assert (old[changed]["channel"], old[changed]["interaction_type"], old[changed]["resolved_at"]) == (
        "social_media", "complaint", None)
    assert new[changed] == {**old[changed], "resolved_at": datetime(2024, 5, 6, 10, tzinfo=timezone.utc)}


def test_reimporting_amounts_with_more_decimals_than_stored_changes_nothing(app, tmp_path, tenant_a, run_import):
    run_import(tenant_a, "customers", write(tmp_path, "c.csv", "external_id,name\n007,A\n"))
    path = write(tmp_path, "a.csv", "customer,occurred_at,amount,quantity,category\n"
                                    "007,2024-01-05,12.345,1.2345678,fx\n")
    assert run_import(tenant_a, "activity", path).inserted == 1
    again = run_import(tenant_a, "activity", path)
    assert (again.updated, again.unchanged) == (0, 1)


def test_amounts_with_more_decimals_than_stored_round_half_up_like_money(app, tmp_path, tenant_a, run_import):
    run_import(tenant_a, "customers", write(tmp_path, "c.csv", "external_id,name\n007,A\n"))
    text = "customer,occurred_at,amount,quantity,category\n007,2024-01-05,12.345,1.00005,a\n007,2024-01-05,1.005,,b\n"
    assert run_import(tenant_a, "activity", write(tmp_path, "a.csv", text)).inserted == 2
    found = {a.category: (a.amount, a.quantity) for a in rows(app, tenant_a, Activity)}
    assert found == {"a": (Decimal("12.35"), Decimal("1.0001")), "b": (Decimal("1.01"), None)}


# --- saved mappings, new fields, CLI errors -----------------------------------------------------------------------

def test_a_saved_mapping_is_reused_by_name_and_an_unknown_name_fails_cleanly(app, tmp_path, tenant_a, runner):
    header = "客户编号,客户名称,网点\n"
    first = import_cli(runner, tenant_a, "customers", write(tmp_path, "1.csv", header + "0100,华东电网,N\n"),
                       "--id-column", "客户编号", "--map", "name=客户名称", "--map", "branch_code=网点",
                       "--save-mapping", "core-banking")
    assert first.exit_code == 0, first.stderr
    assert "Mapping saved as: core-banking (reuse it with --mapping core-banking)" in first.stdout
    second = import_cli(runner, tenant_a, "customers", write(tmp_path, "2.csv", header + "0101,华南电网,S\n"),
                        "--mapping", "core-banking")
    assert second.exit_code == 0, second.stderr
    found = {k: (c.name, c.branch_id) for k, c in customers(app, tenant_a).items()}
    assert found == {"0100": ("华东电网", tenant_a.branches["north"].id),
                     "0101": ("华南电网", tenant_a.branches["south"].id)}

    unknown = import_cli(runner, tenant_a, "customers", write(tmp_path, "3.csv", header + "0102,X,N\n"),
                         "--mapping", "nope")
    assert unknown.exit_code != 0
    assert "no mapping named 'nope' is saved for the Customers import" in one_line_error(unknown)
    assert set(customers(app, tenant_a)) == {"0100", "0101"}


@pytest.mark.parametrize("background", [False, True], ids=["foreground", "background"])
def test_a_saved_mapping_imports_a_delta_file_that_leaves_its_optional_columns_out(app, tmp_path, tenant_a, runner,
                                                                                    background):
    header = "客户编号,客户名称,网点\n"
    saved = import_cli(runner, tenant_a, "customers", write(tmp_path, "full.csv", header + "0100,华东电网,N\n"),
                       "--id-column", "客户编号", "--map", "name=客户名称", "--map", "branch_code=网点",
                       "--save-mapping", "core-banking")
    assert saved.exit_code == 0, saved.stderr
    delta = write(tmp_path, "delta.csv", "客户编号,客户名称\n0101,华南电网\n")  # no 网点 today
    options = ("--background",) if background else ()
    imported = import_cli(runner, tenant_a, "customers", delta, "--mapping", "core-banking", *options)
    assert imported.exit_code == 0, imported.stderr
    assert customers(app, tenant_a)["0101"].name == "华南电网"
    typo = import_cli(runner, tenant_a, "customers", delta, "--mapping", "core-banking", "--map", "branch_code=网店")
    assert typo.exit_code != 0 and "网店" in one_line_error(typo)  # a column typed out must be there


def test_add_fields_creates_typed_fields_and_without_it_unknown_columns_are_refused(app, tmp_path, make_tenant,
                                                                                    runner):
    world = make_tenant("other")  # an empty field registry
    lines = [f"{i:04d},C{i},{i},\"{i * 1000 + 0.5:,}\",{'是' if i % 2 else '否'},2024-01-{i % 28 + 1:02d},"
             f"{('gold', 'silver', 'bronze')[i % 3]},{i:06d},note {i}\n" for i in range(1, 61)]
    header = "external_id,name,score,balance,vip,opened_on,segment,card_no,notes\n"
    path = write(tmp_path, "c.csv", header + "".join(lines))

    refused = import_cli(runner, world, "customers", path)
    assert refused.exit_code != 0
    assert "Error: unknown column(s) 'score'" in one_line_error(refused) and "--add-fields" in refused.stderr
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        assert field_registry() == {}

    added = import_cli(runner, world, "customers", path, "--add-fields")
    assert added.exit_code == 0, added.stderr
    assert "Added fields: score, balance, vip, opened_on, segment, card_no, notes" in added.stdout
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        types = {name: f.field_type for name, f in field_registry().items()}
    assert types == {"score": "integer", "balance": "number", "vip": "boolean", "opened_on": "date",
                     "segment": "category", "card_no": "text", "notes": "text"}
    assert customers(app, world)["0001"].attributes == {
        "score": 1, "balance": 1000.5, "vip": True, "opened_on": "2024-01-02", "segment": "silver",
        "card_no": "000001", "notes": "note 1"}


CLI_ERRORS = [
    pytest.param("external_id,name,status\n0003,A,active\n0004,B,zombie\n", [],
                 "row 3, column 'status', value 'zombie'", id="bad-cell"),
    pytest.param(None, [], "Error: PATH: File ", id="missing-file"),
    pytest.param("external_id,name\n0003,A\n", ["--map", "name"], "'name' is not TARGET=COLUMN", id="bad-map"),
    pytest.param("external_id,name\n0003,A\n", ["--tenant", "no-such-tenant"], "no tenant 'no-such-tenant'",
                 id="unknown-tenant"),
    pytest.param("external_id,name\n0003,A\n", ["--map", "nickname=name"], "'nickname' is not something",
                 id="unknown-target"),
    pytest.param('external_id,name,status\n0003,A,"zom\nbie"\n', [], "value 'zom", id="value-with-line-break"),
    pytest.param("external_id,name\n0003,A\n0004,B,extra\n", [],
                 "row 3 has 3 values where the header has 2 columns", id="row-with-an-extra-value"),
    pytest.param('external_id,name\n0003,A\n0004,"B\n', [],
                 "a quoted value that starts in row 3 is never closed", id="quote-never-closed"),
]


@pytest.mark.parametrize("text,options,expected", CLI_ERRORS)
def test_cli_errors_exit_non_zero_with_one_line_and_write_nothing(app, tmp_path, tenant_a, runner,
                                                                   text, options, expected):
    path = write(tmp_path, "c.csv", text) if text is not None else tmp_path / "missing.csv"
    result = import_cli(runner, tenant_a, "customers", path, *options)
    assert result.exit_code != 0
    assert expected in one_line_error(result)
    assert customers(app, tenant_a) == {}


def test_a_moment_written_with_its_offset_is_read_as_that_moment_not_on_the_tenants_clock(app, tenant_a, issue_token):
    client, admin = app.test_client(), {"Authorization": f"Bearer {issue_token(tenant_a)}"}
    client.post("/api/v1/imports/customers", json={"rows": [{"external_id": "Z1", "name": "时区"}]}, headers=admin)
    sent = client.post("/api/v1/imports/interactions", json={"rows": [  # as the API itself writes times
        {"customer": "Z1", "occurred_at": "2026-01-01T00:00:00Z", "channel": "phone", "type": "request"},
        {"customer": "Z1", "occurred_at": "2026-01-02T08:00:00.5+08:00", "channel": "phone", "type": "request"}]},
        headers=admin)
    assert sent.status_code == 200, sent.json
    customer = client.get("/api/v1/customers", headers=admin).json["items"][0]["id"]
    times = sorted(i["occurred_at"] for i in client.get(f"/api/v1/customers/{customer}/interactions",
                                                          headers=admin).json["items"])
    assert times[0].startswith("2026-01-01T00:00:00") and times[1].startswith("2026-01-02T00:00:00.5")


def test_a_json_batch_without_a_required_key_is_told_about_keys_not_columns(app, tenant_a, issue_token):
    client, admin = app.test_client(), {"Authorization": f"Bearer {issue_token(tenant_a)}"}
    refused = client.post("/api/v1/imports/activity", json={"rows": [{"occurred_at": "2024-01-05", "amount": 5}]},
                          headers=admin)
    assert refused.status_code == 400 and refused.json["error"]["field"] == "customer"
    assert "the records have no key 'customer'" in refused.json["error"]["message"]
    assert "file" not in refused.json["error"]["message"]


def run_page_in_chinese(app, browser, world, path: Path) -> str:
    """The page of an import run of ``path`` (activity), as a Chinese reader sees it: its outcome's details."""
    from tierwise.platform.audit import Actor, acting_as
    from tierwise.tenants.imports.runs import start_import_run

    with app.app_context(), tenancy.tenant_scope(world.tenant_id), acting_as(Actor(label="test")):
        run = start_import_run(path, kind="activity", source_name=path.name, created_by="test")
        db.session.commit()
        run_id = run.id
    browser.login(world)
    page = browser.get(f"/t/{world.slug}/imports/runs/{run_id}", headers={"Accept-Language": "zh-CN"}).text
    return page[page.find("<dl"):page.find("</dl>")]


def test_an_import_runs_page_says_how_many_rows_are_dated_after_today(app, tmp_path, tenant_a, run_import, browser):
    seed(run_import, tmp_path, tenant_a)
    soon = (datetime.now(timezone.utc) + timedelta(days=40)).date()
    path = write(tmp_path, "ahead.csv", f"customer,occurred_at,amount\n0001,{soon},5\n")
    assert f"1 行，最晚为 {soon} 00:00 UTC+8：已保留" in run_page_in_chinese(app, browser, tenant_a, path)


def test_the_import_run_page_and_the_api_say_how_year_last_dates_were_read(app, tmp_path, tenant_a, run_import,
                                                                            browser, client, issue_token):
    seed(run_import, tmp_path, tenant_a)
    path = write(tmp_path, "eu.csv", "customer,occurred_at,amount\n0001,13/12/2010,5\n")
    assert "按日在前读取（日/月/年），文件中的日期表明如此" in run_page_in_chinese(app, browser, tenant_a, path)
    sent = client.post("/api/v1/imports/activity", json={"rows": [{"customer": "0001", "occurred_at": "1/13/2011",
                                                                   "amount": "1"}]},
                       headers={"Authorization": f"Bearer {issue_token(tenant_a)}"})
    assert sent.status_code in (200, 201), sent.json
    assert sent.json["date_order"] == "mdy"


@pytest.mark.parametrize("imported,written", [("0012345678", "12345678"), ("16675.0", "16675"), ("16675", "16675.0")],
                         ids=["leading-zeros-dropped", "point-zero-dropped", "point-zero-added"])
def test_activity_naming_customers_by_ids_a_spreadsheet_rewrote_says_which_customer_it_meant(
        app, tmp_path, tenant_a, run_import, imported, written):
    """Excel drops a 户号's leading zeros; pandas writes UCI Online Retail's CustomerID as 16675.0 while a workbook
    says 16675.  "Import customers first" would send the admin to import customers who are there."""
    run_import(tenant_a, "customers", write(tmp_path, "c.csv", f"external_id,name\n{imported},A\n"))
    bills = write(tmp_path, "a.csv", f"customer,occurred_at,amount\n{written},2024-01-05,10\n")
    with pytest.raises(ImportRejected) as refused:
        run_import(tenant_a, "activity", bills)
    assert cells(refused.value) == [(2, "customer", written)]
    assert (f"this file seems to write the customers' ids otherwise ('{written}' for customer '{imported}'"
            in refused.value.errors[0].reason), refused.value.errors[0].reason
    assert rows(app, tenant_a, Activity) == []


def test_an_id_no_customer_has_in_any_spelling_is_still_just_unknown(app, tmp_path, tenant_a, run_import):
    run_import(tenant_a, "customers", write(tmp_path, "c.csv", "external_id,name\n0012345678,A\n"))
    with pytest.raises(ImportRejected) as refused:
        run_import(tenant_a, "activity", write(tmp_path, "a.csv", "customer,occurred_at,amount\n1234567,2024-01-05,10\n"))
    assert refused.value.errors[0].reason == "no customer with this id (import customers first)"


def test_a_value_a_file_writes_its_own_way_in_many_rows_is_said_once_with_its_rows(app, tmp_path, tenant_a,
                                                                                    run_import):
    """BankChurners writes incomes as "$60K - $80K": in a number field that is thousands of rows of one sentence,
    and the one other mistake of the file was lost among them."""
    lines = ["external_id,name,loan_balance"] + [f"B{i},Customer {i},{'$60K - $80K' if i != 7 else 'n/a!'}"
                                            for i in range(40)]
    with pytest.raises(ImportRejected) as refused:
        run_import(tenant_a, "customers", write(tmp_path, "c.csv", "\n".join(lines) + "\n"))
    message = refused.value.message
    assert message.startswith("40 invalid value(s), nothing was imported: column 'loan_balance', value '$60K - $80K' in "
                              "39 rows (2, 3, 4 and 36 more): is not a number"), message
    assert "row 9, column 'loan_balance', value 'n/a!': is not a number" in message, message
    assert "(and" not in message  # every error is said, the 39 of one value among them
    assert len(cells(refused.value)) == 40  # the run's page still lists each row


def test_a_refused_run_says_how_many_rows_hold_a_value_though_it_keeps_200_of_them(app, tmp_path, tenant_a, runner):
    """A run keeps its first 200 errors for its page; the value in 250 rows is said to be in 250, as the file
    holds it, not in the 200 kept with "and 50 more" after them."""
    from tierwise.platform.cli import cli

    lines = ["external_id,name,loan_balance"] + [f"B{i},Customer {i},$60K - $80K" for i in range(250)]
    path = write(tmp_path, "c.csv", "\n".join(lines) + "\n")
    started = runner.invoke(cli, ["import", "customers", "--tenant", tenant_a.slug, str(path), "--background"])
    run_id = started.output.split("Import run ")[1].split()[0]
    status = runner.invoke(cli, ["import", "status", "--tenant", tenant_a.slug, run_id])
    assert status.exit_code != 0
    assert ("250 invalid value(s), nothing was imported: column 'loan_balance', value '$60K - $80K' in 250 rows "
            "(2, 3, 4 and 247 more): is not a number") in status.output, status.output
    assert "(and" not in status.output.split("nothing was imported")[-1], status.output
