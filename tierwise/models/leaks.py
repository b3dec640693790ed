"""A field that gives the answer away: a model that ranks almost perfectly on one field alone.

A real file sometimes carries the outcome under another name: Kaggle's
BankChurners ships two ``Naive_Bayes_Classifier_...`` columns computed from the
label, a bank's export a closing date or an account status, a distributor's a
"lost customer" flag.  Imported as fields, the model reads the answer: QA's churn
model on BankChurners scored ROC AUC 1.000, level with logistic regression, and
was crowned champion with nothing said.  It predicts nothing for customers whose
answer is not yet written down.

Activity and interactions cannot leak this way (features stop at the cutoff, and a
snapshot model reads no activity), so the suspicion is a *field* carrying most of
what the model learnt while it ranks the validation customers almost perfectly.
A snapshot model goes further and leaves out any field that alone tells who left
(``outcome_columns``): with no cutoff to cut at, such a field can only be the
outcome.  The version keeps what was found (``data_window.suspected_leak``), and the model
page and ``tierwise train`` say it.  Nothing is refused: the admin knows the field.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

OUTCOME_AUC = 0.99  # a field this telling alone records the outcome (``outcome_columns``)
OUTCOME_MIN_CUSTOMERS = 10
NEAR_PERFECT = {"churn": ("roc_auc", 0.99), "value": ("spearman", 0.99)}
# Of the model's total gain, taken by the one field, where the activity takes the rest.  A time-aware model
# given a "closed" flag split its gain 41% to the flag and 41% to recency (ROC AUC 0.995).  The demo tenants'
# churn models (0.994 / 0.976 / 0.971) are led by activity (recency 52%, trend 49%, recency 32%): not flagged.
DOMINANT_SHARE = 0.3


def suspected_leak(model: str, metrics: dict, importance: list[dict]) -> dict | None:
    """``{"field", "gain_share", "metric", "value"}`` where one field dominates a near-perfect model, else None.

    ``metrics``: the version's (``{"model": {...}, ...}``); ``importance``: its features, largest gain first.
    """
    name, threshold = NEAR_PERFECT[model]
    value = (metrics.get("model") or {}).get(name)
    if value is None or value < threshold or not importance:
        return None
    top = importance[0]
    if not top["feature"].startswith("field_") or top["gain_share"] < DOMINANT_SHARE:
        return None
    return {"field": top["feature"][len("field_"):], "gain_share": top["gain_share"], "metric": name,
            "value": round(float(value), 4)}


def outcome_columns(x: pd.DataFrame, y: pd.Series) -> list[str]:
    """The profile columns that alone tell who left (ROC AUC of at least ``OUTCOME_AUC`` either way).

    Such a field records the outcome, not what comes before it: IBM's telco file carries ``Churn
    Reason`` (empty for those who stayed) and ``Churn Value``, Kaggle's BankChurners two naive
    Bayes scores computed from the label, a core system a closing date.  Imported with
    ``--add-fields`` they become fields, and a model on them would be perfect on paper and
    predict nothing.  A number is ranked as it is (missing lowest); a category by its churn rate,
    for categories of at least ``OUTCOME_MIN_CUSTOMERS`` (rarer ones, an id or a surname, take
    the overall rate, so a field unique to each customer does not pass for one).
    """
    from sklearn.metrics import roc_auc_score  # scoring imports this module, and the web imports scoring

    truth = y.to_numpy(dtype=float)
    found = []
    for column in x.columns:
        values = x[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            codes = pd.Series(values.cat.codes.to_numpy())
            counts = codes.map(codes.value_counts())
            rates = pd.Series(truth).groupby(codes).mean()
            score = codes.map(rates).where(counts >= OUTCOME_MIN_CUSTOMERS, truth.mean()).to_numpy(dtype=float)
        else:
            numbers = values.to_numpy(dtype=float)
            if np.isnan(numbers).all():
                continue
            score = np.where(np.isnan(numbers), np.nanmin(numbers) - 1.0, numbers)
        auc = roc_auc_score(truth, score)
        if max(auc, 1.0 - auc) >= OUTCOME_AUC:
            found.append(column)
    return found
