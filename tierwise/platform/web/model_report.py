"""What the model pages say about a version: its metrics beside the baselines, in words and in order.

The registry stores numbers.  A reader needs to know, for each metric, which
column is better and whether the model beats each simple baseline at all (a
model that cannot beat "the longer since the last purchase, the likelier to
leave" is not worth its complexity).  Everything here is a pure function of a
stored version or run, so the overview, the version page and their tests agree.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tierwise.models.drift import ALERT_PSI, SCORE
from tierwise.models.metrics import NOISE, within_noise
from tierwise.models.registry import PRIMARY_METRIC, ModelVersion, version_by_number
from tierwise.models.runs import ModelRun

# (metric, label, higher is better, format); None: the closer to the actual total, the better
METRICS = {
    "churn": (("roc_auc", _l("ROC AUC"), True, "ratio"), ("pr_auc", _l("PR AUC"), True, "ratio"),
              ("lift_top10", _l("Lift in the top 10%"), True, "lift"),
              ("capture_top10", _l("Churners caught in the top 10%"), True, "share"),
              ("brier", _l("Brier score"), False, "ratio4")),
    "value": (("rmse", _l("RMSE"), False, "amount"), ("mae", _l("MAE"), False, "amount"),
              ("spearman", _l("Spearman rank correlation"), True, "ratio"),
              ("capture_top10", _l("Actual value held by the top 10% predicted"), True, "share"),
              ("total_predicted", _l("Total predicted"), None, "amount")),
}
PREDICTOR_LABELS = {"model": _l("LightGBM model"), "logistic_regression": _l("Logistic regression"),
                    "recency_rule": _l("Recency rule"),
                    "last_period_carried_forward": _l("Last period carried forward"),
                    "run_rate": _l("Last year's run rate")}
VALIDATION_LABELS = {  # tierwise.models.cutoffs.Plan.describe()
    "later cutoff, label windows do not overlap": _l("A later cutoff: no training label window overlaps it."),
    "customers held out, label windows overlap": _l(
        "Customers held out of training: the history is too short for a later cutoff, so the label windows "
        "overlap."),
    "customers held out at random, the labels are a snapshot": _l(
        "Customers held out at random: the churn labels are a snapshot of who had left by one day, with no later "
        "time to validate on."),
}
#: Why a version learnt from a snapshot of churn labels (``snapshot_churn.REASONS``), as its page says it.
SNAPSHOT_REASONS = {
    "no_activity": _l("The tenant has churn labels and no activity: the model learnt from the customers' fields."),
    "short_history": _l("The activity is too short for any cutoff of the horizon, and the tenant has churn labels: "
                        "the model learnt from the customers' fields."),
    "undated": _l("The churn labels carry no day the leavers left, and their activity does not stop: no cutoff "
                  "could place them, so the model learnt from the customers' fields."),
    "late": _l("The churn labels are dated on or after the end of the last training horizon: no cutoff could "
               "place them, so the model learnt from the customers' fields."),
}


@dataclass(frozen=True)
class Cell:
    text: str
    best: bool = False


@dataclass(frozen=True)
class MetricRow:
    metric: str
    label: str
    higher_is_better: bool | None
    cells: list[Cell]
    note: str = ""


@dataclass(frozen=True)
class Verdict:
    """Whether the model beats one baseline on the model's primary metric."""

    baseline: str
    beats: bool
    metric: str
    ours: str
    theirs: str
    # The gap is within what another validation sample of the same size could give (95%): the two are level
    level: bool = False
    margin: str = ""  # that range, ± 1.96 standard errors of the paired difference


