"""RM lists: the right customers on each list, only the RM's own book, paged, filtered, saved and exported."""
from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from tests.rule_helpers import in_tenant, publish_and_retier, retier_again, tiers
from tierwise.models.scores import CustomerScore
from tierwise.platform import tenancy
from tierwise.platform.audit import Actor, AuditEvent, acting_as
from tierwise.platform.db import db
from tierwise.platform.users import User
from tierwise.tenants.customers import Customer
from tierwise.tenants.imports.runner import import_records
from tierwise.tenants.lists import catalog
from tierwise.tenants.lists.filters import ListFilters
from tierwise.tenants.lists.query import list_page
from tierwise.tenants.rules.assignments import TierChange

RULES = {"dimensions": [
    {"code": "value", "tiers": [
        {"code": "key", "rule": "sum(amount, 365d) >= 50000"},
        {"code": "important", "rule": "sum(amount, 365d) >= 10000"},
        {"code": "standard", "rule": "sum(amount, 365d) >= 1000"},
        {"code": "basic", "fallback": True}]},
    {"code": "high_risk", "tiers": [
        {"code": "critical", "rule": 'facility_type == "hospital"'},
        {"code": "standard", "fallback": True}]},
    {"code": "opinion_risk", "tiers": [
        {"code": "watch", "rule": "count(complaints, 365d) >= 1"},
        {"code": "none", "fallback": True}]}]}

# external id -> (RM, monthly bill, facility, churn probability)
BOOK = {
    "C01": ("rm1", 6000, "hospital", 0.9), "C02": ("rm1", 1500, "other", 0.2), "C03": ("rm1", 90, "hospital", None),
    "C04": ("rm2", 5000, "other", 0.7), "C05": ("rm2", 1000, "other", 0.1), "C06": ("rm2", 50, "other", 0.6),
}


@pytest.fixture
def grid(app, make_tenant):
    """A power utility whose two RMs hold three customers each, tiered and scored."""
    world = make_tenant("power_utility")
    customers = [{"external_id": cid, "name": f"客户{cid}", "facility_type": facility,
                  "rm_email": world.email(rm)} for cid, (rm, _, facility, _) in BOOK.items()]
    activity = [{"customer": cid, "occurred_at": f"2024-{m:02d}-20", "amount": str(bill), "category": "bill"}
                for cid, (_, bill, _, _) in BOOK.items() for m in range(1, 13)]
    with app.app_context(), tenancy.tenant_scope(world.tenant_id), acting_as(Actor(label="test")):
        import_records(customers, kind="customers")
        import_records(activity, kind="activity")
        import_records([{"customer": "C04", "occurred_at": "2024-11-05", "channel": "regulator_hotline",
                         "type": "complaint", "severity": "4"}], kind="interactions")
        ids = dict(db.session.execute(sa.select(Customer.external_id, Customer.id)).all())
        for cid, (_, bill, _, churn) in BOOK.items():
            db.session.add(CustomerScore(customer_id=ids[cid], churn_probability=churn, predicted_value=bill * 12.0))
        db.session.commit()
    publish_and_retier(app, world, RULES)
    return world


def visible(app, world, who):
    from tierwise.platform.policy import visible_customers

    user = db.session.scalar(sa.select(User).where(User.email == world.email(who)))
    return visible_customers(user)


def ids_on(app, world, who, name, **options) -> list[str]:
    with in_tenant(app, world):
        page = list_page(name, visible(app, world, who), **options)
        return [row.external_id for row in page.rows]


@pytest.mark.parametrize("who", ["admin", "rm1", "rm2"])
def test_a_lists_count_is_the_number_of_customers_its_pages_hold(app, grid, who):
    from tierwise.tenants.lists.filters import ListFilters
    from tierwise.tenants.lists.query import list_count

    narrowed = ListFilters(churn_min=0.5, condition='facility_type == "hospital" or predicted_value > 10000')
    for name in catalog.BUILT_IN:
        for filters in (ListFilters(), narrowed):
            held = ids_on(app, grid, who, name, filters=filters, limit=1000)
            with in_tenant(app, grid):
                assert list_count(name, visible(app, grid, who), filters=filters) == len(held), (name, filters)


def test_a_closed_account_keeps_its_tiers_but_leaves_every_list_to_act_on_but_opinion_risk(app, grid):
    with in_tenant(app, grid):
        db.session.execute(sa.update(Customer).where(Customer.external_id.in_(["C01", "C04"])).values(status="closed"))
        db.session.commit()
    assert ids_on(app, grid, "admin", "vip") == ["C02", "C05"]
    assert ids_on(app, grid, "admin", "high_risk") == ["C03"]  # C01, a closed hospital account, is supplied no more
    assert ids_on(app, grid, "admin", "vip_at_risk") == [] and ids_on(app, grid, "admin", "at_risk") == ["C06"]
    assert ids_on(app, grid, "admin", "opinion_risk") == ["C04"]  # its complaint to the regulator still stands
    assert len(ids_on(app, grid, "admin", "all")) == 6
    assert tiers(app, grid)[("C01", "value")] == "key"  # tiered all the same: every customer is


def test_rules_measure_their_windows_up_to_where_the_tenants_data_ends_not_today(app, grid):
    """The grid's bills end on 20 December 2024 (Shanghai), two years before today: measured from today,
    no 365-day window held anything, every customer was "basic" and nobody had complained."""
    from datetime import datetime, timezone

    from tierwise.tenants.rules.preview import preview
    from tierwise.tenants.rules.versions import compile_for_tenant, current_version

    run = retier_again(app, grid, as_of=None)
    assert run.as_of == datetime(2024, 12, 19, 16, 0, 1, tzinfo=timezone.utc)  # just after the last bill
    assert ids_on(app, grid, "admin", "vip") == ["C01", "C02", "C04", "C05"]
    assert ids_on(app, grid, "admin", "opinion_risk") == ["C04"]  # its complaint of 5 November 2024
    with in_tenant(app, grid):
        assert preview(compile_for_tenant(current_version().parsed())).as_of == run.as_of


def test_a_row_dated_after_today_does_not_move_an_old_extracts_rules_back_to_today(app, grid):
    from datetime import datetime, timedelta, timezone

    from tierwise.platform.db import utcnow

    with in_tenant(app, grid), acting_as(Actor(label="test")):
        import_records([{"customer": "C01", "occurred_at": (utcnow() + timedelta(days=20)).isoformat(),
                         "amount": "10", "category": "bill"}], kind="activity")  # a typo in a year, say
        db.session.commit()
    run = retier_again(app, grid, as_of=None)
    assert run.as_of == datetime(2024, 12, 19, 16, 0, 1, tzinfo=timezone.utc)  # still where the extract ends
    assert ids_on(app, grid, "admin", "vip") == ["C01", "C02", "C04", "C05"]


