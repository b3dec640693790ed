"""What the last full preview evaluated, kept so the next preview recomputes only what a draft changed.

An administrator previews a draft, edits one rule and previews again.  From
scratch, each preview aggregates every activity row in the longest window and
ranks every customer again (about half a minute at a million customers), though
almost all of it is what the previous preview computed.  So after a preview
that had nothing to reuse, its per-customer values are kept: the aggregates
(sums, counts, trends, days since the last activity), the rankings, each
dimension's candidate tier and the current assignment it was compared with.
The next preview takes every value whose definition it shares from here, by
key (the same aggregate, the same ranking, the same dimension rules), and
computes only the rest.  Fields and model scores are always read live: they
cost a join, not a scan of the activity.  With a worker, a snapshot is also
kept after every retier (``warmup``), so the first preview of the day reuses too.

A snapshot describes one moment (``as_of``) and one *generation* of the
tenant's data.  Whatever changes what a preview would read (an import, an
erasure, a scoring run, a retier that moved someone) calls ``data_changed`` in
its own transaction, which moves the generation on; a snapshot built at another
generation is never used.  The bump takes the tenant's row lock until that
transaction ends, so a preview racing an import either sees the import's data
or builds a snapshot that the import's bump has already made stale.

Both tables are UNLOGGED: a cache, not a record.  After a crash PostgreSQL
empties both together, and the next preview starts from scratch; the tenant's
row then starts a new epoch of generations (``_first_generation``), so no value
a retier recorded before the crash comes round again.  PostgreSQL
only; the embedded SQLite demo is small enough to evaluate in full each time.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.platform import tenancy
from tierwise.platform.db import JSONType, TenantOwned, UTCDateTime, db, utcnow
from tierwise.tenants.activity import rules_moment
from tierwise.tenants.rules.definition import CompiledDimension, Plan

NAME = "rules"
#: A preview without an explicit moment reuses a snapshot of a moment this recent (and reports the moment):
#: the snapshot a nightly retier leaves (``warmup``) serves the next day's previews, on unchanged data.
REUSE_WITHIN = timedelta(hours=26)
#: Atoms computed from activity and interactions: the expensive ones, kept.  Fields are read live.
KEPT_ORIGINS = ("aggregate", "trend", "days_since_last")
#: How long keeping a snapshot may wait for a running import's lock before it gives up (and keeps nothing).
LOCK_TIMEOUT = "1s"

NumberArray = sa.JSON().with_variant(postgresql.ARRAY(sa.Float()), "postgresql")
TextArray = sa.JSON().with_variant(postgresql.ARRAY(sa.String()), "postgresql")


class PreviewSnapshot(TenantOwned, db.Model):
    """One row per tenant: its data generation, and the snapshot's moment and layout if one is kept."""

    __tablename__ = "preview_snapshots"
    references_tenant = False  # a cache: no foreign keys to or from it

    # One snapshot per tenant today; the name keeps the key (tenant_id, name) like every tenant table's.
    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=NAME)
    generation: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    built_generation: Mapped[int | None] = mapped_column(sa.BigInteger)
    as_of: Mapped[datetime | None]
    layout: Mapped[dict | None] = mapped_column(JSONType)  # key -> ["n" or "t", 1-based position]
    built_at: Mapped[datetime | None]


class PreviewValue(TenantOwned, db.Model):
    """One customer's kept values, by the positions the snapshot's layout gives."""

    __tablename__ = "preview_values"
    references_tenant = False
    erased_with_customer = "customer_id"

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    numbers: Mapped[list] = mapped_column(NumberArray)
    texts: Mapped[list] = mapped_column(TextArray)


@dataclass
class Reuse:
    """A usable snapshot: where each kept value sits."""

    as_of: datetime
    positions: dict[str, tuple[str, int]]

    def has(self, key: str) -> bool:
        return key in self.positions

    def column(self, values: sa.FromClause, key: str) -> sa.ColumnElement:
        array, position = self.positions[key]
        if array == "n":
            return sa.type_coerce(values.c.numbers, postgresql.ARRAY(sa.Float()))[position]
        return sa.type_coerce(values.c.texts, postgresql.ARRAY(sa.String()))[position]


# -- keys: what a value is, whatever column the plan at hand gives it ---------

def atom_key(atom) -> str:
    return f"atom:{atom.origin}:{atom.kind}:{atom.label}"


