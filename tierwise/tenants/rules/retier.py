"""Retier: evaluate every customer under the rule set in force and switch to the result.

The evaluation is materialised into a temporary table, then a handful of
set-based statements per dimension record the changes, close and open history
periods and rewrite the assignments.  All of it is one transaction, so readers
see either the previous assignment or the new one, never half of each, and a
crash part-way leaves the previous assignment as it was.  On PostgreSQL a
transaction-scoped advisory lock keeps two retiers of one tenant from
interleaving.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from tierwise.errors import NotFoundError
from tierwise.jobs.runner import task
from tierwise.platform import audit, tenancy
from tierwise.platform.db import UTCDateTime, db, utcnow
from tierwise.tenants.rules.assignments import RetierRun
from tierwise.tenants.rules.definition import DimensionSpec, Plan
from tierwise.tenants.imports.loading import Dialect
from tierwise.tenants.rules.evaluation import execute_sql, materialize
from tierwise.tenants.rules.versions import RuleSetVersion, compile_for_tenant, current_version

RESULT = "retier_result"  # every customer's evaluation
CHANGED = "retier_changed"  # the customers whose stored assignment changes
JOB_TIMEOUT_SECONDS = 4 * 3600  # a retier job is stopped after this; its run can be given up then
TIERS_LOCK = "tiers"  # retier and customer erasure hold it: neither sees the other half-done


PARAM_TYPES = {"now": UTCDateTime(), "run_id": sa.Uuid(), "version_id": sa.Uuid()}


def _execute(sql: str, params: dict) -> sa.CursorResult:
    return execute_sql(sql, params, types=PARAM_TYPES)


def _rank_case(column: str, dimension: DimensionSpec) -> str:
    whens = " ".join(f"WHEN '{t.code}' THEN {i}" for i, t in enumerate(dimension.tiers))
    return f"(CASE {column} {whens} END)"


def _differs(left: str, right: str) -> str:
    return Dialect(db.session.connection()).differs(left, right)


def apply_dimension(dimension: DimensionSpec, params: dict) -> dict[str, int]:
    """Record changes, close history periods and rewrite assignments for one dimension.

    Only what differs is written: movers get a change and a closed history
    period; an assignment row (with a fresh reason) is written only when its
    tier, basis, pending state or version changed; new customers are inserted
    in key order.
    """
    code = dimension.code
    cur, tier = f"r.cur_{code}", f"r.tier_{code}"
    moved = _differs(cur, tier)
    known = f"{cur} IN ({', '.join(repr(t.code) for t in dimension.tiers)})"
    direction = (f"CASE WHEN {cur} IS NULL OR NOT {known} THEN 'new' "
                 f"WHEN {_rank_case(tier, dimension)} < {_rank_case(cur, dimension)} THEN 'up' ELSE 'down' END")
    p = params | {"dimension": code}
    counts = dict(_execute(f"SELECT {direction}, count(*) FROM {CHANGED} r WHERE {moved} GROUP BY 1", p).all())
    counts["held"] = _execute(f"SELECT count(*) FROM {CHANGED} r WHERE r.basis_{code} = 'held'", p).scalar_one()
    _execute(f"""
        INSERT INTO tier_changes (tenant_id, customer_id, dimension, occurred_at, retier_run_id,
                                  from_tier, to_tier, direction)
        SELECT :tenant_id, r.customer_id, :dimension, :now, :run_id, {cur}, {tier}, {direction}
        FROM {CHANGED} r WHERE r.changed_{code} AND {moved} ORDER BY r.customer_id""", p)
    _execute(f"""
        INSERT INTO tier_history (tenant_id, customer_id, dimension, valid_from, valid_to, tier, rule_version_id)
        SELECT :tenant_id, a.customer_id, a.dimension, a.since, :now, a.tier, a.rule_version_id
        FROM {CHANGED} r JOIN tier_assignments a
          ON a.tenant_id = :tenant_id AND a.customer_id = r.customer_id AND a.dimension = :dimension
        WHERE r.changed_{code} AND {cur} IS NOT NULL AND {cur} <> {tier}""", p)
    _execute(f"""
        UPDATE tier_assignments AS a
        SET tier = {tier}, rule_version_id = :version_id, basis = r.basis_{code}, reason = r.reason_{code},
            since = CASE WHEN a.tier = {tier} THEN a.since ELSE :now END, decided_at = :now,
            pending_tier = r.newpend_{code}, pending_count = r.newpendn_{code}
        FROM {CHANGED} r
        WHERE r.changed_{code} AND {cur} IS NOT NULL
          AND a.tenant_id = :tenant_id AND a.dimension = :dimension AND a.customer_id = r.customer_id""", p)
    _execute(f"""
        INSERT INTO tier_assignments (tenant_id, customer_id, dimension, tier, rule_version_id, basis, reason,
                                      since, decided_at, pending_tier, pending_count)
        SELECT :tenant_id, r.customer_id, :dimension, {tier}, :version_id, r.basis_{code}, r.reason_{code},
               :now, :now, r.newpend_{code}, r.newpendn_{code}
        FROM {CHANGED} r WHERE {cur} IS NULL ORDER BY r.customer_id""", p)
    return {key: counts.get(key, 0) for key in ("up", "down", "new", "held")}


def drop_removed_dimensions(plan: Plan, params: dict) -> None:
    """Dimensions the rule set no longer has: their periods close into history, their assignments go."""
    codes = ", ".join(repr(d.code) for d in plan.definition.dimensions)
    _execute(f"""
        INSERT INTO tier_history (tenant_id, customer_id, dimension, valid_from, valid_to, tier, rule_version_id)
        SELECT tenant_id, customer_id, dimension, since, :now, tier, rule_version_id FROM tier_assignments
        WHERE tenant_id = :tenant_id AND dimension NOT IN ({codes})""", params)
    _execute(f"DELETE FROM tier_assignments WHERE tenant_id = :tenant_id AND dimension NOT IN ({codes})", params)


def _keep_changed(plan: Plan) -> None:
    """Copy the customers whose assignment changes in some dimension into ``CHANGED``.

    Every write reads this set, not the whole evaluation: on a quiet day it is a
    handful of rows, and the writes cost next to nothing.  (Held customers are in
    it too: their pending count moves on.)
    """
    condition = " OR ".join(f"changed_{d.code}" for d in plan.definition.dimensions)
    on_commit = " ON COMMIT DROP" if db.session.get_bind().dialect.name == "postgresql" else ""
    _execute(f"DROP TABLE IF EXISTS {CHANGED}", {})
    _execute(f"CREATE TEMPORARY TABLE {CHANGED}{on_commit} AS SELECT * FROM {RESULT} WHERE {condition}", {})
    if on_commit:
        _execute(f"ANALYZE {CHANGED}", {})


def retier(run: RetierRun, version: RuleSetVersion, plan: Plan) -> RetierRun:
    """Evaluate and switch, in the caller's transaction (commit makes it visible)."""
    tenant_id = tenancy.current_tenant_id()
    tenancy.lock_tenant(TIERS_LOCK)
    now = utcnow()
    materialize(plan, tenant_id=tenant_id, as_of=run.as_of, name=RESULT, version_id=version.id)
    _keep_changed(plan)
    params = {"tenant_id": tenant_id, "now": now, "run_id": run.id, "version_id": version.id}
    changes = {d.spec.code: apply_dimension(d.spec, params) for d in plan.dimensions}
    drop_removed_dimensions(plan, params)
    run.customers = _execute(f"SELECT count(*) FROM {RESULT}", params).scalar_one()
    for name in (CHANGED, RESULT):
        _execute(f"DROP TABLE IF EXISTS {name}", {})
    run.changes = changes
    run.status = "succeeded"
    run.finished_at = utcnow()
    audit.record("rules.retiered", target_type="retier_run", target_id=run.id,
                 details={"version": version.number, "customers": run.customers, "changes": changes})
    return run


