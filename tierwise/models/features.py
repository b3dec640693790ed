"""Features as of a cutoff: what was known about each customer at that moment, and nothing later.

One set-based query per source (``scans``) aggregates the activity and interactions that
happened *before* the cutoff (recency, frequency and monetary value over several
windows, year-on-year amounts, complaints by channel and severity, complaints
still unresolved at the cutoff); pandas derives the ratios and day counts.  The
tenant's registry fields are added as they are stored (categoricals stay
categorical: LightGBM splits on them natively).

What a model was trained on is a ``FeatureSpec``: the activity categories and
interaction channels that get their own columns, and the fields.  Scoring
rebuilds exactly those columns, so a field added later does not break a model.

Leakage: activity and interactions are cut at the cutoff (a test changes the
data after it and checks nothing moves), and a complaint resolved after the
cutoff counts as unresolved at it.  Registry fields have no history: they are
taken as they are now.  ``status`` and the churn label are never features: they
record the outcome a churn model predicts.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import sqlalchemy as sa

from tierwise.models.frames import read_frame
from tierwise.models.horizons import horizon_end, label_days
from tierwise.models.scans import (WINDOWS, YEAR_AGO, ActivityRows, activity_frames, current_tenant,
                                   interaction_frame, read_activity, serial)
from tierwise.platform.db import db
from tierwise.tenants.activity import Activity, data_end
from tierwise.tenants.category_labels import category_label
from tierwise.tenants.customers import Customer
from tierwise.tenants.fields import FieldType, field_registry
from tierwise.tenants.interactions import Interaction

MAX_CATEGORIES = 6  # activity categories with their own 365-day sum
MAX_CHANNELS = 10
FIELD_TYPES = (FieldType.NUMBER, FieldType.INTEGER, FieldType.BOOLEAN, FieldType.CATEGORY, FieldType.DATE)

# Feature labels for people (reasons, importance); categories, channels and fields are filled in.
LABELS = {
    # said as the rules say days_since_last(activity) and (complaints) (``rules.phrases``): one thing, one name
    "recency_days": ("距上次活动天数", "Days since the last activity"),
    "tenure_days": ("首次交易至今天数", "Days since first activity"),
    "amount_sum_{w}d": ("近{w}天金额", "Amount, last {w} days"),
    "events_{w}d": ("近{w}天交易次数", "Activity count, last {w} days"),
    "amount_max_365d": ("近365天单笔最大金额", "Largest amount, last 365 days"),
    "amount_avg_365d": ("近365天平均单笔金额", "Average amount, last 365 days"),
    "amount_per_day_{w}d": ("近{w}天日均金额", "Amount per day, last {w} days"),
    "amount_trend_90d": ("近90天金额环比变化", "Amount trend, 90 days against the 90 before"),
    "events_trend_90d": ("近90天交易次数环比变化", "Activity count trend, 90 days against the 90 before"),
    "amount_trend_yoy": ("近90天金额同比变化", "Amount trend, 90 days against the same period a year ago"),
    "amount_last_vs_peers": ("最近一笔金额相对平均的变化（同期客户中的百分位）",
                             "Latest amount against the average, percentile among customers at the same date"),
    "amount_trend_vs_peers": ("近90天金额环比变化（同期客户中的百分位）",
                              "Amount trend over 90 days, percentile among customers at the same date"),
    "amount_365d_cat_{c}": ("近365天金额：{c}", "Amount, last 365 days: {c}"),
    "interactions_365d": ("近365天互动次数", "Interactions, last 365 days"),
    "complaints_90d": ("近90天投诉次数", "Complaints, last 90 days"),
    "complaints_365d": ("近365天投诉次数", "Complaints, last 365 days"),
    "public_complaints_365d": ("近365天舆情渠道投诉", "Complaints via media or regulator, last 365 days"),
    "severe_interactions_365d": ("近365天严重（4-5级）互动", "Severe (4-5) interactions, last 365 days"),
    "unresolved_complaints": ("未解决投诉数", "Unresolved complaints"),
    "days_since_complaint": ("距上次投诉天数", "Days since the last complaint"),
    "interactions_365d_ch_{c}": ("近365天互动：{c}", "Interactions, last 365 days: {c}"),
    "party_type": ("客户性质", "Party type"),  # individual or organisation; 客户类型 is a bank field (account type)
}
PACED_LABEL = ("{f}与近一年金额之比", "{f} against the last year's amount")  # ``paced_<field>``


@dataclass(frozen=True)
class FeatureSpec:
    """The columns a model uses, fixed when it is trained."""

    categories: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()  # (name, field type)
    field_labels: dict[str, tuple[str, str]] = field(default_factory=dict, compare=False)
    # Numeric fields also divided by the customer's last year of activity (``paced_<field>``): value models.
    # A value model boosts from the run rate on a log scale, so what it learns multiplies that rate; a balance
    # or a contracted capacity that sets the pace of a customer's activity does so in proportion, a split on
    # the ratio, which trees on the field and the amount apart approximate with a staircase along a diagonal.
    # On the demo bank (18 months), its value model's RMSE went from 588k (the run rate's 242k) to 140k.
    # Churn models do without: the same columns gave logistic regression as much as LightGBM.
    paced: bool = False

    def to_dict(self) -> dict:
        data = asdict(self)
        data["fields"] = [list(f) for f in self.fields]
        data["field_labels"] = {k: list(v) for k, v in self.field_labels.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "FeatureSpec":
        return cls(categories=tuple(data.get("categories", ())), channels=tuple(data.get("channels", ())),
                   fields=tuple((name, kind) for name, kind in data.get("fields", ())),
                   field_labels={k: tuple(v) for k, v in data.get("field_labels", {}).items()},
                   paced=bool(data.get("paced", False)))  # versions trained before it had none

    @property
    def paced_fields(self) -> list[str]:
        return [name for name, kind in self.fields if kind in (FieldType.NUMBER, FieldType.INTEGER)] \
            if self.paced else []

    def profile_columns(self) -> list[str]:
        """The columns that describe the customer rather than its activity (``profile_frame``)."""
        return ["party_type"] + [f"field_{name}" for name, _ in self.fields]

    @property
    def categorical(self) -> list[str]:
        return ["party_type"] + [f"field_{name}" for name, kind in self.fields if kind == FieldType.CATEGORY]

    def columns(self) -> list[str]:
        names = ["recency_days", "tenure_days"]
        for w in WINDOWS:
            names += [f"amount_sum_{w}d", f"events_{w}d"]
        names += ["amount_per_day_90d", "amount_per_day_365d"]
        names += ["amount_max_365d", "amount_avg_365d", "amount_trend_90d", "events_trend_90d", "amount_trend_yoy"]
        names += ["amount_last_vs_peers", "amount_trend_vs_peers"]
        names += [f"amount_365d_cat_{i}" for i in range(len(self.categories))]
        names += ["interactions_365d", "complaints_90d", "complaints_365d", "public_complaints_365d",
                  "severe_interactions_365d", "unresolved_complaints", "days_since_complaint"]
        names += [f"interactions_365d_ch_{i}" for i in range(len(self.channels))]
        names += ["party_type"] + [f"field_{name}" for name, _ in self.fields]
        names += [f"paced_{name}" for name in self.paced_fields]
        return names

    def label(self, column: str, locale: str | None) -> str:
        """A feature's name for people, in Chinese or English."""
        chinese = (locale or "").startswith("zh")
        if column.startswith("field_"):
            pair = self.field_labels.get(column[6:], (column[6:], column[6:]))
            return pair[0] if chinese else pair[1]
        if column.startswith("paced_"):
            said = self.label(f"field_{column[6:]}", locale)
            return (PACED_LABEL[0] if chinese else PACED_LABEL[1]).format(f=said)
        for pattern, pair in LABELS.items():
            for prefix, values in (("amount_365d_cat_", self.categories), ("interactions_365d_ch_", self.channels)):
                if column.startswith(prefix) and pattern.startswith(prefix):
                    index = int(column[len(prefix):])
                    name = str(category_label(values[index])) if index < len(values) else "?"
                    return (pair[0] if chinese else pair[1]).format(c=name)
            for w in WINDOWS:
                if pattern.format(w=w, c="") == column:
                    return (pair[0] if chinese else pair[1]).format(w=w)
        return column


