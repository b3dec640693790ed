"""Churn and value models on the shapes real tenants' data has, not only the synthetic demo's.

Each test imports a small history of one shape (a handful of customers, refunds,
one enormous customer, weekly orders, a profile field nobody filled, ...) the
way a tenant imports it, then trains and scores.  What a tenant is owed: either
a model whose stored metrics and scores are finite and sane, or a failed run
whose message names what is missing, with no version stored and the scores
left as they were.  A history too short for the horizon or the as-of asked for
is refused before any run is recorded, naming which of the two to change.
"""
from __future__ import annotations

import math
import re
import tempfile
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from tests.conftest import provision_world
from tests.model_fixtures import fast_training
from tests.rule_helpers import in_tenant
from tierwise.errors import ValidationError
from tierwise.models import cutoffs, dataset, features, labels
from tierwise.models.registry import ModelVersion, champion
from tierwise.models.runs import ModelRun, launch_scoring, launch_training
from tierwise.models.scores import CustomerScore
from tierwise.platform.db import db
from tierwise.tenants.activity import Activity
from tierwise.tenants.customers import Customer
from tierwise.tenants.fields import FieldDefinition, define_field
from tierwise.tenants.imports.runner import import_file

END = date(2025, 6, 30)
DAY = timedelta(days=1)


# --- history of a given shape -------------------------------------------------------------------------------

def shop(customers: int, *, months: int = 18, end: date = END, every_days: float = 30.0, churn_share: float = 0.25,
         seed: int = 5, amount=None, prefix: str = "C", joined_within: float = 60.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers who join in the first ``joined_within`` days and buy every ``every_days`` (with jitter) until
    they leave; ``amount(rng, base, count)`` the amounts of a customer's purchases."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp(end) - pd.DateOffset(months=months)
    span = (pd.Timestamp(end) - start).days
    ids = [f"{prefix}{i:05d}" for i in range(customers)]
    base = rng.lognormal(5.0, 0.8, customers)
    leaves = np.where(rng.random(customers) < churn_share, rng.uniform(0.3, 1.0, customers) * span, span)
    rows = []
    for i, external_id in enumerate(ids):
        days = np.arange(rng.uniform(0, min(every_days, joined_within)), leaves[i], every_days)
        days = days + rng.uniform(0, min(every_days, 30.0) * 0.3, len(days))
        days = days[days < span]
        spent = (amount or (lambda r, b, n: np.round(b * r.uniform(0.7, 1.3, n), 2)))(rng, base[i], len(days))
        for day, value in zip(days, spent):
            rows.append((external_id, (start + pd.Timedelta(days=float(day))).strftime("%Y-%m-%d %H:%M:%S"),
                         f"{value:.2f}"))
    people = pd.DataFrame({"external_id": ids, "name": [f"Customer {i}" for i in ids]})
    return people, pd.DataFrame(rows, columns=["customer", "occurred_at", "amount"])


def load(app, world, people: pd.DataFrame | None = None, activity: pd.DataFrame | None = None) -> None:
    """Import the customers and their activity as a tenant would (CSV files), and commit."""
    with in_tenant(app, world), tempfile.TemporaryDirectory() as folder:
        for kind, frame in (("customers", people), ("activity", activity)):
            if frame is not None and len(frame):
                path = Path(folder) / f"{kind}.csv"
                frame.to_csv(path, index=False)
                import_file(path, kind=kind)
        db.session.commit()


def tenant(app, industry: str = "other"):
    return provision_world(app, industry, prefix="shape")


def train(app, world, model: str, **options):
    """Train through a run, as the CLI and the schedules do: (run status, run message, the version or None).

    The version is a detached copy of what was stored (plain values), for asserting outside the tenant scope.
    """
    with fast_training(), in_tenant(app, world):
        run = launch_training(model, started_by="test", **options)
        version = None
        if run.version_id is not None:
            stored = ModelVersion.get(run.version_id)
            version = SimpleNamespace(
                id=stored.id, model=stored.model, number=stored.number, is_champion=stored.is_champion,
                horizon_days=stored.horizon_days, metrics=stored.metrics, primary_metric=stored.primary_metric,
                importance=stored.importance, columns=stored.columns, data_window=stored.data_window,
                rounds=stored.rounds, note=stored.promotion_note)
        return run.status, run.message, version


def refused(app, world, model: str, **options) -> ValidationError:
    """The refusal of a training that the history cannot hold, with no run recorded."""
    with fast_training(), in_tenant(app, world):
        with pytest.raises(ValidationError) as error:
            launch_training(model, started_by="test", **options)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ModelRun)) == 0
    return error.value


