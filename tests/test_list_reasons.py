"""Why a customer is on a list: every list row, page, export and API answer says it, in the reader's language."""
from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from tests.rule_helpers import in_tenant
from tests.test_lists import BOOK, grid  # noqa: F401  (the shared tenant of two RMs' books)
from tierwise.models.scores import CustomerScore
from tierwise.platform.db import db
from tierwise.tenants.customers import Customer

WHY = {"en": ("Facility type = Hospital", "Why"), "zh-CN": ("设施类型 = 医院", "原因")}


def why_cells(page: str) -> list[str]:
    import re

    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r'data-testid="list-why">(.*?)</td>', page,
                                                                         re.S)]


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_high_risk_list_says_why_each_customer_is_on_it_with_field_labels(grid, browser, language):  # noqa: F811
    browser.login(grid, "rm1")
    page = browser.get(f"/t/{grid.slug}/lists/high_risk", headers={"Accept-Language": language}).text
    assert why_cells(page) == [WHY[language][0]] * 2  # C01 and C03, both hospitals
    assert f"<th>{WHY[language][1]}</th>" in page


@pytest.mark.parametrize("language, said", [("en", "Number of complaints, last 365 days = 1"),
                                            ("zh-CN", "近365天投诉次数 = 1")])
def test_the_opinion_risk_list_says_the_count_its_rule_looked_at_in_words(grid, browser, language, said):  # noqa: F811
    browser.login(grid)
    page = browser.get(f"/t/{grid.slug}/lists/opinion_risk", headers={"Accept-Language": language}).text
    assert why_cells(page) == [said]
    assert 'title="count(complaints, 365d)"' in page  # the rule's own text, for whoever wrote the rule


def test_an_at_risk_vip_is_explained_by_its_value_tier_and_its_churn_score(app, grid, browser):  # noqa: F811
    with in_tenant(app, grid):
        c01 = db.session.scalar(sa.select(Customer.id).where(Customer.external_id == "C01"))
        db.session.get(CustomerScore, (grid.tenant_id, c01)).churn_reasons = [["recency_days", 0.8, 31.0]]
        db.session.commit()
    browser.login(grid)
    page = browser.get(f"/t/{grid.slug}/lists/vip_at_risk", headers={"Accept-Language": "en"}).text
    assert why_cells(page) == ["Total amount, last 365 days = 72,000; Churn probability 90.0%, mostly: recency_days = 31",
                               "Total amount, last 365 days = 60,000; Churn probability 70.0%"]
    chinese = browser.get(f"/t/{grid.slug}/lists/vip_at_risk", headers={"Accept-Language": "zh-CN"}).text
    assert why_cells(chinese)[1].endswith("= 60,000；流失概率 70.0%")  # clauses apart as Chinese writes them
    at_risk = browser.get(f"/t/{grid.slug}/lists/at_risk", headers={"Accept-Language": "en"}).text
    assert why_cells(at_risk)[0] == "Churn probability 90.0%, mostly: recency_days = 31"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_carries_the_reason_in_the_exporters_language(grid, browser, fmt):  # noqa: F811
    from openpyxl import load_workbook

    browser.login(grid, "rm1")
    exported = browser.get(f"/t/{grid.slug}/lists/high_risk/export?format={fmt}",
                           headers={"Accept-Language": "zh-CN"}).data
    if fmt == "csv":
        header, *rows = list(csv.reader(io.StringIO(exported.decode("utf-8-sig"))))
    else:
        header, *rows = [list(r) for r in load_workbook(io.BytesIO(exported)).active.iter_rows(values_only=True)]
    assert header[-1] == "原因" and [row[-1] for row in rows] == ["设施类型 = 医院"] * 2


def test_the_command_line_export_says_why_in_english(app, grid):  # noqa: F811
    from tierwise.tenants.exports import table
    from tierwise.tenants.lists.filters import ListFilters

    with in_tenant(app, grid):
        header, body = table("high_risk", sa.true(), ListFilters(), "external_id")
    assert header[-1] == "reason" and body[0][-1] == "Facility type = Hospital"


def test_the_api_gives_each_list_row_its_reason_as_values_and_text(grid, client, issue_token):  # noqa: F811
    from tests.test_api import bearer

    rows = client.get("/api/v1/lists/high_risk/customers", headers=bearer(issue_token(grid)) | {
        "Accept-Language": "zh-CN"}).json["items"]
    assert rows[0]["reason"] == {"dimension": "high_risk", "values": {"facility_type": "医院"}, "churn": None,
                                 "text": "设施类型 = 医院"}
