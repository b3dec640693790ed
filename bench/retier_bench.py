"""Full retier of a large tenant against hand-written SQL with the same logic, in the same run.

Data: a power-utility tenant of N customers (default 1,000,000) generated in
SQL, each with 12 monthly bills (12M activity rows) and ~0.3 interactions.
Customer ids are ordered, as the application's UUIDv7 ids are.  The
rule set has three dimensions of five rules each, with windowed aggregates,
a trend, ``days_since_last``, filtered complaint counts and ``top_share``.

Measured, each after a VACUUM (ANALYZE), as autovacuum leaves the tables between two
nightly runs, and a CHECKPOINT:
- **Tierwise**: ``start_retier`` + ``run_retier`` as the application does it
  (role ``tierwise_app``, row-level security on, one transaction): the first
  retier (every customer new) and a second one (the steady state: assignments
  rewritten, reasons refreshed, changes and history only for movers).
- **Baseline**: one hand-written ``UPDATE bench_tiers SET value_tier = CASE ...``
  with the same logic (the same aggregates, windows and top-share ranking), as
  the owner (no row-level security), into a narrow table of one row per customer.
- **Warm-up**: the job a worker runs after each retier, keeping the snapshot
  the next previews reuse (``tierwise.tenants.rules.warmup``).  Background
  work: nobody waits for it.
- **Preview** (what the editor runs before publishing) of the rule set in force
  and of a draft with one rule edited, both reusing the warm-up's values; then
  a preview from scratch, as after an import that came after the retier.

Targets: a retier is no slower than the baseline, 10M customers complete
within 8 GB, and a preview answers in under 2 s at 100k customers and under
10 s at 1M.  Memory is printed for both sides: the peak private memory of the
PostgreSQL server's processes during each phase (``server_memory.py``; the
server must run on this machine) and this process's peak RSS.

    .venv/bin/python bench/retier_bench.py [--customers 1000000]
"""
from __future__ import annotations

import argparse
import resource
import time
from datetime import datetime, timezone

import sqlalchemy as sa

from server_memory import ServerMemory
from throwaway import bench_database, checkpoint

from tierwise.platform import tenancy  # noqa: E402  (throwaway puts the repo on sys.path)
from tierwise.platform.audit import Actor, acting_as
from tierwise.platform.db import db

PUBLIC = '["social_media", "news_media", "regulator_hotline"]'
CRITICAL = '["hospital", "military", "mine", "hazardous_chemicals"]'
ELEVATED = '["government", "transport_hub", "data_centre", "school", "large_venue"]'
FACILITIES = ["hospital", "government", "military", "mine", "hazardous_chemicals", "transport_hub", "school",
              "large_venue", "data_centre"]

RULES = {"value_measure": "sum(amount, 365d)", "dimensions": [
    {"code": "value", "tiers": [
        {"code": "key", "rule": "top_share(sum(amount, 365d), 0.5)"},
        {"code": "important", "rule": "top_share(sum(amount, 365d), 0.8)"},
        {"code": "growing", "rule": "trend(amount, 90d) >= 0.2 and sum(amount, 365d) >= 5000"},
        {"code": "standard", "rule": "sum(amount, 365d) >= 1000"},
        {"code": "basic", "fallback": True}]},
    {"code": "high_risk", "tiers": [
        {"code": "critical", "rule": f"facility_type in {CRITICAL} and outage_consequence >= 4"},
        {"code": "elevated", "rule": f"facility_type in {ELEVATED} or outage_consequence >= 3"},
        {"code": "dormant_large", "rule": "days_since_last(activity) > 60 and contracted_capacity_kva >= 500"},
        {"code": "watch", "rule": "count(activity, 90d) < 2"},
        {"code": "standard", "fallback": True}]},
    {"code": "opinion_risk", "tiers": [
        {"code": "high", "rule": f"count(complaints, 180d, channel in {PUBLIC}) >= 2"},
        {"code": "unresolved", "rule": "count(complaints, 90d, resolved_at is null and severity >= 4) >= 1"},
        {"code": "watch", "rule": "count(complaints, 90d) >= 2"},
        {"code": "repeated", "rule": "count(interactions, 365d) >= 5"},
        {"code": "none", "fallback": True}]},
]}