def score(app, world) -> tuple[str, str]:
    with in_tenant(app, world):
        run = launch_scoring(started_by="test")
        return run.status, run.message


def scores(app, world) -> pd.DataFrame:
    with in_tenant(app, world):
        rows = db.session.execute(sa.select(Customer.external_id, CustomerScore.churn_probability,
                                            CustomerScore.predicted_value, CustomerScore.churn_reasons,
                                            CustomerScore.value_reasons)
                                  .join(CustomerScore, CustomerScore.customer_id == Customer.id)).all()
        customers = db.session.scalar(sa.select(sa.func.count()).select_from(Customer))
    frame = pd.DataFrame(rows, columns=["external_id", "churn", "value", "churn_reasons", "value_reasons"])
    assert len(frame) == customers, f"{customers - len(frame)} customers were not scored"
    return frame.set_index("external_id")


def versions(app, world) -> int:
    with in_tenant(app, world):
        return db.session.scalar(sa.select(sa.func.count()).select_from(ModelVersion))


def assert_sane_metrics(version) -> None:
    """Every stored number finite (undefined is None, never NaN), and the primary metric defined."""
    for name, values in version.metrics.items():
        for key, value in values.items():
            if isinstance(value, float):
                assert math.isfinite(value), f"{name}.{key} = {value}"
    metric, value = version.primary_metric
    assert value is not None and math.isfinite(value), f"{metric} is {value}"
    if version.model == "churn":
        assert 0.0 <= value <= 1.0
    else:
        assert value >= 0.0
    assert all(math.isfinite(item["gain_share"]) for item in version.importance)


def assert_sane_scores(frame: pd.DataFrame, *, churn: bool = True, value: bool = True) -> None:
    if churn:
        probabilities = frame["churn"].astype(float)
        scored = probabilities.notna()  # the others are lapsed: no churn probability, and no reasons for one
        assert scored.sum() >= len(frame) / 2, probabilities.describe()
        assert ((probabilities[scored] >= 0) & (probabilities[scored] <= 1)).all(), probabilities.describe()
        assert frame.loc[~scored, "churn_reasons"].isna().all()
    if value:
        predicted = frame["value"].astype(float)
        assert np.isfinite(predicted).all() and (predicted >= 0).all(), predicted.describe()


# --- tiny tenants -------------------------------------------------------------------------------------------

def assert_calibrated(version) -> None:
    """Probabilities no worse than telling every customer the churn rate: the rules read them as probabilities."""
    judged = version.metrics["model"]
    rate = judged["base_rate"]
    assert judged["brier"] <= rate * (1 - rate) + 0.01, (
        f"Brier {judged['brier']:.3f} against {rate * (1 - rate):.3f} for the churn rate ({rate:.1%}) alone; "
        f"calibration {judged['calibration'][:2]}")


def test_a_tenant_of_thirty_customers_gets_probabilities_near_its_churn_rate_or_a_clear_refusal(app):
    world = tenant(app)
    load(app, world, *shop(30))
    status, message, version = train(app, world, "churn")
    if status == "failed":
        assert version is None and "too few" in message and "customer" in message, message
    else:
        assert_sane_metrics(version)
        assert_calibrated(version)


