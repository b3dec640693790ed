"""Model training and scoring of a large tenant, against plain ``lightgbm.train`` on the same matrix.

Data: a bank tenant of N customers (default 1,000,000) generated in SQL, each
with 24 monthly deposits (a share of them leave at some month, fading for the
three months before) and ~0.3 interactions, with two profile fields.

Measured in the same run:
- **Tierwise training job**: ``launch_training`` as the CLI, the API and the
  schedules start it (in-process here): cutoffs, features as of each cutoff
  (set-based SQL, streamed with COPY), labels, the parameter search, the final
  model, the baselines and metrics, and registration.
- **Baseline**: plain ``lightgbm.train`` with the winning parameters and number
  of rounds on the very same training matrix (built beforehand, not timed).
- **Scoring**: ``launch_scoring``: features as of now, predictions, the five
  reasons per customer for each model, drift, and the atomic replacement of
  every customer's scores.

Targets: training at most 1.5x the plain ``lightgbm.train``; scoring 1M
customers within 60 s.  Peak memory of this process is printed.

    .venv/bin/python bench/train_bench.py [--customers 1000000] [--model churn|value]
"""
from __future__ import annotations

import argparse
import resource
import time

import sqlalchemy as sa

from throwaway import bench_database, checkpoint

from tierwise.platform import tenancy  # noqa: E402  (throwaway puts the repo on sys.path)
from tierwise.platform.audit import Actor, acting_as
from tierwise.platform.db import db


def generate(owner: sa.Engine, tenant_id: int, customers: int, months: int = 24) -> dict[str, int]:
    """Customers with monthly deposits; about 15% leave during the period (setup, not timed)."""
    with owner.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))  # setup only: skip FK triggers
        conn.execute(sa.text("""
            INSERT INTO customers (tenant_id, id, external_id, name, party_type, status, attributes,
                                   created_at, updated_at)
            SELECT :t, ('0190' || lpad(to_hex(i), 28, '0'))::uuid, lpad(i::text, 9, '0'), 'customer ' || i,
                   CASE WHEN random() < 0.08 THEN 'organisation' ELSE 'individual' END, 'active',
                   jsonb_build_object('segment', (ARRAY['mass', 'affluent', 'private'])[1 + floor(random() * 3)::int],
                                      'age', 20 + floor(random() * 60)::int),
                   now(), now()
            FROM generate_series(1, :n) AS i"""), {"t": tenant_id, "n": customers})
        conn.execute(sa.text("""
            INSERT INTO activity (tenant_id, customer_id, occurred_at, category, ordinal, amount, quantity)
            SELECT :t, c.id, date_trunc('month', now()) - make_interval(months => m) + interval '14 days',
                   'deposit', 0,
                   round((c.base * (0.6 + random() * 0.8)
                          * CASE WHEN m - c.stop BETWEEN 0 AND 2 THEN 0.3 + 0.25 * (m - c.stop) ELSE 1 END)::numeric, 2),
                   NULL
            FROM (SELECT id, exp(4 + random() * 5) AS base,
                         CASE WHEN random() < 0.15 THEN floor(random() * (:months - 4))::int ELSE -1 END AS stop
                  FROM customers WHERE tenant_id = :t) AS c,
                 generate_series(0, :months - 1) AS m
            WHERE m >= c.stop AND random() > 0.03"""), {"t": tenant_id, "months": months})
        conn.execute(sa.text("""
            INSERT INTO interactions (tenant_id, customer_id, occurred_at, channel, interaction_type, ordinal,
                                      severity, resolved_at, summary)
            SELECT :t, id, now() - make_interval(days => floor(random() * 700)::int), ch, ty, 0,
                   1 + floor(random() * 5)::int, CASE WHEN random() < 0.7 THEN now() END, ''
            FROM (SELECT id,
                         (ARRAY['phone', 'counter', 'web', 'app', 'social_media'])[1 + floor(random() * 5)::int] AS ch,
                         (ARRAY['complaint', 'request', 'opinion'])[1 + floor(random() * 3)::int] AS ty
                  FROM customers, generate_series(1, 3) WHERE tenant_id = :t AND random() < 0.1) AS picked
            ON CONFLICT DO NOTHING"""), {"t": tenant_id})
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
        return {table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("customers", "activity", "interactions")}


def define_fields(app, tenant_id: int) -> None:
    from tierwise.tenants.fields import define_field

    with app.app_context(), tenancy.tenant_scope(tenant_id), acting_as(Actor(label="bench")):
        for name, kind in (("segment", "category"), ("age", "integer")):
            if name not in _existing():
                define_field(name=name, field_type=kind, label_en=name, label_zh=name)
        db.session.commit()


def _existing() -> set[str]:
    from tierwise.tenants.fields import field_registry

    return set(field_registry())


