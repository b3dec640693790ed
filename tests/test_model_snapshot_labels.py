"""Churn training on snapshots: who left, as of one day, as public churn data sets hold it.

Kaggle's bank churn file is customers with fields and an ``Exited`` flag and no
transactions; the telco file has a ``Churn`` flag beside bills that run to the
snapshot for leavers and stayers alike.  No cutoff can place such a leaver, so
the time-aware design has nothing to learn from them.  What a tenant is owed is
a churn model from the labels and the customers' fields, judged on customers
held out at random and said to be so, and scores for the customers still there;
or, where the fields cannot tell anyone apart, a refusal that says what to import.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from tests.model_fixtures import fast_training
from tests.rule_helpers import in_tenant
from tests.test_model_data_shapes import (END, assert_sane_metrics, load, refused, score, scores, shop, tenant,
                                          train)
from tierwise.models.cutoffs import SNAPSHOT
from tierwise.models.runs import launch_training
from tierwise.platform.db import db
from tierwise.tenants.imports.runner import import_file


def labelled(people: pd.DataFrame, *, churned_every: int = 4, observed_on: str | None = None) -> pd.DataFrame:
    """``people`` with a yes/no churn label (every ``churned_every``-th left), dated ``observed_on`` if given."""
    people = people.assign(churned=["yes" if i % churned_every == 0 else "no" for i in range(len(people))])
    return people.rename(columns={"churned": "churn_label"}).assign(
        **({"label_observed_on": observed_on} if observed_on else {}))


def bank_snapshot(customers: int, *, seed: int = 3) -> pd.DataFrame:
    """The Kaggle bank churn shape: profile fields and a churn flag that depends on them (older, inactive,
    one product and Germany leave more), no transactions.  Customers from 1,000 on are unlabelled."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, customers)
    active = rng.random(customers) < 0.5
    products = rng.integers(1, 4, customers)
    country = rng.choice(["France", "Germany", "Spain"], customers)
    balance = np.round(rng.lognormal(10, 1, customers), 2)
    odds = -3.0 + 0.06 * (age - 18) - 1.0 * active + 0.8 * (products == 1) + 0.7 * (country == "Germany")
    left = rng.random(customers) < 1 / (1 + np.exp(-odds))
    labels = np.where(left, "1", "0").astype(object)
    labels[1000:] = ""
    return pd.DataFrame({"RowNumber": np.arange(1, customers + 1), "external_id": [f"B{i:05d}" for i in range(customers)],
                         "age": age,
                         "is_active_member": np.where(active, "yes", "no"), "products": products,
                         "geography": country, "balance": balance, "Exited": labels})  # Kaggle's header


def load_with_fields(app, world, people: pd.DataFrame, activity: pd.DataFrame | None = None) -> None:
    """Import the customers, adding their columns as fields (as ``--add-fields`` does), and any activity."""
    with in_tenant(app, world), tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "customers.csv"
        people.to_csv(path, index=False)
        import_file(path, kind="customers", add_fields=True)
        db.session.commit()
    if activity is not None:
        load(app, world, activity=activity)


def test_a_bank_snapshot_without_transactions_trains_a_churn_model_on_its_fields_and_scores_those_still_there(app):
    world = tenant(app, "bank")
    people = bank_snapshot(1200)
    load_with_fields(app, world, people)
    status, message, version = train(app, world, "churn")
    assert status == "succeeded", message
    window = version.data_window
    assert window["design"] == SNAPSHOT and window["snapshot_reason"] == "no_activity"
    assert window["training_cutoffs"] == [] and window["validation"].startswith("customers held out at random")
    # about 30% of the 1,000 labelled customers held out by a hash of their ids; the unlabelled ones trained on by none
    assert 240 <= window["validation_examples"] <= 360, window
    assert window["training_examples"] + window["validation_examples"] == 1000
    # the profile alone: the bank template's fields (empty here) and the file's, nothing from activity
    assert {"field_age", "field_is_active_member", "field_products", "field_geography", "field_balance"} <= set(
        version.columns)
    assert all(column == "party_type" or column.startswith("field_") for column in version.columns), version.columns
    # Kaggle's row number only numbers the customers: left out, and said so (ages, all integers, are kept)
    assert "field_rownumber" not in version.columns and window["identifier_fields"] == ["rownumber"]
    assert set(version.metrics) == {"model", "logistic_regression"}  # no recency rule: no activity to read
    assert_sane_metrics(version)
    assert version.metrics["model"]["roc_auc"] > 0.7, version.metrics  # the signal is in the fields
    assert version.is_champion
    assert score(app, world)[0] == "succeeded"
    frame = scores(app, world)
    left = people.set_index("external_id")["Exited"] == "1"
    assert frame.loc[left[left].index, "churn"].isna().all()  # those gone are not scored as at risk
    stayed = frame.loc[left[~left].index, "churn"]
    assert stayed.notna().all() and stayed.between(0, 1).all()  # stayers and unlabelled customers are
    reasons = frame.loc[stayed.index[0], "churn_reasons"]
    assert reasons and all(reason[0].startswith("field_") or reason[0] == "party_type" for reason in reasons)


