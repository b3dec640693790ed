"""A churn model from a snapshot of labels: who left, as of one day, with no time to learn it over.

Public churn data sets, and many a first export from a bank's or a telco's core
system, are a snapshot: every customer's fields as of one day and a flag saying
who had left by then (Kaggle's bank churn ``Exited``, the telco file's
``Churn``), with no transactions, or with bills that run to the snapshot for
leavers and stayers alike.  The time-aware design (``cutoffs``, ``dataset``)
learns who leaves from what was seen before a cutoff and what followed it; such
labels give it nothing to place at any cutoff, and it refused them.

Here the labels train a model directly, on the customers' **profile** (their
registry fields and party type, as ``FeatureSpec.profile_columns``):

- **Examples**: every customer with a churn label; the label is the outcome.
- **Features**: the profile only.  Activity and interactions are left out on
  purpose: as of the snapshot a leaver's activity has already stopped, so its
  recency would tell the model the answer it is meant to predict.  Fields are
  what the snapshot says they were, which is the data set's own nature.
- **Validation**: a share of the labelled customers held out at random (a hash
  of their own ids, so the same data splits the same way): there is no later
  moment to validate on.  The model page and the CLI say so.
- **Baselines**: logistic regression on the same features.  A recency rule needs
  activity, which this design does not read.
- **Scoring**: every customer not labelled as gone gets a probability (the
  stayers are who the RM can still keep; unlabelled customers are scored too).

Training falls back to this design only where the time-aware one cannot use the
labels: a tenant with churn labels and no activity, or one whose training
examples include no leaver while the labels name leavers no cutoff can place
(``dataset.UnplacedLabels``).
"""
from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from tierwise.errors import ValidationError
from tierwise.models import features as f
from tierwise.models.cutoffs import SNAPSHOT, Plan
from tierwise.models.days import tenant_day
from tierwise.models.dataset import HELD_OUT_SHARE, Dataset, customer_buckets, drift_sample
from tierwise.models.labels import CHURN, imported_outcomes
from tierwise.models.leaks import outcome_columns
from tierwise.platform import tenancy
from tierwise.platform.db import db, utcnow
from tierwise.platform.numbers import readable_number
from tierwise.tenants.activity import data_end
from tierwise.tenants.customers import Customer

MIN_VALIDATION = 20  # held-out customers below which no metric means anything (as ``dataset`` refuses)
#: Why the time-aware design could not use the labels (``Plan.snapshot_reason``), as the model page says it.
REASONS = ("no_activity", "short_history", "undated", "late")


def labelled_outcomes() -> tuple[int, int]:
    """(stayed, churned): the customers with each imported churn label, in one aggregate."""
    c = Customer.__table__
    stayed, churned = db.session.execute(
        sa.select(sa.func.count(sa.case((c.c.churn_label.is_(False), 1))),
                  sa.func.count(sa.case((c.c.churn_label.is_(True), 1))))
        .where(c.c.tenant_id == tenancy.current_tenant_id(), c.c.churn_label.is_not(None))
        .execution_options(tenant_filtered=True)).one()
    return int(stayed), int(churned)


def labels_without_activity() -> bool:
    """Whether the tenant has churn labels and no activity at all: the Kaggle bank churn shape."""
    return data_end() is None and any(labelled_outcomes())


def snapshot_moment(outcomes: pd.DataFrame) -> datetime:
    """The day the labels describe: the latest day a label was observed, else where the data ends, else now."""
    dated = outcomes["observed_on"].dropna()
    if not dated.empty:
        return dated.max().to_pydatetime()
    return data_end() or utcnow()


def build_dataset(spec: f.FeatureSpec, *, horizon_days: int, reason: str, as_of: datetime | None = None,
                  seed: int = 7) -> Dataset:
    """The labelled customers' profiles, a random share held out for validation; refusals say what is missing.

    ``horizon_days`` is kept with the version (the tenant's churn question) though a snapshot has
    none; ``reason`` is one of ``REASONS``.  An ``as_of`` is refused: the snapshot's labels and
    fields are as of its own day, and training on them "as of" an earlier one would read what
    was only known later while the version claimed otherwise.
    """
    if as_of is not None:
        raise ValidationError(_l(
            "the churn labels are a snapshot (who had left by one day) and the model learns from the customers' "
            "fields as they are now, so it cannot be trained as of %(as_of)s: nothing in a snapshot says what was "
            "known then; train without an as-of", as_of=tenant_day(as_of)), field="as_of")
    outcomes = imported_outcomes()
    stayed, churned = int((outcomes["churned"] == 0).sum()), int((outcomes["churned"] == 1).sum())
    if not stayed or not churned:
        raise ValidationError(_one_outcome(stayed, churned), field="churn_label")
    customers = f.customer_frame(spec).sort_values("external_id", kind="stable", ignore_index=True)
    spec, identifiers = f.without_identifiers(spec, customers)
    external = customers.set_index("customer_id")["external_id"]
    moment = snapshot_moment(outcomes)
    profiles = f.profile_frame(spec, customers, moment)
    label = outcomes["churned"].reindex(profiles.index)
    known = label.notna().to_numpy()
    x, y = profiles[known], label[known]
    outcome = outcome_columns(x, y)
    if outcome:  # left out of the features, the drift reference and so of scoring; the version says so
        profiles, x = profiles.drop(columns=outcome), x.drop(columns=outcome)
    if not _informative(x):
        raise ValidationError(_no_fields(reason, len(y)), field="fields")
    held_out = customer_buckets(external.reindex(x.index)) < HELD_OUT_SHARE * 1000
    valid_x, valid_y = x[held_out], y[held_out]
    train_x, train_y = x[~held_out], y[~held_out]
    _check_split(train_y, valid_y)
    ids = train_x.index
    train_x, train_y = train_x.reset_index(drop=True), train_y.reset_index(drop=True)
    first = outcomes["observed_on"].dropna().min()
    plan = Plan(model=CHURN, horizon_days=horizon_days, data_start=moment if pd.isna(first) else first.to_pydatetime(),
                data_end=moment, validation_cutoff=moment, training_cutoffs=[], overlapping=True, design=SNAPSHOT,
                snapshot_reason=reason, labels_dated=not pd.isna(first),
                outcome_fields=[column.removeprefix("field_") for column in outcome])
    return Dataset(plan, spec, train_x, train_y, pd.Series(np.zeros(len(train_x), dtype=int)),
                   customer_buckets(external.reindex(ids), salt="inner"), valid_x, valid_y,
                   now_x=_drift_reference(profiles, label, external), extras={"identifier_fields": identifiers},
                   customers=len(customers))


