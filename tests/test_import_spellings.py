"""A category is imported under the words people read it by, not only its code.

Pages, reasons and exports say 医院 for ``hospital`` and 监管热线 for ``regulator_hotline``; a file
exported for people says the same, and an industry's own systems have their own words (a State
Grid extract's 大工业用电, 95598热线).  Each is read as its code; anything else is still refused,
naming the row, the column and the codes it may be.
"""
from __future__ import annotations

import re

import pytest

from tests.test_imports import rows, run_import, write  # noqa: F401  (run_import is a fixture)
from tierwise.errors import ValidationError
from tierwise.tenants.customers import Customer
from tierwise.tenants.imports.errors import ImportRejected
from tierwise.tenants.interactions import Interaction


@pytest.fixture
def grid(make_tenant):
    return make_tenant("power_utility")


def test_categories_are_read_under_their_labels_in_either_language_and_the_industrys_words(
        app, tmp_path, grid, run_import):
    customers = ("户号,户名,facility_type,usage_category\n"
                 "001,市第一人民医院,医院,大工业用电\n002,华联超市,Hospital,一般工商业\n003,张三,其他,居民生活用电\n"
                 "004,数据中心,data_centre,Industrial\n")
    run_import(grid, "customers", write(tmp_path, "c.csv", customers), mapping={"external_id": "户号", "name": "户名"})
    found = {c.external_id: (c.attributes["facility_type"], c.attributes["usage_category"])
             for c in rows(app, grid, Customer)}
    assert found == {"001": ("hospital", "industrial"), "002": ("hospital", "commercial"),
                     "003": ("other", "residential"), "004": ("data_centre", "industrial")}
    interactions = ("customer,occurred_at,channel,type\n001,2024-03-01,监管热线,投诉\n002,2024-03-02,95598热线,投诉\n"
                    "003,2024-03-03,网上国网APP,咨询\n004,2024-03-04,Regulator hotline,Complaint\n")
    run_import(grid, "interactions", write(tmp_path, "i.csv", interactions))
    assert sorted((i.channel, i.interaction_type) for i in rows(app, grid, Interaction)) == [
        ("app", "request"), ("phone", "complaint"), ("regulator_hotline", "complaint"),
        ("regulator_hotline", "complaint")]


def test_a_utilitys_farm_accounts_are_a_usage_category_of_their_own(app, tmp_path, grid, run_import):
    """农业生产用电 is one of China's four tariff classes: a provincial utility's extract is full of them."""
    customers = "户号,户名,usage_category\n001,灌溉站,农业生产用电\n002,养殖场,Agricultural\n003,果园,农业生产\n"
    run_import(grid, "customers", write(tmp_path, "c.csv", customers))
    assert {c.attributes["usage_category"] for c in rows(app, grid, Customer)} == {"agricultural"}


def test_a_complaint_registers_channels_are_read_as_their_codes(app, tmp_path, grid, run_import):
    """A utility's complaint register says where each complaint came in: 网络 (online), 媒体, 12398热线."""
    run_import(grid, "customers", write(tmp_path, "c.csv", "户号,户名\n001,A\n002,B\n003,C\n"))
    complaints = ("户号,受理渠道,受理时间,工单类型\n001,网络,2024-03-01 09:12:00,投诉\n"
                  "002,媒体,2024-03-02 10:00:00,投诉\n003,12398热线,2024-03-03 11:30:00,投诉\n")
    run_import(grid, "interactions", write(tmp_path, "i.csv", complaints))
    assert sorted(i.channel for i in rows(app, grid, Interaction)) == ["news_media", "regulator_hotline", "web"]


def test_a_register_that_says_only_whether_a_complaint_was_closed_leaves_the_open_ones_open(
        app, tmp_path, grid, run_import):
    """是否办结 without a time: a closed complaint counts as closed from when it was made, an open one stays open
    (read as open, all of them made every customer with a complaint an unresolved-complaint risk)."""
    run_import(grid, "customers", write(tmp_path, "c.csv", "户号,户名\n001,A\n002,B\n003,C\n"))
    register = ("户号,受理渠道,受理时间,工单类型,是否办结\n001,网络,2024-03-01 09:12:00,投诉,是\n"
                "002,媒体,2024-03-02 10:00:00,投诉,否\n003,12398热线,2024-03-03 11:30:00,投诉,已办结\n")
    run_import(grid, "interactions", write(tmp_path, "i.csv", register))
    resolved = {i.channel: (i.resolved_at == i.occurred_at if i.resolved_at else None)
                for i in rows(app, grid, Interaction)}
    assert resolved == {"web": True, "news_media": None, "regulator_hotline": True}

    closed_later = register.replace("投诉,否", "投诉,是")  # the next month's register: the media complaint closed
    assert run_import(grid, "interactions", write(tmp_path, "i2.csv", closed_later)).updated == 1
    assert all(i.resolved_at is not None for i in rows(app, grid, Interaction))

    contradicted = "户号,受理渠道,受理时间,工单类型,是否办结,办结时间\n001,网络,2024-04-01,投诉,否,2024-04-02\n"
    with pytest.raises(ImportRejected) as refused:
        run_import(grid, "interactions", write(tmp_path, "i3.csv", contradicted))
    assert (refused.value.errors[0].column, refused.value.errors[0].value) == ("是否办结", "否")
    assert "says not resolved, but 办结时间 gives a time it was" in refused.value.errors[0].reason