BASELINE = """
WITH act AS (
    SELECT customer_id,
           sum(amount) FILTER (WHERE occurred_at >= :d365) AS s365,
           sum(amount) FILTER (WHERE occurred_at >= :d90) AS s90,
           sum(amount) FILTER (WHERE occurred_at >= :d180 AND occurred_at < :d90) AS p90,
           count(*) FILTER (WHERE occurred_at >= :d90) AS n90,
           max(occurred_at) AS last_at
    FROM activity WHERE tenant_id = :t AND occurred_at < :as_of GROUP BY customer_id),
inter AS (
    SELECT customer_id,
           count(*) FILTER (WHERE interaction_type = 'complaint' AND occurred_at >= :d180
                            AND channel IN ('social_media', 'news_media', 'regulator_hotline')) AS public180,
           count(*) FILTER (WHERE interaction_type = 'complaint' AND occurred_at >= :d90
                            AND resolved_at IS NULL AND severity >= 4) AS severe90,
           count(*) FILTER (WHERE interaction_type = 'complaint' AND occurred_at >= :d90) AS complaints90,
           count(*) FILTER (WHERE occurred_at >= :d365) AS all365
    FROM interactions WHERE tenant_id = :t AND occurred_at < :as_of GROUP BY customer_id),
f AS (
    SELECT c.id, c.external_id, c.attributes->>'facility_type' AS facility,
           (c.attributes->>'outage_consequence')::float AS consequence,
           (c.attributes->>'contracted_capacity_kva')::float AS capacity,
           coalesce(a.s365, 0) AS s365, coalesce(a.s90, 0) AS s90, coalesce(a.p90, 0) AS p90,
           coalesce(a.n90, 0) AS n90, a.last_at,
           coalesce(i.public180, 0) AS public180, coalesce(i.severe90, 0) AS severe90,
           coalesce(i.complaints90, 0) AS complaints90, coalesce(i.all365, 0) AS all365
    FROM customers c LEFT JOIN act a ON a.customer_id = c.id LEFT JOIN inter i ON i.customer_id = c.id
    WHERE c.tenant_id = :t),
r AS (
    SELECT f.*,
           coalesce(sum(greatest(s365, 0)) OVER (ORDER BY greatest(s365, 0) DESC, external_id
                                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before,
           sum(greatest(s365, 0)) OVER () AS total
    FROM f)
UPDATE bench_tiers t SET
    value_tier = CASE
        WHEN s365 > 0 AND before < 0.5 * total THEN 'key'
        WHEN s365 > 0 AND before < 0.8 * total THEN 'important'
        WHEN p90 > 0 AND (s90 - p90) / p90 >= 0.2 AND s365 >= 5000 THEN 'growing'
        WHEN s365 >= 1000 THEN 'standard' ELSE 'basic' END,
    high_risk_tier = CASE
        WHEN facility IN ('hospital', 'military', 'mine', 'hazardous_chemicals') AND consequence >= 4 THEN 'critical'
        WHEN facility IN ('government', 'transport_hub', 'data_centre', 'school', 'large_venue')
             OR consequence >= 3 THEN 'elevated'
        WHEN extract(epoch FROM :as_of - last_at) / 86400 > 60 AND capacity >= 500 THEN 'dormant_large'
        WHEN n90 < 2 THEN 'watch' ELSE 'standard' END,
    opinion_tier = CASE
        WHEN public180 >= 2 THEN 'high' WHEN severe90 >= 1 THEN 'unresolved'
        WHEN complaints90 >= 2 THEN 'watch' WHEN all365 >= 5 THEN 'repeated' ELSE 'none' END
FROM r WHERE t.customer_id = r.id
"""


