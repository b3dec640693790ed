"""The dashboard: measured value concentration, value at risk, tier moves, per reader's book, in both languages."""
from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from tests.conftest import Browser
from tests.model_fixtures import record_model_run, record_model_version
from tests.rule_helpers import in_tenant, publish_and_retier, retier_again
from tierwise.models.scores import CustomerScore
from tierwise.platform.db import db
from tierwise.tenants.customers import Customer
from tierwise.tenants.dashboards import risk_by_tier
from tierwise.tenants.imports.runner import import_records

# Ten customers: N0 holds 900 of the 1,800 measured value, the nine others 100 each.
# N0-N4 are rm1's (north), S5-S9 rm2's (south).
VALUES = {"N0": 900, **{f"N{i}": 100 for i in range(1, 5)}, **{f"S{i}": 100 for i in range(5, 10)}}
RULES = {"dimensions": [
    {"code": "value", "label_en": "Value", "label_zh": "价值", "tiers": [
        {"code": "key", "label_en": "Key account", "label_zh": "重点客户", "rule": "sum(amount, 365d) >= 500"},
        {"code": "general", "label_en": "General", "label_zh": "普通客户", "fallback": True}]},
    {"code": "high_risk", "tiers": [{"code": "critical", "rule": "sum(amount, 365d) >= 100000"},
                                    {"code": "normal", "fallback": True}]},
    {"code": "opinion_risk", "tiers": [{"code": "alert", "rule": "count(complaints, 90d) >= 2"},
                                       {"code": "calm", "fallback": True}]}]}


def _activity(customer: str, amount: int, day: str = "2024-12-20") -> dict:
    return {"customer": customer, "occurred_at": day, "amount": str(amount), "category": "deposit"}


@pytest.fixture
def bank(app, tenant_a):
    """tenant_a with the ten customers and their last year's activity, tiered under RULES."""
    customers = [{"external_id": code, "name": f"客户 {code}", "branch_code": code[0],
                  "rm_email": tenant_a.email("rm1" if code[0] == "N" else "rm2")} for code in VALUES]
    activity = [_activity(code, amount) for code, amount in VALUES.items()]
    activity.append(_activity("S9", 50000, day="2022-06-01"))  # long before the 365-day window: not value
    with in_tenant(app, tenant_a):
        import_records(customers, kind="customers")
        import_records(activity, kind="activity")
        db.session.commit()
    publish_and_retier(app, tenant_a, RULES)
    return tenant_a


def _ids(app, world) -> dict[str, object]:
    with in_tenant(app, world):
        return dict(db.session.execute(sa.select(Customer.external_id, Customer.id)).all())