def test_a_tenant_of_thirty_customers_trains_a_value_model_or_says_why_and_scoring_follows(app):
    world = tenant(app)
    load(app, world, *shop(30))
    status, message, version = train(app, world, "value")
    if status == "failed":
        assert version is None and "too few" in message and "customer" in message, message
        assert score(app, world) == ("failed", "there is no champion model yet: train a churn or value model first")
    else:
        assert_sane_metrics(version)
        assert score(app, world)[0] == "succeeded"
        assert_sane_scores(scores(app, world), churn=False)


def test_a_tenant_with_a_single_customer_is_refused_with_a_reason_and_scoring_says_why(app):
    world = tenant(app)
    load(app, world, *shop(1, churn_share=0.0))
    for model in ("churn", "value"):
        status, message, version = train(app, world, model)
        assert status == "failed" and version is None
        assert "Error" not in message.split(":")[0], message  # no exception class name: a reason for a person
        assert "too few" in message and "customer" in message, message
    assert versions(app, world) == 0
    status, message = score(app, world)
    assert status == "failed" and "no champion" in message


def test_too_few_customers_is_not_blamed_on_the_horizon(app):
    world = tenant(app)
    load(app, world, *shop(1, churn_share=0.0))
    with in_tenant(app, world), pytest.raises(ValidationError) as refused:
        dataset.build_dataset(cutoffs.plan_cutoffs("churn", 90), features.current_spec())
    assert "too few" in refused.value.message
    assert refused.value.field != "horizon_days"


# --- churn imbalance ---------------------------------------------------------------------------------------

def test_a_tenant_where_nobody_ever_left_gets_a_clear_refusal_for_churn_and_a_value_model(app):
    world = tenant(app)
    load(app, world, *shop(200, churn_share=0.0))
    status, message, version = train(app, world, "churn")
    assert status == "failed" and version is None
    # counted as customers, not customers x cutoffs; and which way a horizon would move the labels
    said = re.search(r"none of the ([\d,]+) customers in training left \(([\d,]+) examples at (\d+) cutoffs\)", message)
    assert said and int(said[1]) <= 200 < int(said[2].replace(",", "")), message
    assert "A shorter horizon counts a shorter silence as leaving" in message and "try another" not in message
    status, message, version = train(app, world, "value")
    assert status == "succeeded", message
    assert_sane_metrics(version)


def test_one_off_buyers_who_all_leave_get_a_clear_refusal_for_churn(app):
    """A shop whose customers each buy once and never return: at every cutoff everyone churned."""
    world = tenant(app)
    people, activity = shop(300, every_days=10_000, joined_within=540, churn_share=0.0)  # one purchase each
    load(app, world, people, activity)
    status, message, version = train(app, world, "churn")
    assert status == "failed" and version is None
    assert re.search(r"all [\d,]+ customers in training left", message), message
    with in_tenant(app, world):
        assert champion("churn") is None


def test_a_one_outcome_refusal_counts_its_customers_as_people_read_numbers(app):
    said = {}
    for language in ("en", "zh-CN"):
        with app.test_request_context(headers={"Accept-Language": language}):
            said[language] = str(dataset._one_class("validation", stayed=False, count=4077))
    assert said["en"].startswith("all 4,077 validation customers churned: a churn model needs some who churned")
    assert said["zh-CN"].startswith("验证样本中的 4,077 位客户全部已流失：")  # not "（4077 位客户）"


def test_a_one_percent_churn_rate_trains_calibrated_probabilities_or_says_the_validation_has_no_churner(app):
    world = tenant(app)
    load(app, world, *shop(400, churn_share=0.02, seed=8))
    status, message, version = train(app, world, "churn")
    if status == "failed":
        assert "customers stayed" in message and version is None, message
    else:
        assert_sane_metrics(version)
        assert_calibrated(version)
        assert score(app, world)[0] == "succeeded"
        assert scores(app, world)["churn"].astype(float).median() < 0.1  # not "likely to leave" for everyone