def reads_as(feature: str) -> str:
    """How a feature's value reads: ``percent`` (a change between windows, a percentile among peers),
    ``days`` (a count of days, fractional as computed) or ``number``; fields and categories are ``number``."""
    if "_trend_" in feature or feature.endswith("_vs_peers"):
        return "percent"
    if feature.endswith("_days") or feature.startswith("days_since"):
        return "days"
    return "number"


def reason_value(feature: str, value):
    """A feature's value as a reason carries it (pages, the API): rounded to what it can tell.

    Days since a moment come out of timestamps as 31.0000115740741; a reader, or a program, wants 31.0.
    Days keep two decimals, cut rather than rounded (29.996 days have not made 30: pages say whole days
    elapsed, ``numbers.readable_days``); amounts keep two decimals, a share or change four (12.34%), a
    small number four significant digits.  Only the reason is rounded: the model's features are what they are.
    """
    if isinstance(value, bool) or not isinstance(value, float) or not math.isfinite(value):  # text, counts, None
        return value
    kind = reads_as(feature)
    if kind == "days":
        return math.floor(round(value * 100, 6)) / 100
    if kind == "percent":
        return round(value, 4)
    return round(value, 2) if abs(value) >= 1 else float(f"{value:.4g}")


def current_spec(model: str | None = None) -> FeatureSpec:
    """The feature columns the current tenant's data supports now, for a ``model`` (used when training starts)."""
    a, i = Activity.__table__, Interaction.__table__
    # The two years before the data's end, not today's: an extract that ended a year ago lost its categories
    year_ago = (data_end() or datetime.now().astimezone()) - timedelta(days=730)
    categories = db.session.execute(
        sa.select(a.c.category).where(a.c.tenant_id == current_tenant(), a.c.occurred_at >= year_ago)
        .group_by(a.c.category).order_by(sa.func.count().desc(), a.c.category).limit(MAX_CATEGORIES)
        .execution_options(tenant_filtered=True)).scalars().all()
    channels = db.session.execute(
        sa.select(i.c.channel).where(i.c.tenant_id == current_tenant()).group_by(i.c.channel)
        .order_by(sa.func.count().desc(), i.c.channel).limit(MAX_CHANNELS)
        .execution_options(tenant_filtered=True)).scalars().all()
    fields = [f for f in field_registry().values() if f.field_type in FIELD_TYPES]
    return FeatureSpec(categories=tuple(c for c in categories if c is not None) if len(categories) > 1 else (),
                       channels=tuple(sorted(channels)),
                       fields=tuple((f.name, f.field_type) for f in fields),
                       field_labels={f.name: (f.label_zh or f.name, f.label_en or f.name) for f in fields},
                       paced=model == "value")