def _informative(x: pd.DataFrame) -> bool:
    """Whether any profile column tells two labelled customers apart (a model has something to split on)."""
    return any(x[column].nunique(dropna=True) > 1 or (x[column].isna().any() and x[column].notna().any())
               for column in x.columns)


def _drift_reference(profiles: pd.DataFrame, label: pd.Series, external: pd.Series) -> pd.DataFrame:
    """The customers scoring will score (all but those labelled gone), a hashed sample as ``dataset`` takes."""
    return drift_sample(profiles[(label != 1).to_numpy()], external)


def _check_split(train_y: pd.Series, valid_y: pd.Series) -> None:
    """Refuse a split too small to judge, or with one outcome on either side."""
    if len(valid_y) < MIN_VALIDATION:
        raise ValidationError(_l(
            "only %(count)s labelled customers are held out to judge the model (%(share)s of them, at random: the "
            "labels are a snapshot, with no later time to validate on); at least %(least)s are needed: import the "
            "labels of more customers", count=readable_number(len(valid_y)), share=f"{HELD_OUT_SHARE:.0%}",
            least=MIN_VALIDATION), field="churn_label")
    for name, y in (("training", train_y), ("validation", valid_y)):
        positives = int(y.sum())
        if positives == 0 or positives == len(y):
            raise ValidationError(_l(
                "the %(count)s %(side)s customers all have one churn label: too few leavers or stayers among the "
                "labelled customers to split between training and validation; import the labels of more customers",
                count=readable_number(len(y)), side=_SIDES[name]), field="churn_label")


_SIDES = {"training": _l("training"), "validation": _l("validation")}


def _no_fields(reason: str, count: int) -> str:
    """Why the labels cannot train on fields that tell no one apart, and what else would place the leavers.

    A tenant with activity has it already: what it lacks is the day each leaver left (``undated``),
    or leavers early enough for a cutoff to see them go (``late``), as the time-aware refusal said.
    """
    said = {"count": readable_number(count)}
    if reason == "undated":
        return _l("the churn labels of %(count)s customers name leavers without the day they left, and their "
                  "activity does not stop, so a churn model learns from the customers' fields, and these customers "
                  "have none that differ: import their fields (age, balance, products held, contract...) with the "
                  "labels, or the day each one left (label_observed_on; --label-date-column in the CLI)", **said)
    if reason == "late":
        return _l("the churn labels of %(count)s customers are dated after the last training horizon (a snapshot "
                  "taken as its customers left), so a churn model learns from the customers' fields, and these "
                  "customers have none that differ: import their fields (age, balance, products held, contract...) "
                  "with the labels, or a history in which some left earlier (their activity stopping, or labels "
                  "dated inside it)", **said)
    return _l("the churn labels of %(count)s customers are a snapshot (who had left by one day), so a churn model "
              "learns from the customers' fields, and these customers have none that differ: import their fields "
              "(age, balance, products held, contract...) with the labels, or activity over time", **said)


def _one_outcome(stayed: int, churned: int) -> str:
    if churned:
        return _l("all %(count)s labelled customers churned: a churn model needs some who stayed too",
                  count=readable_number(churned))
    return _l("all %(count)s labelled customers stayed: a churn model needs some who left too",
              count=readable_number(stayed))


def gone(outcomes: pd.DataFrame, customers: pd.Index) -> np.ndarray:
    """Whether each customer is labelled as having left, dated or not: a snapshot model scores none of them."""
    if outcomes.empty:
        return np.zeros(len(customers), dtype=bool)
    return (outcomes["churned"].reindex(customers.astype(str)) == 1).fillna(False).to_numpy(dtype=bool)