# --- amounts -----------------------------------------------------------------------------------------------

def test_refunds_and_zero_amounts_give_a_finite_value_model_and_scores(app):
    def with_refunds(rng, base, count):
        values = np.round(base * rng.uniform(0.7, 1.3, count), 2)
        values[rng.random(count) < 0.15] *= -1  # refunds and credit notes
        values[rng.random(count) < 0.15] = 0.0  # free replacements
        return values

    world = tenant(app)
    people, activity = shop(300, amount=with_refunds)
    refunds_only = activity["customer"] == "C00000"  # a customer whose year is a net refund
    activity.loc[refunds_only, "amount"] = "-250.00"
    load(app, world, people, activity)
    for model in ("churn", "value"):
        status, message, version = train(app, world, model)
        assert status == "succeeded", message
        assert_sane_metrics(version)
    assert score(app, world)[0] == "succeeded"
    assert_sane_scores(scores(app, world))


def test_a_tenant_whose_amounts_are_all_zero_trains_a_value_model_or_says_there_is_no_amount(app):
    """Events without money (visits, meter readings imported with amount 0): nothing to predict."""
    world = tenant(app)
    load(app, world, *shop(200, amount=lambda rng, base, count: np.zeros(count)))
    status, message, version = train(app, world, "value")
    if status == "succeeded":
        assert_sane_metrics(version)
    else:
        assert version is None and "amount" in message and "LightGBM" not in message, message
    status, message, version = train(app, world, "churn")  # the events still say who left
    assert status == "succeeded", message
    assert_sane_metrics(version)


def test_one_customer_a_billion_times_larger_leaves_metrics_and_scores_finite(app):
    world = tenant(app)
    people, activity = shop(300, seed=9)
    whale = activity["customer"] == "C00001"
    activity.loc[whale, "amount"] = (activity.loc[whale, "amount"].astype(float) * 1e9).clip(upper=9e14).map(
        "{:.2f}".format)
    load(app, world, people, activity)
    status, message, version = train(app, world, "value")
    assert status == "succeeded", message
    assert_sane_metrics(version)
    assert score(app, world)[0] == "succeeded"
    frame = scores(app, world)
    assert_sane_scores(frame, churn=False)
    others = frame["value"].drop("C00001")
    assert others.median() < 1e6  # one whale does not lift everyone's prediction


# --- profile fields ----------------------------------------------------------------------------------------

def test_empty_unique_and_chinese_profile_fields_train_and_explain_in_chinese(app, browser):
    world = tenant(app)
    with in_tenant(app, world):
        define_field(name="credit_score", field_type="number", label_zh="信用评分", label_en="Credit score")
        define_field(name="referral_code", field_type="category", label_zh="推荐码", label_en="Referral code")
        define_field(name="region", field_type="category", label_zh="地区", label_en="Region")
        db.session.commit()
    people, activity = shop(300, seed=12)
    rng = np.random.default_rng(3)
    people["credit_score"] = ""  # nobody filled it
    people["referral_code"] = [f"推荐-{i}" for i in range(len(people))]  # a different value per customer
    people["region"] = rng.choice(["华东", "华南", "华北", "西部"], len(people))
    load(app, world, people, activity)
    for model in ("churn", "value"):
        status, message, version = train(app, world, model)
        assert status == "succeeded", message
        assert_sane_metrics(version)
        assert {"field_credit_score", "field_region"} <= set(version.columns)
        # a different code for every customer names them and tells nothing: left out, and said
        assert "field_referral_code" not in version.columns
        assert version.data_window["identifier_fields"] == ["referral_code"]
    assert score(app, world)[0] == "succeeded"
    frame = scores(app, world)
    assert_sane_scores(frame)
    with in_tenant(app, world):
        spec = champion("churn").spec
        assert spec.label("field_region", "zh_Hans_CN") == "地区" and spec.label("field_region", "en") == "Region"
    shown = {value for reasons in frame["churn_reasons"].dropna()  # none for the lapsed
             for feature, _c, value in reasons if feature == "field_region"}
    assert shown <= {"华东", "华南", "华北", "西部", None}  # a category's value is its own text, not a code
    browser.login(world)  # the page names the field left out as it names every field: by its label
    page = browser.get(f"/t/{world.slug}/models/", headers={"Accept-Language": "zh-CN"}).text
    assert "仅用于编号或标识客户的字段（每位客户取值都不同）：推荐码" in page, page