def test_a_bill_file_dated_by_its_period_and_a_register_closed_too_early_are_read_as_headed(
        app, tmp_path, grid, run_import):
    """账期 dates a utility's bills (the README's own example); a refusal names the file's columns, not ours."""
    run_import(grid, "customers", write(tmp_path, "c.csv", "户号,户名\n001,A\n"))
    bills = "户号,账期,应收电费(元),用电量（kWh）\n001,2024年01月,120.50,300\n001,2024年02月,98,250\n"
    assert run_import(grid, "activity", write(tmp_path, "b.csv", bills)).inserted == 2
    early = "户号,受理渠道,受理时间,工单类型,办结时间\n001,网络,2024-04-02,投诉,2024-04-01\n"
    with pytest.raises(ImportRejected) as refused:
        run_import(grid, "interactions", write(tmp_path, "i.csv", early))
    assert refused.value.errors[0].column == "办结时间" and refused.value.errors[0].reason == "is before 受理时间"


def test_order_lines_without_an_amount_are_valued_at_quantity_times_unit_price(app, tmp_path, grid, run_import):
    """UCI's Online Retail, as downloaded: no amount column, US dates, a cancellation's negative quantity."""
    from decimal import Decimal

    from tierwise.tenants.activity import Activity

    run_import(grid, "customers", write(tmp_path, "c.csv", "CustomerID,name\n17850,A\n13047,B\n"))
    lines = ("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
             "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom\n"
             "536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/13/2010 8:34,1.69,13047,United Kingdom\n"
             "C536379,D,Discount,-1,12/14/2010 9:41,27.50,13047,United Kingdom\n")
    result = run_import(grid, "activity", write(tmp_path, "online_retail.csv", lines))

    assert result.recognised_columns["amount"] == "Quantity × UnitPrice" and result.date_order == "mdy"
    assert sorted((a.quantity, a.amount) for a in rows(app, grid, Activity)) == [
        (Decimal("-1"), Decimal("-27.50")), (Decimal("6"), Decimal("15.30")), (Decimal("32"), Decimal("54.08"))]
    unpriced = lines.replace(",2.55,", ',"2,55",').replace("1.69", "").replace("27.50", "n/a")
    with pytest.raises(ImportRejected) as refused:
        run_import(grid, "activity", write(tmp_path, "bad.csv", unpriced))
    said = {(e.row, e.column, e.value): e.reason for e in refused.value.errors}
    assert sorted(said) == [(2, "UnitPrice", "2,55"), (3, "UnitPrice", ""), (4, "UnitPrice", "n/a")]
    assert said[(3, "UnitPrice", "")] == "is required: the amount is Quantity × UnitPrice"
    assert said[(2, "UnitPrice", "2,55")].startswith("has a comma that does not group thousands")  # as any amount


def test_an_order_line_whose_quantity_times_price_is_past_any_amount_is_refused_naming_the_row(
        app, tmp_path, grid, run_import):
    """Each cell is a number, their product is not an amount: the database refused the whole file, naming nothing."""
    from tierwise.tenants.activity import Activity

    run_import(grid, "customers", write(tmp_path, "c.csv", "CustomerID,name\n17850,A\n"))
    lines = ("InvoiceNo,Quantity,InvoiceDate,UnitPrice,CustomerID\n536365,6,2010-12-01 08:26,2.55,17850\n"
             "536366,99999999999,2010-12-01 08:28,99999999999,17850\n")
    with pytest.raises(ImportRejected) as refused:
        run_import(grid, "activity", write(tmp_path, "online_retail.csv", lines))
    assert [(e.row, e.column, e.value) for e in refused.value.errors] == [(3, "UnitPrice", "99999999999")]
    assert refused.value.errors[0].reason == ("is too large: Quantity × UnitPrice makes an amount past 15 digits "
                                              "before the decimal point")
    assert rows(app, grid, Activity) == []


