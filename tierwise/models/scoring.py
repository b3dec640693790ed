"""Scoring: every customer gets a churn probability, a predicted value and the reasons for both.

The champions predict on features as of now; the five largest feature
contributions of each model (``reasons``: the model's score split exactly
along each tree's decision path) are the customer's reasons, stored as
``[[feature, contribution, value], ...]`` and shown with the feature's label in
the reader's language.  Everything is computed in chunks with numpy; the JSON
is assembled by the database from numbers (a feature's index into a list of
labels, its contribution and value), not per customer in Python: formatting
millions of numbers as text, in Python or in a CSV, costs far more than the
database building the JSON.

Lapsed customers get no churn probability (NULL, no reasons): a customer without
activity within the churn model's horizon (or ever) has already left by the
label's own definition, is outside the population the model learnt from (its
100% was an extrapolation), and would fill every at-risk list and value at risk
with accounts no one can keep any more.  Nor does a customer whose imported
outcome says it left before the moment scored (``churn_label`` dated by
``label_observed_on``): training leaves such customers out as already gone, and
QA found 15 closed accounts scored 0.68 to 0.97.  Their predicted value is still
written.  A churn model from a snapshot of labels (``snapshot_churn``) reads no
activity, so recency does not bound it: every customer is scored but those
labelled as gone, with a day or without.

The write is atomic: under the tenant's ``scores`` lock, the new scores are
COPYed (binary, straight from numpy arrays, on PostgreSQL) into a temporary
table, then one transaction replaces the tenant's rows.
Readers (and the rules, whose ``churn_probability`` and ``predicted_value``
read this table) see the old scores or the new ones, never a mix; a failure or
a killed worker leaves the old ones.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from tierwise.errors import ValidationError
from tierwise.models import drift as drift_module
from tierwise.models.features import build_features, reason_value
from tierwise.models.frames import PGCOPY_SIGNATURE, PGCOPY_TRAILER
from tierwise.models.labels import imported_outcomes, population_days
from tierwise.models.reasons import CHUNK, contributions, reason_codes
from tierwise.models import snapshot_churn
from tierwise.models.cutoffs import SNAPSHOT
from tierwise.models.registry import ModelVersion, aligned, champion, design_of
from tierwise.platform import tenancy
from tierwise.platform.db import UTCDateTime, db
from tierwise.tenants.imports.loading import copy_into
from tierwise.tenants.rules import snapshot
from tierwise.tenants.rules.sql import execute_sql

STAGE = "score_stage"
SCORES_LOCK = "scores"


@dataclass
class ScoringResult:
    customers: int
    versions: dict[str, int]  # model -> champion version number used
    drift: dict[str, dict] = field(default_factory=dict)  # model -> {"psi": {...}, "alerts": [...]}
    scored_at: datetime | None = None
    # Customers given no churn probability: lapsed, or known to have left (the module's docstring says why)
    without_churn: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)  # for benchmarks and logs


def score_all(*, as_of: datetime | None = None, progress=None) -> ScoringResult:
    """Score every customer of the current tenant with the champions and replace the stored scores."""
    champions = {model: champion(model) for model in ("churn", "value")}
    champions = {model: version for model, version in champions.items() if version is not None}
    if not champions:
        raise ValidationError(_l("there is no champion model yet: train a churn or value model first"), field="model")
    tenancy.lock_tenant(SCORES_LOCK)
    moment = as_of or data_as_of()
    # Read once: who left decides a churn champion's population, and (a snapshot's) its drift too
    outcomes = imported_outcomes() if "churn" in champions else None
    frames: dict[str, pd.DataFrame] = {}
    customers, scored, labels = None, {}, {}
    result = ScoringResult(customers=0, versions={m: v.number for m, v in champions.items()}, scored_at=moment)
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        result.stage_seconds[stage] = result.stage_seconds.get(stage, 0.0) + now - clock
        clock = now

    for number, (model, version) in enumerate(champions.items()):
        if progress:
            progress(f"scoring with the {model} model", 0.1 + 0.4 * number)
            lap("progress")
        # One frame for the champions of one spec, paced or not: the paced columns are a division of two
        # it has (each version takes its own columns, ``aligned``), the activity is read once for both.
        key = json.dumps(version.features["spec"] | {"paced": True}, sort_keys=True)
        if key not in frames:
            frames[key] = build_features(replace(version.spec, paced=True), moment)
            lap("features")
        x = frames[key]
        if customers is None:
            customers = x.index
        elif not x.index.equals(customers):  # another spec, and a customer came or went in between
            x = x.reindex(customers)
        prediction, index, values = contributions(version, x)
        lap(f"{model} predictions and contributions")
        labels[model], numeric, text = reason_codes(x, version.columns, index)
        # Drift is measured on the population the model was judged on (the reference bins come from it):
        # long-gone customers are scored, but comparing them with active ones would always alarm.
        population = _population(model, version, x, outcomes)
        psi = drift_module.drift(version.reference, aligned(x, version.columns)[population], prediction[population])
        result.drift[model] = {"psi": psi, "alerts": drift_module.alerts(psi)}
        lap(f"{model} drift")
        if model == "churn":  # a lapsed customer has no churn probability (the module's docstring says why)
            prediction = np.where(population & ~_known_gone(outcomes, x.index, moment), prediction, np.nan)
            result.without_churn = int(np.isnan(prediction).sum())
        scored[model] = {PREDICTION[model]: prediction, **_ranked(model, index, np.round(values, 6), numeric, text)}
        lap(f"{model} reasons")
    if progress:
        progress("writing the scores", 0.9)
    # In key order (as the features come): the stage is read in the order it was written, and inserting
    # into the primary key in its order is cheaper than sorting in the database (0.2 s per 250,000).
    order = slice(None) if customers.is_monotonic_increasing else np.argsort(customers.to_numpy(), kind="stable")
    scored = {model: {name: values[order] for name, values in columns.items()} for model, columns in scored.items()}
    result.customers = _replace_scores(customers.to_numpy()[order], scored, labels, champions, moment)
    lap("write")
    return result


PREDICTION = {"churn": "churn_probability", "value": "predicted_value"}


def _population(model: str, version: ModelVersion, x: pd.DataFrame, outcomes: pd.DataFrame | None) -> np.ndarray:
    """The customers the model speaks for (and its drift is measured on): those active within its horizon.

    A model from a snapshot of churn labels (``snapshot_churn``) reads no activity: it speaks for
    every customer not labelled as gone, dated or not, as it was trained.
    """
    if design_of(version) == SNAPSHOT:
        return ~snapshot_churn.gone(outcomes, x.index)
    return (x["recency_days"] <= population_days(model, version.horizon_days)).to_numpy()


def _known_gone(outcomes: pd.DataFrame, customers: pd.Index, moment: datetime) -> np.ndarray:
    """Whether each customer's imported outcome (``labels.imported_outcomes``) says it left before ``moment``
    (its day began before it)."""
    if outcomes.empty:
        return np.zeros(len(customers), dtype=bool)
    known = outcomes.reindex(customers.astype(str))
    moment = pd.Timestamp(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))
    gone = (known["churned"] == 1) & known["observed_on"].notna() & (known["observed_on"] < moment)
    return gone.fillna(False).to_numpy(dtype=bool)


def _ranked(model: str, index, contribution, numeric, text) -> dict[str, np.ndarray]:
    """One stage column per rank: the feature's index, its contribution, its value (number or label index)."""
    out = {}
    for k in range(index.shape[1]):
        out |= {f"{model}_f{k}": index[:, k], f"{model}_c{k}": contribution[:, k],
                f"{model}_n{k}": numeric[:, k], f"{model}_s{k}": text[:, k]}
    return out