# --- activity over time ------------------------------------------------------------------------------------

def test_weekly_orders_train_models_that_beat_a_coin(app):
    world = tenant(app, "pharma_distributor")
    load(app, world, *shop(300, every_days=7, churn_share=0.3, seed=21))
    for model in ("churn", "value"):
        status, message, version = train(app, world, model)
        assert status == "succeeded", message
        assert_sane_metrics(version)
    with in_tenant(app, world):
        churn_model, value_model = champion("churn"), champion("value")
        assert churn_model.metrics["model"]["roc_auc"] > 0.7  # weekly buyers who stop are easy to see
        assert value_model.metrics["model"]["spearman"] > 0.5


def test_daily_orders_train_and_score(app):
    world = tenant(app)
    load(app, world, *shop(150, months=14, every_days=1.5, churn_share=0.3, seed=4))
    status, message, version = train(app, world, "churn")
    assert status == "succeeded", message
    assert_sane_metrics(version)
    assert score(app, world)[0] == "succeeded"
    assert_sane_scores(scores(app, world), value=False)


def test_activity_all_on_one_day_is_refused_naming_the_horizon(app):
    world = tenant(app)
    people, activity = shop(100, every_days=10_000, churn_share=0.0)
    activity["occurred_at"] = "2025-03-01 10:00:00"
    load(app, world, people, activity)
    for model in ("churn", "value"):
        error = refused(app, world, model)
        assert error.field == "horizon_days" and "covers 0 days" in error.message, error
    assert versions(app, world) == 0


def test_a_churn_horizon_longer_than_the_history_is_refused_naming_the_longest_that_fits(app):
    world = tenant(app)
    load(app, world, *shop(100, months=3))
    error = refused(app, world, "churn")
    assert error.field == "horizon_days" and "a horizon of 90 days needs more than" in error.message, error
    longest = int(re.search(r"choose a horizon of at most (\d+) days", error.message).group(1))
    with in_tenant(app, world):
        assert cutoffs.plan_cutoffs("churn", longest).horizon_days == longest
        with pytest.raises(ValidationError):
            cutoffs.plan_cutoffs("churn", longest + 1)


def test_an_as_of_too_early_for_the_history_is_refused_naming_the_earliest_that_works(app):
    """The horizon was not asked for and fits the history: the as-of is what to change, and to what."""
    world = tenant(app)
    load(app, world, *shop(100, months=8))
    error = refused(app, world, "churn", as_of=datetime(2024, 12, 1, tzinfo=timezone.utc))
    assert error.field == "as_of" and error.message.startswith("2024-12-01 is too early"), error
    assert "--" not in error.message  # the API shares the message: no command-line option in it
    earliest = date.fromisoformat(re.search(r"the earliest as-of that works is (\S+)$", error.message).group(1))
    with in_tenant(app, world):
        works = datetime(earliest.year, earliest.month, earliest.day, tzinfo=timezone.utc)
        assert cutoffs.plan_cutoffs("churn", 90, as_of=works).data_end == works
        cutoffs.check_plan("churn", 90, as_of=works)  # the pre-check takes it: its labels hold both outcomes
        with pytest.raises(ValidationError) as day_before:
            cutoffs.check_plan("churn", 90, as_of=works - DAY)
        assert day_before.value.field == "as_of"

    before = refused(app, world, "churn", as_of=datetime(2000, 1, 1, tzinfo=timezone.utc))
    assert before.field == "as_of" and "before the tenant's first activity" in before.message, before