IDENTIFIER_MIN_CUSTOMERS = 200  # below this, a field whose every value differs may be chance (ages of 50 people)


def without_identifiers(spec: FeatureSpec, customers: pd.DataFrame) -> tuple[FeatureSpec, list[str]]:
    """``spec`` without the fields that only number or name the customers, and those fields' names.

    A file's row number (Kaggle's ``RowNumber``), a sequence id or a phone number held
    as a category tells one customer from another and nothing else: a model splits on
    it by chance (QA's RowNumber took 6% of a churn model's gain) and its reasons name
    it.  Identifiers here are an integer field whose values are all different and packed
    into a range little wider than their count (1..10,000: amounts and incomes are all
    different too, but spread far wider), or a category with a different value for every
    customer.  Judged on the tenant's customers when training starts; the version keeps
    the spec it was trained on, so scoring builds the same columns.
    """
    dropped = []
    for name, kind in spec.fields:
        if kind not in (FieldType.INTEGER, FieldType.CATEGORY):
            continue
        values = customers[f"field_{name}"].dropna()
        values = values[values.str.len() > 0] if len(values) else values
        if len(values) < IDENTIFIER_MIN_CUSTOMERS or values.nunique() < 0.99 * len(values):
            continue
        if kind == FieldType.INTEGER:
            numbers = pd.to_numeric(values, errors="coerce").dropna()
            if len(numbers) < 0.99 * len(values) or numbers.max() - numbers.min() + 1 > 1.1 * len(numbers):
                continue
        dropped.append(name)
    if not dropped:
        return spec, []
    kept = tuple((name, kind) for name, kind in spec.fields if name not in dropped)
    return replace(spec, fields=kept), dropped


