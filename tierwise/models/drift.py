"""Drift: how far the customers being scored have moved since the model was trained.

At training, every feature and the score are binned on the model's population
as it stood at the data's end, the moment scoring on the same data would see
(``dataset.drift_reference``): deciles for numbers, with a bin of their own for
missing values; the most frequent categories for categoricals.  The share in
each bin is kept with the model.  At scoring, the same bins are filled with
today's customers and the population stability index,
sum((now - then) * ln(now / then)), is computed per feature and for the score.
Above 0.2 the population has shifted enough to retrain, and the model page
raises an alert; retraining moves the reference to the new data, so the alert
clears.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

ALERT_PSI = 0.2
BINS = 10
TOP_CATEGORIES = 12
SCORE = "__score__"
FLOOR = 1e-4  # an empty bin counts as this share, so the logarithm stays finite


def _numeric_reference(values: np.ndarray) -> dict:
    """Decile edges, with the minimum and maximum as edges too and a bin for anything above the maximum.

    Values outside the range the model was judged on then land in bins of their own.
    With inner deciles alone, a feature nearly constant at validation (every customer
    billed on the same day: recency 1 for all) had one edge, and a day-22 population
    fell in the same bin as the day-1 one: no drift was seen.
    """
    present = values[~np.isnan(values)]
    if not len(present):
        return {"edges": [], "shares": _numeric_shares(values, []).tolist()}
    edges = np.unique(np.quantile(present, np.linspace(0, 1, BINS + 1)))
    edges = np.append(edges, np.nextafter(edges[-1], np.inf))  # the maximum gets a bin; above it, another
    return {"edges": [float(e) for e in edges], "shares": _numeric_shares(values, edges).tolist()}


def _numeric_shares(values: np.ndarray, edges) -> np.ndarray:
    edges = np.asarray(edges, dtype=float)
    missing = np.isnan(values)
    bins = np.searchsorted(edges, _snapped(values[~missing], edges), side="right")
    counts = np.bincount(bins, minlength=len(edges) + 1).astype(float)
    counts = np.append(counts, missing.sum())
    return counts / max(len(values), 1)


def _snapped(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Values within float noise of an edge, as that edge (the lower one first).

    Edges are quantiles, so many values sit exactly on one (tied scores, the maximum).
    Scoring computes a score tree by tree, for its reasons; training, the reference,
    with LightGBM's own predict: a last-digit difference moved every tied customer to
    the next bin, and unchanged data raised a score drift alert (PSI 0.39).
    """
    if not len(edges) or not len(values):
        return values
    above = np.clip(np.searchsorted(edges, values), 0, len(edges) - 1)
    below = np.clip(above - 1, 0, len(edges) - 1)
    snapped = np.where(np.isclose(values, edges[above], rtol=1e-9, atol=0.0), edges[above], values)
    return np.where(np.isclose(values, edges[below], rtol=1e-9, atol=0.0), edges[below], snapped)


def _categorical_reference(values: pd.Series) -> dict:
    shares = values.astype("string").fillna("(missing)").value_counts(normalize=True)
    top = shares.head(TOP_CATEGORIES)
    return {"categories": {str(k): float(v) for k, v in top.items()}, "other": float(1.0 - top.sum())}


def reference_bins(x: pd.DataFrame, score: np.ndarray) -> dict:
    reference = {}
    for column in x.columns:
        if isinstance(x[column].dtype, pd.CategoricalDtype):
            reference[column] = _categorical_reference(x[column])
        else:
            reference[column] = _numeric_reference(x[column].to_numpy(dtype=float))
    reference[SCORE] = _numeric_reference(np.asarray(score, dtype=float))
    return reference


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    expected = np.maximum(np.asarray(expected, dtype=float), FLOOR)
    actual = np.maximum(np.asarray(actual, dtype=float), FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def drift(reference: dict, x: pd.DataFrame, score: np.ndarray) -> dict[str, float]:
    """PSI per feature (those the model was trained with) and for the score."""
    result = {}
    for column, bins in reference.items():
        values = score if column == SCORE else (x[column] if column in x.columns else None)
        if values is None:
            continue
        if "categories" in bins:
            now = pd.Series(values).astype("string").fillna("(missing)").value_counts(normalize=True)
            actual = [float(now.get(k, 0.0)) for k in bins["categories"]]
            result[column] = psi(list(bins["categories"].values()) + [bins["other"]], actual + [1.0 - sum(actual)])
        else:
            array = np.asarray(values, dtype=float)
            result[column] = psi(bins["shares"], _numeric_shares(array, bins["edges"]))
    return {k: round(v, 4) for k, v in result.items()}


def alerts(values: dict[str, float]) -> list[str]:
    return sorted((k for k, v in values.items() if v > ALERT_PSI), key=lambda k: -values[k])