def test_a_registers_workflow_status_column_is_no_resolved_flag_and_is_ignored_as_before(app, tmp_path, grid,
                                                                                          run_import):
    """处理状态 says 已派单 or 已归档: a workflow step, not yes/no; read as the flag it refused the whole register."""
    run_import(grid, "customers", write(tmp_path, "c.csv", "户号,户名\n001,A\n"))
    register = "户号,受理渠道,受理时间,工单类型,处理状态,办结状态\n001,网络,2024-03-01,投诉,已归档,办理中\n"
    result = run_import(grid, "interactions", write(tmp_path, "i.csv", register))
    assert "处理状态" in result.ignored_columns and result.recognised_columns["resolved"] == "办结状态"
    assert [i.resolved_at for i in rows(app, grid, Interaction)] == [None]


def test_a_word_that_is_no_categorys_is_still_refused_naming_row_column_and_codes(app, tmp_path, grid, run_import):
    customers = "external_id,name,facility_type\n001,A,医院\n002,B,卫生所\n"
    with pytest.raises(ImportRejected) as refused:
        run_import(grid, "customers", write(tmp_path, "c.csv", customers))
    said = str(refused.value.errors[0]) if hasattr(refused.value, "errors") else str(refused.value)
    assert "卫生所" in said and "facility_type" in said and "hospital" in said, said
    assert rows(app, grid, Customer) == []  # nothing half-written


def test_a_column_headed_by_a_fields_label_fills_that_field(app, tmp_path, grid, run_import):
    customers = "户号,户名,用电类别,Facility type\n001,市第一人民医院,大工业用电,医院\n"
    run_import(grid, "customers", write(tmp_path, "c.csv", customers), mapping={"external_id": "户号", "name": "户名"})
    [customer] = rows(app, grid, Customer)
    assert customer.attributes == {"usage_category": "industrial", "facility_type": "hospital"}


@pytest.mark.parametrize("header", ["合同容量", "合同容量(kVA)", "合同容量 （KVA）"])
def test_a_column_headed_by_a_fields_label_fills_it_with_or_without_the_labels_unit(app, tmp_path, grid, run_import,
                                                                                   header):
    """The field is labelled 合同容量（kVA）; a utility's extract heads the column 合同容量, or writes the unit its way."""
    run_import(grid, "customers", write(tmp_path, "c.csv", f"户号,户名,{header}\n001,A,630\n"))
    [customer] = rows(app, grid, Customer)
    assert customer.attributes == {"contracted_capacity_kva": 630.0}


@pytest.mark.parametrize(("industry", "customers"), [("power_utility", "户号,户名,合同容量(MVA)\n001,A,2.5\n"),
                                                    ("bank", "客户号,客户名称,贷款余额(万元)\n001,A,120\n")])
def test_a_column_headed_by_a_fields_label_in_another_unit_does_not_fill_it(app, tmp_path, make_tenant, run_import,
                                                                          industry, customers):
    """2.5 MVA is 2,500 kVA and 120 万元 is 1,200,000 yuan: read as the field's own unit, every value would be a
    thousand or ten thousand times too small.  The column is unknown, as it was before labels lost their units."""
    world = make_tenant(industry)
    with pytest.raises(ValidationError) as refused:
        run_import(world, "customers", write(tmp_path, "c.csv", customers))
    assert "unknown column(s)" in str(refused.value)
    assert rows(app, world, Customer) == []


def test_a_chinese_header_is_added_under_the_name_its_mapping_gives_it_keeping_the_header_as_its_label(
        app, tmp_path, grid, run_import):
    from tierwise.platform import tenancy
    from tierwise.platform.db import db
    from tierwise.tenants.fields import field_registry

    customers = "external_id,name,行业\n001,A,制造业\n002,B,零售业\n"
    with pytest.raises(Exception) as refused:  # the header cannot name a field: the error says how to name it
        run_import(grid, "customers", write(tmp_path, "c.csv", customers), add_fields=True)
    assert "industry=行业" in str(refused.value) and "行业" in str(refused.value)
    run_import(grid, "customers", write(tmp_path, "c.csv", customers), add_fields=True, mapping={"industry": "行业"})
    assert sorted(c.attributes["industry"] for c in rows(app, grid, Customer)) == ["制造业", "零售业"]
    with app.app_context(), tenancy.tenant_scope(grid.tenant_id):
        added = field_registry()["industry"]
        assert (added.label_zh, added.label_en, added.field_type) == ("行业", "industry", "category")
        db.session.rollback()


