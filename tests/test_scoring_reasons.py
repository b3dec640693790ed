"""Reasons: contributions exact along the trees' paths, the same ranking, and stored exactly as computed.

Scoring computes contributions with a dense leaf table, ranks them, and sends
numbers only (binary COPY) for the database to build the JSON; these tests pin
that the contributions are the path decomposition, the same bit for bit as the
previous sparse product (LightGBM's SHAP values differ by design: they centre
each split on the count-weighted mean of the leaves, where the tree dump's node
values are the gradient step), and that what is stored is what Python
computed, categorical values and missing values included.
"""
from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from tests.model_fixtures import trained_world
from tests.rule_helpers import in_tenant
from tierwise.models import features
from tierwise.models.reasons import REASONS, TreePaths, contributions, reason_codes
from tierwise.models.registry import champion
from tierwise.models.scores import CustomerScore
from tierwise.platform.db import db


def synthetic(rows: int = 3000, seed: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({f"x{j}": rng.normal(size=rows) for j in range(8)})
    x.loc[rng.random(rows) < 0.1, "x3"] = np.nan
    x["kind"] = pd.Categorical(rng.choice(["a", "b", "c"], size=rows))
    logit = 1.5 * x["x0"] - x["x1"] + 0.5 * x["x2"].clip(-1, 1) + (x["kind"] == "b") * 0.8 + x["x3"].fillna(0)
    return x, (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)


def booster(x, y, leaves: int) -> lgb.Booster:
    params = {"objective": "binary", "num_leaves": leaves, "min_data_in_leaf": 20, "verbose": -1, "seed": 1,
              "num_threads": 1}
    return lgb.train(params, lgb.Dataset(x, y), num_boost_round=60)


def test_the_dense_leaf_table_gives_the_same_contributions_bit_for_bit_as_the_sparse_product_did():
    """The previous implementation (a sparse-by-sparse product, int64 indexes) is the reference."""
    import scipy.sparse as sp

    x, y = synthetic()
    model = booster(x, y, leaves=15)
    paths = TreePaths(model)
    leaves = model.predict(x, pred_leaf=True, num_threads=1).astype(np.int64)
    n, trees = leaves.shape
    membership = sp.csr_matrix((np.ones(n * trees), (leaves + paths.offsets).ravel(), np.arange(0, n * trees + 1, trees)),
                               shape=(n, paths.leaf_paths.shape[0]))
    before = (membership @ sp.csr_matrix(paths.leaf_paths)).toarray()
    raw, mine = paths.explain(x, threads=1)
    assert np.array_equal(mine, before)
    assert np.array_equal(raw, paths.bias + before.sum(axis=1))
    rank = lambda c: np.argsort(-np.abs(c), axis=1, kind="stable")[:, :REASONS]  # noqa: E731
    assert np.array_equal(rank(mine), rank(before))


def test_contributions_are_the_sum_of_each_trees_leaf_path_and_give_the_models_predictions():
    x, y = synthetic(seed=9)
    model = booster(x, y, leaves=15)
    paths = TreePaths(model)
    leaves = model.predict(x, pred_leaf=True, num_threads=1)
    expected = sum(paths.leaf_paths[leaves[:, t] + paths.offsets[t]] for t in range(leaves.shape[1]))
    raw, mine = paths.explain(x, threads=1)
    assert np.allclose(mine, expected, atol=1e-12)
    assert np.allclose(raw, model.predict(x, raw_score=True, num_threads=1), atol=1e-9)


def test_reason_codes_give_numbers_for_numbers_and_label_indexes_for_categories():
    x = pd.DataFrame({"n": [1.5, np.nan, 3.0], "c": pd.Categorical(["b", None, "a"])})
    index = np.array([[1, 0], [1, 0], [0, 1]], dtype=np.int16)
    labels, numeric, text = reason_codes(x, ["n", "c"], index)
    assert labels == ["n", "c", "a", "b"]
    assert text.tolist() == [[3, -1], [-1, -1], [-1, 2]]
    assert np.array_equal(numeric, np.array([[np.nan, 1.5], [np.nan, np.nan], [3.0, np.nan]]), equal_nan=True)


def test_a_category_after_many_features_keeps_its_label():
    """Category codes are small integers (int8): offset by 130 labels they wrapped to another label."""
    columns = [f"n{k}" for k in range(130)] + ["c"]
    x = pd.DataFrame({**{name: [0.0, 0.0] for name in columns[:-1]}, "c": pd.Categorical(["a", "b"])})
    index = np.array([[130, 0], [130, 0]], dtype=np.int16)
    labels, _numeric, text = reason_codes(x, columns, index)
    assert [labels[code] for code in text[:, 0]] == ["a", "b"]


@pytest.fixture(scope="module")
def scored(app):
    return trained_world(app)


def test_stored_reasons_and_scores_are_exactly_what_python_computed(app, scored):
    """The binary COPY and the JSON the database builds lose nothing: names, rounding, categories, nulls."""
    with in_tenant(app, scored):
        rows = {str(r.customer_id): r for r in db.session.scalars(sa.select(CustomerScore))}
        moment = next(iter(rows.values())).scored_at
        for model, stored in (("churn", "churn_reasons"), ("value", "value_reasons")):
            version = champion(model)
            x = features.build_features(version.spec, moment)
            prediction, index, values = contributions(version, x)
            aligned = x[version.columns]
            assert len(rows) == len(x)
            lapsed = ~(x["recency_days"] <= version.horizon_days).to_numpy()  # or never active (NaN)
            lapsed &= model == "churn"
            assert lapsed.sum() < len(x)
            for i, customer in enumerate(x.index):
                row = rows[customer]
                if lapsed[i]:  # no activity within the churn horizon: no probability, no reasons
                    assert row.churn_probability is None and row.churn_reasons is None, customer
                    continue
                assert (row.churn_probability if model == "churn" else row.predicted_value) == prediction[i]
                expected = []
                for j, value in zip(index[i], values[i]):
                    raw = aligned.iloc[i, j]
                    shown = None if pd.isna(raw) else (str(raw) if isinstance(raw, str) else float(raw))
                    expected.append([version.columns[j], float(np.round(value, 6)), shown])
                assert getattr(row, stored) == expected, customer


@pytest.mark.parametrize(("feature", "value", "said"), [
    ("amount_trend_90d", 0.0322, "3.2%"),  # a change between windows, as tier reasons say a trend
    ("amount_last_vs_peers", 0.961, "96.1%"),  # a percentile among the customers at the same date
    ("recency_days", 22.67, "22"),  # whole days gone by
    ("amount_sum_90d", 1200000.0, "1,200,000"),
    ("field_occupation", "executive", "executive"),  # a category's code: the page labels it
    ("amount_trend_yoy", None, "—"),
])
def test_a_reasons_value_reads_as_its_feature_means_it(feature, value, said):
    from tierwise.platform.numbers import readable_feature

    assert readable_feature(feature, value) == said


@pytest.mark.parametrize(("feature", "value", "carried"), [
    ("recency_days", 31.0000115740741, 31.0), ("recency_days", 29.996, 29.99), ("days_since_complaint", 0.29, 0.29),
    ("amount_trend_90d", 0.123456789, 0.1235), ("amount_sum_365d", 1276653.2871, 1276653.29),
    ("amount_avg_365d", 0.000123456, 0.0001235), ("events_90d", 3, 3), ("party_type", "organisation", "organisation"),
    ("amount_sum_365d", None, None)])
def test_a_reason_carries_its_value_rounded_to_what_it_can_tell(feature, value, carried):
    """Days since the last activity, computed from timestamps, come to the page and the API as 31.0, not 31.0000115."""
    from tierwise.models.scoring import labelled_reasons

    [reason] = labelled_reasons([[feature, 0.25, value]], features.FeatureSpec(), "en")
    assert reason["value"] == carried and type(reason["value"]) is type(carried)
    assert reason["contribution"] == 0.25  # the push on the score is the model's own
