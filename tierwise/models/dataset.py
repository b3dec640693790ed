"""The examples of a cutoff plan (``cutoffs``): the training and validation matrices and the drift reference.

Training cutoffs are built from the most recent backwards, only until a row budget is
reached, so a large tenant does not build cutoffs just for sampling to throw them away.
Where the plan's label windows overlap, the validation customers (chosen by a hash of
their own ids) are held out of training.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import pandas as pd
from flask_babel import lazy_gettext as _l

from tierwise.errors import ValidationError
from tierwise.models import features as f
from tierwise.models.cutoffs import Plan, trains_at_validation
from tierwise.models.days import tenant_day, tenant_days
from tierwise.models.horizons import horizon_end
from tierwise.models.labels import CHURN, imported_outcomes, labels_for, population_days
from tierwise.platform.numbers import readable_number

MIN_TRAINING_CUTOFFS = 2  # kept where the plan has them, however large the tenant
HELD_OUT_SHARE = 0.3  # of the customers, for validation when label windows must overlap
MAX_TRAINING_ROWS = 2_000_000  # earlier cutoffs are not built past this; the rows over it are sampled
DRIFT_REFERENCE_ROWS = 100_000  # customers binned for the drift reference: deciles need no more


class UnplacedLabels(ValidationError):
    """No training example churned, and the churn labels say some customers left, at no day a cutoff can use.

    ``reason``: ``undated`` (no day they left) or ``late`` (left after the last training
    horizon: a snapshot).  Training answers it with a snapshot model where it can
    (``snapshot_churn``); the message says why the labels went unused where it cannot.
    """

    def __init__(self, message, *, reason: str) -> None:
        super().__init__(message, field="label_observed_on")
        self.reason = reason


@dataclass
class Dataset:
    plan: Plan
    spec: f.FeatureSpec
    train_x: pd.DataFrame
    train_y: pd.Series
    train_cutoff: pd.Series  # which cutoff each training row comes from (0 the oldest)
    train_bucket: np.ndarray  # a stable 0-999 hash of each row's customer for the inner split (not the outer one's)
    valid_x: pd.DataFrame
    valid_y: pd.Series
    # The model's population as of the data's end, as scoring will see it on the same data (a sample):
    # what drift is measured against (``drift_reference``).
    now_x: pd.DataFrame | None = None
    extras: dict = field(default_factory=dict)  # kept in the version's data window (``identifier_fields``)
    customers: int = 0  # the tenant's customers when the examples were built: what scoring will walk


def build_dataset(plan: Plan, spec: f.FeatureSpec, *, seed: int = 7, progress=None) -> Dataset:
    """The examples of the plan's cutoffs; ``Dataset.plan`` names the training cutoffs actually used.

    Training cutoffs are built from the most recent backwards, a few per scan of the
    activity (``_batches``), and only until MAX_TRAINING_ROWS examples are reached:
    at a million customers two or three cutoffs hold that many, and building the
    other three only for sampling to throw most of them away took half the time.
    At least MIN_TRAINING_CUTOFFS are kept where the plan has them, so the model
    still sees more than one moment.
    """
    # In the tenant's own id order: the same data gives the same model however it was stored.  Ids
    # (UUIDv7) made within one millisecond of an import fall in random order, and LightGBM's bagging
    # draws rows by position: on the pharma demo, row order alone moved validation ROC AUC by 0.01.
    customers = f.customer_frame(spec).sort_values("external_id", kind="stable", ignore_index=True)
    spec, identifiers = f.without_identifiers(spec, customers)
    external = customers.set_index("customer_id")["external_id"]  # splits hash the tenant's own ids: reproducible
    outcomes = imported_outcomes() if plan.model == CHURN else None
    planned = len(plan.training_cutoffs) + 1
    valid_x = valid_y = None
    built: dict[datetime, tuple[pd.DataFrame, pd.Series]] = {}  # training cutoff: (x, y)
    if progress:
        progress("reading the activity", 1 / (planned + 1))
    rows = f.activity_rows(spec, pd.Index(customers["customer_id"]),
                           [plan.validation_cutoff, *plan.training_cutoffs, plan.data_end], plan.horizon_days)
    for batch in _batches(plan, len(customers), built):
        if progress:
            progress(f"features as of {', '.join(tenant_days(batch))}", (len(built) + 2) / (planned + 1))
        scanned = f.build_feature_sets(spec, batch, customers, plan.horizon_days, rows)
        for cutoff, (x, future) in zip(batch, scanned):
            y = labels_for(plan.model, x, future, cutoff, plan.horizon_days, outcomes)
            known = y.notna()
            x, y = x[known], y[known]
            if valid_x is None:  # the first scan's first cutoff, which may also be a training one
                valid_x, valid_y = x, y
                if plan.overlapping:
                    held_out = customer_buckets(external.reindex(x.index)) < HELD_OUT_SHARE * 1000
                    valid_x, valid_y = x[held_out], y[held_out]
                if not trains_at_validation(plan):
                    continue
            if plan.overlapping:
                keep = ~x.index.isin(valid_x.index)
                x, y = x[keep], y[keep]
            built[cutoff] = (x, y)
        del scanned
    now_x = drift_reference(plan, spec, customers, rows, external)
    del rows
    used = sorted(built)
    plan = replace(plan, training_cutoffs=used,
                   unused_cutoffs=[c for c in plan.training_cutoffs if c not in built])
    frames, labels = [built[c][0] for c in used], [built[c][1] for c in used]
    if not frames or sum(len(x) for x in frames) == 0:
        raise ValidationError(_l("no training examples: no customer has a known label at any training cutoff"),
                              field="horizon_days")
    origins = np.concatenate([np.full(len(x), number) for number, x in enumerate(frames)])
    total = len(origins)
    if total > MAX_TRAINING_ROWS:  # sampled evenly over the cutoffs, each frame before they are put together
        keep = np.sort(np.random.default_rng(seed).choice(total, MAX_TRAINING_ROWS, replace=False))
        origins = origins[keep]
        starts = np.cumsum([0] + [len(x) for x in frames])
        parts = [keep[(keep >= a) & (keep < b)] - a for a, b in zip(starts[:-1], starts[1:])]
        frames = [x.iloc[p] for x, p in zip(frames, parts)]
        labels = [y.iloc[p] for y, p in zip(labels, parts)]
    train_x, ids = _positional(frames)
    del frames, built
    train_bucket = customer_buckets(external.reindex(ids), salt="inner")
    train_y = pd.concat(labels, ignore_index=True)
    _check_usable(plan, train_x, train_y, valid_y, outcomes, customers=pd.Index(ids).nunique())
    return Dataset(plan, spec, train_x, train_y, pd.Series(origins), train_bucket, valid_x, valid_y, now_x,
                   extras={"identifier_fields": identifiers}, customers=len(customers))


def drift_reference(plan: Plan, spec: f.FeatureSpec, customers: pd.DataFrame, rows, external: pd.Series
                    ) -> pd.DataFrame:
    """The model's population as of the data's end: what scoring on the same data will see (a sample).

    Drift answers "has the population moved since this model was trained?", so it is
    measured against the customers as they were when it was trained, not at the
    validation cutoff.  That cutoff lies a horizon back (a year for the value model),
    where every customer's tenure was shorter and, on a history imported from one
    date, the year-long windows were not yet full: measured against it, the first
    scoring on unchanged data alerted, and retraining could never clear the alert.
    """
    [(x, _future)] = f.build_feature_sets(spec, [plan.data_end], customers, 0, rows)
    return drift_sample(x[(x["recency_days"] <= population_days(plan.model, plan.horizon_days)).to_numpy()], external)


def drift_sample(x: pd.DataFrame, external: pd.Series) -> pd.DataFrame:
    """At most about ``DRIFT_REFERENCE_ROWS`` of ``x``'s customers, the same ones every time (a hash of their
    own ids): a drift reference's deciles need no more."""
    if len(x) > DRIFT_REFERENCE_ROWS:
        share = -(-DRIFT_REFERENCE_ROWS * 1000 // len(x))
        x = x[customer_buckets(external.reindex(x.index), salt="drift") < share]
    return x


def _batches(plan: Plan, customers: int, built: dict):  # ``built``: the caller's, filled in between scans
    """The cutoffs of each scan: the validation cutoff and the most recent training cutoffs first.

    A cutoff has at most one example per customer, so the first scan takes as many
    training cutoffs as could be needed to reach the row budget (two at least); each
    further scan as many more as the examples per cutoff so far say are missing.
    At a few hundred thousand customers or fewer that is every cutoff in one scan.
    """
    pending = sorted((c for c in plan.training_cutoffs if c != plan.validation_cutoff), reverse=True)
    count = max(MIN_TRAINING_CUTOFFS, -(-MAX_TRAINING_ROWS // max(customers, 1))) - trains_at_validation(plan)
    first, pending = pending[:count], pending[count:]
    yield [plan.validation_cutoff, *sorted(first)]  # the validation cutoff first: it decides who is held out
    while pending:
        rows = sum(len(y) for _x, y in built.values())
        if rows >= MAX_TRAINING_ROWS:
            return
        count = max(1, -(-(MAX_TRAINING_ROWS - rows) * len(built) // max(rows, 1)))
        batch, pending = pending[:count], pending[count:]
        yield sorted(batch)


def _positional(frames: list[pd.DataFrame]) -> tuple[pd.DataFrame, pd.Index]:
    """The cutoffs' rows one after another, addressed by position (customer ids repeat), and their ids.

    A categorical column keeps every category of every cutoff, sampled rows or not
    (concat of differing category sets would fall back to object).
    """
    kinds = {}
    for column in frames[0].columns:
        dtypes = [x[column].dtype for x in frames]
        if isinstance(dtypes[0], pd.CategoricalDtype) and any(d != dtypes[0] for d in dtypes):
            kinds[column] = pd.CategoricalDtype(sorted(set().union(*(d.categories for d in dtypes))))
    ids = pd.Index(np.concatenate([x.index.to_numpy() for x in frames]))
    return pd.concat([x.astype(kinds) if kinds else x for x in frames], ignore_index=True), ids


def customer_buckets(ids: pd.Series, salt: str = "") -> np.ndarray:
    """0-999 per customer (external) id, from a hash: the same customer always lands in the same bucket.

    A different ``salt`` gives an independent split (the inner split must not reuse the outer one).
    """
    ids = pd.Series(ids.to_numpy(), dtype="string")
    return (pd.util.hash_pandas_object(salt + ids, index=False).to_numpy() % 1000).astype(int)


def _check_usable(plan: Plan, train_x: pd.DataFrame, train_y: pd.Series, valid_y: pd.Series,
                  outcomes: pd.DataFrame | None = None, customers: int | None = None) -> None:
    """Refuse examples no model can be learnt from or judged on, saying what to change."""
    if len(valid_y) < 20:
        cutoff = tenant_day(plan.validation_cutoff)
        if len(valid_y) == 1:
            raise ValidationError(_l("only 1 customer has a known label at the validation cutoff %(cutoff)s: too few "
                                     "to judge a model", cutoff=cutoff), field="customers")
        raise ValidationError(_l("only %(count)s customers have a known label at the validation cutoff %(cutoff)s: "
                                 "too few to judge a model", count=len(valid_y), cutoff=cutoff), field="customers")
    if plan.model == CHURN:
        for name, y in (("training", train_y), ("validation", valid_y)):
            positives = int(y.sum())
            if name == "training" and positives == 0 and outcomes is not None:
                _refuse_unused_labels(plan, outcomes, count=len(y))
            if positives == 0 or positives == len(y):
                raise ValidationError(_one_class(name, stayed=positives == 0, count=len(y), customers=customers,
                                                 cutoffs=len(plan.training_cutoffs), days=plan.horizon_days),
                                      field="horizon_days")
        return
    trained_on, judged_on = float(train_y.clip(lower=0.0).sum()), float(valid_y.clip(lower=0.0).sum())
    if trained_on == 0.0 and not (train_x["amount_sum_365d"].fillna(0.0) > 0).any():  # no amounts at all
        raise ValidationError(_l("every training example's amount in its horizon is zero (%(count)s customers): "
                                 "a value model needs amounts; import activity with its amounts",
                                 count=readable_number(len(train_y))),
                              field="amount")
    if trained_on == 0.0 or judged_on == 0.0:
        # Monthly bills on the 15th and a 20-day horizon from the 14th: every window falls between two bills.
        # Judged there, model and baselines score alike on nothing, and the version would be offered as a
        # champion on metrics that say nothing.
        raise ValidationError(_l("no amount falls in the %(days)s days after the cutoffs (the validation cutoff is "
                                 "%(cutoff)s), though the customers have amounts before them: the horizon falls "
                                 "between their bills or orders; try a horizon of at least one billing cycle",
                                 days=plan.horizon_days, cutoff=tenant_day(plan.validation_cutoff)),
                              field="horizon_days")


def _refuse_unused_labels(plan: Plan, outcomes: pd.DataFrame, *, count: int) -> None:
    """Refuse training where customers are labelled churned but no label could mark a training example.

    A snapshot (Kaggle's telco or bank churn: who left, as of one day) labels its leavers
    without the day they left, or with the snapshot's day, after every training horizon.
    Neither places a leaver at a training cutoff, and "try another horizon" would send the
    admin round in circles: say which labels went unused, and why.
    """
    churned = outcomes[outcomes["churned"] == 1]["observed_on"]
    if churned.empty:
        return
    undated = int(churned.isna().sum())
    if undated:
        raise UnplacedLabels(_l(
            "all %(count)s training customers stayed: a churn model needs some who churned and some who stayed. "
            "%(labelled)s customers are labelled churned without the day they left (label_observed_on), so their "
            "activity decides, and it does not stop: import the day each one left with the labels "
            "(--label-date-column in the CLI), or activity that stops where they left", count=readable_number(count), labelled=readable_number(undated)),
            reason="undated")
    last_end = horizon_end(max(plan.training_cutoffs), plan.horizon_days)
    late = int((churned >= pd.Timestamp(last_end)).sum())
    if late:
        raise UnplacedLabels(_l(
            "all %(count)s training customers stayed: a churn model needs some who churned and some who stayed. "
            "%(labelled)s customers labelled churned left on or after %(day)s, where the last training horizon "
            "ends, too late for a training cutoff to see them leave: a snapshot taken as its customers left "
            "cannot train a churn model; import a history in which some left earlier (their activity stopping, "
            "or labels dated inside it)", count=readable_number(count), labelled=readable_number(late),
            day=tenant_day(last_end)), reason="late")


def _one_class(name: str, *, stayed: bool, count: int, customers: int | None = None, cutoffs: int = 1,
               days: int = 90) -> str:
    """Why a churn model cannot learn from ``name`` (training or validation) customers who are all one outcome.

    Training examples are customers at several cutoffs: "all 240 training customers" of a tenant of 40 read
    as a miscount.  And "try another horizon" sent a small tenant round every horizon: say which way a
    horizon moves the labels, and that a tenant none of whose customers has left has nothing to learn from.
    """
    said = {"count": readable_number(count), "customers": readable_number(customers if customers else count),
            "cutoffs": readable_number(cutoffs), "days": readable_number(days)}  # "4,077", as every page says one
    if name == "training":
        if stayed:
            return _l("none of the %(customers)s customers in training left (%(count)s examples at %(cutoffs)s "
                      "cutoffs): none went %(days)s days without activity after a cutoff, nor has a churn label dated "
                      "then, and a churn model needs some who left. A shorter horizon counts a shorter silence as "
                      "leaving (it must be longer than the gap between a customer's usual activity); a tenant none "
                      "of whose customers has left yet has no churn to learn from", **said)
        return _l("all %(customers)s customers in training left (%(count)s examples at %(cutoffs)s cutoffs): every "
                  "one went %(days)s days without activity after a cutoff, and a churn model needs some who stayed. "
                  "The horizon must be longer than the gap between a customer's usual activity", **said)
    if stayed:
        return _l("all %(count)s validation customers stayed: a churn model needs some who churned and some who "
                  "stayed; none went %(days)s days without activity after the validation cutoff, and a shorter "
                  "horizon counts a shorter silence as leaving", **said)
    return _l("all %(count)s validation customers churned: a churn model needs some who churned and some who "
              "stayed; every one went %(days)s days without activity after the validation cutoff, and the horizon "
              "must be longer than the gap between a customer's usual activity", **said)