def ranking_key(atom) -> str:
    return f"rank:{atom.kind}:{atom.label}"


def candidate_keys(plan: Plan) -> dict[str, str]:
    """Dimension code -> the key of its candidate tier: its rules, their atoms and what they depend on.

    The code is part of it: a hysteresis margin relaxes a rule for customers already in
    the tier, so the candidate depends on this dimension's current assignment.
    """
    keys: dict[str, str] = {}
    for compiled in plan.dimensions:  # dependencies first
        keys[compiled.spec.code] = "cand:" + hashlib.sha256(json.dumps(_signature(compiled, keys),
                                                                       sort_keys=True).encode()).hexdigest()
    return keys


def _signature(compiled: CompiledDimension, known: dict[str, str]) -> dict:
    spec = compiled.spec
    return {"code": spec.code, "tiers": [[t.code, t.rule] for t in spec.tiers],
            "hysteresis": [spec.hysteresis.evaluations, spec.hysteresis.margin],
            "atoms": sorted(atom_key(a) for a in compiled.atoms()),
            "depends_on": {code: known[code] for code in sorted(compiled.depends_on)}}


# -- the generation ----------------------------------------------------------------

def available() -> bool:
    """Snapshots are kept on PostgreSQL only."""
    return db.session.connection().dialect.name == "postgresql"


def data_changed() -> int:
    """Call in the same transaction as any change to what a preview reads: kept snapshots stop being used.
    Returns the tenant's new generation.

    Counted on every database (snapshots are kept on PostgreSQL only): a retier also asks whether
    anything changed since the last one (``assignments.data_moved_on``).  A tenant's row is created
    at a new epoch (``_first_generation``), so its values never come round again.
    """
    params = {"tenant_id": tenancy.current_tenant_id(), "name": NAME}
    bumped = db.session.execute(sa.text(
        "UPDATE preview_snapshots SET generation = generation + 1 WHERE tenant_id = :tenant_id AND name = :name "
        "RETURNING generation").execution_options(tenant_filtered=True), params).scalar()
    if bumped is not None:
        return bumped
    return db.session.execute(sa.text(
        f"INSERT INTO preview_snapshots (tenant_id, name, generation) VALUES (:tenant_id, :name, "
        f"{_first_generation()} + 1) ON CONFLICT (tenant_id, name) DO UPDATE "
        "SET generation = preview_snapshots.generation + 1 RETURNING generation"
    ).execution_options(tenant_filtered=True), params).scalar_one()


def _first_generation() -> str:
    """SQL for where a tenant's new row starts counting.

    On PostgreSQL the table is UNLOGGED and a crash empties it: a row recreated at 0 would count
    through values retiers recorded before the crash, and a retier on new data would be taken for
    one on the same data.  Each new row starts at its own epoch instead (a logged sequence, times
    2^32: more changes than a tenant makes between two crashes), above every value handed out before.
    """
    if db.session.connection().dialect.name == "postgresql":
        return "nextval('data_generation_epochs') * 4294967296"
    return "0"


def generation() -> int:
    """The tenant's data generation now: how many changes to what the rules read it has seen (0 for none)."""
    return db.session.scalar(sa.select(PreviewSnapshot.generation).where(
        PreviewSnapshot.tenant_id == tenancy.current_tenant_id(), PreviewSnapshot.name == NAME)) or 0


def usable(as_of: datetime | None) -> tuple[Reuse | None, int]:
    """The tenant's snapshot, if it was built from today's data at ``as_of`` (or recently, when None),
    and the data's generation now (what a snapshot kept by this preview will describe)."""
    snapshot = db.session.execute(sa.select(PreviewSnapshot).where(PreviewSnapshot.name == NAME)
                                  ).scalar_one_or_none()
    if snapshot is None:
        return None, 0
    if not available() or snapshot.built_generation != snapshot.generation or snapshot.as_of is None:
        return None, snapshot.generation
    if as_of is None:
        if abs(rules_moment() - snapshot.as_of) > REUSE_WITHIN:  # either way: one kept at the clock's moment too
            return None, snapshot.generation
    elif as_of != snapshot.as_of:
        return None, snapshot.generation
    return Reuse(snapshot.as_of, {key: (array, position) for key, (array, position) in snapshot.layout.items()}), \
        snapshot.generation


