"""The model registry: every trained model is a numbered version; one champion per tenant and model.

A version keeps everything needed to trust and reuse it: parameters, the
feature spec, the data window, its metrics beside the baselines, the search it
came from, curves, importance, the drift reference and the LightGBM model
itself (as text, in the database, so it is backed up with everything else).

A new version becomes champion only if it beats the current champion **on the
new version's validation data** (the champion is re-scored on it, so the two
are compared on the same customers and the same cutoff), and only if both
predict over the same horizon: a model of another horizon answers another
question, and changes what ``churn_probability`` or ``predicted_value`` means
only when an admin promotes it.  An admin may promote
any version anyway (an override, audited), which is also how a rollback is
done.  The database allows one champion per tenant and model.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, deferred, mapped_column

from tierwise.errors import ValidationError
from tierwise.models.features import FeatureSpec
from tierwise.models.leaks import suspected_leak
from tierwise.platform import audit
from tierwise.platform.db import JSONType, TenantScoped, db, utcnow

if TYPE_CHECKING:  # LightGBM and scikit-learn load only where models are trained or used, not in every web worker
    import lightgbm as lgb

    from tierwise.models.dataset import Dataset
    from tierwise.models.training import Trained

MODELS = ("churn", "value")
MODEL_LABELS = {"churn": _l("Churn model"), "value": _l("Value model")}  # as people read them
PRIMARY_METRIC = {"churn": ("roc_auc", True), "value": ("rmse", False)}  # metric, higher is better


class ModelVersion(TenantScoped, db.Model):
    __tablename__ = "model_versions"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "model", "number"),
        sa.CheckConstraint("model IN ('churn', 'value')", name="model"),
        sa.Index("uq_model_versions_champion", "tenant_id", "model", unique=True,
                 postgresql_where=sa.text("is_champion"), sqlite_where=sa.text("is_champion")),
    )
    noun = _l("model version")

    model: Mapped[str] = mapped_column(sa.String(16))
    number: Mapped[int]
    is_champion: Mapped[bool] = mapped_column(default=False)
    horizon_days: Mapped[int]
    params: Mapped[dict] = mapped_column(JSONType)
    rounds: Mapped[int]
    features: Mapped[dict] = mapped_column(JSONType)  # {"spec": FeatureSpec.to_dict(), "columns": [...]}
    data_window: Mapped[dict] = mapped_column(JSONType)
    metrics: Mapped[dict] = mapped_column(JSONType)  # {"model": {...}, baseline: {...}}
    champion_comparison: Mapped[dict] = mapped_column(JSONType, default=dict)
    search: Mapped[list] = mapped_column(JSONType, default=list)
    curves: Mapped[dict] = deferred(mapped_column(JSONType, default=dict, nullable=False))
    importance: Mapped[list] = mapped_column(JSONType, default=list)
    reference: Mapped[dict] = deferred(mapped_column(JSONType, default=dict, nullable=False))
    model_text: Mapped[str] = deferred(mapped_column(sa.Text, nullable=False))
    training_seconds: Mapped[float]
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)
    trained_by: Mapped[str] = mapped_column(sa.String(254), default="")
    promoted_at: Mapped[datetime | None]
    promotion_note: Mapped[str] = mapped_column(sa.Text, default="")

    @property
    def spec(self) -> FeatureSpec:
        return FeatureSpec.from_dict(self.features["spec"])

    @property
    def columns(self) -> list[str]:
        return list(self.features["columns"])

    @property
    def primary_metric(self) -> tuple[str, float | None]:
        name = PRIMARY_METRIC[self.model][0]
        return name, self.metrics.get("model", {}).get(name)

    def booster(self) -> "lgb.Booster":
        return _booster(self.tenant_id, self.id, self.model_text)

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        from tierwise.models.training import predict

        return predict(self.booster(), aligned(x, self.columns), self.params)


@lru_cache(maxsize=16)
def _booster(tenant_id: int, version_id: uuid.UUID, text: str) -> "lgb.Booster":
    import lightgbm as lgb

    return lgb.Booster(model_str=text)


def aligned(x: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``x`` with exactly ``columns``: a feature the data no longer has is missing (NaN), not an error."""
    missing = [c for c in columns if c not in x.columns]
    if missing:
        x = x.assign(**{c: np.nan for c in missing})
    return x[columns]


def champion(model: str) -> ModelVersion | None:
    return db.session.scalar(sa.select(ModelVersion).where(ModelVersion.model == model, ModelVersion.is_champion))


def horizon(model: str) -> int:
    """The tenant's horizon for ``model``: its champion's, else the default.

    A training that names no horizon (a schedule, the model page left blank) asks
    the question the champion answers: a version of another horizon could never
    be crowned over it, so a weekly retraining on the default would never replace a
    champion an admin trained over 180 days.
    """
    from tierwise.models.cutoffs import DEFAULT_HORIZON

    current = champion(model)
    return current.horizon_days if current is not None else DEFAULT_HORIZON[model]


def version_by_number(model: str, number: int | None) -> ModelVersion | None:
    return db.session.scalar(sa.select(ModelVersion).where(ModelVersion.model == model, ModelVersion.number == number))


def versions(model: str | None = None) -> list[ModelVersion]:
    query = sa.select(ModelVersion).order_by(ModelVersion.model, ModelVersion.number.desc())
    if model:
        query = query.where(ModelVersion.model == model)
    return list(db.session.scalars(query))


