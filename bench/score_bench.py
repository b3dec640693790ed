"""Scoring of every customer of a large tenant with its champion, per stage, with the peak memory of each run.

Data: the bank tenant of ``train_bench`` (N customers, default 250,000, with 24
monthly deposits), and a churn champion trained by ``launch_training`` (setup,
timed but not the point).  Then ``launch_scoring``, exactly what the CLI, the
API and the schedules start, is run ``--repeat`` times: features as of now,
predictions, five reasons per customer, drift and the atomic replacement of
every customer's scores.  The first run inserts into an empty table, the later
ones replace what the previous run wrote, as in production.

Each run prints its seconds, customers per second, the seconds of each stage
(``ScoringResult.stage_seconds``) and the peak RSS during that run (the
process's high-water mark is reset before it, so training's peak does not hide
scoring's).  Target: 1M customers within 60 s.

    .venv/bin/python bench/score_bench.py [--customers 250000] [--model churn|value|both] [--repeat 3]
"""
from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from throwaway import bench_database, checkpoint
from train_bench import seeded_bank, tierwise_training

from tierwise.platform import tenancy  # noqa: E402  (throwaway puts the repo on sys.path)
from tierwise.platform.audit import Actor, acting_as


def _reset_peak() -> None:
    """Restart the process's peak RSS (VmHWM) from its current size (Linux 4.0+; ignored elsewhere)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def score_once(app, tenant_id: int) -> tuple[float, dict, dict, float]:
    """One ``launch_scoring``: seconds, the run's summary, the seconds per stage and the peak RSS (MiB)."""
    from tierwise.models import scoring
    from tierwise.models.runs import launch_scoring

    stages = {}
    real = scoring.score_all

    def timed(**kwargs):
        result = real(**kwargs)
        stages.update(getattr(result, "stage_seconds", {}))
        return result

    scoring.score_all = timed  # run_scoring imports it when it runs
    try:
        with app.app_context(), tenancy.tenant_scope(tenant_id), acting_as(Actor(label="bench")):
            _reset_peak()
            started = time.perf_counter()
            run = launch_scoring(started_by="bench")
            seconds = time.perf_counter() - started
            peak = _peak_mib()
            if run.status != "succeeded":
                raise SystemExit(f"scoring failed: {run.message}")
            return seconds, run.summary, stages, peak
    finally:
        scoring.score_all = real


def report(n: int, seconds: float, stages: dict, peak: float, label: str = "") -> None:
    print(f"{label}{n:,} customers in {seconds:.1f} s ({n / seconds:,.0f} customers/s, "
          f"{seconds * 1_000_000 / n:.0f} s per million; target 60), peak RSS {peak:,.0f} MiB", flush=True)
    if stages:
        print("  stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in stages.items()), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=250_000)
    parser.add_argument("--model", choices=("churn", "value", "both"), default="churn")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with bench_database("tierwise_score_bench") as bench:
        tenant_id, _ = seeded_bank(bench, args.customers)
        for model in (("churn", "value") if args.model == "both" else (args.model,)):
            seconds, params, rounds, _, _ = tierwise_training(bench.app, tenant_id, model)
            print(f"trained the {model} champion in {seconds:.0f} s: {rounds} rounds, "
                  f"{params.get('num_leaves')} leaves", flush=True)
        for number in range(args.repeat):
            checkpoint(bench.owner)
            seconds, summary, stages, peak = score_once(bench.app, tenant_id)
            report(summary["customers"], seconds, stages, peak, f"run {number + 1}: ")
    print(f"peak RSS of the whole process (training included): "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
