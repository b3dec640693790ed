"""List pages as a person uses them: churn typed as the page shows it, settings that keep what was typed,
saved lists under their own names."""
from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from tests.rule_helpers import in_tenant
from tests.test_lists import grid  # noqa: F401  (the shared tenant of two RMs' books)
from tierwise.platform.audit import AuditEvent
from tierwise.platform.db import db
from tierwise.tenants.lists import catalog

EN = {"Accept-Language": "en"}


def rows_on(page: str) -> list[str]:
    return re.findall(r'data-testid="list-row">\s*<td><a [^>]*>([^<]+)</a>', page)


@pytest.mark.parametrize("typed", ["50", "50%", "50 %"])
def test_the_list_page_takes_churn_bounds_in_percent_as_it_shows_churn(grid, browser, typed):  # noqa: F811
    browser.login(grid)
    page = browser.get(f"/t/{grid.slug}/lists/vip", query_string={"churn_min": typed})
    assert page.status_code == 200 and rows_on(page.text) == ["C01", "C04"]  # 90% and 70%


def test_a_churn_bound_beyond_a_hundred_percent_is_refused_naming_the_filter(grid, browser):  # noqa: F811
    browser.login(grid)
    page = browser.get(f"/t/{grid.slug}/lists/vip", query_string={"churn_min": "150"}, headers=EN)
    assert page.status_code == 400 and "must be a percentage between 0 and 100" in page.text
    assert 'value="150"' in page.text
    exported = browser.get(f"/t/{grid.slug}/lists/vip/export", query_string={"churn_min": "150", "format": "csv"},
                           headers=EN)  # the export link of that page: the same page, not a bare error page
    assert exported.status_code == 400 and 'value="150"' in exported.text and "field 'churn_min'" not in exported.text
    assert "must be a percentage between 0 and 100" in exported.text and 'id="filter-churn_min"' in exported.text


def list_pages_count(*args, **kwargs):
    from tierwise.tenants.lists.query import list_count

    return list_count(*args, **kwargs)


def total_on(page: str) -> str:
    return re.search(r'data-testid="list-total"><strong>([^<]+)</strong>', page).group(1)


def test_a_list_page_counts_every_customer_the_reader_may_see_on_it_not_just_the_page(grid, browser,  # noqa: F811
                                                                                       monkeypatch):
    from tierwise.platform.web import lists as list_pages

    counted = []
    monkeypatch.setattr(list_pages, "list_count", lambda *a, **k: counted.append(a) or list_pages_count(*a, **k))
    browser.login(grid)
    page = browser.get(f"/t/{grid.slug}/lists/vip", query_string={"limit": "1"}, headers=EN).text
    assert rows_on(page) == ["C01"] and total_on(page) == "4 customers on this list"
    filtered = browser.get(f"/t/{grid.slug}/lists/vip", query_string={"churn_min": "50"}, headers=EN).text
    assert total_on(filtered) == "2 customers match the filters"
    following = html.unescape(re.search(r'href="([^"]+)" data-testid="next-page"', page).group(1))
    second = browser.get(following, headers=EN).text  # counted once: the "More" link carries the figure
    assert rows_on(second) == ["C02"] and total_on(second) == "4 customers on this list"
    assert len(counted) == 2  # the first page and the filtered one: not the second page
    browser.login(grid, "rm2")  # C04 and C05 of the four VIPs are in rm2's book
    assert total_on(browser.get(f"/t/{grid.slug}/lists/vip", headers=EN).text) == "2 customers on this list"
    chinese = browser.get(f"/t/{grid.slug}/lists/opinion_risk", headers={"Accept-Language": "zh-CN"}).text
    assert total_on(chinese) == "本名单共 1 位客户"


def test_the_api_keeps_churn_bounds_as_probabilities(grid, client, issue_token):  # noqa: F811
    from tests.test_api import bearer

    rows = client.get("/api/v1/lists/vip/customers", query_string={"churn_min": "0.5"},
                      headers=bearer(issue_token(grid))).json["items"]
    assert [r["external_id"] for r in rows] == ["C01", "C04"]


@pytest.mark.parametrize("typed", ["abc", "150", "0"])
def test_a_refused_threshold_names_its_field_and_comes_back_as_typed(app, grid, browser, typed):  # noqa: F811
    browser.login(grid)
    url = f"/t/{grid.slug}/lists/settings"
    refused = browser.submit(url, {"vip_tiers": "key", "at_risk_probability": typed})
    assert refused.status_code == 400
    page = refused.text
    assert "At risk from a churn probability of:" in page and f'name="at_risk_probability" value="{typed}"' in page
    with in_tenant(app, grid):
        assert catalog.settings().at_risk_probability == 0.5  # nothing saved