def register(model: str, trained: "Trained", data: "Dataset", *, trained_by: str) -> ModelVersion:
    """Store a trained model as the next version; make it champion if it beats the current one."""
    from tierwise.models import metrics

    number = (db.session.scalar(sa.select(sa.func.max(ModelVersion.number)).where(ModelVersion.model == model))
              or 0) + 1
    version = ModelVersion(
        model=model, number=number, horizon_days=data.plan.horizon_days,
        params={k: v for k, v in trained.params.items() if k != "num_threads"}, rounds=trained.rounds,
        features={"spec": data.spec.to_dict(), "columns": list(data.train_x.columns)},
        data_window=data.plan.describe() | {"training_examples": int(len(data.train_x)),
                                            "validation_examples": int(len(data.valid_x)),
                                            "identifier_fields": data.extras.get("identifier_fields", []),
                                            "suspected_leak": suspected_leak(model, trained.metrics,
                                                                             trained.importance),
                                            "stage_seconds": trained.timings},
        metrics=trained.metrics, search=trained.search, curves=trained.curves, importance=trained.importance,
        reference=trained.reference, model_text=trained.booster.model_to_string(),
        training_seconds=round(trained.seconds, 2), trained_by=trained_by)
    db.session.add(version)
    current = champion(model)
    ours, theirs = design_of(version), design_of(current) if current is not None else None
    if current is None:
        _crown(version, current, NOTES["first"])
    elif ours != theirs:
        # A snapshot model is judged on customers held out at random, a time-aware one at a later cutoff; neither
        # can predict the other's validation examples (different features, different questions).
        version.promotion_note = NOTES["other_design"].format(number=current.number, theirs=DESIGNS[theirs],
                                                              ours=DESIGNS[ours])
    elif current.horizon_days != version.horizon_days and ours != "snapshot":
        # Another horizon is another question (churn within 90 days or 180; value over 180 days or a
        # year): scored on this version's labels the champion would lose for answering its own.  Not so
        # between two snapshot versions: their labels are who had left by the snapshot, whatever horizon
        # the training was asked for, so they answer one question and are compared on it.
        version.promotion_note = NOTES["other_horizon"].format(number=current.number, theirs=current.horizon_days,
                                                               ours=version.horizon_days)
    else:
        theirs = metrics.metrics_for(model, data.valid_y.to_numpy(), current.predict(data.valid_x))
        version.champion_comparison = {"champion_number": current.number, "champion": theirs}
        name = PRIMARY_METRIC[model][0]
        compared = {"number": current.number, "metric": name, "ours": _shown(trained.metrics["model"][name]),
                    "theirs": _shown(theirs[name])}
        if metrics.better(model, trained.metrics["model"], theirs):
            _crown(version, current, NOTES["beat"].format(**compared))
        else:
            version.promotion_note = NOTES["kept"].format(**compared)
    db.session.flush()
    audit.record("model.trained", target_type="model_version", target_id=version.id,
                 details={"model": model, "number": number, "champion": version.is_champion,
                          "metrics": {k: v for k, v in trained.metrics["model"].items() if k != "calibration"}})
    return version


#: Why a version is or is not champion, stored with it in English (the CLI and the API show it as stored);
#: the web pages recognise these sentences and say them in the reader's language (``web.promotion_notes``).
NOTES = {
    "first": "first model of this tenant",
    "other_horizon": "kept version {number} as champion: it predicts over {theirs} days and this version over "
                     "{ours}, so they cannot be compared; promote this version to use its horizon",
    "other_design": "kept version {number} as champion: it learnt from {theirs} and this version from {ours}, "
                    "so they cannot be compared; promote this version to use it",
    "beat": "beat version {number} on the same validation data ({metric} {ours} against {theirs})",
    "kept": "kept version {number} as champion: {metric} {ours} against its {theirs} on the same validation data",
    "rollback": "rollback by {by}: {reason}",
    "override": "override by {by}: {reason}",
}


#: How a version's examples were made (``Plan.design``), as the champion notes say it.
DESIGNS = {"cutoffs": "activity over time", "snapshot": "a snapshot of churn labels"}


def design_of(version: ModelVersion) -> str:
    """``cutoffs`` or ``snapshot`` (``cutoffs.Plan.design``); versions from before designs had names are cutoffs."""
    return (version.data_window or {}).get("design", "cutoffs")


def _shown(value: float | None) -> str:
    """As the CLI's metric table shows it: amounts whole with separators (588,118), scores to four places."""
    if value is None:
        return "undefined"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.4f}"


def _crown(version: ModelVersion, current: ModelVersion | None, note: str) -> None:
    if current is not None and current is not version:
        current.is_champion = False
        db.session.flush()  # the one-champion index is checked per statement
    version.is_champion = True
    version.promoted_at = utcnow()
    version.promotion_note = note


def promote(version: ModelVersion, *, by: str, reason: str) -> ModelVersion:
    """An admin makes ``version`` the champion whatever its metrics (an override or a rollback); audited."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("say why this version should be champion"), field="reason")
    current = champion(version.model)
    if current is not None and current.id == version.id:
        raise ValidationError(_l("version %(number)s is already the champion", number=version.number), field="version")
    kind = "rollback" if current is not None and version.number < current.number else "override"
    _crown(version, current, NOTES[kind].format(by=by, reason=reason))
    db.session.flush()
    audit.record(f"model.{kind}", target_type="model_version", target_id=version.id,
                 details={"model": version.model, "number": version.number,
                          "previous": current.number if current else None, "reason": reason})
    return version
