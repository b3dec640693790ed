"""What happened after a cutoff: the targets the models learn.

- **Churn** within ``horizon`` days of the cutoff.  Where the tenant imported an
  outcome label (``churn_label`` with the date it was observed), it decides:
  churned on a date inside the horizon is 1; churned before the cutoff leaves
  the customer out (already gone); churned after the horizon, or known to stay
  past it, is 0.  Otherwise the label comes from activity: no activity in the
  horizon is 1.  The population at a cutoff is the customers active in the
  ``horizon`` days before it: a churn model ranks the customers who could still
  leave.
- **Value**: the total amount in the ``horizon`` days after the cutoff.  The
  population is every customer with any activity in the year before it.

A label is only known when the whole horizon lies before ``data_end``; the
caller never asks for one that is not.  What happened in each horizon (the
amount and the number of events) comes from the same scan of the activity as
the features (``features.build_feature_sets``): one pass over the table for
every cutoff, never one more per label.
"""
from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from tierwise.models.frames import read_frame
from tierwise.models.horizons import horizon_end
from tierwise.platform import tenancy
from tierwise.platform.tenant import tenant_timezone
from tierwise.tenants.customers import Customer

CHURN, VALUE = "churn", "value"
VALUE_POPULATION_DAYS = 365


def _tenant() -> int:
    return tenancy.current_tenant_id()


def imported_outcomes() -> pd.DataFrame:
    c = Customer.__table__
    select = (sa.select(c.c.id.label("customer_id"), sa.cast(c.c.churn_label, sa.Integer).label("churned"),
                        sa.cast(c.c.label_observed_on, sa.String).label("observed_on"))
              .where(c.c.tenant_id == _tenant(), c.c.churn_label.is_not(None)))
    frame = read_frame(select, dtypes={"customer_id": "string", "churned": "float64", "observed_on": "string"})
    # A day without a time is the start of that day on the tenant's clock, as an as-of is
    # (``days.tenant_midnight``): a Shanghai label of 1 March is 29 February 16:00 UTC.
    frame["observed_on"] = (pd.to_datetime(frame["observed_on"], errors="coerce")
                            .dt.tz_localize(tenant_timezone(), nonexistent="shift_forward", ambiguous=True)
                            .dt.tz_convert("UTC"))  # a zone whose clocks change at midnight (Santiago) has days without one
    return frame.set_index("customer_id")


def population_days(model: str, horizon_days: int) -> int:
    """A customer belongs to a model's population with activity in this many days before the cutoff."""
    return horizon_days if model == CHURN else VALUE_POPULATION_DAYS


def churn_labels(features: pd.DataFrame, future: pd.DataFrame, cutoff: datetime, horizon_days: int,
                 outcomes: pd.DataFrame | None = None) -> pd.Series:
    """1 churned, 0 stayed, NaN unknown or outside the population; indexed like ``features``.

    ``future``: each customer's ``future_amount`` and ``future_events`` in the horizon.
    """
    active = features["recency_days"] <= population_days(CHURN, horizon_days)
    future = future.reindex(features.index)
    derived = pd.Series(np.where(future["future_events"].fillna(0) > 0, 0.0, 1.0), index=features.index)
    label = derived.where(active)
    outcomes = imported_outcomes() if outcomes is None else outcomes
    if not outcomes.empty:
        known = outcomes.reindex(features.index)
        cutoff_ts, end_ts = pd.Timestamp(cutoff), pd.Timestamp(horizon_end(cutoff, horizon_days))
        dated = known["observed_on"].notna()
        churned = known["churned"] == 1
        stayed = known["churned"] == 0
        imported = pd.Series(np.nan, index=features.index)
        imported[churned & dated & (known["observed_on"] >= cutoff_ts) & (known["observed_on"] < end_ts)] = 1.0
        imported[churned & dated & (known["observed_on"] >= end_ts)] = 0.0
        imported[stayed & (~dated | (known["observed_on"] >= end_ts))] = 0.0
        gone = churned & dated & (known["observed_on"] < cutoff_ts)
        label = imported.where(imported.notna(), label).where(active & ~gone)
    return label


def value_labels(features: pd.DataFrame, future: pd.DataFrame, horizon_days: int) -> pd.Series:
    """The amount in the horizon (0 for no activity); NaN outside the population."""
    population = features["recency_days"] <= population_days(VALUE, horizon_days)
    future = future.reindex(features.index)
    return future["future_amount"].fillna(0.0).where(population)


def labels_for(model: str, features: pd.DataFrame, future: pd.DataFrame, cutoff: datetime, horizon_days: int,
               outcomes: pd.DataFrame | None = None) -> pd.Series:
    if model == CHURN:
        return churn_labels(features, future, cutoff, horizon_days, outcomes)
    return value_labels(features, future, horizon_days)
