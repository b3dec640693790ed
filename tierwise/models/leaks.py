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
The version keeps what was found (``data_window.suspected_leak``), and the model
page and ``tierwise train`` say it.  Nothing is refused: the admin knows the field.
"""
from __future__ import annotations

NEAR_PERFECT = {"churn": ("roc_auc", 0.99), "value": ("spearman", 0.99)}
DOMINANT_SHARE = 0.5  # of the model's total gain, taken by the one field


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
