"""Run an evaluation into temporary tables: the base, then one row per customer with its tiers.

``Evaluation`` builds the statements; this module sets the evaluating
transaction up for them (memory, JIT, parallel workers), names the result's
columns and stores the base between the two statements.  Retier and preview
both call ``materialize``.
"""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from tierwise.platform.db import JSONType, db, set_transaction_settings
from tierwise.tenants.rules import snapshot
from tierwise.tenants.rules.assignments import data_moved_on
from tierwise.tenants.rules.definition import Plan
from tierwise.tenants.rules.evaluation import Evaluation
from tierwise.tenants.rules.sql import execute_sql, temporary_table

EVALUATION_WORK_MEM = "256MB"  # per sort or window, for the evaluating transaction only


def result_columns(plan: Plan, *, preview: bool = False, keep: bool = False) -> list[sa.Column]:
    """What an evaluation yields per customer: per dimension the current and new tier and state.

    ``preview``: only what a preview summarises (the current tier, the rules' verdict, whether
    hysteresis holds it back, the reason); the state a retier writes is left out, which
    spares computing and storing eight columns a customer.  ``keep``: also every value a
    preview snapshot keeps (``snapshot.kept_values``).
    """
    columns = [sa.Column("customer_id", sa.Uuid(), primary_key=True), sa.Column("external_id", sa.String(64)),
               sa.Column("value_measure", sa.Float())]
    for dimension in plan.definition.dimensions:
        code = dimension.code
        columns += [sa.Column(f"cur_{code}", sa.String(32)), sa.Column(f"cand_{code}", sa.String(32)),
                    sa.Column(f"basis_{code}", sa.String(16)), sa.Column(f"reason_{code}", JSONType)]
        if not preview:
            columns += [sa.Column(f"tier_{code}", sa.String(32)), sa.Column(f"newpend_{code}", sa.String(32)),
                        sa.Column(f"newpendn_{code}", sa.Integer()), sa.Column(f"changed_{code}", sa.Boolean())]
    if keep:
        named = {column.name for column in columns}
        kinds = {"number": sa.Float(), "boolean": sa.Boolean(), "string": sa.String(32)}
        columns += [sa.Column(item.column, kinds[item.kind]) for item in snapshot.kept_values(plan)
                    if item.column not in named]
    return columns


def materialize(plan: Plan, *, tenant_id: int, as_of: datetime, name: str,
                version_id: uuid.UUID | None = None, preview: bool = False,
                reuse: snapshot.Reuse | None = None, keep: bool = False, new_data: bool | None = None) -> sa.Table:
    """Evaluate the plan into a temporary table ``name`` (dropped at commit on PostgreSQL).

    Runs on the session's connection, inside its transaction and tenant scope.  A
    preview may ``reuse`` a snapshot's values, or ``keep`` the columns a new one needs.
    ``new_data``: whether hysteresis counts it for customers already waiting; by default
    ``data_moved_on(as_of)``, as the next retier at that moment would count it.
    """
    dialect = db.session.connection().dialect.name
    set_transaction_settings(db.session.connection(), {
        # The window functions keep every customer's row; with the default 4 MB they spill to disk.
        "work_mem": EVALUATION_WORK_MEM,
        # Compiling the aggregation's expressions (JIT) cost more than it saved: 20 s against 16 s of
        # CPU at a million customers.  The rules' CASEs below do gain from it, a little.
        "jit": "off",
        # One pass in customer order (the key index) rather than parallel workers: a customer's rows
        # are spread over the table (each month's import appends its own), so every worker meets
        # every customer, sorts its share (spilling) and hands partial numeric sums to the leader,
        # which combines workers x customers of them alone.  10 s against 7 s at a million customers
        # on two cores, and the leader's share grows with more workers.
        "max_parallel_workers_per_gather": "0"})
    if new_data is None:
        new_data = data_moved_on(as_of)
    evaluation = Evaluation(plan, tenant_id=tenant_id, as_of=as_of, dialect=dialect, version_id=version_id,
                            preview=preview, reuse=reuse, new_data=new_data)
    columns = result_columns(plan, preview=preview, keep=keep)
    select = evaluation.base()
    if evaluation.reads_only_snapshot():
        # Nothing to aggregate or rank: one statement, without storing the base first.
        return temporary_table(name, evaluation.query(select.cte(f"{name}_base"), columns), columns=columns)
    base = temporary_table(f"{name}_base", select)
    if dialect == "postgresql":
        db.session.execute(sa.text("SET LOCAL jit = DEFAULT"))
        db.session.execute(sa.text("SET LOCAL max_parallel_workers_per_gather = DEFAULT"))
        # Temporary tables are never analyzed otherwise; the join to the rankings needs the key.
        db.session.execute(sa.text(f"ANALYZE {base.name} (customer_id)"))
    table = temporary_table(name, evaluation.query(base, columns), columns=columns)
    execute_sql(f"DROP TABLE {base.name}")
    return table