def test_each_built_in_list_holds_the_customers_its_definition_names(app, grid):
    # key >= 50,000 a year: C01 (72,000), C04 (60,000); important >= 10,000: C02 (18,000), C05 (12,000)
    assert ids_on(app, grid, "admin", "vip") == ["C01", "C02", "C04", "C05"]  # a power utility: key and important
    assert ids_on(app, grid, "admin", "high_risk") == ["C01", "C03"]  # hospitals, whatever their value
    assert ids_on(app, grid, "admin", "opinion_risk") == ["C04"]
    assert ids_on(app, grid, "admin", "vip_at_risk") == ["C01", "C04"]  # VIPs at or above 0.5
    assert ids_on(app, grid, "admin", "at_risk") == ["C01", "C04", "C06"]
    assert len(ids_on(app, grid, "admin", "all")) == 6


def test_an_rm_sees_only_their_own_book_on_every_list(app, grid):
    for name in catalog.BUILT_IN:
        assert set(ids_on(app, grid, "rm1", name)) <= {"C01", "C02", "C03"}, name
        assert set(ids_on(app, grid, "rm2", name)) <= {"C04", "C05", "C06"}, name
    assert ids_on(app, grid, "rm1", "vip") == ["C01", "C02"]


def test_the_vip_tiers_and_the_at_risk_threshold_are_the_tenants_settings(app, grid):
    with in_tenant(app, grid):
        catalog.update_settings(vip_tiers=["key"], at_risk_probability=0.8)
        db.session.commit()
    assert ids_on(app, grid, "admin", "vip") == ["C01", "C04"]
    assert ids_on(app, grid, "admin", "vip_at_risk") == ["C01"]
    with in_tenant(app, grid), pytest.raises(Exception, match="not a tier of the value dimension: gold"):
        catalog.update_settings(vip_tiers=["gold"], at_risk_probability=0.5)


def test_a_list_follows_settings_rules_and_viewers_changed_after_its_last_page(app, grid):
    """List statements are kept per shape between requests: nothing a page depends on may go stale."""
    assert ids_on(app, grid, "admin", "vip") == ["C01", "C02", "C04", "C05"]
    with in_tenant(app, grid):
        catalog.update_settings(vip_tiers=["key"], at_risk_probability=0.5)
        db.session.commit()
    assert ids_on(app, grid, "admin", "vip") == ["C01", "C04"]
    assert ids_on(app, grid, "rm2", "vip") == ["C04"]  # another viewer of the same list and settings
    assert ids_on(app, grid, "rm1", "vip") == ["C01"]
    raised = {"dimensions": [dict(RULES["dimensions"][0], tiers=[
        {"code": "key", "rule": "sum(amount, 365d) >= 65000"}, *RULES["dimensions"][0]["tiers"][1:]]),
        *RULES["dimensions"][1:]]}
    publish_and_retier(app, grid, raised)
    assert ids_on(app, grid, "admin", "vip") == ["C01"]  # C04's 60,000 is no longer key
    with in_tenant(app, grid):
        cursor = list_page("vip", sa.true(), limit=1).next_cursor
        assert cursor is None


def test_pages_follow_each_other_without_gaps_or_repeats_in_any_sort(app, grid):
    for sort in ("external_id", "name", "churn", "value"):
        seen, cursor = [], None
        with in_tenant(app, grid):
            while True:
                page = list_page("all", sa.true(), sort=sort, cursor=cursor, limit=2)
                seen += [row.external_id for row in page.rows]
                cursor = page.next_cursor
                if cursor is None:
                    break
        assert sorted(seen) == sorted(BOOK) and len(seen) == 6, sort
        if sort == "churn":  # highest first, the unscored last
            assert seen == ["C01", "C04", "C06", "C02", "C05", "C03"]


def test_filters_narrow_a_list_and_bad_ones_name_the_field(app, grid, browser):
    assert ids_on(app, grid, "admin", "all", filters=ListFilters(tiers={"value": ("key",)})) == ["C01", "C04"]
    assert ids_on(app, grid, "admin", "vip", filters=ListFilters(churn_min=0.5)) == ["C01", "C04"]
    assert ids_on(app, grid, "admin", "all", filters=ListFilters(search="C0", value_max=15000)) == ["C03", "C05",
                                                                                                    "C06"]
    browser.login(grid)
    bad = browser.get(f"/t/{grid.slug}/lists/all?tier.value=gold")
    assert bad.status_code == 400 and "gold" in bad.text
    cursor = browser.get(f"/t/{grid.slug}/lists/all?cursor=bm90LWEtY3Vyc29y")
    assert cursor.status_code == 400
    from tierwise.platform.pagination import encode_position

    for forged in (encode_position(["C0\x00"]), encode_position([0.5, "C01"])):  # a NUL; another sort's cursor
        assert browser.get(f"/t/{grid.slug}/lists/all", query_string={"cursor": forged}).status_code == 400


def test_the_list_page_shows_the_filtered_rows_with_their_tiers(app, grid, browser):
    browser.login(grid)
    page = browser.get(f"/t/{grid.slug}/lists/vip?tier.value=key")
    assert page.status_code == 200
    assert page.text.count('data-testid="list-row"') == 2 and "客户C01" in page.text and "客户C02" not in page.text
    browser.login(grid, "rm2")
    mine = browser.get(f"/t/{grid.slug}/lists/vip")
    assert "客户C04" in mine.text and "客户C01" not in mine.text


def test_an_export_is_the_users_list_and_its_audit_record_matches_the_file(app, grid, browser):
    browser.login(grid, "rm1")
    response = browser.get(f"/t/{grid.slug}/lists/vip/export?format=csv")
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert [r["Customer id"] for r in rows] == ["C01", "C02"]
    assert rows[0]["value (code)"] == "key" and rows[0]["Name"] == "客户C01"
    workbook = browser.get(f"/t/{grid.slug}/lists/vip/export?format=xlsx&tier.value=key")
    sheet = load_workbook(io.BytesIO(workbook.data)).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["C01"]
    with in_tenant(app, grid):
        events = [(e.actor_label, e.details) for e in db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "export.created").order_by(AuditEvent.occurred_at))]
    assert [details["sha256"] for _, details in events] == [hashlib.sha256(response.data).hexdigest(),
                                                           hashlib.sha256(workbook.data).hexdigest()]
    assert events[1][1]["filters"] == {"tiers": {"value": ["key"]}} and events[1][1]["rows"] == 1
    assert events[0][0] == grid.email("rm1")
    assert browser.get(f"/t/{grid.slug}/lists/exports").status_code == 403
    browser.login(grid)
    log = browser.get(f"/t/{grid.slug}/lists/exports")
    assert log.status_code == 200 and events[0][1]["sha256"][:16] in log.text
    filters = log.text.split(events[1][1]["sha256"][:16])[0].rsplit("<tr>", 1)[1]
    assert '{"tiers"' not in log.text and "tiers</span>" not in filters  # filters as words, not JSON