def tierwise_training(app, tenant_id: int, model: str):
    from tierwise.models.registry import ModelVersion
    from tierwise.models.runs import launch_training

    with app.app_context(), tenancy.tenant_scope(tenant_id), acting_as(Actor(label="bench")):
        started = time.perf_counter()
        run = launch_training(model, started_by="bench")
        seconds = time.perf_counter() - started
        if run.status != "succeeded":
            raise SystemExit(f"training failed: {run.message}")
        version = ModelVersion.get(run.version_id)
        return seconds, dict(version.params), version.rounds, version.metrics, version.data_window


def plain_lightgbm(app, tenant_id: int, model: str, params: dict, rounds: int) -> tuple[float, int]:
    """The same training matrix, rebuilt (untimed), then plain lightgbm.train with the winning parameters."""
    import lightgbm as lgb

    from tierwise.models import cutoffs, dataset, features, training

    with app.app_context(), tenancy.tenant_scope(tenant_id), acting_as(Actor(label="bench")):
        plan = cutoffs.plan_cutoffs(model, params.get("horizon_days") or cutoffs.DEFAULT_HORIZON[model])
        data = dataset.build_dataset(plan, features.current_spec())
        db.session.rollback()
    target = data.train_y.clip(lower=0.0) if model == "value" else data.train_y
    started = time.perf_counter()
    lgb.train(params, lgb.Dataset(data.train_x, target, init_score=training.offset(data.train_x, params)),
              num_boost_round=rounds)
    return time.perf_counter() - started, len(data.train_x)


def tierwise_scoring(app, tenant_id: int) -> tuple[float, dict]:
    from tierwise.models.runs import launch_scoring

    with app.app_context(), tenancy.tenant_scope(tenant_id), acting_as(Actor(label="bench")):
        started = time.perf_counter()
        run = launch_scoring(started_by="bench")
        seconds = time.perf_counter() - started
        if run.status != "succeeded":
            raise SystemExit(f"scoring failed: {run.message}")
        return seconds, run.summary


def seeded_bank(bench, customers: int) -> tuple[int, dict[str, int]]:
    """The bench tenant (a bank with its fields) and its generated data: (tenant id, row counts)."""
    from tierwise.platform.provisioning import provision_tenant

    with bench.app.app_context():
        tenant, _ = provision_tenant("bench", name="Bench bank", industry="bank")
        tenant_id = tenant.id
        db.session.commit()
    define_fields(bench.app, tenant_id)
    started = time.perf_counter()
    counts = generate(bench.owner, tenant_id, customers)
    print(f"generated {counts['customers']:,} customers, {counts['activity']:,} activity rows, "
          f"{counts['interactions']:,} interactions in {time.perf_counter() - started:.0f} s", flush=True)
    return tenant_id, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--model", choices=("churn", "value"), default="churn")
    args = parser.parse_args()
    with bench_database("tierwise_train_bench") as bench:
        tenant_id, counts = seeded_bank(bench, args.customers)
        checkpoint(bench.owner)
        seconds, params, rounds, metrics, window = tierwise_training(bench.app, tenant_id, args.model)
        print(f"Tierwise training job done in {seconds:.1f} s", flush=True)
        plain, rows = plain_lightgbm(bench.app, tenant_id, args.model, params, rounds)
        print(f"plain lightgbm.train done in {plain:.1f} s", flush=True)
        checkpoint(bench.owner)
        scoring, summary = tierwise_scoring(bench.app, tenant_id)
    n = counts["customers"]
    print(f"\n{n:,} customers, {counts['activity']:,} activity rows; {args.model} model, "
          f"{rows:,} training rows ({len(window['training_cutoffs'])} cutoffs), {rounds} rounds, "
          f"{params.get('num_leaves')} leaves")
    print(f"{'':56} {'seconds':>8}")
    print(f"{'baseline: plain lightgbm.train on the same matrix':56} {plain:8.1f}")
    print(f"{'Tierwise training job, end to end':56} {seconds:8.1f}")
    stages = window.get("stage_seconds", {})
    print("  of which: " + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items() if k != "candidates")
          + f" ({stages.get('candidates', '?')} search candidates)")
    ratio = seconds / plain
    print(f"ratio Tierwise / plain lightgbm.train: {ratio:.2f} (target at most 1.5: "
          f"{'MET' if ratio <= 1.5 else 'NOT MET'})")
    print(f"{'Tierwise scoring of every customer, end to end':56} {scoring:8.1f}  "
          f"({n / scoring:,.0f} customers/s; target 1M within 60 s: "
          f"{'MET' if scoring * 1_000_000 / n <= 60 else 'NOT MET'})")
    print(f"scored {summary['customers']:,} customers; model metrics: "
          + ", ".join(f"{k} {v:.4f}" for k, v in metrics["model"].items() if isinstance(v, float) and k != "base_rate"))
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
