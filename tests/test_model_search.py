"""The parameter search: noise-sized differences do not buy a bigger model, and the noise is measured right."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from tierwise.models import metrics, training


def _candidates(scores: list[float], leaves: list[int], error: float, name: str):
    return [({"num_leaves": n}, {name: s}, error, n * 100) for s, n in zip(scores, leaves)]


def test_the_smallest_churn_model_within_one_standard_error_of_the_best_wins():
    scored = _candidates([0.900, 0.910, 0.905], [31, 63, 15], error=0.01, name="roc_auc")
    assert training._smallest_within_noise("churn", scored) == 2  # 15 leaves, 0.005 below the best
    scored = _candidates([0.900, 0.910, 0.905], [31, 63, 15], error=0.001, name="roc_auc")
    assert training._smallest_within_noise("churn", scored) == 1  # a real difference: the best


def test_for_value_lower_errors_are_better_and_the_same_rule_holds():
    scored = _candidates([100.0, 98.0, 99.5], [63, 31, 15], error=2.0, name="rmse")
    assert training._smallest_within_noise("value", scored) == 2
    scored = _candidates([100.0, 98.0, 99.5], [63, 31, 15], error=0.5, name="rmse")
    assert training._smallest_within_noise("value", scored) == 1


def test_an_undefined_score_never_wins_and_an_undefined_error_keeps_the_best():
    scored = [({"num_leaves": 15}, {"roc_auc": None}, float("inf"), 1500),
              ({"num_leaves": 63}, {"roc_auc": 0.8}, float("inf"), 6300)]
    assert training._smallest_within_noise("churn", scored) == 1


@pytest.mark.parametrize("model", ["churn", "value"])
def test_the_standard_error_matches_the_spread_of_bootstrap_resamples(model):
    rng = np.random.default_rng(3)
    n = 3000
    signal = rng.normal(size=n)
    if model == "churn":
        y = (signal + rng.normal(scale=1.5, size=n) > 1.2).astype(float)
        prediction = 1 / (1 + np.exp(-signal))
    else:
        y = np.exp(signal) * 100
        prediction = y * rng.lognormal(sigma=0.4, size=n)
    score = metrics.metrics_for(model, y, prediction)
    error = metrics.standard_error(model, y, prediction, score)
    resampled = []
    for _ in range(300):
        pick = rng.integers(0, n, n)
        if model == "churn":
            resampled.append(roc_auc_score(y[pick], prediction[pick]))
        else:
            resampled.append(np.sqrt(np.mean((prediction[pick] - y[pick]) ** 2)))
    assert error == pytest.approx(np.std(resampled), rel=0.35)
    y4, prediction4 = np.tile(y, 4), np.tile(prediction, 4)  # the same examples four times over
    assert metrics.standard_error(model, y4, prediction4, metrics.metrics_for(model, y4, prediction4)) == \
        pytest.approx(error / 2, rel=0.02)  # four times the examples, half the noise


def _examples(customers: int, cutoffs: int):
    """A training set's bookkeeping: each customer at each cutoff, bucketed by a hash of the customer."""
    from types import SimpleNamespace

    import pandas as pd

    bucket = np.random.default_rng(5).integers(0, 1000, customers)
    return SimpleNamespace(train_bucket=np.tile(bucket, cutoffs),
                           train_cutoff=pd.Series(np.repeat(np.arange(cutoffs), customers)),
                           customer=np.tile(np.arange(customers), cutoffs))


def test_customers_held_out_to_stop_on_are_held_out_at_every_cutoff_and_never_fitted():
    data = _examples(customers=2000, cutoffs=4)
    fit, stop = training.inner_split(data)
    assert len(fit) + len(stop) == 8000 and not set(fit) & set(stop)  # every row used, once
    assert not set(data.customer[fit]) & set(data.customer[stop])
    assert set(data.train_cutoff[stop]) == {0, 1, 2, 3}  # the stopping rows cover every cutoff
    assert 0.2 < len(set(data.customer[stop])) / 2000 < 0.3