def test_saved_lists_are_private_unless_shared(app, grid, browser):
    browser.login(grid, "rm1")
    saved = browser.submit(f"/t/{grid.slug}/lists/vip", {"list_name": "我的大客户", "tier.value": "key"},
                           action=f"/t/{grid.slug}/lists/vip/save")
    assert saved.status_code == 302
    opened = browser.get(saved.headers["Location"], follow_redirects=True)
    assert opened.text.count('data-testid="list-row"') == 1 and "客户C01" in opened.text
    browser.login(grid, "rm2")
    assert browser.get(saved.headers["Location"]).status_code == 404
    assert "我的大客户" not in browser.get(f"/t/{grid.slug}/lists/").text


def test_a_saved_list_opens_and_exports_in_the_order_it_was_saved_in(app, grid, browser, client, issue_token):
    browser.login(grid, "admin")
    saved = browser.submit(f"/t/{grid.slug}/lists/all", {"list_name": "流失优先", "sort": "churn"},
                           action=f"/t/{grid.slug}/lists/all/save")
    assert saved.status_code == 302
    opened = browser.get(saved.headers["Location"], follow_redirects=True).text
    order = [cid for cid in re.findall(r"客户(C0\d)", opened) if cid in BOOK]
    assert list(dict.fromkeys(order)) == ["C01", "C04", "C06", "C02", "C05", "C03"]  # likeliest to leave first
    exported = browser.get(saved.headers["Location"].rstrip("/") + "/export").data.decode("utf-8-sig")
    assert [line.split(",")[0] for line in exported.splitlines()[1:]] == ["C01", "C04", "C06", "C02", "C05", "C03"]
    from tests.test_api import bearer

    resorted = browser.get(saved.headers["Location"], query_string={"sort": "external_id", "limit": "2"}).text
    more = html.unescape(re.search(r'href="([^"]+)" data-testid="next-page"', resorted)[1])
    assert "sort=external_id" in more and browser.get(more).status_code == 200  # the next page, in the order shown
    export_link = html.unescape(re.search(r'href="([^"]+)" data-testid="export-csv"', resorted)[1])
    again = browser.get(export_link).data.decode("utf-8-sig")
    assert [line.split(",")[0] for line in again.splitlines()[1:]] == ["C01", "C02", "C03", "C04", "C05", "C06"]
    token = bearer(issue_token(grid))
    kept = client.get("/api/v1/saved-lists", headers=token).json["items"]
    assert [(k["name"], k["sort"]) for k in kept] == [("流失优先", "churn")]
    refused = client.post("/api/v1/saved-lists", json={"name": "x", "base": "vip", "sort": "worst"}, headers=token)
    assert refused.status_code == 400 and refused.json["error"]["field"] == "sort"
    forged = browser.submit(f"/t/{grid.slug}/lists/all", {"list_name": "乱序", "sort": "worst"},
                            action=f"/t/{grid.slug}/lists/all/save")
    assert forged.status_code == 302 and "unknown sort" in html.unescape(browser.get(forged.location).text)
    assert [k["name"] for k in client.get("/api/v1/saved-lists", headers=token).json["items"]] == ["流失优先"]


def test_lists_of_changes_show_the_moves_of_the_last_week_whatever_retiers_came_after(app, grid):
    lowered = {"dimensions": [dict(RULES["dimensions"][0], tiers=[
        {"code": "key", "rule": "sum(amount, 365d) >= 65000"}, *RULES["dimensions"][0]["tiers"][1:]]),
        *RULES["dimensions"][1:]]}
    publish_and_retier(app, grid, lowered)
    assert ids_on(app, grid, "admin", "value_down") == ["C04"]  # 60,000 is no longer key
    with in_tenant(app, grid):
        row = list_page("value_down", sa.true()).rows[0]
    assert row.change["from"] == "key" and row.change["to"] == "important"
    # The hospitals' first tier was the tenant's first retier: where its history starts, not news.
    assert ids_on(app, grid, "admin", "newly_high_risk") == []
    with app.app_context(), tenancy.tenant_scope(grid.tenant_id), acting_as(Actor(label="test")):
        import_records([{"external_id": "C07", "name": "客户C07", "facility_type": "hospital",
                         "rm_email": grid.email("rm1")}], kind="customers")
        db.session.commit()
    retier_again(app, grid)  # a hospital that arrives later is newly high-risk; the earlier moves stay listed
    assert ids_on(app, grid, "admin", "newly_high_risk") == ["C07"]
    with in_tenant(app, grid):
        assert list_page("newly_high_risk", sa.true()).rows[0].change["from"] is None
    assert ids_on(app, grid, "admin", "value_down") == ["C04"]
    age_moves(app, grid)  # a week on, the moves have aged out
    assert ids_on(app, grid, "admin", "value_down") == [] and ids_on(app, grid, "admin", "newly_high_risk") == []


def age_moves(app, world, days: int = 8) -> None:
    """Every move recorded so far, as if it were ``days`` older."""
    with in_tenant(app, world):
        db.session.execute(sa.update(TierChange).where(TierChange.tenant_id == world.tenant_id).values(
            occurred_at=TierChange.occurred_at - sa.literal(timedelta(days=days), sa.Interval())))
        db.session.commit()


def test_a_customer_counts_by_its_latest_move_of_the_week(app, grid):
    raised = {"dimensions": [dict(RULES["dimensions"][0], tiers=[
        {"code": "key", "rule": "sum(amount, 365d) >= 65000"}, *RULES["dimensions"][0]["tiers"][1:]]),
        *RULES["dimensions"][1:]]}
    publish_and_retier(app, grid, raised)
    assert ids_on(app, grid, "admin", "value_down") == ["C04"]
    publish_and_retier(app, grid, RULES)  # back up: no longer a customer who moved down
    assert ids_on(app, grid, "admin", "value_down") == []


