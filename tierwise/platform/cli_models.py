"""``tierwise train``, ``tierwise score`` and ``tierwise export``.

Training and scoring start a recorded run exactly as the model page and the API
do: on RQ when ``TIERWISE_REDIS_URL`` is set (the command then follows the run
until it ends), in-process otherwise.
"""
from __future__ import annotations

import time
from datetime import datetime

import click
from flask.cli import with_appcontext

from tierwise.platform.cli import in_tenant
from tierwise.platform.db import db

TENANT = click.option("--tenant", "tenant_slug", required=True, help="Tenant slug.")
POLL_SECONDS = 2.0
#: Why a version learnt from a snapshot of churn labels (``snapshot_churn.REASONS``), as ``tierwise train`` says it.
SNAPSHOT_SAID = {"no_activity": "the tenant has no activity",
                 "short_history": "the activity is too short for any cutoff of the horizon",
                 "undated": "the leavers' labels carry no day and their activity does not stop",
                 "late": "the labels are dated after the last training horizon"}


def _as_of(value: str | None) -> datetime | None:
    """The start of the day typed, on the tenant's clock: the day its pages and refusals name (``models.days``)."""
    from tierwise.models.days import tenant_midnight

    if value is None:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date like 2025-06-30", param_hint="--as-of") from None
    return tenant_midnight(day)


def _follow(run, wait: bool):
    """Print the run's stages until it ends (it may be on a worker)."""
    from tierwise.models.runs import ModelRun

    seen = None
    while wait and run.status in ("queued", "running"):
        if (run.status, run.stage) != seen:
            seen = (run.status, run.stage)
            click.echo(f"  {run.status}: {run.stage or 'waiting for a worker'} ({run.progress:.0%})")
        time.sleep(POLL_SECONDS)
        db.session.rollback()  # a new snapshot: the worker commits its progress
        run = ModelRun.get(run.id)
    if run.status == "failed":
        raise click.ClickException(f"run {run.id} failed: {run.message}")
    return run


def _metric_table(version) -> None:
    from tierwise.models.metrics import NOISE, PRIMARY, within_noise

    names = (["roc_auc", "pr_auc", "lift_top10", "capture_top10", "brier"] if version.model == "churn"
             else ["rmse", "mae", "spearman", "capture_top10", "total_predicted", "total_actual"])
    results = version.metrics
    width = max(len(n) for n in results) + 2
    click.echo(f"  {'':{width}}" + "".join(f"{n:>16}" for n in names))
    for who, values in results.items():
        cells = "".join(f"{_fmt(values.get(n)):>16}" for n in names)
        click.echo(f"  {who:{width}}{cells}")
    name, higher = PRIMARY[version.model]
    ours = results["model"][name]
    for who, values in results.items():
        if who != "model" and values.get(name) is not None and ours is not None:
            beats = ours > values[name] if higher else ours < values[name]
            error = values.get("model_difference_se")
            if within_noise(ours, values[name], error):  # neither beats the other, as the model page says it
                click.echo(f"  level with {who} on {name}: the gap is within ±{_fmt(NOISE * error)}, "
                           "the noise of this validation set")
            else:
                click.echo(f"  {'beats' if beats else 'does NOT beat'} {who} on {name}")


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:,.4f}" if abs(value) < 100 else f"{value:,.0f}"


@click.command("train")
@with_appcontext
@TENANT
@click.option("--model", type=click.Choice(["churn", "value"]), required=True, help="Which model to train.")
@click.option("--as-of", "as_of", default=None,
              help="Train as if today were this date (YYYY-MM-DD, on the tenant's clock).")
@click.option("--horizon-days", type=int, default=None,
              help="Days after a cutoff the label looks at (default: the champion's; without one, churn 90, value 365).")