def test_the_api_refuses_an_as_of_before_the_history_with_a_400_and_records_no_run(app, client, issue_token):
    world = tenant(app)
    load(app, world, *shop(100, months=8))
    response = client.post("/api/v1/models/train", json={"model": "churn", "as_of": "2000-01-01"},
                           headers={"Authorization": f"Bearer {issue_token(world)}"})
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.json["error"]
    assert error["field"] == "as_of" and "before the tenant's first activity" in error["message"], error
    assert "--as-of" not in error["message"]
    assert client.get("/api/v1/model-runs", headers={"Authorization": f"Bearer {issue_token(world)}"}
                      ).json["items"] == []


def test_the_history_a_horizon_needs_adds_up_where_whole_months_lengthen_it():
    """Cutoffs fall whole calendar months back: as of 1 July, 90 days take three months, 91 days."""
    first, end = datetime(2025, 3, 5, tzinfo=timezone.utc), datetime(2025, 7, 1, tzinfo=timezone.utc)
    assert cutoffs.validation_cutoff(end, 90) == datetime(2025, 4, 1, tzinfo=timezone.utc)
    error = cutoffs.too_little_history(first, end, 90)
    assert error.field == "horizon_days"
    assert ("needs more than 121 days of activity (30 before a cutoff and 91 after it: the horizon in whole "
            "calendar months); the activity covers 118 days") in error.message, error
    assert cutoffs.too_little_history(first, end, 61).message.startswith(
        "a horizon of 61 days needs more than 91 days of activity (30 before a cutoff and the horizon after it)")


def test_a_value_horizon_longer_than_early_cutoffs_history_still_trains(app):
    """Ten months of a one-year horizon, on sixteen months of history: the early cutoffs see less than a year."""
    world = tenant(app)
    load(app, world, *shop(300, months=16, seed=14))
    status, message, version = train(app, world, "value", horizon_days=300)
    assert status == "succeeded", message
    assert_sane_metrics(version)
    assert version.horizon_days == 300 and version.data_window["validation"].startswith("customers held out")


def test_scoring_right_after_training_on_unchanged_data_raises_no_drift_alert(app):
    """A tenant that imported its last eighteen months: everyone's first activity is near the file's start."""
    world = tenant(app)
    load(app, world, *shop(400, seed=51))
    assert train(app, world, "churn")[0] == "succeeded"
    with in_tenant(app, world):
        run = launch_scoring(started_by="test")
        assert run.status == "succeeded", run.message
        drifted = run.summary["drift"]["churn"]
    assert drifted["psi"]["tenure_days"] < 0.2, drifted["psi"]
    assert drifted["alerts"] == [], drifted["psi"]


def test_activity_categories_with_quotes_percent_signs_and_chinese_become_features(app):
    """Category names go into the feature scan's SQL as literals (binary COPY takes no parameters)."""
    world = tenant(app)
    people, activity = shop(300, seed=53)
    names = np.array(["药品'甲类", "50%off", "器械\\耗材", "plain"])
    activity["category"] = names[np.arange(len(activity)) % len(names)]
    load(app, world, people, activity)
    with in_tenant(app, world):
        spec = features.current_spec()
        assert set(spec.categories) == set(names)
        x = features.build_features(spec, datetime(2025, 6, 1, tzinfo=timezone.utc))
        by_category = activity.assign(at=pd.to_datetime(activity["occurred_at"]).dt.tz_localize("Asia/Shanghai"))
        year = by_category[(by_category["at"] < pd.Timestamp("2025-06-01", tz="UTC"))
                           & (by_category["at"] >= pd.Timestamp("2024-06-01", tz="UTC"))]
        expected = year.assign(amount=year["amount"].astype(float)).groupby("category")["amount"].sum()
        for index, name in enumerate(spec.categories):
            assert x[f"amount_365d_cat_{index}"].sum() == pytest.approx(expected[name]), name
        quoted = spec.categories.index(names[0])
        assert spec.label(f"amount_365d_cat_{quoted}", "zh_Hans_CN") == "近365天金额：药品'甲类"
    for model in ("churn", "value"):
        status, message, version = train(app, world, model)
        assert status == "succeeded", message
    assert score(app, world)[0] == "succeeded"
    assert_sane_scores(scores(app, world))