def test_newly_high_risk_lists_escalations_within_the_high_risk_tiers_too(app, grid):
    def high_risk(critical: str, elevated: str) -> dict:
        return {"dimensions": [RULES["dimensions"][0], {"code": "high_risk", "tiers": [
            {"code": "critical", "rule": critical}, {"code": "elevated", "rule": elevated},
            {"code": "standard", "fallback": True}]}, RULES["dimensions"][2]]}

    hospital = 'facility_type == "hospital"'
    publish_and_retier(app, grid, high_risk(f"{hospital} and sum(amount, 365d) >= 60000", hospital))  # C03 down
    age_moves(app, grid)
    assert ids_on(app, grid, "admin", "newly_high_risk") == []
    publish_and_retier(app, grid, high_risk(hospital, 'facility_type == "mine"'))  # C03: elevated -> critical
    assert ids_on(app, grid, "admin", "newly_high_risk") == ["C03"]  # an escalation, as the dashboard counts it


def test_an_exported_name_that_looks_like_a_formula_stays_text(app, grid, client, issue_token):
    from tests.test_api import bearer

    with app.app_context(), tenancy.tenant_scope(grid.tenant_id), acting_as(Actor(label="test")):
        import_records([{"external_id": "C09", "name": '=HYPERLINK("http://evil.example","x")'}], kind="customers")
        db.session.commit()
    exported = client.get("/api/v1/lists/all/export", headers=bearer(issue_token(grid)))
    rows = list(csv.reader(io.StringIO(exported.get_data().decode("utf-8-sig"))))
    assert next(r for r in rows if r[0] == "C09")[1] == "'=HYPERLINK(\"http://evil.example\",\"x\")"


def test_a_branch_or_rm_filter_must_name_one_of_the_tenants_own(app, grid, make_tenant, client, issue_token):
    from tests.test_api import bearer

    other = make_tenant("power_utility")  # its RM's id exists, in another tenant
    admin = bearer(issue_token(grid))
    for key, value in (("rm_user_id", other.users["rm1"].id), ("branch_id", uuid.uuid4())):
        refused = client.get("/api/v1/lists/all/customers", query_string={key: str(value)}, headers=admin)
        assert refused.status_code == 400 and refused.json["error"]["field"] == key, refused.json
    saved = client.post("/api/v1/saved-lists", headers=admin,
                        json={"name": "x", "base": "vip", "filters": {"churn_minimum": 0.5}})
    assert saved.status_code == 400 and saved.json["error"]["field"] == "filters.churn_minimum"


def test_the_api_pages_through_a_list_with_the_callers_visibility(app, grid, client, issue_token):
    from tests.test_api import bearer

    rm = bearer(issue_token(grid, "rm2"))
    first = client.get("/api/v1/lists/vip/customers", query_string={"limit": 1}, headers=rm)
    assert first.status_code == 200 and [r["external_id"] for r in first.json["items"]] == ["C04"]
    assert first.json["items"][0]["tiers"]["value"] == "key"
    second = client.get("/api/v1/lists/vip/customers", query_string={"limit": 1, "cursor": first.json["next_cursor"]},
                        headers=rm)
    assert [r["external_id"] for r in second.json["items"]] == ["C05"] and second.json["next_cursor"] is None
    unknown = client.get("/api/v1/lists/vips/customers", headers=rm)
    assert unknown.status_code == 404 and unknown.json["error"]["field"] == "name"
    exported = client.get("/api/v1/lists/high_risk/export", headers=rm)
    assert exported.status_code == 200 and exported.data.decode("utf-8-sig").count("\n") == 1  # header only
    assert exported.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert client.get("/api/v1/exports", headers=rm).status_code == 403
    admin = bearer(issue_token(grid))
    log = client.get("/api/v1/exports", headers=admin).json["items"]
    assert log[0]["list"] == "high_risk" and log[0]["rows"] == 0 and log[0]["by"] == grid.email("rm2")
    kept = client.post("/api/v1/saved-lists", json={"name": "风险", "base": "at_risk", "shared": True,
                                                   "filters": {"churn_min": 0.65}}, headers=admin)
    assert kept.status_code == 201
    assert [s["name"] for s in client.get("/api/v1/saved-lists", headers=rm).json["items"]] == ["风险"]
    refused = client.post("/api/v1/saved-lists", json={"name": "x", "base": "vip", "filters": {"tiers": {"v": ["a"]}}},
                          headers=admin)
    assert refused.status_code == 400 and refused.json["error"]["field"] == "filters.tiers.v"
    again = client.post("/api/v1/saved-lists", json={"name": "风险", "base": "vip"}, headers=admin)
    assert again.status_code == 409 and again.json["error"]["field"] == "name"  # the name taken, named


def test_a_condition_in_the_rule_language_filters_on_fields_and_scores(app, grid, browser):
    hospitals = ListFilters(condition='facility_type == "hospital" and churn_probability >= 0.5')
    assert ids_on(app, grid, "admin", "all", filters=hospitals) == ["C01"]
    browser.login(grid)
    typo = browser.get(f"/t/{grid.slug}/lists/all", query_string={"condition": 'facility_typ == "hospital"'})
    assert typo.status_code == 400 and "facility_type" in typo.text  # the close match is named
    aggregate = browser.get(f"/t/{grid.slug}/lists/all", query_string={"condition": "sum(amount, 90d) > 10"})
    assert aggregate.status_code == 400 and "tier rule" in aggregate.text


@pytest.mark.parametrize("body, field", [
    ({"name": 5, "base": "vip"}, "name"),
    ({"name": "y2", "base": "vip", "filters": {"condition": "churn_probability >"}}, "filters.condition"),
    ({"name": "y2", "base": "vip", "filters": {"condition": "facility_typ == \"hospital\""}}, "filters.condition"),
    ({"name": "y2", "base": "vip", "filters": {"condition": "sum(amount, 90d) > 10"}}, "filters.condition"),
    ({"name": "y2", "base": "vip", "shared": "yes"}, "shared"),
    ({"name": "y2", "base": "vip", "filters": {"churn_min": True}}, "filters.churn_min"),
    ({"name": "y2", "base": "vip", "filters": {"churn_min": 0.8, "churn_max": 0.2}}, "filters.churn_min"),
    ({"name": "y2"}, "base"),
    ({"name": "y2", "base": "vips"}, "base"),
    ({"name": "y2", "base": "vip", "filters": None}, "filters"),
    ({"name": "y2", "base": "vip", "colour": "red"}, "colour"),
])
def test_a_saved_list_that_could_not_open_is_refused_naming_the_field(app, grid, client, issue_token, body, field):
    from tests.test_api import bearer

    admin = bearer(issue_token(grid))
    refused = client.post("/api/v1/saved-lists", json=body, headers=admin)
    assert refused.status_code == 400 and refused.json["error"]["field"] == field, refused.json
    assert client.get("/api/v1/saved-lists", headers=admin).json["items"] == []