def data_as_of() -> datetime:
    """Where the tenant's data ends (``activity.data_end``): training anchors its cutoffs at the same
    moment, and features as of a moment the data does not reach would make every customer look gone.

    Without activity, the day of the snapshot of labels (``snapshot_churn.snapshot_moment``: the latest
    label's day, else now), as its model was trained: a date field (an account opened on) is days before
    that day in both, where days before today put every customer years past what the model saw, and
    alerted drift on the first scoring."""
    from tierwise.tenants.activity import data_end

    return data_end() or snapshot_churn.snapshot_moment(imported_outcomes())


SQL_TYPES = {"f": sa.SmallInteger, "c": sa.Float, "n": sa.Float, "s": sa.Integer}


def _reasons_sql(model: str, width: int, postgres: bool) -> str:
    """JSON ``[[feature, contribution, value], ...]`` from the stage's columns and the model's labels.

    ``:{model}_labels`` is a JSON array: the feature names, then the categories;
    a value with a label index (``s``, -1 for none) is that label, else the number
    (``n``, NaN for missing: JSON null).
    """
    def label(column: str) -> str:
        return (f"(CAST(:{model}_labels AS jsonb) -> {column})" if postgres
                else f"json_extract(:{model}_labels, '$[' || {column} || ']')")
    items = []
    for k in range(width):
        number = f"to_jsonb(NULLIF(s.{model}_n{k}, 'NaN'::float8))" if postgres else f"s.{model}_n{k}"
        value = f"COALESCE({label(f'NULLIF(s.{model}_s{k}, -1)')}, {number})"
        items.append(f"{'jsonb_build_array' if postgres else 'json_array'}({label(f's.{model}_f{k}')}, "
                     f"s.{model}_c{k}, {value})")
    return f"{'jsonb_build_array' if postgres else 'json_array'}({', '.join(items)})"


