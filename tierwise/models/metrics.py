"""How good a model is, measured the same way for the model and for its baselines.

Churn: ROC AUC, PR AUC (average precision), lift and capture in the top 10%,
the Brier score and a ten-bin calibration table.  Value: RMSE, MAE, Spearman
correlation, the share of actual value held by the top 10% predicted, and total
predicted against total actual.  Every function takes plain arrays.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata, spearmanr
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score, roc_curve

TOP_SHARE = 0.10
from tierwise.models.registry import PRIMARY_METRIC as PRIMARY
CURVE_POINTS = 50


def _top(score: np.ndarray, share: float = TOP_SHARE) -> np.ndarray:
    """Indexes of the top ``share`` by score (ties broken by position, so the count is exact)."""
    count = max(1, int(round(len(score) * share)))
    return np.argsort(-score, kind="stable")[:count]


def churn_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    top = _top(p)
    base_rate = y.mean()
    top_rate = y[top].mean()
    both = 0 < y.sum() < len(y)  # rankings are undefined when everyone stayed (or everyone left)
    return _finite({
        "roc_auc": float(roc_auc_score(y, p)) if both else None,
        "pr_auc": float(average_precision_score(y, p)) if both else None,
        "lift_top10": float(top_rate / base_rate) if base_rate > 0 else None,
        "capture_top10": float(y[top].sum() / y.sum()) if y.sum() > 0 else None,
        "brier": float(brier_score_loss(y, np.clip(p, 0, 1))),
        "base_rate": float(base_rate),
        "examples": int(len(y)),
        "calibration": calibration_table(y, p),
    })


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict]:
    """Deciles of the predicted probability: mean predicted against the observed rate."""
    order = np.argsort(p, kind="stable")
    table = []
    for part in np.array_split(order, bins):
        if len(part):
            table.append({"predicted": float(p[part].mean()), "observed": float(y[part].mean()),
                          "customers": int(len(part))})
    return table


def value_metrics(y: np.ndarray, pred: np.ndarray) -> dict:
    y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
    error = pred - y
    top = _top(pred)
    total = y.sum()
    return _finite({
        "rmse": float(np.sqrt(np.mean(error ** 2))),
        "mae": float(np.mean(np.abs(error))),
        "spearman": float(spearmanr(y, pred).statistic) if np.std(pred) > 0 and np.std(y) > 0 else 0.0,
        "capture_top10": float(y[top].sum() / total) if total > 0 else None,
        "total_predicted": float(pred.sum()),
        "total_actual": float(total),
        "examples": int(len(y)),
    })


def _finite(values: dict) -> dict:
    """NaN and infinities become None: they are not JSON, and "undefined" is what they mean here."""
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in values.items()}


def metrics_for(model: str, y, prediction) -> dict:
    return churn_metrics(y, prediction) if model == "churn" else value_metrics(y, prediction)


def better(model: str, challenger: dict, champion: dict) -> bool:
    """Whether ``challenger`` beats ``champion`` on the model's primary metric (same validation data)."""
    name, higher = PRIMARY[model]
    a, b = challenger.get(name), champion.get(name)
    if a is None or b is None:
        return b is None
    return a > b if higher else a < b


def standard_error(model: str, y: np.ndarray, prediction: np.ndarray, score: dict) -> float:
    """How much the primary metric of ``score`` would move on another sample of the same size.

    ROC AUC: Hanley and McNeil's (1982) formula from the AUC and the counts of
    each class.  RMSE: the spread of the squared errors (the delta method).
    Infinite where the metric is undefined.
    """
    name, _ = PRIMARY[model]
    value = score.get(name)
    if value is None:
        return float("inf")
    y = np.asarray(y, dtype=float)
    if model == "churn":
        positives, negatives = float(y.sum()), float(len(y) - y.sum())
        q1, q2 = value / (2 - value), 2 * value ** 2 / (1 + value)
        variance = (value * (1 - value) + (positives - 1) * (q1 - value ** 2)
                    + (negatives - 1) * (q2 - value ** 2)) / (positives * negatives)
        return float(np.sqrt(max(variance, 0.0)))
    squared = (np.asarray(prediction, dtype=float) - y) ** 2
    return float(squared.std() / np.sqrt(len(y)) / (2 * value)) if value > 0 else 0.0


def difference_standard_error(model: str, y, ours, theirs) -> float | None:
    """How much the model's lead over a baseline on the primary metric would move on another sample.

    Both predict the same examples, so their errors go together and the
    difference is far steadier than either score: the two standard errors of
    ``standard_error`` added up would call nearly every gap noise.  ROC AUC:
    DeLong, DeLong and Clarke-Pearson's (1988) covariance of two correlated
    AUCs, computed from midranks (Sun and Xu, 2014).  RMSE: the delta method on
    each example's squared error under both.  None where the metric is undefined.
    """
    y = np.asarray(y, dtype=float)
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    if len(y) < 2:
        return None
    if model == "churn":
        positive = y > 0.5
        m, n = int(positive.sum()), int((~positive).sum())
        if m < 2 or n < 2:
            return None
        v10, v01 = [], []  # each positive's and each negative's share of the AUC, per predictor
        for score in (ours, theirs):
            both = rankdata(np.concatenate([score[positive], score[~positive]]))
            among_positives, among_negatives = rankdata(score[positive]), rankdata(score[~positive])
            v10.append((both[:m] - among_positives) / n)
            v01.append(1 - (both[m:] - among_negatives) / m)
        s10, s01 = np.cov(np.vstack(v10)), np.cov(np.vstack(v01))
        variance = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / n
        return _finite_or_none(np.sqrt(max(variance, 0.0)))
    squared_ours, squared_theirs = (ours - y) ** 2, (theirs - y) ** 2
    rmse_ours, rmse_theirs = np.sqrt(squared_ours.mean()), np.sqrt(squared_theirs.mean())
    if not (0 < rmse_ours < np.inf and 0 < rmse_theirs < np.inf):  # perfect, or overflowed: nothing to measure
        return None
    influence = squared_ours / (2 * rmse_ours) - squared_theirs / (2 * rmse_theirs)
    return _finite_or_none(influence.std() / np.sqrt(len(y)))


def _finite_or_none(value) -> float | None:
    """None for NaN or an infinity (a prediction that overflowed): not JSON, and no noise anyone can read."""
    return float(value) if np.isfinite(value) else None


NOISE = 1.96  # standard errors of a paired difference: a 95% interval


def within_noise(ours: float, theirs: float, error: float | None) -> bool:
    """Whether a gap is within what another validation sample of the same size could give (95%)."""
    return error is not None and abs(ours - theirs) <= NOISE * error  # identical predictions: level


def roc_points(y: np.ndarray, p: np.ndarray) -> list[list[float]]:
    fpr, tpr, _ = roc_curve(y, p)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), CURVE_POINTS)).astype(int))
    return [[round(float(fpr[i]), 4), round(float(tpr[i]), 4)] for i in keep]


def lift_points(y: np.ndarray, score: np.ndarray, steps: int = 20) -> list[list[float]]:
    """Cumulative share of the target captured by the top x% of scores (the gain curve)."""
    y = np.asarray(y, dtype=float)
    ordered = y[np.argsort(-np.asarray(score, dtype=float), kind="stable")]
    total = ordered.sum()
    if total <= 0:
        return []
    cumulative = np.cumsum(ordered) / total
    points = [[0.0, 0.0]]
    for step in range(1, steps + 1):
        count = max(1, int(round(len(ordered) * step / steps)))
        points.append([round(step / steps, 3), round(float(cumulative[count - 1]), 4)])
    return points