def test_a_shared_list_another_user_sees_is_theirs_to_open_not_to_delete(app, grid, client, issue_token):
    from tests.test_api import bearer

    admin, rm = bearer(issue_token(grid)), bearer(issue_token(grid, "rm2"))
    shared = client.post("/api/v1/saved-lists", json={"name": "全员关注", "base": "vip", "shared": True},
                         headers=admin).json
    assert [kept["id"] for kept in client.get("/api/v1/saved-lists", headers=rm).json["items"]] == [shared["id"]]

    refused = client.delete(f"/api/v1/saved-lists/{shared['id']}", headers=rm)

    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden", refused.json
    assert [kept["id"] for kept in client.get("/api/v1/saved-lists", headers=rm).json["items"]] == [shared["id"]]
    assert client.delete(f"/api/v1/saved-lists/{shared['id']}", headers=admin).status_code == 204


def test_a_saved_condition_is_checked_as_the_list_page_checks_it(app, grid, client, issue_token, browser):
    from tests.test_api import bearer

    admin = bearer(issue_token(grid))
    condition = 'facility_type == "hospital" and churn_probability >= 0.5'
    kept = client.post("/api/v1/saved-lists", json={"name": "医院", "base": "all", "filters": {"condition": condition}},
                       headers=admin)
    assert kept.status_code == 201 and kept.json["filters"] == {"tiers": {}, "condition": condition}
    browser.login(grid)
    opened = browser.get(f"/t/{grid.slug}/lists/saved/{kept.json['id']}", follow_redirects=True)
    assert opened.status_code == 200 and opened.text.count('data-testid="list-row"') == 1
    broken = browser.submit(f"/t/{grid.slug}/lists/all", {"list_name": "坏的", "condition": "churn_probability >"},
                            action=f"/t/{grid.slug}/lists/all/save")
    assert broken.status_code == 302 and "/saved/" not in broken.headers["Location"]
    assert [s["name"] for s in client.get("/api/v1/saved-lists", headers=admin).json["items"]] == ["医院"]


@pytest.mark.parametrize("query", [{"churn_min": "2"}, {"churn_max": "-0.1"}, {"churn_min": "0.8", "churn_max": "0.2"},
                                   {"value_min": "5000", "value_max": "100"}])
def test_an_impossible_score_range_is_refused_naming_the_parameter(client, tenant_a, issue_token, browser, query):
    from tests.test_api import bearer

    field = next(key for key in query if key.endswith("min")) if len(query) == 2 else next(iter(query))
    refused = client.get("/api/v1/lists/all/customers", query_string=query, headers=bearer(issue_token(tenant_a)))
    assert refused.status_code == 400 and refused.json["error"]["field"] == field
    browser.login(tenant_a)
    in_percent = {key: format(float(value) * 100, "g") if key.startswith("churn") else value
                  for key, value in query.items()}  # the page takes churn as it shows it
    assert browser.get(f"/t/{tenant_a.slug}/lists/all", query_string=in_percent).status_code == 400


@pytest.mark.parametrize("query, language, said", [
    ({"sort": "bogus"}, "en", "unknown sort 'bogus' ("), ({"sort": "bogus"}, "zh-CN", "未知的排序方式“bogus”"),
    ({"tier.nope": "vip"}, "en", "the rule set in force has no dimension 'nope'"),
    ({"tier.nope": "vip"}, "zh-CN", "现行规则集中没有维度“nope”"),
])
def test_a_refusal_naming_its_parameter_names_it_once_in_either_language(client, tenant_a, issue_token, query,
                                                                        language, said):
    from tests.test_api import bearer

    refused = client.get("/api/v1/lists/all/customers", query_string=query,
                         headers=bearer(issue_token(tenant_a)) | {"Accept-Language": language})
    error = refused.json["error"]
    assert refused.status_code == 400 and error["field"] == next(iter(query))  # for a program
    assert error["message"].startswith(said), error  # for a person: not "field 'sort': unknown sort 'bogus'"


@pytest.mark.parametrize("asked, language, said", [
    ("bogus", "en", "Attrition risk has no tier 'bogus' (tiers: high, watch, normal)"),
    ("bogus,nope", "en", "Attrition risk has no tiers 'bogus', 'nope' (tiers: high, watch, normal)"),
    ("bogus", "zh-CN", "流失风险中没有等级“bogus”（可选等级：high、watch、normal）"),
])
def test_an_unknown_tier_is_quoted_under_its_dimensions_label_beside_the_tiers_it_has(client, browser, tenant_a,
                                                                                     issue_token, asked, language,
                                                                                     said):
    from tests.test_api import bearer

    refused = client.get("/api/v1/lists/all/customers", query_string={"tier.high_risk": asked},
                         headers=bearer(issue_token(tenant_a)) | {"Accept-Language": language})
    assert refused.status_code == 400 and refused.json["error"]["field"] == "tier.high_risk"
    assert refused.json["error"]["message"] == said, refused.json  # the label names the filter: no "field '…':"
    browser.login(tenant_a)
    page = browser.get(f"/t/{tenant_a.slug}/lists/all", query_string={"tier.high_risk": asked},
                       headers={"Accept-Language": language})
    assert page.status_code == 400 and said in html.unescape(page.text)


@pytest.mark.parametrize("method, path, sent, listed", [
    ("get", "/api/v1/lists/all/customers?sort=bogus", None, "external_id、name、churn、value"),
    ("get", "/api/v1/lists/nope/customers", None, "vip、high_risk、"),
    ("post", "/api/v1/saved-lists", {"name": "x", "base": "vip", "filters": {"bogus": 1, "nope": 2}}, "bogus、nope"),
    ("put", "/api/v1/lists/settings", {"vip_tiers": ["gold", "silver"]}, "gold、silver"),
    ("post", "/api/v1/saved-lists", {"name": "x", "base": "nope"}, "vip、high_risk、"),
])
def test_what_a_refusal_lists_is_listed_as_chinese_lists_it(client, tenant_a, issue_token, method, path, sent, listed):
    from tests.test_api import bearer

    headers = bearer(issue_token(tenant_a)) | {"Accept-Language": "zh-CN"}
    refused = getattr(client, method)(path, headers=headers, **({"json": sent} if sent is not None else {}))
    message = refused.json["error"]["message"]
    assert refused.status_code in (400, 404) and listed in message and ", " not in message, message


def test_an_unknown_export_format_is_named_once(client, tenant_a, issue_token):
    from tests.test_api import bearer

    refused = client.get("/api/v1/lists/all/export?format=pdf", headers=bearer(issue_token(tenant_a)))
    error = refused.json["error"]
    assert refused.status_code == 400 and error["field"] == "format"
    assert error["message"].startswith("unknown format 'pdf'"), error
    chinese = client.get("/api/v1/lists/all/export?format=pdf",
                         headers=bearer(issue_token(tenant_a)) | {"Accept-Language": "zh-CN"}).json["error"]
    assert chinese["message"].startswith("未知的格式“pdf”"), chinese  # not "字段“format”：" before it