def test_the_telco_shape_learns_from_fields_when_its_undated_leavers_bill_to_the_snapshot_like_everyone(app):
    """Bills run to the snapshot for leavers and stayers alike, and the leavers carry a label without a day."""
    world = tenant(app)
    people, activity = shop(200, churn_share=0.0)
    # every leaver month-to-month, and some stayers too: a field that was every leaver and no one else would
    # record the outcome, and be left out (``leaks.outcome_columns``)
    people = labelled(people).assign(contract=["month" if i % 4 == 0 or i % 8 == 1 else
                                               ("year" if i % 3 else "two years") for i in range(len(people))])
    load_with_fields(app, world, people, activity)
    status, message, version = train(app, world, "churn")
    assert status == "succeeded", message
    assert version.data_window["design"] == SNAPSHOT and version.data_window["snapshot_reason"] == "undated"
    assert "recency_days" not in version.columns  # the leavers' bills run to the end: activity would say nothing
    assert "field_contract" in version.columns and not version.data_window["outcome_fields"]
    assert version.metrics["model"]["roc_auc"] > 0.8, version.metrics  # month-to-month is every leaver


def test_leavers_labelled_on_the_snapshot_day_train_from_the_fields(app):
    world = tenant(app)
    people, activity = shop(200, churn_share=0.0)
    people = labelled(people, observed_on=END.isoformat()).assign(
        tickets=[5 if i % 4 == 0 or i % 10 == 1 else i % 3 for i in range(len(people))])
    load_with_fields(app, world, people, activity)
    status, message, version = train(app, world, "churn")
    assert status == "succeeded", message
    assert version.data_window["snapshot_reason"] == "late"
    assert version.data_window["validation_cutoff"].startswith(END.isoformat()[:7])
    assert version.data_window["labels_dated"] is True


def test_a_snapshot_whose_customers_have_no_fields_is_refused_saying_what_to_import(app):
    world = tenant(app, "bank")
    people, _activity = shop(40)
    load(app, world, labelled(people))
    status, message, version = train(app, world, "churn")
    assert status == "failed" and version is None
    assert "the churn labels of 40 customers are a snapshot" in message, message
    assert "import their fields" in message, message


def test_a_snapshot_of_only_leavers_is_refused_saying_a_model_needs_stayers(app):
    world = tenant(app, "bank")
    people = bank_snapshot(300).assign(Exited="1")
    load_with_fields(app, world, people)
    status, message, _version = train(app, world, "churn")
    assert status == "failed"
    assert message == "all 300 labelled customers churned: a churn model needs some who stayed too", message


def test_too_few_labelled_customers_to_hold_out_are_refused_naming_the_share(app):
    world = tenant(app, "bank")
    people = bank_snapshot(40)
    load_with_fields(app, world, people)
    status, message, _version = train(app, world, "churn")
    assert status == "failed"
    assert "labelled customers are held out to judge the model (30% of them, at random" in message, message


def test_a_value_model_on_labels_alone_says_the_labels_train_a_churn_model_not_a_value_model(app):
    world = tenant(app, "bank")
    load_with_fields(app, world, bank_snapshot(100))
    with fast_training(), in_tenant(app, world):
        run = launch_training("value", started_by="test")
        status, message = run.status, run.message
    assert status == "failed"
    assert message.startswith("this tenant has no activity yet: import some before training"), message
    assert "the churn labels of 100 customers train a churn model, not a value model" in message, message


def test_tierwise_train_and_the_model_page_say_the_model_learnt_from_a_snapshot(app, runner, browser):
    from tierwise.platform.cli import cli

    world = tenant(app, "bank")
    load_with_fields(app, world, bank_snapshot(1100))
    with fast_training():
        trained = runner.invoke(cli, ["train", "--tenant", world.slug, "--model", "churn"])
    assert trained.exit_code == 0, trained.output
    out = trained.output
    assert "churn model version 1 (champion)" in out, out
    assert "churn labels a snapshot (undated)" in out and "learnt from the customers' fields as the tenant has no activity" in out, out
    assert "(customers held out at random, the labels are a snapshot)" in out, out
    assert "logistic_regression" in out and "recency_rule" not in out, out
    assert "left out, as they only number or name the customers (a different value for each): rownumber" in out
    scored = runner.invoke(cli, ["score", "--tenant", world.slug])
    gone = int((bank_snapshot(1100)["Exited"] == "1").sum())
    assert f"Scored 1,100 customers of {world.slug} with churn v1 ({gone:,} of them without a churn probability: " \
           "lapsed, or known to have left)." in scored.output, scored.output
    browser.login(world)
    page = browser.get(f"/t/{world.slug}/models/").text
    # the labels carry no day: the page does not pretend they describe the day the model was trained
    assert "A snapshot: who had left when the labels were exported (they carry no date)." in page, page
    assert "The tenant has churn labels and no activity: the model learnt from the customers&#39; fields." in page
    assert "Customers held out at random: the churn labels are a snapshot" in page
    assert "Training cutoffs" not in page and "days after each cutoff" not in page
    assert "Fields that only number or name the customers (a different value for each): RowNumber" in page  # its label