@click.option("--no-wait", is_flag=True, help="With Redis: return once the run is queued.")
def train_command(tenant_slug: str, model: str, as_of: str | None, horizon_days: int | None, no_wait: bool) -> None:
    """Train a churn or value model for a tenant and print its metrics beside the baselines."""
    from tierwise.models.cutoffs import SNAPSHOT
    from tierwise.models.days import tenant_day
    from tierwise.models.horizons import whole_months
    from tierwise.models.registry import ModelVersion, design_of
    from tierwise.models.runs import launch_training

    with in_tenant(tenant_slug):
        run = launch_training(model, started_by="cli", as_of=_as_of(as_of), horizon_days=horizon_days)
        click.echo(f"Training run {run.id}: {run.status}")
        run = _follow(run, wait=not no_wait)
        if run.status != "succeeded":
            return
        version = ModelVersion.get(run.version_id)
        window = version.data_window
        months = whole_months(version.horizon_days)  # 90 days are three calendar months (models/horizons.py)
        horizon = f"{version.horizon_days} days" + (f" ({months} calendar month{'s' if months > 1 else ''})"
                                                    if months else "")
        design = (f"horizon {horizon}, validation cutoff {tenant_day(window['validation_cutoff'])}"
                  if design_of(version) != SNAPSHOT else
                  f"churn labels a snapshot {_snapshot_day(window)}, learnt from the customers' fields "
                  f"as {SNAPSHOT_SAID.get(window.get('snapshot_reason'), 'no cutoff could place the labels')}")
        click.echo(f"{model} model version {version.number} ({'champion' if version.is_champion else 'challenger'}): "
                   f"{window['training_examples']:,} training and {window['validation_examples']:,} validation "
                   f"examples, {design} ({window['validation']})")
        if window.get("identifier_fields"):
            click.echo("  left out, as they only number or name the customers (a different value for each): "
                       + ", ".join(window["identifier_fields"]))
        if window.get("outcome_fields"):
            click.echo(f"  left out, as each alone tells who left (the outcome, not what comes before it): "
                       f"{', '.join(window['outcome_fields'])}")
        _metric_table(version)
        leak = window.get("suspected_leak")
        if leak:
            click.echo(f"  warning: the field {leak['field']} carries {leak['gain_share']:.0%} of what the model learnt, "
                       f"and the model ranks the validation customers almost perfectly ({leak['metric']} "
                       f"{leak['value']:.4f}): check that it does not record the outcome itself (a status, a closing "
                       "date, a score computed from it)")
        click.echo(f"  {version.promotion_note}")


def _snapshot_day(window: dict) -> str:
    """When a snapshot's labels say who had left: their day, or that they carry none."""
    from tierwise.models.days import tenant_day

    return f"as of {tenant_day(window['data_end'])}" if window.get("labels_dated", True) else "(undated)"


@click.command("score")
@with_appcontext
@TENANT
@click.option("--no-wait", is_flag=True, help="With Redis: return once the run is queued.")
def score_command(tenant_slug: str, no_wait: bool) -> None:
    """Score every customer of a tenant with the champion models (atomically replaces the scores)."""
    from tierwise.models.runs import launch_scoring

    with in_tenant(tenant_slug):
        run = launch_scoring(started_by="cli")
        click.echo(f"Scoring run {run.id}: {run.status}")
        run = _follow(run, wait=not no_wait)
        if run.status != "succeeded":
            return
        summary = run.summary
        used = ", ".join(f"{m} v{n}" for m, n in summary["versions"].items())
        without = summary.get("without_churn_probability") or 0
        unscored = (f" ({without:,} of them without a churn probability: lapsed, or known to have left)"
                    if without and "churn" in summary["versions"] else "")
        click.echo(f"Scored {summary['customers']:,} customers of {tenant_slug} with {used}{unscored}.")
        for model, drift in summary.get("drift", {}).items():
            if drift["alerts"]:
                from tierwise.models.drift import ALERT_PSI, SCORE

                named = ["the score" if name == SCORE else name for name in drift["alerts"][:8]]
                click.echo(f"  drift alert ({model}): population stability index above {ALERT_PSI} for "
                           + ", ".join(named))
            else:
                click.echo(f"  drift ({model}): no feature or score past the alert threshold")
        click.echo(f"Rules that read churn_probability or predicted_value see the new scores at the next retier: "
                   f"`tierwise retier --tenant {tenant_slug}` (or the schedule's).")


@click.command("export")
@with_appcontext
@TENANT
@click.option("--out", "out", required=True, help="Where to write the file (.csv or .xlsx).")
@click.option("--list", "list_name", default="all", show_default=True,
              help="all, vip, high_risk, opinion_risk, vip_at_risk, newly_high_risk, value_down or at_risk.")
def export_command(tenant_slug: str, out: str, list_name: str) -> None:
    """Write one row per customer: external id, the tier in each dimension, churn probability, predicted value."""
    from tierwise.tenants.exports import export_customers

    with in_tenant(tenant_slug):
        result = export_customers(out, list_name=list_name, by="cli")
        db.session.commit()
        click.echo(f"Wrote {result.rows:,} customers ({list_name}) to {result.path} (sha256 {result.sha256}).")