def test_churn_candidates_learn_at_a_slow_rate_and_value_candidates_at_the_faster_ones():
    import pandas as pd

    churn = training.candidates("churn", pd.Series([0, 1] * 50), seed=7, horizon_days=90)
    value = training.candidates("value", pd.Series(np.arange(100.0)), seed=7, horizon_days=365)
    assert {c["learning_rate"] for c in churn} == {0.05}
    assert {c["learning_rate"] for c in value} == {0.1, 0.2} and value[0]["learning_rate"] == 0.1
    assert len(churn) == len(value) == training.MAX_CANDIDATES


def test_a_large_tenant_gets_fewer_rounds_so_scoring_every_customer_stays_within_budget():
    assert training.max_rounds(50_000) == training.MAX_ROUNDS == 400  # the demos and most tenants
    assert training.max_rounds(1_000_000) == 250
    assert training.max_rounds(50_000_000) == training.MIN_ROUNDS_CAP  # never a stump of a model
    assert training.max_rounds(0) == training.MAX_ROUNDS


@pytest.mark.parametrize("model", ["churn", "value"])
def test_the_lead_over_a_baseline_is_judged_by_the_spread_of_paired_resamples(model):
    """Model and baseline predict the same customers, so the noise of their gap is that of paired resamples."""
    rng = np.random.default_rng(11)
    n = 3000
    signal = rng.normal(size=n)
    if model == "churn":
        y = (signal + rng.normal(scale=1.5, size=n) > 1.2).astype(float)
        ours = 1 / (1 + np.exp(-signal))
        theirs = 1 / (1 + np.exp(-(signal + rng.normal(scale=0.5, size=n))))  # the same signal, blurred
    else:
        y = np.exp(signal) * 100
        ours = y * rng.lognormal(sigma=0.4, size=n)
        theirs = y * rng.lognormal(sigma=0.5, size=n)

    def primary(pick, prediction):
        if model == "churn":
            return roc_auc_score(y[pick], prediction[pick])
        return np.sqrt(np.mean((prediction[pick] - y[pick]) ** 2))

    gaps = []
    for _ in range(300):
        pick = rng.integers(0, n, n)
        gaps.append(primary(pick, ours) - primary(pick, theirs))
    error = metrics.difference_standard_error(model, y, ours, theirs)
    assert error == pytest.approx(np.std(gaps), rel=0.3)
    apart = [metrics.standard_error(model, y, p, metrics.metrics_for(model, y, p)) for p in (ours, theirs)]
    assert error < sum(apart)  # errors that go together: the gap is steadier than the two scores


def test_a_gap_without_a_second_class_or_any_error_has_no_noise_to_judge_it_by():
    y = np.zeros(50)
    assert metrics.difference_standard_error("churn", y, np.linspace(0, 1, 50), np.linspace(1, 0, 50)) is None
    assert metrics.difference_standard_error("value", y, y, y + 1) is None  # a perfect model: no spread to measure
    assert not metrics.within_noise(0.9, 0.8, None)


def test_the_paired_auc_noise_is_delongs_with_ties_as_a_recency_rule_makes_them():
    """Checked against DeLong's covariance written out pair by pair: a recency rule's scores are mostly ties."""
    rng = np.random.default_rng(21)
    y = (rng.random(400) < 0.2).astype(float)
    ours = rng.normal(size=400) + y
    theirs = np.round(rng.normal(size=400) + 0.5 * y)  # a handful of distinct scores: ties everywhere
    positives, negatives = y > 0.5, y < 0.5

    def components(score):
        pairs = score[positives][:, None] - score[negatives][None, :]
        kernel = (pairs > 0) + 0.5 * (pairs == 0)
        return kernel.mean(axis=1), kernel.mean(axis=0)  # each positive's and each negative's share

    (ours_10, ours_01), (theirs_10, theirs_01) = components(ours), components(theirs)
    s10, s01 = np.cov(np.vstack([ours_10, theirs_10])), np.cov(np.vstack([ours_01, theirs_01]))
    expected = np.sqrt((s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / positives.sum()
                       + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / negatives.sum())
    assert metrics.difference_standard_error("churn", y, ours, theirs) == pytest.approx(expected, rel=1e-9)


def test_the_same_predictions_are_level_and_an_overflowed_one_has_no_noise_to_give():
    y = np.arange(10.0)
    assert metrics.within_noise(0.9, 0.9, 0.0)  # nothing between them
    assert metrics.difference_standard_error("value", y, np.r_[y[:-1], np.inf], y + 1) is None  # not NaN
