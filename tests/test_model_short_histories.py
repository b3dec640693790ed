"""Churn models on short histories: a tenant that onboards with six or nine months of bills or statements.

With a 90-day horizon, six months hold labels for the first three only.  The churn
model once learnt from a cutoff a month or two in and never from the validation
cutoff's other customers, whose history is the longest: on six months of the
synthetic bank it predicted a third of the churn and ranked leavers below the
recency rule.  On nine months its cutoffs lay two and three months in, where the
90 days a churn population is drawn from reached before the data: the customers
silent since before it began, the clearest leavers, were missing.
"""
from __future__ import annotations

from datetime import timedelta

from tests.conftest import provision_world
from tests.model_fixtures import fast_training
from tests.model_helpers import seed_history
from tests.rule_helpers import in_tenant
from tierwise.models import cutoffs
from tierwise.models.registry import ModelVersion
from tierwise.models.runs import launch_training


def test_no_churn_training_cutoff_lies_closer_to_the_data_start_than_the_horizon_its_population_spans(app):
    world = provision_world(app, "bank", prefix="short")
    seed_history(app, world, customers=60, months=9)
    with in_tenant(app, world):
        plan = cutoffs.plan_cutoffs("churn", 90)
        value = cutoffs.plan_cutoffs("value", 90)
    assert plan.overlapping  # nine months hold no two 90-day label windows before the validation cutoff's
    assert all(cutoff - plan.data_start >= timedelta(days=90) for cutoff in plan.training_cutoffs), plan
    assert plan.training_cutoffs[-1] == plan.validation_cutoff  # its other customers, the history most like scoring's
    assert value.training_cutoffs[-1] < value.validation_cutoff  # value models keep their plan


def test_six_months_of_statements_train_a_churn_model_at_the_churn_rate_that_ranks_leavers_above_the_recency_rule(
        app):
    world = provision_world(app, "bank", prefix="short")
    seed_history(app, world, customers=1500, months=6)  # monthly statements; most leavers fade first
    with fast_training(), in_tenant(app, world):
        run = launch_training("churn", started_by="test")
        assert run.status == "succeeded", run.message
        version = ModelVersion.get(run.version_id)
        window, judged = version.data_window, version.metrics
    assert window["training_cutoffs"][-1] == window["validation_cutoff"]  # the latest moment the labels allow
    model, rule = judged["model"], judged["recency_rule"]
    predicted = sum(b["predicted"] * b["customers"] for b in model["calibration"]) / model["examples"]
    assert 0.6 * model["base_rate"] <= predicted <= 1.5 * model["base_rate"], (predicted, model["base_rate"])
    assert model["pr_auc"] >= rule["pr_auc"] + 0.1, (model["pr_auc"], rule["pr_auc"])