def test_a_tiers_reason_says_when_its_values_were_taken(app, grid, browser):
    """A reason is written when the tier is decided; a later retier that keeps the tier keeps the reason."""
    from datetime import datetime, timezone

    from tests.rule_helpers import retier_again

    retier_again(app, grid, as_of=datetime(2025, 1, 20, tzinfo=timezone.utc))
    with in_tenant(app, grid):
        customer_id = db.session.scalar(sa.select(Customer.id).where(Customer.external_id == "C01"))
    browser.login(grid)
    page = browser.get(f"/t/{grid.slug}/customers/{customer_id}", headers={"Accept-Language": "en"}).text
    said = re.findall(r'data-testid="reason-when">([^<]+)</p>', page)
    assert said and all(s.startswith("Values measured on the data as of ") and "by the retier that decided this tier."
                        in s for s in said), said
    assert all("A later retier, on the data as of 2025-01-20" in s for s in said), said  # the second retier kept every tier


def test_the_customer_page_charts_twelve_months_of_activity_from_local_assets(app, grid, browser):
    with in_tenant(app, grid):
        customer_id = db.session.scalar(sa.select(Customer.id).where(Customer.external_id == "C01"))
    browser.login(grid)
    page = browser.get(f"/t/{grid.slug}/customers/{customer_id}").text
    assert 'data-chart="activity-chart"' in page and "/static/vendor/echarts.min.js" in page
    spec = json.loads(page.split('<script type="application/json" id="activity-chart">')[1].split("</script>")[0])
    assert spec["option"]["xAxis"]["data"] == [f"2024-{m:02d}" for m in range(1, 13)]
    assert [bar for series in spec["option"]["series"] for bar in series["data"]] == [6000] * 12


LABELLED = {"dimensions": [
    dict(RULES["dimensions"][0], label_en="Value", label_zh="价值等级", tiers=[
        dict(tier, label_en=tier["code"].title(), label_zh=label) for tier, label in
        zip(RULES["dimensions"][0]["tiers"], ("重点客户", "重要客户", "普通客户", "基础客户"))]),
    *RULES["dimensions"][1:]]}


def headings_on_screen(html: str) -> list[str]:
    table = html.split('data-testid="list-table"')[1].split("</thead>")[0]
    return re.findall(r"<th>([^<]*)</th>", table)


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_an_export_is_headed_and_labelled_as_the_screen_with_the_tier_codes_beside(app, grid, browser, client,
                                                                                   issue_token, language):
    publish_and_retier(app, grid, LABELLED)
    browser.login(grid, "rm1")
    asked = {"Accept-Language": language}
    screen = headings_on_screen(browser.get(f"/t/{grid.slug}/lists/vip", headers=asked).text)
    exported = browser.get(f"/t/{grid.slug}/lists/vip/export?format=xlsx", headers=asked)
    sheet = load_workbook(io.BytesIO(exported.data)).active
    assert sheet.title == ("贵宾客户" if language == "zh-CN" else "VIP")  # named as the list is on the screen
    header, *rows = sheet.iter_rows(values_only=True)
    code = "价值等级（代码）" if language == "zh-CN" else "Value (code)"
    churn = screen.index("流失概率" if language == "zh-CN" else "Churn probability")  # a percentage there
    screen[churn] = "流失概率（0–1）" if language == "zh-CN" else "Churn probability (0–1)"  # a probability here
    assert [h for h in header if "code" not in h and "代码" not in h] == screen  # the screen's headings, in order
    assert header[header.index(screen[4]) + 1] == code  # each tier's code beside its label
    assert rows[0][:2] == ("C01", "客户C01")
    value = header.index(screen[4])
    assert rows[0][value:value + 2] == (("重点客户", "key") if language == "zh-CN" else ("Key", "key"))
    through_api = client.get("/api/v1/lists/vip/export", headers=asked | {
        "Authorization": f"Bearer {issue_token(grid, 'rm1')}"}).data.decode("utf-8-sig")
    assert through_api.splitlines()[0].split(",") == list(header)


def test_exported_scores_are_numbers_rounded_to_what_they_can_tell(app, grid, browser):
    """The page reads 99.2% and 72,000; the file holds 0.9921 and 72000.29, no separators, no noise digits."""
    from tierwise.tenants.exports import table

    with in_tenant(app, grid):
        db.session.execute(sa.update(CustomerScore).values(churn_probability=0.99213412, predicted_value=72000.2871))
        db.session.commit()
        header, body = table("vip", sa.true(), ListFilters(), "external_id")
    scores = [line[header.index("churn_probability"):header.index("predicted_value") + 1] for line in body]
    assert set(map(tuple, scores)) == {(Decimal("0.9921"), Decimal("72000.29"))}
    browser.login(grid)
    for language, churn, value in (("en", "Churn probability (0–1)", "Predicted value"),
                                   ("zh-CN", "流失概率（0–1）", "预测价值")):
        exported = browser.get(f"/t/{grid.slug}/lists/vip/export?format=csv", headers={"Accept-Language": language})
        rows = list(csv.DictReader(io.StringIO(exported.data.decode("utf-8-sig"))))
        assert {(row[churn], row[value]) for row in rows} == {("0.9921", "72000.29")}, rows[0]


