"""A customer's scores and a model's importance, with every feature named in the reader's language.

The registry and the score table store feature codes (``recency_days``,
``amount_365d_cat_2``); people read labels.  A label is only meaningful against
the feature spec of the version that produced the number (category 2 is the
tenant's third activity category *when that version was trained*), so each
score is labelled with the spec of the version recorded on the score row, not
with today's champion.  The customer page and the API both read from here.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from tierwise.models.features import reason_value
from tierwise.models.registry import ModelVersion
from tierwise.models.scores import scores_for
from tierwise.models.scoring import labelled_reasons
from tierwise.platform.db import db


@dataclass(frozen=True)
class ExplainedScore:
    """One model's number for a customer and the features that moved it most, largest first."""

    score: float | None
    version: ModelVersion | None
    reasons: list[dict] = field(default_factory=list)  # feature, label, contribution, value, effect


@dataclass(frozen=True)
class CustomerScores:
    customer_id: uuid.UUID
    scored_at: datetime | None
    churn: ExplainedScore
    value: ExplainedScore


def effect(contribution: float | None) -> str:
    """Which way a reason pushed the score: ``raises``, ``lowers`` or ``none``."""
    if not contribution:
        return "none"
    return "raises" if contribution > 0 else "lowers"


def _version(version_id: uuid.UUID | None) -> ModelVersion | None:
    if version_id is None:
        return None
    return db.session.scalar(sa.select(ModelVersion).where(ModelVersion.id == version_id))


def _explained(score: float | None, reasons: list | None, version_id: uuid.UUID | None,
               locale: str | None) -> ExplainedScore:
    version = _version(version_id)
    if version is None:  # scored by a version that is gone: the codes are all there is to show
        labelled = [{"feature": f, "label": f, "contribution": c, "value": reason_value(f, v)}
                    for f, c, v in (reasons or [])]
    else:
        labelled = labelled_reasons(reasons, version.spec, locale)
    return ExplainedScore(score=score, version=version,
                          reasons=[reason | {"effect": effect(reason["contribution"])} for reason in labelled])


def explained_scores(customer_id: uuid.UUID, locale: str | None) -> CustomerScores:
    """The customer's latest scores with labelled reasons; every number is None before the first scoring."""
    row = scores_for(customer_id)
    if row is None:
        empty = ExplainedScore(score=None, version=None)
        return CustomerScores(customer_id=customer_id, scored_at=None, churn=empty, value=empty)
    return CustomerScores(
        customer_id=customer_id, scored_at=row.scored_at,
        churn=_explained(row.churn_probability, row.churn_reasons, row.churn_version_id, locale),
        value=_explained(row.predicted_value, row.value_reasons, row.value_version_id, locale))


def labelled_importance(version: ModelVersion, locale: str | None, top: int | None = None) -> list[dict]:
    """The version's features by share of the model's total gain, each with its label."""
    spec = version.spec
    ranked = sorted(version.importance or [], key=lambda item: -item["gain_share"])
    return [{"feature": item["feature"], "label": spec.label(item["feature"], locale),
             "gain_share": item["gain_share"]} for item in ranked[:top]]