def _copy_binary(connection: sa.Connection, table: str, columns: dict[str, np.ndarray]) -> None:
    """COPY fixed-width numpy columns in PostgreSQL's binary format, built by numpy in one pass per chunk.

    Each row is a field count, then a (length, big-endian value) pair per field,
    so a structured array is the whole payload: no text formatting nor parsing.
    NULL would need a variable layout, so missing numbers travel as NaN.
    """
    names = list(columns)
    layout = np.dtype([("fields", ">i2")] + [field for i, name in enumerate(names) for field in (
        (f"size{i}", ">i4"), (f"value{i}", columns[name].dtype.newbyteorder(">")))])
    rows = len(columns[names[0]])
    with connection.connection.driver_connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN WITH (FORMAT binary)") as copy:
            copy.write(PGCOPY_SIGNATURE + bytes(8))  # no flags, no header extension
            for start in range(0, rows, CHUNK):
                block = np.empty(min(CHUNK, rows - start), dtype=layout)
                block["fields"] = len(names)
                for i, name in enumerate(names):
                    block[f"size{i}"] = columns[name].dtype.itemsize
                    block[f"value{i}"] = columns[name][start:start + CHUNK]
                copy.write(block.tobytes())
            copy.write(PGCOPY_TRAILER)


def _replace_scores(customer_ids: np.ndarray, scored: dict[str, dict], labels: dict[str, list],
                    champions: dict[str, ModelVersion], moment: datetime) -> int:
    connection = db.session.connection()
    postgres = connection.dialect.name == "postgresql"
    columns = {"customer_id": (np.frombuffer(bytes.fromhex("".join(customer_ids).replace("-", "")), dtype="S16")
                               if postgres else customer_ids)}
    stage = [sa.Column("customer_id", sa.Uuid() if postgres else sa.String(36))]
    for model, values in scored.items():
        columns |= values
        stage += [sa.Column(name, sa.Float if name == PREDICTION[model] else SQL_TYPES[name[len(model) + 1]])
                  for name in values]
    execute_sql(f"DROP TABLE IF EXISTS {STAGE}")
    table = sa.Table(STAGE, sa.MetaData(), *stage, prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
    table.create(connection)
    if postgres and len(customer_ids):
        _copy_binary(connection, STAGE, columns)
    elif len(customer_ids):
        copy_into(connection, table, pd.DataFrame(columns))
    tenant_id = tenancy.current_tenant_id()
    execute_sql("DELETE FROM customer_scores WHERE tenant_id = :tenant_id", {"tenant_id": tenant_id})
    select = ["s.customer_id" if postgres else "replace(s.customer_id, '-', '')"]
    predictions, reasons = [], []
    for m in PREDICTION:
        if m not in scored:
            predictions.append("NULL")
            reasons.append("NULL")
            continue
        # NaN, no prediction (a lapsed customer's churn), is stored as NULL, with no reasons (SQLite stores
        # a NaN as NULL by itself)
        value = f"NULLIF(s.{PREDICTION[m]}, 'NaN'::float8)" if postgres else f"s.{PREDICTION[m]}"
        width = sum(1 for c in scored[m] if c.startswith(f"{m}_f"))
        predictions.append(value)
        reasons.append(f"CASE WHEN {value} IS NULL THEN NULL ELSE {_reasons_sql(m, width, postgres)} END")
    select += predictions + reasons
    params = {"tenant_id": tenant_id, "scored_at": moment,
              **{f"{m}_labels": json.dumps(labels[m]) for m in scored},
              **{f"{m}_version_id": champions[m].id if m in champions else None for m in PREDICTION}}
    inserted = execute_sql(f"""
        INSERT INTO customer_scores (tenant_id, customer_id, churn_probability, predicted_value, churn_reasons,
                                     value_reasons, churn_version_id, value_version_id, scored_at)
        SELECT :tenant_id, {', '.join(select)}, :churn_version_id, :value_version_id, :scored_at
        FROM {STAGE} s""", params,
        types={"scored_at": UTCDateTime(), "churn_version_id": sa.Uuid(), "value_version_id": sa.Uuid()}).rowcount
    execute_sql(f"DROP TABLE {STAGE}")
    snapshot.data_changed()  # rules that rank on scores see new values
    return inserted


def labelled_reasons(reasons: list | None, spec, locale: str | None) -> list[dict]:
    """Stored reasons with each feature's label in ``locale`` (for pages, the API and exports)."""
    return [{"feature": feature, "label": spec.label(feature, locale), "contribution": contribution,
             "value": reason_value(feature, value)} for feature, contribution, value in (reasons or [])]