def test_exported_scores_keep_their_decimals_in_every_file_and_the_audit_matches_each(app, grid, browser, client,
                                                                                      issue_token, runner, tmp_path):
    """0.811 is written 0.8110 and 63498 is 63498.00: in the CSV as text, in the XLSX as numbers formatted so."""
    from tests.test_api import bearer
    from tierwise.platform.cli import cli

    with in_tenant(app, grid):
        scores = {"C01": (0.811, 63498.0), "C02": (0.2, 31065.3), "C04": (None, None)}
        for external_id, (churn, value) in scores.items():
            customer = db.session.scalar(sa.select(Customer.id).where(Customer.external_id == external_id))
            db.session.execute(sa.update(CustomerScore).where(CustomerScore.customer_id == customer)
                               .values(churn_probability=churn, predicted_value=value))
        db.session.commit()
    expected = {"C01": ("0.8110", "63498.00"), "C02": ("0.2000", "31065.30"), "C04": ("", "")}
    browser.login(grid)
    as_csv = browser.get(f"/t/{grid.slug}/lists/vip/export?format=csv", headers={"Accept-Language": "en"}).data
    rows = {row["Customer id"]: (row["Churn probability (0–1)"], row["Predicted value"])
            for row in csv.DictReader(io.StringIO(as_csv.decode("utf-8-sig")))}
    assert {key: rows[key] for key in expected} == expected
    as_xlsx = client.get("/api/v1/lists/vip/export?format=xlsx", headers=bearer(issue_token(grid)) | {
        "Accept-Language": "en"}).data
    header, *cells = load_workbook(io.BytesIO(as_xlsx)).active.iter_rows()
    churn, value = (next(i for i, c in enumerate(header) if c.value == h)
                    for h in ("Churn probability (0–1)", "Predicted value"))
    written = {row[0].value: (row[churn].value, row[churn].number_format, row[value].value, row[value].number_format)
               for row in cells}
    assert written["C01"] == (0.811, "0.0000", 63498, "0.00")  # numbers, shown with their decimals
    assert written["C02"] == (0.2, "0.0000", 31065.3, "0.00") and written["C04"][::2] == (None, None)
    for name in ("all.csv", "all.xlsx"):
        assert runner.invoke(cli, ["export", "--tenant", grid.slug, "--out", str(tmp_path / name)]).exit_code == 0
    from_cli = list(csv.DictReader(io.StringIO((tmp_path / "all.csv").read_text(encoding="utf-8-sig"))))
    assert {row["external_id"]: (row["churn_probability"], row["predicted_value"])
            for row in from_cli if row["external_id"] in expected} == expected
    keys, first = load_workbook(tmp_path / "all.xlsx").active.iter_rows(max_row=2)
    formats = {key.value: cell.number_format for key, cell in zip(keys, first)}
    assert (formats["churn_probability"], formats["predicted_value"]) == ("0.0000", "0.00")
    with in_tenant(app, grid):
        logged = list(db.session.scalars(sa.select(AuditEvent.details).where(AuditEvent.action == "export.created")
                                         .order_by(AuditEvent.occurred_at)))
    files = [as_csv, as_xlsx, (tmp_path / "all.csv").read_bytes(), (tmp_path / "all.xlsx").read_bytes()]
    assert [details["sha256"] for details in logged] == [hashlib.sha256(f).hexdigest() for f in files]


def test_the_command_line_export_keeps_its_column_keys_and_tier_codes(app, grid):
    from tierwise.tenants.exports import table

    from tierwise.platform.branches import Branch
    from tierwise.platform.users import User
    from tierwise.tenants.customers import Customer

    publish_and_retier(app, grid, LABELLED)
    with in_tenant(app, grid):
        north = db.session.scalar(sa.select(Branch).where(Branch.code == "N"))
        db.session.execute(sa.update(Customer).values(branch_id=north.id))
        north.name = "Renamed North"  # what people read changes; what programs match on does not
        db.session.commit()
        header, body = table("vip", sa.true(), ListFilters(), "external_id")
    assert header[:5] == ["external_id", "name", "branch_code", "rm_email", "tier_value"]
    assert header[-3:] == ["churn_probability", "predicted_value", "reason"] and body[0][4] == "key"
    assert {line[2] for line in body} == {"N"}
    with in_tenant(app, grid):
        emails = set(db.session.scalars(sa.select(User.email)))
    assert {line[3] for line in body} - {""} <= emails and any(line[3] for line in body)


@pytest.mark.parametrize(("query", "field", "typed"), [
    ({"condition": "churn_probability >", "search": "C0"}, "condition", 'value="churn_probability &gt;"'),
    ({"sort": "loudest", "search": "C0"}, "sort", '<option value="loudest" selected>'),
    ({"tier.value": "gold", "search": "C0"}, "tier.value", '<option value="gold" selected>'),
    ({"churn_min": "half", "search": "C0"}, "churn_min", 'value="half"'),
    ({"cursor": "bm90LWEtY3Vyc29y", "search": "C0"}, "cursor", 'value="C0"'),
])
def test_a_filter_typo_keeps_the_list_page_with_the_filters_as_typed_and_says_what_is_wrong(
        grid, browser, query, field, typed):
    browser.login(grid)
    page = browser.get(f"/t/{grid.slug}/lists/vip", query_string=query)
    assert page.status_code == 400
    assert 'data-testid="list-filters"' in page.text and "Back to Tierwise" not in page.text
    assert typed in page.text and 'value="C0"' in page.text  # the rest of what was typed is kept too
    assert 'data-testid="filter-error"' in page.text
    if field != "cursor":  # a cursor has no input: the message above the form is all there is
        assert re.search(rf'data-testid="filter-problem" data-field="{re.escape(field)}"', page.text)
    else:  # named as people know it, and not linked to an input that is not there
        summary = page.text.split('data-testid="filter-error"')[1].split("</div>")[0]
        assert "Page link:" in summary and "#filter-cursor" not in summary


@pytest.mark.parametrize("query", [{"format": "csv"}, {"format": "abc"}, {"name": "x", "list_id": "y"}])
def test_a_list_page_ignores_what_its_own_links_set_in_the_address(grid, browser, query):
    browser.login(grid)
    page = browser.get(f"/t/{grid.slug}/lists/vip", query_string=query | {"branch": "N"})
    assert page.status_code == 200  # was a 500: the export link set format twice
    assert f'href="/t/{grid.slug}/lists/vip/export?format=xlsx&amp;branch=N"' in page.text


def test_a_minimum_above_its_maximum_is_said_in_percent_as_the_page_shows_churn(grid, browser):
    browser.login(grid)
    page = browser.get(f"/t/{grid.slug}/lists/vip", query_string={"churn_min": "80", "churn_max": "20"},
                       headers={"Accept-Language": "en"})
    summary = page.text.split('data-testid="filter-error"')[1].split("</div>")[0]
    assert ">Churn probability from</a>" in summary
    assert "the minimum, 80.0%, is above the maximum, 20.0%" in summary and "churn_max" not in summary
    chinese = browser.get(f"/t/{grid.slug}/lists/vip", query_string={"churn_min": "80", "churn_max": "20"},
                          headers={"Accept-Language": "zh-CN"}).text.split('data-testid="filter-error"')[1]
    assert "</a>：" in chinese.split("</div>")[0]  # the caption's colon is full-width in Chinese


def test_the_api_says_a_churn_minimum_above_its_maximum_as_the_probabilities_it_was_given(grid, client, issue_token):
    response = client.get("/api/v1/lists/vip/customers", query_string={"churn_min": "0.8", "churn_max": "0.25"},
                          headers={"Authorization": f"Bearer {issue_token(grid)}", "Accept-Language": "en"})
    assert response.status_code == 400 and response.json["error"]["field"] == "churn_min"
    assert "the minimum, 0.8, is above the maximum, 0.25" in response.json["error"]["message"]