def test_an_english_header_added_as_a_field_keeps_its_spelling_as_the_fields_label(app, tmp_path, grid, run_import):
    """Kaggle's IsActiveMember becomes the field isactivemember; reasons and pages still read IsActiveMember."""
    from tierwise.platform import tenancy
    from tierwise.tenants.fields import field_registry

    run_import(grid, "customers", write(tmp_path, "c.csv", "external_id,name,IsActiveMember\n001,A,1\n"),
               add_fields=True)
    with app.app_context(), tenancy.tenant_scope(grid.tenant_id):
        added = field_registry()["isactivemember"]
        assert (added.label_en, added.label_zh) == ("IsActiveMember", "IsActiveMember")  # not isactivemember


def test_a_field_filled_by_two_columns_is_refused_naming_both(app, tmp_path, grid, run_import):
    customers = "external_id,name,usage_category,用电类别\n001,A,industrial,居民生活用电\n"
    with pytest.raises(Exception) as refused:
        run_import(grid, "customers", write(tmp_path, "c.csv", customers))
    said = str(refused.value)
    assert "usage_category" in said and "用电类别" in said and "both fill" in said, said
    assert rows(app, grid, Customer) == []


def test_a_mapping_typo_under_add_fields_is_refused_with_the_field_it_meant(app, tmp_path, grid, run_import):
    customers = "external_id,name,UC\n001,A,industrial\n"
    with pytest.raises(Exception) as refused:
        run_import(grid, "customers", write(tmp_path, "c.csv", customers), add_fields=True,
                   mapping={"usage_categroy": "UC"})
    assert "did you mean 'usage_category'" in str(refused.value), str(refused.value)
    assert rows(app, grid, Customer) == []


def test_activity_imported_again_with_its_category_mapped_is_refused_not_counted_twice(app, tmp_path, grid,
                                                                                      run_import):
    from tierwise.tenants.activity import Activity

    run_import(grid, "customers", write(tmp_path, "c.csv", "external_id,name\n001,A\n002,B\n"))
    bills = write(tmp_path, "a.csv", "customer,occurred_at,amount,品类\n001,2024-03-01,100,rx\n"
                                     "001,2024-03-01,40,otc\n002,2024-03-05,70,rx\n")
    run_import(grid, "activity", bills)  # 品类 ignored: no category
    with pytest.raises(Exception) as refused:
        run_import(grid, "activity", bills, mapping={"category": "品类"})
    said = str(refused.value)
    assert "imported before without a category" in said and "count twice" in said and "customer 00" in said, said
    assert re.search(r"2024-03-0[15] 00:00 UTC\+8", said), said  # on the tenant's clock
    assert sorted((a.category, float(a.amount)) for a in rows(app, grid, Activity)) == [
        ("", 40.0), ("", 70.0), ("", 100.0)]  # nothing doubled
    again = run_import(grid, "activity", bills)  # the file as before: nothing changes
    assert (again.inserted, again.unchanged) == (0, 3)


def test_activity_imported_again_without_its_category_is_refused_too(app, tmp_path, grid, run_import):
    run_import(grid, "customers", write(tmp_path, "c.csv", "external_id,name\n001,A\n"))
    bills = write(tmp_path, "a.csv", "customer,occurred_at,amount,品类\n001,2024-03-01,100,rx\n")
    run_import(grid, "activity", bills, mapping={"category": "品类"})
    with pytest.raises(Exception) as refused:
        run_import(grid, "activity", bills)
    assert "imported before with a category" in str(refused.value) and "Map the file's category column" in str(
        refused.value)



def test_a_distributors_customers_imported_without_a_party_type_are_organisations(app, tmp_path, make_tenant,
                                                                                   run_import):
    distributor = make_tenant("pharma_distributor")
    run_import(distributor, "customers", write(tmp_path, "c.csv", "external_id,name,party_type\n001,一院,\n002,张三,个人\n"))
    found = {c.external_id: c.party_type for c in rows(app, distributor, Customer)}
    assert found == {"001": "organisation", "002": "individual"}  # a value given is kept
    bank = make_tenant("bank")
    run_import(bank, "customers", write(tmp_path, "b.csv", "external_id,name\n001,李四\n"))
    assert [c.party_type for c in rows(app, bank, Customer)] == ["individual"]