# --- who gets scored ---------------------------------------------------------------------------------------

def test_customers_without_activity_and_customers_added_after_training_are_all_scored(app):
    world = tenant(app)
    with in_tenant(app, world):
        define_field(name="segment", field_type="category", label_zh="客群", label_en="Segment")
        db.session.commit()
    people, activity = shop(300, seed=31)
    people["segment"] = np.where(np.arange(len(people)) % 2, "零售", "对公")
    silent = pd.DataFrame({"external_id": [f"S{i}" for i in range(20)], "name": "never bought", "segment": "零售"})
    load(app, world, pd.concat([people, silent]), activity)
    for model in ("churn", "value"):
        assert train(app, world, model)[0] == "succeeded"
    newcomers = pd.DataFrame({"external_id": [f"N{i}" for i in range(15)], "name": "new",
                              "segment": ["新客"] * 15})  # a segment the model never saw
    load(app, world, newcomers)
    assert score(app, world) == ("succeeded", "")
    frame = scores(app, world)
    assert_sane_scores(frame)
    assert {f"S{i}" for i in range(20)} | {f"N{i}" for i in range(15)} <= set(frame.index)


def test_scoring_still_works_after_a_field_the_model_uses_is_removed_from_the_registry(app):
    world = tenant(app)
    with in_tenant(app, world):
        define_field(name="branch_size", field_type="number", label_zh="网点规模", label_en="Branch size")
        db.session.commit()
    people, activity = shop(300, seed=33)
    people["branch_size"] = np.arange(len(people)) % 7
    load(app, world, people, activity)
    assert train(app, world, "churn")[0] == "succeeded"
    with in_tenant(app, world):
        db.session.execute(sa.delete(FieldDefinition).where(FieldDefinition.name == "branch_size"))
        db.session.commit()
    assert score(app, world) == ("succeeded", "")
    assert_sane_scores(scores(app, world), value=False)


def test_scoring_after_a_numeric_field_was_retyped_to_text_scores_or_names_the_field(app):
    """The field was a number when the model was trained; the tenant now keeps text in it ("n/a", "未知")."""
    world = tenant(app)
    with in_tenant(app, world):
        define_field(name="credit_score", field_type="number", label_zh="信用评分", label_en="Credit score")
        db.session.commit()
    people, activity = shop(300, seed=35)
    people["credit_score"] = np.arange(len(people)) % 50 + 600
    load(app, world, people, activity)
    assert train(app, world, "churn")[0] == "succeeded"
    with in_tenant(app, world):
        field = db.session.scalar(sa.select(FieldDefinition).where(FieldDefinition.name == "credit_score"))
        field.field_type = "text"  # as an administrator's migration of the registry would leave it
        db.session.commit()
    load(app, world, pd.DataFrame({"external_id": ["C00000", "C00001"], "name": ["a", "b"],
                                   "credit_score": ["n/a", "未知"]}))
    status, message = score(app, world)
    if status == "succeeded":
        frame = scores(app, world)
        assert_sane_scores(frame, value=False)
    else:
        assert "credit_score" in message and "Error" not in message.split(":")[0], message


# --- time boundaries ---------------------------------------------------------------------------------------

CUTOFF = datetime(2025, 1, 1, tzinfo=timezone.utc)