def _dashboard(client, token, query: str = "") -> dict:
    response = client.get(f"/api/v1/dashboard{query}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def _share(body: dict, percent: int) -> float:
    return next(p["value_share"] for p in body["pareto"]["points"] if p["percent"] == percent)


def test_pareto_shares_are_measured_from_the_last_years_activity(client, bank, issue_token):
    body = _dashboard(client, issue_token(bank, "admin"))
    pareto = body["pareto"]
    assert pareto["customers"] == 10 and pareto["total_value"] == pytest.approx(1800)
    assert _share(body, 1) == pytest.approx(0.5)  # the top 1% of ten customers is one customer: N0
    assert _share(body, 10) == pytest.approx(0.5)
    assert _share(body, 20) == pytest.approx(1000 / 1800)
    assert _share(body, 50) == pytest.approx(1300 / 1800)
    assert _share(body, 100) == pytest.approx(1.0)
    curve = pareto["curve"]
    assert curve[0] == {"percent": 0.0, "customers": 0, "value_share": 0.0} and curve[-1]["value_share"] == 1.0
    assert all(a["value_share"] <= b["value_share"] for a, b in zip(curve, curve[1:]))
    assert pareto["window_end"] == "2024-12-19T16:00:00+00:00"  # the latest activity: 20 December in Shanghai


def test_the_page_states_the_measured_top_20_percent_share(app, bank):
    person = Browser(app.test_client())
    person.login(bank, "admin")
    page = person.get(f"/t/{bank.slug}/dashboard").text
    assert "The top 20% of customers (2) hold 55.6% of the value." in page
    assert "365 days to 2024-12-20" in page


def test_value_at_risk_is_the_sum_of_predicted_value_times_churn_probability(app, client, bank, issue_token):
    ids = _ids(app, bank)
    scores = {"N0": (0.5, 2000.0), "N1": (0.1, 300.0), "N2": (0.2, 150.0), "S5": (0.9, None)}  # S5: no value model
    with in_tenant(app, bank):
        for code, (churn, value) in scores.items():
            db.session.add(CustomerScore(customer_id=ids[code], churn_probability=churn, predicted_value=value))
        db.session.commit()
    risk = _dashboard(client, issue_token(bank))["risk"]
    tiers = {t["tier"]: t for t in risk["tiers"]}
    assert risk["dimension"] == "value" and [t["tier"] for t in risk["tiers"]] == ["key", "general"]
    assert tiers["key"]["customers"] == 1 and tiers["key"]["value_at_risk"] == pytest.approx(0.5 * 2000)
    assert tiers["general"]["customers"] == 9 and tiers["general"]["scored"] == 3
    assert tiers["general"]["value_at_risk"] == pytest.approx(0.1 * 300 + 0.2 * 150)
    assert tiers["general"]["churn_rate"] == pytest.approx((0.1 + 0.2 + 0.9) / 3)
    assert risk["total"]["value_at_risk"] == pytest.approx(1000 + 30 + 30)


def test_without_scores_risk_is_unknown_not_zero(client, bank, issue_token):
    risk = _dashboard(client, issue_token(bank), "?dimension=high_risk")["risk"]
    assert risk["dimension"] == "high_risk"
    assert all(t["churn_rate"] is None and t["value_at_risk"] is None for t in risk["tiers"] + [risk["total"]])
    assert risk["total"]["customers"] == 10 and risk["total"]["scored"] == 0


def test_an_unknown_dimension_is_a_400_naming_it(client, bank, issue_token):
    response = client.get("/api/v1/dashboard?dimension=nope", headers={"Authorization": f"Bearer {issue_token(bank)}"})
    assert response.status_code == 400 and response.json["error"]["field"] == "dimension"
    assert response.json["error"]["message"].startswith("unknown dimension 'nope' ("), response.json  # said once


@pytest.mark.parametrize("query, language, said", [
    ("days=0", "en", "days must be between 1 and "), ("days=0", "zh-CN", "天数必须在 1 至 "),
    ("dimension=nope", "zh-CN", "未知的维度“nope”"), ("days=abc", "zh-CN", "天数必须是整数"),
])
def test_a_refused_period_names_its_parameter_once_and_gives_it_as_the_field(client, bank, issue_token, query,
                                                                           language, said):
    response = client.get(f"/api/v1/dashboard?{query}",
                          headers={"Authorization": f"Bearer {issue_token(bank)}", "Accept-Language": language})
    error = response.json["error"]
    assert response.status_code == 400 and error["field"] == query.split("=")[0]
    assert error["message"].startswith(said), error  # not "field 'days': days must…" nor "字段“days”：天数…"


@pytest.mark.parametrize("days, language, said", [
    ("0", "en", "days must be between 1 and 366"), ("367", "en", "days must be between 1 and 366"),
    ("abc", "en", "days must be a whole number"), ("0", "zh-CN", "天数必须在 1 至 366 之间"),
])
def test_a_refused_period_on_the_page_is_said_beside_its_input_and_the_rest_still_shows(app, bank, days, language,
                                                                                       said):
    person = Browser(app.test_client())
    person.login(bank, "admin")
    page = person.get(f"/t/{bank.slug}/dashboard", query_string={"days": days}, headers={"Accept-Language": language})
    assert page.status_code == 400  # as the API answers for the same days
    problem = re.search(r'<span id="flow-days-problem" class="error" data-testid="days-problem">([^<]*)</span>', page.text)
    assert problem is not None and problem.group(1) == said, page.text
    assert f'value="{days}"' in page.text  # the input keeps what was typed
    assert 'data-dimension="value"' in page.text and 'data-flows="value"' in page.text  # the rest of the dashboard


@pytest.mark.parametrize("days, language, said", [
    ("1", "en", "Every move in the last day."), ("7", "en", "Every move in the last 7 days."),
    ("1", "zh-CN", "最近 1 天内的全部变动。"),
])
def test_the_period_of_the_moves_reads_as_one_day_or_several(app, bank, days, language, said):
    person = Browser(app.test_client())
    person.login(bank, "admin")
    page = person.get(f"/t/{bank.slug}/dashboard", query_string={"days": days}, headers={"Accept-Language": language})
    period = re.search(rf'<p class="muted" data-period="{days}">\s*(.*?)</p>', page.text, re.S)
    assert period is not None and period.group(1).strip() == said, page.text


def test_an_rms_dashboard_counts_only_their_own_book(app, client, bank, issue_token):
    ids = _ids(app, bank)
    with in_tenant(app, bank):
        for code in ("N0", "S5", "S6"):
            db.session.add(CustomerScore(customer_id=ids[code], churn_probability=0.5, predicted_value=1000.0))
        db.session.commit()
    body = _dashboard(client, issue_token(bank, "rm1"))
    assert body["scope"] == "own"
    assert body["pareto"]["customers"] == 5 and body["pareto"]["total_value"] == pytest.approx(1300)
    assert _share(body, 20) == pytest.approx(900 / 1300)
    value = next(d for d in body["tiers"] if d["dimension"] == "value")
    assert {t["tier"]: t["customers"] for t in value["tiers"]} == {"key": 1, "general": 4}
    assert body["risk"]["total"]["customers"] == 5 and body["risk"]["total"]["value_at_risk"] == pytest.approx(500)
    # The tenant's first retier: where each dimension's history starts, no move (the whole book "new" is no news).
    firsts = {d["dimension"]: (d["moves"]["new"], d["first_assignment"]) for d in body["flows"]["dimensions"]}
    assert firsts == {"value": (0, True), "high_risk": (0, True), "opinion_risk": (0, True)}
    assert body["models"] is None
    assert body["runs"] == []  # the retiers count the whole tenant: /retier-runs is 403 for an RM
    person = Browser(app.test_client())
    person.login(bank, "rm2")
    page = person.get(f"/t/{bank.slug}/dashboard").text
    assert "Your book: 5 customers." in page and 'data-customers="0"' in page  # rm2 has no key account
    assert page.count("data-first-assignment") == 3 and "their first tier in this dimension" in page
    assert "客户 N0" not in page and "Model health" not in page
    assert 'data-job="retier"' not in page and "Job runs" not in page


def test_flows_count_the_moves_of_the_latest_retier(app, client, bank, issue_token):
    with in_tenant(app, bank):
        import_records([_activity("S5", 700, day="2024-12-21")], kind="activity")
        db.session.commit()
    run = retier_again(app, bank)
    body = _dashboard(client, issue_token(bank))
    assert body["flows"]["period"]["retier_run_id"] == str(run.id)
    value = next(d for d in body["flows"]["dimensions"] if d["dimension"] == "value")
    assert value["flows"] == [{"from_tier": "general", "to_tier": "key", "customers": 1}]
    assert value["moves"] == {"up": 1, "down": 0, "new": 0}
    recent = _dashboard(client, issue_token(bank), "?days=30")["flows"]
    assert recent["period"]["days"] == 30
    recent_value = next(d for d in recent["dimensions"] if d["dimension"] == "value")
    assert recent_value["moves"] == {"up": 1, "down": 0, "new": 0}  # the first tiers are no moves
    assert not recent_value["first_assignment"] and not value["first_assignment"]
    person = Browser(app.test_client())
    person.login(bank, "admin")
    page = person.get(f"/t/{bank.slug}/dashboard").text
    assert 'data-flow="general:key">1<' in page


def test_model_health_shows_the_champion_and_drift_alerts_to_admins(app, client, bank, issue_token):
    with in_tenant(app, bank):
        number = record_model_version("churn", make_champion=True).number
        record_model_run("score", summary={"customers": 10, "versions": {"churn": number},
                                           "drift": {"churn": {"psi": {"recency_days": 0.35,
                                                                       "complaints_90d": 0.05}}}})
        db.session.commit()
    models = {m["model"]: m for m in _dashboard(client, issue_token(bank))["models"]}
    churn = models["churn"]
    assert churn["champion"]["number"] == number
    metrics = churn["champion"]["metrics"]
    assert metrics["model"]["roc_auc"] == 0.81 and "calibration" not in metrics["model"]
    assert metrics["logistic_regression"]["roc_auc"] == 0.76  # beside its baselines
    assert churn["drift_alerts"] == [{"feature": "recency_days", "psi": 0.35}] and churn["scored_at"]
    assert models["value"]["champion"] is None
    person = Browser(app.test_client())
    person.login(bank, "analyst")
    page = person.get(f"/t/{bank.slug}/dashboard").text
    assert 'data-model="churn" data-drift-alerts="1"' in page and "Logistic regression" in page


def test_model_health_puts_the_value_models_total_beside_the_actual_total(app, bank):
    with in_tenant(app, bank):
        record_model_version("value", make_champion=True)
        db.session.commit()
    person = Browser(app.test_client())
    person.login(bank, "analyst")
    page = person.get(f"/t/{bank.slug}/dashboard").text
    row = page.split('data-metric="total_predicted"')[1].split("</tr>")[0]
    assert "98,000" in row and "actual 100,000" in row  # a total means nothing without the one it predicts


def test_a_new_tenant_gets_a_working_empty_dashboard(app, client, make_tenant, issue_token):
    world = make_tenant("pharma_distributor")  # its industry's rules, and nothing else yet
    body = _dashboard(client, issue_token(world))
    assert body["tiers"] and all(t["customers"] == 0 for d in body["tiers"] for t in d["tiers"])
    assert body["runs"] == [] and all(d["flows"] == [] for d in body["flows"]["dimensions"])
    assert body["pareto"]["customers"] == 0 and body["pareto"]["points"] == []
    assert body["risk"]["dimension"] == "value" and body["risk"]["total"]["customers"] == 0
    assert body["risk"]["total"]["value_at_risk"] is None
    assert [m["champion"] for m in body["models"]] == [None, None]
    with in_tenant(app, world):  # before any rule set is published, risk has a total and no tiers
        assert risk_by_tier(sa.true(), None).tiers == []
    person = Browser(app.test_client())
    person.login(world, "admin")
    page = person.get(f"/t/{world.slug}/dashboard")
    assert page.status_code == 200 and "No job has run yet." in page.text
    assert "No activity has been imported yet, so no value can be measured." in page.text


def test_the_page_follows_the_readers_language_charts_included(app, bank):
    person = Browser(app.test_client())
    person.login(bank, "admin")
    english = person.get(f"/t/{bank.slug}/dashboard").text
    chinese = person.get(f"/t/{bank.slug}/dashboard", headers={"Accept-Language": "zh-CN"}).text
    assert "Value concentration" in english and "价值集中度" in chinese and "Value concentration" not in chinese
    charts = {lang: json.loads(re.search(r'<script type="application/json" id="chart-tiers-value">(.*?)</script>',
                                         page, re.S).group(1)) for lang, page in (("en", english), ("zh", chinese))}
    assert charts["en"]["option"]["yAxis"]["data"] == ["General", "Key account"]
    assert charts["zh"]["option"]["yAxis"]["data"] == ["普通客户", "重点客户"]


def test_echarts_is_served_locally_and_the_page_loads_nothing_from_elsewhere(app, client, bank):
    asset = client.get("/static/vendor/echarts.min.js")
    assert asset.status_code == 200 and b"echarts" in asset.data[:2000]
    person = Browser(app.test_client())
    person.login(bank, "admin")
    page = person.get(f"/t/{bank.slug}/dashboard").text
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert "/static/vendor/echarts.min.js" in sources and "/static/dashboards.js" in sources
    assert all(s.startswith(("/", "#")) and not s.startswith("//") for s in sources)
    assert "://" not in page and not re.search(r"\son[a-z]+=", page.replace('onchange="this.form.submit()"', ""))


def test_the_dashboard_works_on_the_embedded_sqlite_database(database_urls, tmp_path):
    """The demo's database: the same window-function queries, the same figures."""
    from tests.conftest import PASSWORD, TenantWorld, embedded_app

    app, tenant_id = embedded_app(database_urls, tmp_path)
    world = TenantWorld(tenant_id=tenant_id, slug="lite", users={})
    with in_tenant(app, world):
        import_records([{"external_id": code, "name": code} for code in VALUES], kind="customers")
        import_records([_activity(code, amount) for code, amount in VALUES.items()], kind="activity")
        db.session.commit()
    publish_and_retier(app, world, RULES)
    person = Browser(app.test_client())
    assert person.submit("/t/lite/login", {"email": "admin@lite.test", "password": PASSWORD}).status_code == 302
    page = person.get("/t/lite/dashboard")
    assert page.status_code == 200 and "The top 20% of customers (2) hold 55.6% of the value." in page.text
    body = person.get("/api/v1/dashboard").json
    assert _share(body, 10) == pytest.approx(0.5)
    assert {t["tier"]: t["customers"] for t in body["risk"]["tiers"]} == {"key": 1, "general": 9}