def test_a_mistyped_condition_is_pointed_at_beside_its_input(grid, browser):
    browser.login(grid)
    page = browser.get(f"/t/{grid.slug}/lists/vip", query_string={"condition": "churn_probability >"})
    problem = page.text.split('data-field="condition"')[1].split("</label>")[0]
    assert "the rule ends too early" in problem and '<pre class="pointer">churn_probability &gt;\n' in problem


@pytest.mark.parametrize("industry", ["bank", "power_utility", "pharma_distributor"])
def test_the_condition_example_uses_the_tenants_own_fields_and_works(make_tenant, browser, industry):
    world = make_tenant(industry)
    browser.login(world)
    page = browser.get(f"/t/{world.slug}/lists/all").text
    example = html.unescape(re.search(r'name="condition"[^>]*placeholder="([^"]+)"', page).group(1))
    if industry != "power_utility":
        assert "facility_type" not in example
    assert browser.get(f"/t/{world.slug}/lists/all", query_string={"condition": example}).status_code == 200


def test_a_list_that_does_not_exist_is_not_found_on_the_page_and_in_the_api(app, grid, browser, issue_token):
    browser.login(grid, "admin")
    assert browser.get(f"/t/{grid.slug}/lists/vips").status_code == 404
    response = browser.client.get("/api/v1/lists/vips/customers",
                                  headers={"Authorization": f"Bearer {issue_token(grid, 'admin')}"})
    assert response.status_code == 404 and response.json["error"]["field"] == "name"
    assert "unknown list 'vips'" in response.json["error"]["message"]


def test_the_export_log_says_filters_as_the_list_page_labels_them(app, tenant_a):
    from flask_babel import force_locale

    from tierwise.platform.web.lists import _names_of, filter_lines

    rm = tenant_a.users["rm1"].id
    filters = {"tiers": {"value": ["private_banking", "wealth_centre"]}, "churn_min": 0.5, "rm_user_id": str(rm)}

    class Event:
        details = {"filters": filters}

    with app.test_request_context(), in_tenant(app, tenant_a):
        names = _names_of([Event()])
        with force_locale("en"):
            english = dict(filter_lines(filters, names, catalog.rule_set()))
        with force_locale("zh_CN"):
            chinese = dict(filter_lines(filters, names, catalog.rule_set()))
    assert english["Churn probability from"] == "50.0%" and str(rm) not in english.values()
    assert english["Relationship manager"] == names[str(rm)] != ""  # the RM by name, not by id
    assert english["Wealth tier"] == "Private banking, Wealth centre" and chinese["财富等级"] == "私人银行、财富中心"


def test_a_saved_lists_bounds_are_json_numbers_while_a_query_string_types_them(app, grid, client, issue_token):
    """A JSON body has numbers: "0.5" is refused where it is, as PUT /lists/settings refuses it, and
    nothing is saved; a query string is text, so there 0.5 and 1e3 are the numbers they spell."""
    from tests.test_api import bearer

    rm = bearer(issue_token(grid, "rm2"))
    for key, text in (("churn_min", "0.5"), ("value_min", "1e3"), ("churn_max", "")):
        refused = client.post("/api/v1/saved-lists", json={"name": "my vip", "base": "vip", "filters": {key: text}},
                              headers=rm)
        assert refused.status_code == 400 and refused.json["error"]["field"] == f"filters.{key}", refused.json
    assert client.get("/api/v1/saved-lists", headers=rm).json["items"] == []

    kept = client.post("/api/v1/saved-lists", json={"name": "my vip", "base": "vip",
                                                    "filters": {"churn_min": 0.5, "value_min": 1000}}, headers=rm)
    assert kept.status_code == 201 and kept.json["filters"] == {"tiers": {}, "churn_min": 0.5, "value_min": 1000.0}
    typed = client.get("/api/v1/lists/vip/customers", query_string={"churn_min": "0.5", "value_min": "1e3"},
                       headers=rm)
    assert typed.status_code == 200 and [row["external_id"] for row in typed.json["items"]] == ["C04"]


@pytest.mark.parametrize("filters, field", [
    ({"bogus": 1}, "filters.bogus"),
    ({"churn_min": 2}, "filters.churn_min"),
    ({"tiers": {"value": "key"}}, "filters.tiers"),
    ({"tiers": {"value": ["gold"]}}, "filters.tiers.value"),  # the value dimension has no tier gold
    ({"tiers": {"colour": ["red"]}}, "filters.tiers.colour"),  # nor the rules a dimension colour
    ({"rm_user_id": str(uuid.UUID(int=7))}, "filters.rm_user_id"),
    ({"condition": "churn_probability >"}, "filters.condition"),
])
def test_a_saved_lists_refused_filter_is_named_where_the_body_holds_it(app, grid, client, issue_token, filters,
                                                                        field):
    from tests.test_api import bearer

    rm = bearer(issue_token(grid, "rm2"))
    refused = client.post("/api/v1/saved-lists", json={"name": "my vip", "base": "vip", "filters": filters},
                          headers=rm)
    assert refused.status_code == 400 and refused.json["error"]["field"] == field, refused.json
    message = refused.json["error"]["message"]  # says the same place, or none when it names the filter itself
    assert f"field '{field}'" in message or "field '" not in message, message
    assert client.get("/api/v1/saved-lists", headers=rm).json["items"] == []


def test_the_risk_lists_are_called_what_the_tenants_rules_call_their_dimension(client, make_tenant, issue_token,
                                                                                browser):
    """A distributor's high-risk dimension is its credit risk: the RM looking for credit risk finds a list of that name."""
    from tests.test_api import bearer

    pharma, power = make_tenant("pharma_distributor"), make_tenant("power_utility")

    def labels(world, language="en"):
        response = client.get("/api/v1/lists", headers={**bearer(issue_token(world)), "Accept-Language": language})
        return {item["name"]: item["label"] for item in response.json["items"]}

    english, chinese = labels(pharma), labels(pharma, "zh-CN")
    assert [english[name] for name in ("high_risk", "newly_high_risk", "opinion_risk")] == [
        "Credit risk", "Newly flagged: Credit risk", "Public-opinion risk watchlist"]
    assert [chinese[name] for name in ("high_risk", "newly_high_risk", "opinion_risk")] == [
        "信用风险", "新增信用风险", "舆情风险关注"]
    assert (english["vip"], labels(power)["high_risk"]) == ("VIP", "High-risk")
    browser.login(pharma)
    assert "<h1>Credit risk</h1>" in browser.get(f"/t/{pharma.slug}/lists/high_risk").text
    assert "Newly flagged: Credit risk" in browser.get(f"/t/{pharma.slug}/lists/").text