def customer_frame(spec: FeatureSpec) -> pd.DataFrame:
    c = Customer.__table__
    columns = [c.c.id.label("customer_id"), c.c.external_id, c.c.party_type]
    for name, kind in spec.fields:
        # As text, converted by ``_field_values``: a value that is not a number (a field retyped, a stray
        # "n/a") is missing for that customer, where a cast in SQL failed the whole training or scoring.
        columns.append(c.c.attributes[name].as_string().label(f"field_{name}"))
    select = sa.select(*columns).where(c.c.tenant_id == current_tenant()).order_by(c.c.id)
    # Every field as text: codes such as "007" keep their zeros; numbers are converted per kind.
    return read_frame(select, dtypes={"customer_id": "string", "external_id": "string",
                                      **{f"field_{name}": "string" for name, _ in spec.fields}})


def build_features(spec: FeatureSpec, cutoff: datetime, customers: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per customer (index: customer id as text), the spec's columns, as of ``cutoff``.

    ``customers`` (from ``customer_frame``) may be passed in; several cutoffs: ``build_feature_sets``.
    """
    return build_feature_sets(spec, [cutoff], customers)[0][0]


def build_feature_sets(spec: FeatureSpec, cutoffs: list[datetime], customers: pd.DataFrame | None = None,
                       horizon_days: int = 0, rows: ActivityRows | None = None
                       ) -> list[tuple[pd.DataFrame, pd.DataFrame | None]]:
    """``build_features`` for each cutoff from one read per source, with the label window after each.

    Per cutoff: the features, and with ``horizon_days`` the customers' ``future_amount``
    and ``future_events`` in [cutoff, cutoff + horizon) (indexed like the features; 0 for none).
    ``rows``: the activity rows already read (``activity_rows``) for these customers and cutoffs.
    """
    cutoffs = [c if c.tzinfo else c.replace(tzinfo=timezone.utc) for c in cutoffs]  # naive means UTC
    base = (customer_frame(spec) if customers is None else customers).set_index("customer_id")
    rows = activity_rows(spec, base.index, cutoffs, horizon_days) if rows is None else rows
    windows = [label_days(cutoff, horizon_days) for cutoff in cutoffs] if horizon_days else 0  # days, per cutoff
    first_at, activity = activity_frames(rows, cutoffs, windows, len(spec.categories))
    with serial():
        interactions = interaction_frame(spec, cutoffs).reindex(base.index)
    profile = _profile(spec, base)
    built = []
    for k, cutoff in enumerate(cutoffs):
        cutoff_ts = pd.Timestamp(cutoff).tz_convert("UTC")
        frame = pd.concat([base, activity[k], _as_of(interactions, k)], axis=1)
        frame["first_at"] = first_at.where(first_at < cutoff_ts)  # the first before it
        future = None
        if horizon_days:
            future = pd.DataFrame({"future_amount": frame.pop("future_amount").fillna(0.0),
                                   "future_events": frame.pop("future_events").fillna(0.0)})
        built.append((_features(spec, cutoff_ts, frame, profile), future))
    return built


def activity_rows(spec: FeatureSpec, customer_ids: pd.Index, cutoffs: list[datetime],
                  horizon_days: int = 0) -> ActivityRows:
    """The activity rows the features of ``cutoffs`` (and their label windows) read, read once."""
    return read_activity(spec, customer_ids, start=min(cutoffs) - timedelta(days=YEAR_AGO[1]),
                         end=max(horizon_end(cutoff, horizon_days) if horizon_days else cutoff for cutoff in cutoffs))


def _as_of(wide: pd.DataFrame, k: int) -> pd.DataFrame:
    """Cutoff number k's columns of a multi-cutoff frame, under their plain names."""
    suffix = f"__{k}"
    return wide[[c for c in wide.columns if c.endswith(suffix)]].rename(columns=lambda c: c[:-len(suffix)])


def _profile(spec: FeatureSpec, base: pd.DataFrame) -> dict[str, pd.Series]:
    """The profile columns that are the same at every cutoff (all but dates), converted once."""
    profile = {"party_type": pd.Categorical(base["party_type"].astype("string"))}
    for name, kind in spec.fields:
        if kind != FieldType.DATE:
            profile[f"field_{name}"] = _field_values(base[f"field_{name}"], kind, None)
    return profile


def profile_frame(spec: FeatureSpec, customers: pd.DataFrame, cutoff: datetime) -> pd.DataFrame:
    """The profile columns alone (``FeatureSpec.profile_columns``) as of ``cutoff``, without reading any activity.

    ``customers`` from ``customer_frame``; indexed by customer id like ``build_features``, whose
    profile columns hold the same values (a date field is the days before the cutoff in both).
    """
    base = customers.set_index("customer_id")
    cutoff_ts = pd.Timestamp(cutoff if cutoff.tzinfo else cutoff.replace(tzinfo=timezone.utc)).tz_convert("UTC")
    out = pd.DataFrame(_profile(spec, base), index=base.index)
    for name, kind in spec.fields:
        if kind == FieldType.DATE:
            out[f"field_{name}"] = _field_values(base[f"field_{name}"], kind, cutoff_ts)
    return out[spec.profile_columns()]


def _features(spec: FeatureSpec, cutoff_ts: pd.Timestamp, frame: pd.DataFrame,
              profile: dict[str, pd.Series]) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    out["recency_days"] = (cutoff_ts - frame["last_at"]).dt.total_seconds() / 86400
    out["tenure_days"] = (cutoff_ts - frame["first_at"]).dt.total_seconds() / 86400
    has_history = frame["last_at"].notna()
    for w in WINDOWS:
        for column in (f"amount_sum_{w}d", f"events_{w}d"):
            out[column] = frame[column].where(~has_history | frame[column].notna(), 0.0).where(has_history)
    # Per day of the window the customer was known in: comparable between a customer (or a cutoff)
    # with a short history and one with a long one, where plain sums are not.
    known = _known_days(out["tenure_days"], frame)
    for w in (90, 365):
        out[f"amount_per_day_{w}d"] = out[f"amount_sum_{w}d"] / known.clip(lower=1.0, upper=float(w))
    out["amount_max_365d"] = frame["amount_max_365d"]
    out["amount_avg_365d"] = out["amount_sum_365d"] / out["events_365d"].replace(0, np.nan)
    previous = out["amount_sum_180d"] - out["amount_sum_90d"]
    out["amount_trend_90d"] = _ratio_change(out["amount_sum_90d"], previous)
    out["events_trend_90d"] = _ratio_change(out["events_90d"], out["events_180d"] - out["events_90d"])
    out["amount_trend_yoy"] = _ratio_change(out["amount_sum_90d"], frame["amount_year_ago_90d"].fillna(0.0))
    # the latest amount against the year's average, as a rank only: the raw ratio moves with the season
    # (on the demo tenants it made the value models worse, and no churn model better)
    out["amount_last_vs_peers"] = _among_peers(
        frame["amount_last"] / out["amount_avg_365d"].where(out["amount_avg_365d"] > 0))
    out["amount_trend_vs_peers"] = _among_peers(out["amount_trend_90d"])
    for index in range(len(spec.categories)):
        out[f"amount_365d_cat_{index}"] = frame[f"amount_365d_cat_{index}"].fillna(0.0).where(has_history)
    for column in ("interactions_365d", "complaints_90d", "complaints_365d", "public_complaints_365d",
                   "severe_interactions_365d", "unresolved_complaints"):
        out[column] = frame[column].fillna(0.0)
    out["days_since_complaint"] = (cutoff_ts - frame["last_complaint_at"]).dt.total_seconds() / 86400
    for index in range(len(spec.channels)):
        out[f"interactions_365d_ch_{index}"] = frame[f"interactions_365d_ch_{index}"].fillna(0.0)
    for column, values in profile.items():
        out[column] = values
    for name, kind in spec.fields:
        if kind == FieldType.DATE:  # days before the cutoff
            out[f"field_{name}"] = _field_values(frame[f"field_{name}"], kind, cutoff_ts)
    year = out["amount_per_day_365d"] * 365  # the run rate's year; undefined without activity
    for name in spec.paced_fields:
        out[f"paced_{name}"] = out[f"field_{name}"] / year.where(year > 0)
    return out[spec.columns()]


def _known_days(tenure_days: pd.Series, frame: pd.DataFrame) -> pd.Series:
    """How long each customer's activity has been observed: since its first activity, plus one cycle.

    The first activity covers a cycle of its own: a bill or a statement is for the month
    before it.  Counted from the first bill alone, three monthly bills 61 days apart
    made 1.5 bills a month, and the run rate of every customer known for less than a
    year came out too high (by k/(k-1) for k bills): the demo tenants' value models,
    trained at cutoffs two months into the history, learnt to scale everyone down by a
    third and predicted 53-61% of the year's value at scoring, where the history was
    long.  A customer's cycle is its days between active days; one with a single
    active day takes the typical cycle of the customers newly seen at the same cutoff.
    A customer known for a year or more is unchanged (the windows cap it).
    """
    recent = tenure_days < 365
    span = (frame["last_at"] - frame["first_at"]).dt.total_seconds() / 86400
    active = frame["active_days_365d"]
    cycle = (span / (active - 1)).where(recent & (active >= 2))
    typical = cycle.median()
    return tenure_days + cycle.fillna(0.0 if pd.isna(typical) else typical)


def _among_peers(values: pd.Series) -> pd.Series:
    """Each customer's percentile (0-1] among the customers at the same cutoff: what moved against the others.

    A change every customer shares (the season of a utility's bills, a bank's
    year end, a window edge falling between two monthly bills) shifts a raw
    ratio by the same amount for all of them, and training pools cutoffs of
    different seasons: a tree's threshold learnt in one season then misjudges
    another.  The rank at the same date carries only what sets a customer apart.
    The feature sets are always built for every customer of the tenant (``customer_frame``),
    so the peers are the whole tenant at every cutoff and at scoring.
    """
    return values.rank(pct=True)


def _ratio_change(current: pd.Series, previous: pd.Series) -> pd.Series:
    """current / previous - 1, undefined (NaN) where there was nothing before."""
    previous = previous.where(previous > 0)
    return current / previous - 1


def _field_values(values: pd.Series, kind: str, cutoff: pd.Timestamp | None) -> pd.Series:
    if kind in (FieldType.NUMBER, FieldType.INTEGER):
        return pd.to_numeric(values, errors="coerce").astype("float64")
    if kind == FieldType.BOOLEAN:
        text = values.astype("string").str.lower()
        return text.map({"true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0, "t": 1.0, "f": 0.0}).astype("float64")
    if kind == FieldType.DATE:
        dates = pd.to_datetime(values, errors="coerce", utc=True)
        return (cutoff - dates).dt.total_seconds() / 86400
    return pd.Categorical(values.astype("string"))