def test_the_threshold_is_typed_and_shown_in_percent(app, grid, browser):  # noqa: F811
    browser.login(grid)
    url = f"/t/{grid.slug}/lists/settings"
    assert 'name="at_risk_probability" value="50"' in browser.get(url, headers=EN).text
    assert browser.submit(url, {"vip_tiers": "key", "at_risk_probability": "80%"}).status_code == 302
    with in_tenant(app, grid):
        assert catalog.settings().at_risk_probability == 0.8


def test_a_saved_list_opens_under_its_own_name_and_its_export_is_logged_as_it(app, grid, browser):  # noqa: F811
    browser.login(grid)
    saved = browser.submit(f"/t/{grid.slug}/lists/vip", {"list_name": "高流失大客户", "churn_min": "50"},
                           action=f"/t/{grid.slug}/lists/vip/save")
    assert saved.status_code == 302
    page = browser.get(saved.headers["Location"], headers=EN).text
    assert "<h1>高流失大客户</h1>" in page and "<title>高流失大客户" in page
    assert "A saved list based on “VIP”." in page and rows_on(page) == ["C01", "C04"]
    assert 'name="churn_min" id="filter-churn_min" size="5" value="50"' in page  # the filter as the page shows it
    index = browser.get(f"/t/{grid.slug}/lists/", headers=EN).text
    assert re.search(r">高流失大客户</a></td>\s*<td>VIP</td>", index)  # the built-in list by its label
    list_id = saved.headers["Location"].rstrip("/").split("/")[-1]
    exported = browser.get(f"/t/{grid.slug}/lists/saved/{list_id}/export?format=csv")
    assert exported.status_code == 200 and exported.data.decode("utf-8-sig").count("\r\n") == 3
    with in_tenant(app, grid):
        details = db.session.scalar(sa.select(AuditEvent.details).where(AuditEvent.action == "export.created"))
    assert details["list"] == "vip" and details["saved_list"] == {"id": list_id, "name": "高流失大客户"}
    assert details["filters"] == {"tiers": {}, "churn_min": 0.5}
    log = browser.get(f"/t/{grid.slug}/lists/exports", headers=EN).text
    assert "高流失大客户 (based on VIP)" in log


def test_an_export_is_named_for_the_day_on_the_tenants_clock(grid, browser, monkeypatch):  # noqa: F811
    from datetime import datetime, timezone

    from tierwise.tenants import exports

    monkeypatch.setattr(exports, "utcnow", lambda: datetime(2026, 12, 5, 20, 53, tzinfo=timezone.utc))
    browser.login(grid)
    exported = browser.get(f"/t/{grid.slug}/lists/vip/export?format=csv")
    assert 'filename="vip-20261206-045300.csv"' in exported.headers["Content-Disposition"]  # 04:53 in Shanghai


def test_an_export_from_the_command_line_is_logged_as_the_command_lines(app, grid, browser, runner,  # noqa: F811
                                                                        tmp_path):
    from tierwise.platform.cli import cli

    assert runner.invoke(cli, ["export", "--tenant", grid.slug, "--out", str(tmp_path / "all.csv")]).exit_code == 0
    browser.login(grid)
    log = browser.get(f"/t/{grid.slug}/lists/exports", headers=EN).text
    assert "<td>Command line</td>" in log and "<td>cli</td>" not in log  # as the run tables say it
    audit = browser.get(f"/t/{grid.slug}/audit/?action=export.created", headers={"Accept-Language": "zh-CN"}).text
    assert "命令行" in audit and "操作人</span> cli" not in audit


def test_the_export_log_tells_a_list_pages_download_from_the_apis_and_the_command_lines(  # noqa: F811
        app, grid, browser, client, issue_token, runner, tmp_path):
    from tests.test_api import bearer
    from tierwise.platform.cli import cli

    assert client.get("/api/v1/lists/vip/export?format=csv", headers=bearer(issue_token(grid))).status_code == 200
    assert runner.invoke(cli, ["export", "--tenant", grid.slug, "--out", str(tmp_path / "all.csv")]).exit_code == 0
    browser.login(grid)
    assert browser.get(f"/t/{grid.slug}/lists/vip/export?format=xlsx").status_code == 200
    log = browser.get(f"/t/{grid.slug}/lists/exports", headers=EN).text
    assert re.findall(r'data-testid="export-via">([^<]+)<', log) == ["List page", "Command line", "API"]  # newest first
    records = client.get("/api/v1/exports", headers=bearer(issue_token(grid))).json["items"]
    assert [(r["via"], r["format"]) for r in records] == [("web", "xlsx"), ("cli", "csv"), ("api", "csv")]
    audit = html.unescape(browser.get(f"/t/{grid.slug}/audit/?action=export.created",
                                      headers={"Accept-Language": "zh-CN"}).text)
    assert "途径" in audit and "名单页面" in audit and "via web" not in audit  # as the export log says it
    assert "XLSX" in audit and "格式</span> xlsx" not in audit