def one_customer(app, world, external_id: str, events: list[tuple[datetime, str]]) -> str:
    with in_tenant(app, world):
        customer = Customer(external_id=external_id, name=external_id)
        db.session.add(customer)
        db.session.flush()
        for ordinal, (occurred, amount) in enumerate(events):
            db.session.add(Activity(customer_id=customer.id, occurred_at=occurred, amount=Decimal(amount),
                                    ordinal=ordinal))
        db.session.commit()
        return str(customer.id)


def test_activity_exactly_at_the_cutoff_is_a_label_not_a_feature(app):
    world = tenant(app)
    at_cutoff = one_customer(app, world, "AT", [(CUTOFF - 40 * DAY, "10"), (CUTOFF, "1000")])
    just_before = one_customer(app, world, "BEFORE", [(CUTOFF - 40 * DAY, "10"),
                                                      (CUTOFF - timedelta(microseconds=1), "1000")])
    at_horizon_end = one_customer(app, world, "END", [(CUTOFF - 40 * DAY, "10"), (CUTOFF + 90 * DAY, "1000")])
    with in_tenant(app, world):
        spec = features.FeatureSpec()
        [(x, future)] = features.build_feature_sets(spec, [CUTOFF], horizon_days=90)
        assert x.loc[at_cutoff, "amount_sum_30d"] == 0 and x.loc[at_cutoff, "recency_days"] == pytest.approx(40)
        assert future.loc[at_cutoff, "future_amount"] == 1000  # the horizon is [cutoff, cutoff + 90 days)
        assert x.loc[just_before, "amount_sum_30d"] == 1000 and future.loc[just_before, "future_amount"] == 0
        assert future.loc[at_horizon_end, "future_amount"] == 0
        churned = labels.churn_labels(x, future, CUTOFF, 90)
        assert churned[at_cutoff] == 0 and churned[at_horizon_end] == 1
        alone = features.build_features(spec, CUTOFF)
        assert alone.equals(x)  # the scoring path sees the same as training


def test_duplicate_rows_at_the_same_moment_both_count(app):
    world = tenant(app)
    people = pd.DataFrame({"external_id": ["DUP"], "name": ["dup"]})
    activity = pd.DataFrame({"customer": ["DUP"] * 4,
                             "occurred_at": ["2024-12-20 09:00:00"] * 3 + ["2024-11-01 09:00:00"],
                             "amount": ["100.00", "100.00", "40.00", "5.00"]})
    load(app, world, people, activity)
    with in_tenant(app, world):
        x = features.build_features(features.FeatureSpec(), CUTOFF)
        row = x.iloc[0]
        assert row["events_30d"] == 3 and row["amount_sum_30d"] == 240
        assert row["events_90d"] == 4 and row["amount_max_365d"] == 100


def test_a_value_horizon_that_falls_between_two_bills_is_refused_not_judged_on_nothing(app):
    """Bills on the 15th of each month and a 20-day horizon: the validation window holds no bill at all."""
    world = tenant(app)
    people = pd.DataFrame({"external_id": [f"M{i:03d}" for i in range(60)], "name": "Monthly"})
    months = pd.date_range(end=pd.Timestamp(END).replace(day=1), periods=18, freq="MS") + pd.Timedelta(days=14)
    activity = pd.DataFrame([(customer, day.strftime("%Y-%m-%d"), f"{100 + i:.2f}")
                             for i, customer in enumerate(people["external_id"]) for day in months],
                            columns=["customer", "occurred_at", "amount"])
    load(app, world, people, activity)
    status, message, version = train(app, world, "value", horizon_days=20)
    assert status == "failed" and version is None, message
    assert "no amount falls in the 20 days after the cutoffs" in message, message
    assert "at least one billing cycle" in message
    status, message, version = train(app, world, "value", horizon_days=90)  # three bills in any 90 days
    assert status == "succeeded", message