def generate(owner: sa.Engine, tenant_id: int, customers: int) -> dict[str, int]:
    """Customers, 12 monthly bills each and some interactions, straight into the tables (setup, not timed)."""
    facilities = "ARRAY[" + ", ".join(f"'{f}'" for f in FACILITIES) + "]"
    with owner.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))  # setup only: skip FK triggers
        conn.execute(sa.text(f"""
            INSERT INTO customers (tenant_id, id, external_id, name, party_type, status, attributes,
                                   created_at, updated_at)
            SELECT :t, ('0190' || lpad(to_hex(i), 28, '0'))::uuid,  -- ordered like the app's UUIDv7 ids
                   lpad(i::text, 9, '0'), 'customer ' || i, 'organisation', 'active',
                   jsonb_build_object(
                       'facility_type', CASE WHEN random() < 0.06 THEN ({facilities})[1 + floor(random() * 9)::int]
                                        ELSE 'other' END,
                       'outage_consequence', 1 + floor(random() * 5)::int,
                       'contracted_capacity_kva', round(exp(3 + random() * 5))),
                   now(), now()
            FROM generate_series(1, :n) AS i"""), {"t": tenant_id, "n": customers})
        # The key is built once after the rows are in: maintained row by row, in this month-major order,
        # its random inserts took most of an hour at 10M customers (114M rows).
        conn.execute(sa.text("ALTER TABLE activity DROP CONSTRAINT pk_activity"))
        conn.execute(sa.text("""
            INSERT INTO activity (tenant_id, customer_id, occurred_at, category, ordinal, amount, quantity)
            SELECT :t, c.id, date_trunc('month', now()) - make_interval(months => m) + interval '19 days',
                   'bill', 0, round((c.base * (0.7 + random() * 0.6) * (1 + 0.3 * (m < 3)::int))::numeric, 2), NULL
            FROM (SELECT id, exp(4 + random() * 5) AS base FROM customers WHERE tenant_id = :t) AS c,
                 generate_series(0, 11) AS m
            WHERE random() > 0.05"""), {"t": tenant_id})
        conn.execute(sa.text("SET LOCAL maintenance_work_mem = '1GB'"))
        conn.execute(sa.text("ALTER TABLE activity ADD CONSTRAINT pk_activity "
                             "PRIMARY KEY (tenant_id, customer_id, occurred_at, category, ordinal)"))
        conn.execute(sa.text("""
            INSERT INTO interactions (tenant_id, customer_id, occurred_at, channel, interaction_type, ordinal,
                                      severity, resolved_at, summary)
            SELECT :t, id, now() - make_interval(days => floor(random() * 400)::int), ch, ty, 0,
                   1 + floor(random() * 5)::int, CASE WHEN random() < 0.7 THEN now() END, ''
            FROM (SELECT id,
                         (ARRAY['phone', 'counter', 'web', 'app', 'social_media', 'news_media',
                                'regulator_hotline'])[1 + floor(random() * 7)::int] AS ch,
                         (ARRAY['complaint', 'complaint', 'request', 'opinion'])[1 + floor(random() * 4)::int] AS ty
                  FROM customers, generate_series(1, 3) WHERE tenant_id = :t AND random() < 0.1) AS picked
            ON CONFLICT DO NOTHING"""), {"t": tenant_id})
        conn.execute(sa.text("CREATE TABLE bench_tiers (customer_id uuid PRIMARY KEY, value_tier text, "
                             "high_risk_tier text, opinion_tier text)"))
        conn.execute(sa.text("INSERT INTO bench_tiers (customer_id) SELECT id FROM customers WHERE tenant_id = :t"),
                     {"t": tenant_id})
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
        return {table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("customers", "activity", "interactions")}


def baseline(owner: sa.Engine, tenant_id: int, as_of: datetime) -> float:
    from datetime import timedelta

    params = {"t": tenant_id, "as_of": as_of, "d365": as_of - timedelta(days=365),
              "d180": as_of - timedelta(days=180), "d90": as_of - timedelta(days=90)}
    started = time.perf_counter()
    with owner.begin() as conn:
        conn.execute(sa.text(BASELINE), params)
    return time.perf_counter() - started


def statement_times(engine: sa.Engine) -> dict[str, float]:
    """Wall time per SQL statement (first words), filled while the returned dict is alive."""
    import re

    times: dict[str, float] = {}

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        label = re.sub(r"\s+", " ", statement).strip()[:70]
        times[label] = times.get(label, 0.0) + time.perf_counter() - conn.info.get("bench_started", time.perf_counter())

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    return times