def formatted(value: float | None, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "share":
        return f"{value:.1%}"
    if kind == "lift":
        return f"{value:.2f}×"
    if kind == "ratio4":
        return f"{value:.4f}"
    if kind == "amount":
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return f"{value:.3f}"


def _finer(value: float, kind: str) -> str:
    """``formatted`` with more digits, for two values that read the same at its precision."""
    return f"{value:,.2f}" if kind == "amount" else f"{value:.5f}"


def predictor_label(name: str) -> str:
    return str(PREDICTOR_LABELS.get(name, name))


def ordered(names) -> list[str]:
    """The model first, then its baselines in a fixed order (JSONB does not keep the order they were stored in)."""
    known = list(PREDICTOR_LABELS)
    return sorted(names, key=lambda name: (known.index(name) if name in known else len(known), name))


def columns(version: ModelVersion) -> list[tuple[str, str]]:
    """(key, heading) of each column: the model, its baselines, and the champion it was compared with."""
    found = [(name, predictor_label(name)) for name in ordered(version.metrics)]
    if version.champion_comparison.get("champion"):
        found.append(("champion", _("Champion then (version %(number)s)",
                                    number=version.champion_comparison.get("champion_number"))))
    return found


def metric_label(model: str, name: str) -> tuple[str, str]:
    """The label and format of one of ``model``'s metrics."""
    return next((str(label), kind) for metric, label, _higher, kind in METRICS[model] if metric == name)


def _values(version: ModelVersion, key: str) -> dict:
    return version.champion_comparison["champion"] if key == "champion" else version.metrics.get(key, {})


def _best(values: list[float | None], higher: bool | None, target: float | None) -> set[int]:
    present = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(present) < 2:
        return set()
    if higher is None:
        if target is None:
            return set()
        score = {i: -abs(v - target) for i, v in present}
    else:
        score = {i: v if higher else -v for i, v in present}
    top = max(score.values())
    return {i for i, s in score.items() if s == top}


def metric_rows(version: ModelVersion) -> list[MetricRow]:
    keys = [key for key, _heading in columns(version)]
    actual = version.metrics.get("model", {}).get("total_actual")
    rows = []
    for metric, label, higher, kind in METRICS[version.model]:
        values = [_values(version, key).get(metric) for key in keys]
        best = _best(values, higher, actual)
        note = _("actual %(total)s", total=formatted(actual, "amount")) if metric == "total_predicted" else ""
        rows.append(MetricRow(metric, str(label), higher,
                              [Cell(formatted(v, kind), i in best) for i, v in enumerate(values)], note))
    return rows


def verdicts(version: ModelVersion) -> list[Verdict]:
    name, higher = PRIMARY_METRIC[version.model]
    label, kind = metric_label(version.model, name)
    ours = version.metrics.get("model", {}).get(name)
    found = []
    for baseline in ordered(version.metrics):
        theirs = version.metrics[baseline].get(name)
        if baseline == "model" or ours is None or theirs is None:
            continue
        beats = ours > theirs if higher else ours < theirs
        error = version.metrics[baseline].get("model_difference_se")  # versions trained before it have none
        level = within_noise(ours, theirs, error)
        say = formatted
        if formatted(ours, kind) == formatted(theirs, kind):  # "beats ... 0.950 against 0.950": the digits that differ
            say = _finer
        found.append(Verdict(predictor_label(baseline), beats, label, say(ours, kind), say(theirs, kind), level,
                             say(NOISE * error, kind) if level else ""))
    return found


def primary(version: ModelVersion) -> tuple[str, str]:
    """The primary metric's label and formatted value (the number versions are ranked by)."""
    name, value = version.primary_metric
    label, kind = metric_label(version.model, name)
    return label, formatted(value, kind)


def compared_with_champion(version: ModelVersion) -> str:
    """``against version 3: 0.812``: the champion of the day on this version's validation data."""
    comparison = version.champion_comparison or {}
    if not comparison.get("champion"):
        return ""
    name = PRIMARY_METRIC[version.model][0]
    kind = metric_label(version.model, name)[1]
    return _("against version %(number)s: %(value)s", number=comparison.get("champion_number"),
             value=formatted(comparison["champion"].get(name), kind))


def validation_label(code: str | None) -> str:
    return str(VALIDATION_LABELS.get(code, code or "—"))


def snapshot_reason(code: str | None) -> str:
    """Why a version learnt from a snapshot of churn labels; empty for a time-aware version."""
    return str(SNAPSHOT_REASONS.get(code, code or ""))


@dataclass(frozen=True)
class DriftRow:
    feature: str
    label: str
    psi: float
    alert: bool


def drift_rows(run: ModelRun | None, locale: str | None) -> dict[str, list[DriftRow]]:
    """PSI per feature for each model of a scoring run, the largest first, labelled with the version used."""
    if run is None:
        return {}
    found = {}
    for model, drift in (run.summary or {}).get("drift", {}).items():
        number = (run.summary.get("versions") or {}).get(model)
        version = version_by_number(model, number)
        spec = version.spec if version is not None else None
        rows = []
        for feature, psi in drift.get("psi", {}).items():
            if feature == SCORE:
                label = _("The score itself")
            else:
                label = spec.label(feature, locale) if spec is not None else feature
            rows.append(DriftRow(feature, label, psi, psi > ALERT_PSI))
        found[model] = sorted(rows, key=lambda row: -row.psi)
    return found
