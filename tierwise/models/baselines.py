"""Simple models every trained model is compared with, on the same validation data.

A model that cannot beat these is not worth its complexity, and the model page
says so.  Churn: logistic regression on the same features, and a recency rule
(the longer since the last activity, the likelier to leave; its probabilities
are the churn rate of each recency decile in the training data; not for a model
from a snapshot of labels, which reads no activity).  Value: the
last period's amount carried forward, and, where the data before the validation
cutoff is shorter than that period, the last year's run rate too.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from tierwise.models.features import WINDOWS

# Logistic regression is fitted on at most this many training rows.  At a million customers, twice as many
# moved its ROC AUC by 0.0001 and its PR AUC by 0.002, and took 7.9 s against 5.1 s.
LOGISTIC_ROWS = 100_000


def logistic_regression(train_x: pd.DataFrame, train_y: pd.Series, valid_x: pd.DataFrame, *, seed: int) -> np.ndarray:
    categorical = [c for c in train_x.columns if isinstance(train_x[c].dtype, pd.CategoricalDtype)]
    numeric = [c for c in train_x.columns if c not in categorical and train_x[c].notna().any()]
    if len(train_x) > LOGISTIC_ROWS:
        keep = np.random.default_rng(seed).choice(len(train_x), LOGISTIC_ROWS, replace=False)
        train_x, train_y = train_x.iloc[keep], train_y.iloc[keep]
    prepare = ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), numeric),
        ("categorical", make_pipeline(SimpleImputer(strategy="constant", fill_value="(missing)"),
                                      OneHotEncoder(handle_unknown="ignore", min_frequency=20)), categorical),
    ])
    model = make_pipeline(prepare, LogisticRegression(max_iter=300, C=1.0, random_state=seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(_objects(train_x, categorical), train_y.to_numpy())
    return model.predict_proba(_objects(valid_x, categorical))[:, 1]


def _objects(frame: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    for column in categorical:
        frame[column] = frame[column].astype(object).where(frame[column].notna(), "(missing)")
    return frame


def recency_rule(train_x: pd.DataFrame, train_y: pd.Series, valid_x: pd.DataFrame) -> np.ndarray:
    """Each validation customer gets the training churn rate of its recency decile."""
    recency = train_x["recency_days"].fillna(train_x["recency_days"].max()).to_numpy()
    edges = np.unique(np.quantile(recency, np.linspace(0, 1, 11)))
    bins = np.clip(np.searchsorted(edges, recency, side="right") - 1, 0, max(len(edges) - 2, 0))
    rates = pd.Series(train_y.to_numpy()).groupby(bins).mean()
    valid = valid_x["recency_days"].fillna(recency.max()).to_numpy()
    valid_bins = np.clip(np.searchsorted(edges, valid, side="right") - 1, 0, max(len(edges) - 2, 0))
    # ties within a decile are broken by recency itself, so the rule still ranks everyone
    return rates.reindex(valid_bins).fillna(train_y.mean()).to_numpy() + valid * 1e-9


def carried_forward(valid_x: pd.DataFrame, horizon_days: int) -> np.ndarray:
    """The amount of the last ``horizon_days`` before the cutoff, as the prediction for the next."""
    window = carried_forward_window(horizon_days)
    amount = valid_x[f"amount_sum_{window}d"].fillna(0.0).to_numpy()
    return amount * (horizon_days / window)


def carried_forward_window(horizon_days: int) -> int:
    """The window whose amount ``carried_forward`` carries: the feature window nearest the horizon."""
    return min(WINDOWS, key=lambda w: (abs(w - horizon_days), -w))


def run_rate(valid_x: pd.DataFrame, horizon_days: int) -> np.ndarray:
    """The horizon times the last year's amount per day, over the part of the year the customer was known.

    Where the data starts less than a period before the cutoff, the amount carried forward
    sums only the part of the period the data holds, and any model beats it for that alone
    (on 18 months of data, a one-year value model is judged five months in).  The run rate
    is the same naive forecast over the days known: the model must beat it too to have
    learnt more than the customer's own pace.  It is also where the value model's boosting
    starts (``training.offset``).
    """
    return horizon_days * valid_x["amount_per_day_365d"].fillna(0.0).to_numpy(dtype=float)


def churn_baselines(train_x, train_y, valid_x, *, seed: int) -> dict[str, np.ndarray]:
    """Logistic regression, and the recency rule where the model reads activity (a snapshot model does not)."""
    found = {"logistic_regression": logistic_regression(train_x, train_y, valid_x, seed=seed)}
    if "recency_days" in train_x.columns:
        found["recency_rule"] = recency_rule(train_x, train_y, valid_x)
    return found


def value_baselines(valid_x, horizon_days: int, *, history_days: int | None = None) -> dict[str, np.ndarray]:
    """Carried forward, and the run rate where the ``history_days`` before the validation cutoff do not cover
    the window carried forward (once they do, the data holds the period carried forward, and the model is judged
    against it)."""
    found = {"last_period_carried_forward": carried_forward(valid_x, horizon_days)}
    if history_days is not None and history_days < carried_forward_window(horizon_days):
        paced = run_rate(valid_x, horizon_days)
        if not np.allclose(paced, found["last_period_carried_forward"]):  # customers known a whole window: no news
            found["run_rate"] = paced
    return found