def start_retier(*, started_by: str, as_of: datetime | None = None) -> RetierRun:
    """Record a run for the version in force (committed by the caller before the work starts)."""
    version = current_version()
    if version is None:
        raise NotFoundError("no rule set has been published yet: publish one before retiering")
    _give_up_abandoned_runs()
    run = RetierRun(rule_version_id=version.id, as_of=as_of or utcnow(), started_by=started_by)
    db.session.add(run)
    db.session.flush()
    return run


def _give_up_abandoned_runs() -> None:
    """Runs still queued or running long after any job could be (a worker died) are marked failed."""
    cutoff = utcnow() - timedelta(seconds=JOB_TIMEOUT_SECONDS)
    for run in db.session.scalars(sa.select(RetierRun).where(RetierRun.status.in_(("queued", "running")),
                                                             RetierRun.started_at < cutoff)):
        run.status, run.finished_at = "failed", utcnow()
        run.message = "abandoned: no worker finished it within the job time limit"


def run_retier(run_id) -> RetierRun:
    """Do the work of a recorded run; a failure is recorded on the run in its own transaction."""
    run = RetierRun.get(run_id)
    run.status, run.started_at = "running", utcnow()
    db.session.commit()  # visible as running while the work's own transaction is open
    version = db.session.get(RuleSetVersion, (run.tenant_id, run.rule_version_id))
    try:
        plan = compile_for_tenant(version.parsed())
        retier(run, version, plan)
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        run = RetierRun.get(run_id)
        run.status, run.finished_at, run.message = "failed", utcnow(), str(error)[:2000]
        db.session.commit()
        raise
    return run


def queue_retier(run_id, *, tenant_id: int):
    """Run a recorded retier in the background; one retier per tenant may be queued or running."""
    from tierwise.errors import ConflictError
    from tierwise.jobs.queue import enqueue

    try:
        return enqueue("tierwise.tenants.rules.retier.retier_job", tenant_id=tenant_id, queue="long",
                       job_id=f"retier-{tenant_id}", timeout=JOB_TIMEOUT_SECONDS, run_id=str(run_id))
    except ConflictError:
        run = RetierRun.get(run_id)
        run.status, run.finished_at = "failed", utcnow()
        run.message = "another retier of this tenant is queued or running"
        db.session.commit()
        raise ConflictError(run.message) from None


@task
def retier_job(run_id: str) -> dict:
    """The retier as a background task (``tierwise worker``; in-process without Redis)."""
    import uuid

    run = run_retier(uuid.UUID(run_id))
    return {"run_id": str(run.id), "customers": run.customers, "changes": run.changes}