def tierwise_retier(app, tenant_id: int, as_of: datetime, profile: bool = False) -> tuple[float, dict]:
    from tierwise.tenants.rules.retier import run_retier, start_retier

    started = time.perf_counter()
    with app.app_context(), tenancy.tenant_scope(tenant_id), acting_as(Actor(label="bench")):
        times = statement_times(db.engine) if profile else {}
        run = start_retier(started_by="bench", as_of=as_of)
        db.session.commit()
        run = run_retier(run.id)
        changes = run.changes
    for label, seconds in sorted(times.items(), key=lambda item: -item[1])[:12]:
        print(f"    {seconds:7.2f} s  {label}")
    return time.perf_counter() - started, changes


def edited_draft() -> dict:
    """The rule set with one rule changed, as an administrator would between two previews."""
    import copy

    draft = copy.deepcopy(RULES)
    draft["dimensions"][0]["tiers"][3]["rule"] = "sum(amount, 365d) >= 1200"  # value: standard from 1,200
    return draft


def tierwise_warmup(app, tenant_id: int) -> float:
    """The job a worker runs after each retier: keep the snapshot the next previews reuse."""
    from tierwise.tenants.rules.warmup import warm

    started = time.perf_counter()
    with app.app_context(), tenancy.tenant_scope(tenant_id), acting_as(Actor(label="bench")):
        assert warm(), "the warm-up kept nothing"
    return time.perf_counter() - started


def tierwise_preview(app, tenant_id: int, as_of: datetime, profile: bool = False, rules: dict = RULES,
                     from_scratch: bool = False) -> float:
    from tierwise.tenants.rules import snapshot
    from tierwise.tenants.rules.preview import preview
    from tierwise.tenants.rules.versions import validate

    with app.app_context(), tenancy.tenant_scope(tenant_id), acting_as(Actor(label="bench")):
        if from_scratch:  # what an import after the retier does: the kept values describe old data
            snapshot.data_changed()
            db.session.commit()
        _, plan = validate(rules)
        times = statement_times(db.engine) if profile else {}
        started = time.perf_counter()
        preview(plan, as_of=as_of)
        seconds = time.perf_counter() - started
        db.session.rollback()
    for label, spent in sorted(times.items(), key=lambda item: -item[1])[:12]:
        print(f"    {spent:7.2f} s  {label}")
    return seconds


