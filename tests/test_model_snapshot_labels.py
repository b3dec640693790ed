"""Churn training on snapshots: who left, as of one day, as public churn data sets hold it.

Kaggle's bank churn file is customers with fields and an ``Exited`` flag and no
transactions; the telco file has a ``Churn`` flag beside bills that run to the
snapshot for leavers and stayers alike.  Neither can train a churn model, which
learns who left from what it saw before a cutoff.  What a tenant is owed is a
refusal that names the labels it imported and why they went unused, not "import
some activity" alone or "try another horizon", which no horizon answers.
"""
from __future__ import annotations

import pandas as pd

from tests.test_model_data_shapes import END, load, shop, tenant, train


def labelled(people: pd.DataFrame, *, churned_every: int = 4, observed_on: str | None = None) -> pd.DataFrame:
    """``people`` with a yes/no churn label (every ``churned_every``-th left), dated ``observed_on`` if given."""
    people = people.assign(churned=["yes" if i % churned_every == 0 else "no" for i in range(len(people))])
    return people.rename(columns={"churned": "churn_label"}).assign(
        **({"label_observed_on": observed_on} if observed_on else {}))


def test_labels_without_any_activity_are_refused_saying_the_models_learn_from_activity(app):
    world = tenant(app, "bank")
    people, _activity = shop(40)
    load(app, world, labelled(people))
    status, message, version = train(app, world, "churn")
    assert status == "failed" and version is None
    assert message.startswith("this tenant has no activity yet: import some before training"), message
    assert "the churn labels of 40 customers" in message and "cannot train a model without it" in message, message


def test_leavers_labelled_without_the_day_they_left_are_named_when_the_activity_shows_no_leaver(app):
    """The telco shape: everyone's bills run to the snapshot, and the leavers carry a label without a day."""
    world = tenant(app)
    people, activity = shop(200, churn_share=0.0)
    load(app, world, labelled(people), activity)
    status, message, version = train(app, world, "churn")
    assert status == "failed" and version is None
    assert "50 customers are labelled churned without the day they left (label_observed_on)" in message, message
    assert "--label-date-column" in message and "try another horizon" not in message, message


def test_leavers_labelled_on_the_snapshot_day_are_named_as_too_late_for_any_training_cutoff(app):
    world = tenant(app)
    people, activity = shop(200, churn_share=0.0)
    load(app, world, labelled(people, observed_on=END.isoformat()), activity)
    status, message, version = train(app, world, "churn")
    assert status == "failed" and version is None
    assert "50 customers labelled churned left on or after" in message, message
    assert "a snapshot taken as its customers left cannot train a churn model" in message, message
    assert "try another horizon" not in message, message