# -- keeping a preview's values ----------------------------------------------------

@dataclass(frozen=True)
class Kept:
    key: str
    column: str  # the column of the evaluation's result
    array: str  # "n" (numbers) or "t" (texts)
    kind: str  # number, boolean, string: how it is stored and read back


def kept_values(plan: Plan) -> list[Kept]:
    """What a preview keeps per customer, and which result column each comes from."""
    kept = [Kept(atom_key(a), a.column, "n", "number") for a in plan.compiler.atoms.values()
            if a.origin in KEPT_ORIGINS]
    kept += [Kept(ranking_key(a), a.column, "n", a.kind) for a in plan.compiler.atoms.values()
             if a.origin == "ranking"]
    for code, key in candidate_keys(plan).items():
        kept += [Kept(key, f"cand_{code}", "t", "string"), Kept(f"cur:{code}", f"cur_{code}", "t", "string"),
                 Kept(f"pend:{code}", f"pend_{code}", "t", "string"),
                 Kept(f"pendn:{code}", f"pendn_{code}", "n", "number")]
    return kept


def keep(plan: Plan, *, result: str, as_of: datetime, generation: int) -> bool:
    """Replace the tenant's snapshot with the preview in temporary table ``result``; commits.

    Gives up (keeping nothing) if the data moved on meanwhile, or if a running import
    holds the tenant's row for longer than ``LOCK_TIMEOUT``.
    """
    tenant_id = tenancy.current_tenant_id()
    kept = kept_values(plan)
    layout, numbers, texts = {}, [], []
    for item in kept:
        target = numbers if item.array == "n" else texts
        value = sa.column(item.column)
        if item.kind == "boolean":
            value = sa.case((value.is_(None), None), (value, 1.0), else_=0.0)
        target.append(value)
        layout[item.key] = [item.array, len(target)]
    number_array = postgresql.array([sa.cast(v, sa.Float()) for v in numbers], type_=sa.Float()) if numbers \
        else sa.literal_column("'{}'::float8[]")
    text_array = postgresql.array([sa.cast(v, sa.String()) for v in texts], type_=sa.String()) if texts \
        else sa.literal_column("'{}'::text[]")
    source = sa.table(result, sa.column("customer_id"))
    select = sa.select(sa.literal(tenant_id), sa.column("customer_id"), number_array, text_array).select_from(source)
    try:
        with db.session.begin_nested():
            db.session.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            header = sa.text(
                "UPDATE preview_snapshots SET built_generation = :generation, as_of = :as_of, layout = :layout, "
                "built_at = :now WHERE tenant_id = :tenant_id AND name = :name AND generation = :generation"
            ).bindparams(sa.bindparam("layout", type_=JSONType), sa.bindparam("as_of", type_=UTCDateTime()),
                         sa.bindparam("now", type_=UTCDateTime()))
            params = {"tenant_id": tenant_id, "name": NAME, "generation": generation, "as_of": as_of,
                      "layout": layout, "now": utcnow()}
            if generation == 0:  # no row yet (the tenant's first, or a crash emptied the table): start one
                started = db.session.execute(sa.text(
                    "INSERT INTO preview_snapshots (tenant_id, name, generation) VALUES (:tenant_id, :name, "
                    f"{_first_generation()}) ON CONFLICT DO NOTHING RETURNING generation"
                ).execution_options(tenant_filtered=True), params).scalar()
                if started is None:  # an import made the row meanwhile: the data moved on
                    raise _Stale()
                params["generation"] = started
            if db.session.execute(header.execution_options(tenant_filtered=True), params).rowcount != 1:
                raise _Stale()
            db.session.execute(sa.delete(PreviewValue.__table__)
                               .where(PreviewValue.__table__.c.tenant_id == tenant_id)
                               .execution_options(tenant_filtered=True))
            db.session.execute(sa.insert(PreviewValue.__table__)
                               .from_select(["tenant_id", "customer_id", "numbers", "texts"], select)
                               .execution_options(tenant_filtered=True))
    except _Stale:
        return False
    except sa.exc.OperationalError as error:
        if getattr(error.orig, "sqlstate", None) != "55P03":  # lock_not_available: an import is committing
            raise
        return False
    db.session.commit()
    return True


class _Stale(Exception):
    """The data's generation moved on while the preview ran: its values describe nothing current."""