def agreement(owner: sa.Engine, tenant_id: int) -> int:
    """Customers whose Tierwise tiers differ from the baseline's (must be 0: the same logic)."""
    with owner.connect() as conn:
        return conn.execute(sa.text("""
            SELECT count(*) FROM bench_tiers b
            JOIN tier_assignments v ON v.tenant_id = :t AND v.customer_id = b.customer_id AND v.dimension = 'value'
            JOIN tier_assignments h ON h.tenant_id = :t AND h.customer_id = b.customer_id
                                   AND h.dimension = 'high_risk'
            JOIN tier_assignments o ON o.tenant_id = :t AND o.customer_id = b.customer_id
                                   AND o.dimension = 'opinion_risk'
            WHERE v.tier <> b.value_tier OR h.tier <> b.high_risk_tier OR o.tier <> b.opinion_tier"""),
            {"t": tenant_id}).scalar_one()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--profile", action="store_true", help="print the slowest statements of each retier")
    args = parser.parse_args()
    from tierwise.platform.provisioning import provision_tenant
    from tierwise.tenants.rules.versions import publish

    as_of = datetime.now(timezone.utc)
    with bench_database("tierwise_retier_bench") as bench:
        with bench.app.app_context():
            tenant, _ = provision_tenant("bench", name="Bench grid", industry="power_utility")
            tenant_id = tenant.id
            with tenancy.tenant_scope(tenant_id), acting_as(Actor(label="bench")):
                publish(RULES, author="bench")
            db.session.commit()
        started = time.perf_counter()
        counts = generate(bench.owner, tenant_id, args.customers)
        print(f"generated {counts['customers']:,} customers, {counts['activity']:,} activity rows, "
              f"{counts['interactions']:,} interactions in {time.perf_counter() - started:.0f} s", flush=True)
        timings, memory = {}, {}
        checkpoint(bench.owner, vacuum=True)
        with ServerMemory() as peak:
            timings["baseline"] = baseline(bench.owner, tenant_id, as_of)
        memory["baseline"] = peak.mib
        print(f"baseline done in {timings['baseline']:.1f} s", flush=True)
        checkpoint(bench.owner, vacuum=True)
        with ServerMemory() as peak:
            timings["first"], first_changes = tierwise_retier(bench.app, tenant_id, as_of, args.profile)
        memory["first"] = peak.mib
        print(f"first retier done in {timings['first']:.1f} s", flush=True)
        checkpoint(bench.owner, vacuum=True)
        with ServerMemory() as peak:
            timings["steady"], steady_changes = tierwise_retier(bench.app, tenant_id, as_of, args.profile)
        memory["steady"] = peak.mib
        checkpoint(bench.owner)
        with ServerMemory() as peak:
            timings["warm"] = tierwise_warmup(bench.app, tenant_id)
        memory["warm"] = peak.mib
        checkpoint(bench.owner, vacuum=True)
        with ServerMemory() as peak:
            timings["preview"] = tierwise_preview(bench.app, tenant_id, as_of, args.profile)
        memory["preview"] = peak.mib
        checkpoint(bench.owner)
        with ServerMemory() as peak:
            timings["draft"] = tierwise_preview(bench.app, tenant_id, as_of, args.profile, edited_draft())
        memory["draft"] = peak.mib
        checkpoint(bench.owner)
        with ServerMemory() as peak:
            timings["scratch"] = tierwise_preview(bench.app, tenant_id, as_of, args.profile, from_scratch=True)
        memory["scratch"] = peak.mib
        differing = agreement(bench.owner, tenant_id)
    report(counts, timings, memory, first_changes, steady_changes, differing)


def report(counts, timings, memory, first_changes, steady_changes, differing) -> None:
    n = counts["customers"]
    print(f"\n{n:,} customers, {counts['activity']:,} activity rows, {counts['interactions']:,} interactions; "
          "3 dimensions x 4 rules + fallbacks")
    print(f"{'':58} {'seconds':>8} {'customers/s':>12} {'server MiB':>11}")
    rows = [("baseline: hand-written UPDATE ... SET tier = CASE (owner)", "baseline"),
            ("Tierwise retier, first (every customer new)", "first"),
            ("Tierwise retier, steady state (second run)", "steady"),
            ("Tierwise warm-up after the retier (a worker's job)", "warm"),
            ("Tierwise preview, first after the retier (reuses it)", "preview"),
            ("Tierwise preview of a draft, one rule edited (reuses it)", "draft"),
            ("Tierwise preview from scratch (data changed since)", "scratch")]
    for label, key in rows:
        print(f"{label:58} {timings[key]:8.1f} {n / timings[key]:12,.0f} {memory[key]:11,.0f}")
    for label, key in (("first", "first"), ("steady", "steady")):
        ratio = timings["baseline"] / timings[key]
        print(f"ratio retier ({label}) / baseline throughput: {ratio:.2f}x "
              f"({'no slower: MET' if ratio >= 1 else 'slower: NOT MET'})")
    target = 2.0 if n <= 100_000 else 10.0 if n <= 1_000_000 else None  # the preview targets
    if target is not None:
        for label, key in (("first after the retier", "preview"), ("edited draft", "draft"),
                           ("from scratch", "scratch")):
            print(f"preview ({label}): {timings[key]:.1f} s against the target of {target:.0f} s "
                  f"({'MET' if timings[key] < target else 'NOT MET'})")
    print(f"changes, first run: {first_changes}")
    print(f"changes, steady run: {steady_changes}")
    print(f"customers tiered differently from the baseline: {differing:,} (must be 0)")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB; "
          "server MiB: peak private memory (RssAnon) of all PostgreSQL processes, shared buffers not counted")


if __name__ == "__main__":
    main()