def test_a_snapshot_cannot_be_trained_as_of_an_earlier_day_and_the_refusal_names_the_as_of(app):
    """Its labels and fields are as of the snapshot: a version "as of" a day before it would have read them anyway."""
    from datetime import datetime, timezone

    world = tenant(app, "bank")
    load_with_fields(app, world, bank_snapshot(1200))
    status, message, version = train(app, world, "churn", as_of=datetime(2025, 1, 1, tzinfo=timezone.utc))
    assert status == "failed" and version is None, (status, message)
    assert "cannot be trained as of 2025-01-01" in message and "train without an as-of" in message, message


def test_telco_leavers_without_a_day_or_fields_are_refused_saying_to_import_the_day_they_left_or_their_fields(app):
    """The tenant has activity already: "or activity over time" would send it to import what it has."""
    world = tenant(app)
    people, activity = shop(200, churn_share=0.0)
    load(app, world, labelled(people), activity)
    status, message, version = train(app, world, "churn")
    assert status == "failed" and version is None
    assert "the churn labels of 200 customers name leavers without the day they left" in message, message
    assert "--label-date-column" in message and "import their fields" in message, message
    assert "activity over time" not in message, message


def test_leavers_labelled_on_the_snapshot_day_without_fields_are_refused_saying_some_must_leave_earlier(app):
    world = tenant(app)
    people, activity = shop(200, churn_share=0.0)
    load(app, world, labelled(people, observed_on=END.isoformat()), activity)
    status, message, version = train(app, world, "churn")
    assert status == "failed" and version is None
    assert "are dated after the last training horizon" in message, message
    assert "a history in which some left earlier" in message and "activity over time" not in message, message


def test_two_snapshot_versions_trained_with_different_horizons_are_compared_on_the_same_held_out_customers(app):
    """A snapshot's labels are who had left by its day whatever horizon the form was given: one question."""
    world = tenant(app, "bank")
    load_with_fields(app, world, bank_snapshot(1200))
    first = train(app, world, "churn")[2]
    assert first.is_champion
    status, message, second = train(app, world, "churn", horizon_days=180)
    assert status == "succeeded", message
    assert "cannot be compared" not in second.note, second.note
    # the same data trains the same model: level with the champion, which it does not beat
    assert second.metrics == first.metrics and second.note.startswith("kept version 1 as champion: roc_auc"), second.note


def test_the_chinese_model_page_says_why_a_snapshot_model_learnt_from_the_fields(app, browser):
    world = tenant(app, "bank")
    load_with_fields(app, world, bank_snapshot(1100))
    assert train(app, world, "churn")[0] == "succeeded"
    browser.login(world)
    page = browser.get(f"/t/{world.slug}/models/", headers={"Accept-Language": "zh-CN"}).text
    assert "本机构有流失标签但没有活动记录：模型改从客户的字段中学习。" in page, page
    assert "随机留出的客户：流失标签是截至某一天哪些客户已流失的快照" in page, page


def test_a_snapshot_dated_in_the_past_is_scored_as_of_its_day_so_a_date_field_does_not_drift(app):
    """Labels dated when the file was taken, an account-opening date among the fields, no activity: scoring
    reads the date as days before the snapshot, as training did, not days before today."""
    from tierwise.models.runs import latest_scoring

    world = tenant(app, "bank")
    people = bank_snapshot(1200)
    rng = np.random.default_rng(11)
    opened = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3650, len(people)), unit="D")
    people = people.assign(opened_on=opened.strftime("%Y-%m-%d"),
                           label_observed_on=np.where(people["Exited"] != "", END.isoformat(), ""))
    load_with_fields(app, world, people)
    status, message, version = train(app, world, "churn")
    assert status == "succeeded", message
    assert "field_opened_on" in version.columns and version.data_window["data_end"].startswith("2025-06-2")
    assert score(app, world)[0] == "succeeded"
    with in_tenant(app, world):
        summary = latest_scoring().summary
    drift = summary["drift"]["churn"]
    assert drift["psi"]["field_opened_on"] < 0.05 and "field_opened_on" not in drift["alerts"], drift


