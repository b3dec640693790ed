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