def test_fields_that_record_the_outcome_are_left_out_of_a_snapshot_model_and_the_page_names_them(app, runner,
                                                                                                   browser):
    """IBM's telco file has a churn reason for each leaver, a core system the day an account closed: each alone
    tells who left, so a model on them would be perfect on paper and predict nothing."""
    from tierwise.platform.cli import cli

    world = tenant(app, "bank")
    people = bank_snapshot(1200)
    left = people["Exited"] == "1"
    reasons = np.array(["Competitor offer", "Moved", "Fees", "Service"])[np.arange(len(people)) % 4]
    people = people.assign(**{"churn_reason": np.where(left, reasons, ""),
                              "closed_on": np.where(left, "2025-05-01", "")})
    load_with_fields(app, world, people)
    with fast_training():
        trained = runner.invoke(cli, ["train", "--tenant", world.slug, "--model", "churn"])
    assert trained.exit_code == 0, trained.output
    assert "left out, as each alone tells who left" in trained.output and "closed_on" in trained.output, trained.output
    with in_tenant(app, world):
        from tierwise.models.registry import champion

        version = champion("churn")
        columns, window, auc = version.columns, version.data_window, version.metrics["model"]["roc_auc"]
    assert sorted(window["outcome_fields"]) == ["churn_reason", "closed_on"], window
    assert "field_churn_reason" not in columns and "field_closed_on" not in columns, columns
    assert {"field_age", "field_products", "field_geography"} <= set(columns)
    assert 0.7 < auc < 0.95, auc  # the fields that come before leaving, not the answer
    browser.login(world)
    page = browser.get(f"/t/{world.slug}/models/").text
    assert "each alone tells who left, so it records the outcome rather than what comes before it." in page, page
    assert score(app, world)[0] == "succeeded"  # scoring reads the version's columns, without them


def test_a_field_that_records_the_outcome_is_flagged_on_the_model_it_gives_the_answer_to(app, runner, browser):
    """A core system's export marks the closed accounts: imported as a field, it gives a time-aware model the answer
    (a snapshot model leaves such a field out; a field as it is now cannot be cut at a cutoff)."""
    from tierwise.platform.cli import cli

    world = tenant(app)
    people, activity = shop(400, churn_share=0.3, seed=8)
    last = pd.to_datetime(activity.groupby("customer")["occurred_at"].max())
    closed = last < pd.Timestamp(END) - pd.Timedelta(days=45)
    people = people.assign(account_closed=np.where(closed.reindex(people["external_id"]).to_numpy(), "yes", "no"))
    load_with_fields(app, world, people, activity)
    with fast_training():
        trained = runner.invoke(cli, ["train", "--tenant", world.slug, "--model", "churn"])
    assert trained.exit_code == 0, trained.output
    assert "warning: the field account_closed carries" in trained.output, trained.output
    assert "check that it does not record the outcome itself" in trained.output
    browser.login(world)
    page = browser.get(f"/t/{world.slug}/models/").text
    assert 'data-testid="suspected-leak"' in page and "does not record the outcome itself" in page, page


def test_a_model_that_learns_from_several_fields_is_not_flagged(app):
    world = tenant(app, "bank")
    load_with_fields(app, world, bank_snapshot(1200))
    status, message, version = train(app, world, "churn")
    assert status == "succeeded", message
    assert version.data_window["suspected_leak"] is None


def test_a_churn_snapshot_with_two_months_of_transactions_learns_from_its_fields(app):
    """A bank's first export: labels, fields and the last two months of transactions, too short for any cutoff
    of a 90-day horizon. The labels and fields teach more than the refusal did; without labels it is refused."""
    world = tenant(app, "bank")
    people = bank_snapshot(1200)
    recent = people["external_id"].iloc[:300]
    activity = pd.DataFrame({"customer": np.repeat(recent.to_numpy(), 2),
                             "occurred_at": ["2025-05-05", "2025-06-05"] * len(recent), "amount": "100.00"})
    load_with_fields(app, world, people, activity)
    status, message, version = train(app, world, "churn")
    assert status == "succeeded", message
    assert version.data_window["design"] == SNAPSHOT and version.data_window["snapshot_reason"] == "short_history"
    assert "recency_days" not in version.columns

    bare = tenant(app, "bank")
    load_with_fields(app, bare, people.drop(columns=["Exited"]), activity)
    error = refused(app, bare, "churn")  # before any run is recorded, as before
    assert error.field == "horizon_days" and "the activity covers 31 days" in error.message, error.message
