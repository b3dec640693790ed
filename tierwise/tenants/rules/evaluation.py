"""One SELECT that tiers every customer of the tenant on every dimension.

The compiled rules become a stack of subqueries, all set-based, evaluated by the
database (PostgreSQL in production, SQLite in the demo):

1. ``activity`` and ``interactions`` aggregated per customer, one ``FILTER``ed
   aggregate per distinct window and filter the rules use (a single scan each);
2. ``base``: one row per customer with every atom (fields, aggregates, the
   current assignment and its hysteresis state), stored in a temporary table;
3. ``ranked``: percentiles and top-share flags, window functions over a narrow
   projection of ``base`` joined back to it;
4. per dimension, in dependency order: the candidate tier (the first matching
   rule, else the fallback), then the tier after hysteresis, its basis, its
   reason (a JSON object of the values the deciding rule looked at) and the new
   pending state.

Preview and retier both read this evaluation (``materialize`` runs it); neither
loops over customers.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tierwise.dates import months_before
from tierwise.platform.tenant import tenant_timezone
from tierwise.platform.db import UTCDateTime, db
from tierwise.models.scores import CustomerScore
from tierwise.tenants.activity import Activity
from tierwise.tenants.customers import Customer
from tierwise.tenants.interactions import Interaction
from tierwise.tenants.rules import snapshot
from tierwise.tenants.rules import syntax as s
from tierwise.tenants.rules.assignments import TierAssignment, last_successful_retier
from tierwise.tenants.rules.compiler import SQL_TYPES, Aggregate, Atom
from tierwise.tenants.rules.definition import CompiledDimension, Plan
from tierwise.tenants.rules.reason_sql import rule_reason, values_object
from tierwise.tenants.rules.snapshot import PreviewValue
from tierwise.tenants.rules.vocabulary import ACTIVITY, BOOLEAN, NUMBER

def shift(moment: datetime, duration: s.Duration, times: int = 1) -> datetime:
    """``moment`` minus ``times`` × ``duration``; months and years are calendar months."""
    amount = duration.amount * times
    if duration.unit == "d":
        return moment - timedelta(days=amount)
    if duration.unit == "w":
        return moment - timedelta(weeks=amount)
    return months_before(moment, amount * (12 if duration.unit == "y" else 1), tenant_timezone())  # its calendar


def _timestamp(value: datetime) -> sa.ColumnElement:
    return sa.literal(value, UTCDateTime())


class Evaluation:
    """Builds the query for one plan, one tenant, one moment, on one database dialect."""

    def __init__(self, plan: Plan, *, tenant_id: int, as_of: datetime, dialect: str,
                 version_id: uuid.UUID | None = None, preview: bool = False,
                 reuse: snapshot.Reuse | None = None, new_data: bool = True) -> None:
        self.plan = plan
        self.new_data = new_data  # whether it counts for customers already waiting (``data_moved_on``)
        self.version_id = version_id
        self.preview = preview  # reasons explain the rules' verdict (the candidate), not a held tier
        self.reuse = reuse  # a preview's kept values, taken instead of computed where the keys match
        self.values = PreviewValue.__table__.alias("kept")
        self.reused_rankings: set[str] = set()
        self.reused_candidates: set[str] = set()
        self.exact_operands: set[str] = set()  # atoms ranked by top_share whose decimal value base also has
        self.tenant_id = tenant_id
        self.as_of = as_of
        self.postgres = dialect == "postgresql"
        self.aggregate_of = {a.column: a for a in plan.compiler.aggregates.values()}  # by the column it fills
        self.customers = Customer.__table__.alias("c")

    # -- helpers spelled differently per dialect ---------------------------

    def days_between(self, later: sa.ColumnElement, earlier: sa.ColumnElement, *, dates: bool = False):
        if self.postgres:
            if dates:
                return sa.cast(sa.cast(later, sa.Date) - sa.cast(earlier, sa.Date), sa.Float)
            return sa.extract("epoch", later - earlier) / 86400.0
        if dates:  # whole days, as PostgreSQL's date subtraction gives
            return sa.func.julianday(sa.func.date(later)) - sa.func.julianday(sa.func.date(earlier))
        return sa.func.julianday(later) - sa.func.julianday(earlier)

    # -- layer 1: aggregates ------------------------------------------------

    def aggregate_subquery(self, table: sa.Table, aggregates: list[Aggregate], name: str):
        if not aggregates:
            return None
        occurred = table.c.occurred_at
        columns = [table.c.customer_id]
        for aggregate in aggregates:
            conditions = []
            end = self.as_of
            if aggregate.offset is not None:
                end = shift(self.as_of, aggregate.offset)
                conditions.append(occurred < _timestamp(end))
            if aggregate.window is not None:
                conditions.append(occurred >= _timestamp(shift(end, aggregate.window)))
            if aggregate.condition is not None:
                conditions.append(aggregate.condition)
            if aggregate.function == "count":
                value = sa.func.count()
            elif aggregate.function == "last":
                value = sa.func.max(occurred)
            else:
                # Summed as stored (numeric): exact whatever the order rows are added in.  Double
                # precision was faster but not deterministic: parallel workers add a customer's rows
                # in a different order each run, and a customer at a top_share boundary flipped.
                value = getattr(sa.func, aggregate.function)(table.c[aggregate.measure])
            if conditions:
                value = value.filter(sa.and_(*conditions))
            columns.append(value.label(aggregate.column))
        where = [table.c.tenant_id == self.tenant_id, occurred < _timestamp(self.as_of)]
        if all(a.window is not None for a in aggregates):
            earliest = min(shift(shift(self.as_of, a.offset) if a.offset else self.as_of, a.window) for a in aggregates)
            where.append(occurred >= _timestamp(earliest))
        return sa.select(*columns).where(*where).group_by(table.c.customer_id).subquery(name)

    # -- layer 2: one row per customer with its atoms -----------------------

    def atom_sql(self, atom: Atom, sources: dict[str, sa.Subquery]) -> sa.ColumnElement:
        c = self.customers
        if atom.origin == "builtin":
            return c.c[atom.label]
        if atom.origin == "field":
            value = c.c.attributes[atom.label]
            return {NUMBER: value.as_float(), BOOLEAN: value.as_boolean()}.get(atom.kind, value.as_string())
        if atom.origin == "model":  # the latest scores (null until a champion has scored the customer)
            return sources["scores"].c[atom.label]
        if atom.origin == "days_since":
            # Counted from the day the as-of falls on in the tenant's zone: cast in the database's (UTC),
            # a Shanghai as-of just after midnight was the day before, a day short (review).
            today = sa.literal(self.as_of.astimezone(ZoneInfo(tenant_timezone())).date(), sa.Date())
            return self.days_between(today, c.c.attributes[atom.detail[0]].as_string(), dates=True)
        aggregate_of = self.aggregate_of
        if atom.origin == "trend":
            # In exact decimals, rounded once when stored: in floating point, 2,612.05 growing to 3,134.46
            # comes out at 0.19999999999999993 and misses "trend(...) >= 0.2".
            current, previous = (self._exact(aggregate_of[col], sources) for col in atom.detail)
            return sa.case((previous > 0, self._rounded((current - previous) / previous)), else_=None)
        aggregate = aggregate_of[atom.detail[0]]
        if atom.origin == "days_since_last":
            return self.days_between(_timestamp(self.as_of), self._raw(aggregate, sources))
        return self._aggregate_value(aggregate, sources)

    def _raw(self, aggregate: Aggregate, sources) -> sa.ColumnElement:
        return sources["activity" if aggregate.source == ACTIVITY else "interactions"].c[aggregate.column]

    def _exact(self, aggregate: Aggregate, sources) -> sa.ColumnElement:
        """A sum or count as the database adds it up: numeric on PostgreSQL, zero when nothing is in the window."""
        value = self._raw(aggregate, sources)
        if self.postgres:
            value = sa.cast(value, sa.Numeric())
        return sa.func.coalesce(value, 0)

    def _rounded(self, value: sa.ColumnElement) -> sa.ColumnElement:
        """SQLite has only floating point: round away the last digits' noise (12 decimals stay)."""
        return value if self.postgres else sa.func.round(value, 12)

    def _aggregate_value(self, aggregate: Aggregate, sources) -> sa.ColumnElement:
        value = sa.cast(self._raw(aggregate, sources), sa.Float)
        if aggregate.function in ("sum", "count"):
            return sa.func.coalesce(value, 0.0)  # nothing in the window adds up to zero
        return value

    def current_columns(self, joined, first_run: bool):
        """The stored assignment as a column group per dimension, joined by key (one join per dimension).

        On a tenant's first retier there is nothing stored: the columns are nulls and the
        table is not read at all.  ``sameversion`` says whether the stored rows were decided
        by the version being applied on the current scores (otherwise every row is rewritten):
        the same for every row (``_stored_decisions_current``), so only the columns of the
        ``(tenant, dimension, customer)`` index are read, never the rows with their reasons.
        """
        a, c = TierAssignment.__table__, self.customers
        same = sa.literal(self._stored_decisions_current())
        columns = []
        for dimension in self.plan.definition.dimensions:
            code = dimension.code
            if self.reuse is not None and self.reuse.has(f"cur:{code}"):  # as the kept preview saw it
                text = sa.cast(sa.null(), sa.String(32))
                columns += [self.reuse.column(self.values, f"cur:{code}").label(f"cur_{code}"),
                            self.reuse.column(self.values, f"pend:{code}").label(f"pend_{code}"),
                            sa.cast(self.reuse.column(self.values, f"pendn:{code}"), sa.Integer)
                            .label(f"pendn_{code}"),
                            text.label(f"curbasis_{code}"), sa.false().label(f"sameversion_{code}")]
                continue
            if first_run:
                text, number = sa.cast(sa.null(), sa.String(32)), sa.cast(sa.null(), sa.Integer)
                columns += [text.label(f"cur_{code}"), text.label(f"pend_{code}"), number.label(f"pendn_{code}"),
                            text.label(f"curbasis_{code}"), sa.false().label(f"sameversion_{code}")]
                continue
            stored = a.alias(f"stored_{code}")
            joined = joined.outerjoin(stored, sa.and_(stored.c.tenant_id == self.tenant_id,
                                                      stored.c.customer_id == c.c.id,
                                                      stored.c.dimension == code))
            columns += [stored.c.tier.label(f"cur_{code}"), stored.c.pending_tier.label(f"pend_{code}"),
                        stored.c.pending_count.label(f"pendn_{code}"), stored.c.basis.label(f"curbasis_{code}"),
                        same.label(f"sameversion_{code}")]
        return joined, columns

    def _stored_decisions_current(self) -> bool:
        """Whether every stored row was decided by this version on the scores in force now.

        A retier writes a row only when something about it changed; otherwise its reason
        keeps the values it was decided on.  Rows decided by another version, or, when the
        rules read model outputs, before the scores were last replaced, are all rewritten
        with fresh reasons, their tiers kept where they hold.  Before this, a bank
        customer tiered before the first scoring kept "predicted value: —" as the reason
        for its tier beside the predicted value its page showed.
        """
        if self.version_id is None:  # a preview: it writes nothing, so asks nothing about the runs
            return False
        last = last_successful_retier(self.tenant_id)
        if last is None or last.rule_version_id != self.version_id:
            return False
        if not any(atom.origin == "model" for atom in self.plan.compiler.atoms.values()):
            return True
        from tierwise.models.runs import latest_scoring  # models read the rules' tiers: imported when needed

        scoring = latest_scoring()  # when scores were written (``scored_at`` is the data's moment, not that)
        return scoring is None or scoring.finished_at < last.started_at

    def _exact_operands(self) -> list[tuple[Atom, Aggregate]]:
        """Sums and counts that ``top_share`` ranks as they are, computed here (not read from a snapshot).

        ``base`` keeps their decimal value beside the float the rules compare: the running
        sum then adds exact decimals without converting a million floats to numeric (about
        a microsecond each, two per customer), and is exact beyond 15 digits too.
        """
        if not self.postgres:
            return []
        aggregate_of = self.aggregate_of
        atoms = {atom.column: atom for atom in self.plan.compiler.atoms.values()}
        found = {}
        for ranking in self.plan.compiler.rankings.values():
            atom = atoms.get(getattr(ranking.operand, "name", None))
            if ranking.function != "top_share" or not isinstance(ranking.operand, sa.ColumnClause) \
                    or atom is None or atom.origin != "aggregate" or self._reused(atom) \
                    or aggregate_of[atom.detail[0]].function not in ("sum", "count"):
                continue
            found[atom.column] = (atom, aggregate_of[atom.detail[0]])
        return list(found.values())

    def _reused(self, atom: Atom) -> bool:
        return self.reuse is not None and atom.origin in snapshot.KEPT_ORIGINS \
            and self.reuse.has(snapshot.atom_key(atom))

    def _needed_aggregates(self) -> list[Aggregate]:
        """The aggregates behind atoms that must be computed (all of them, without a snapshot)."""
        needed = set()
        for atom in self.plan.compiler.atoms.values():
            if atom.origin in snapshot.KEPT_ORIGINS and not self._reused(atom):
                needed.update(atom.detail[:2] if atom.origin == "trend" else atom.detail[:1])
        return [a for a in self.plan.compiler.aggregates.values() if a.column in needed]

    def reads_only_snapshot(self) -> bool:
        """After ``base``: whether every aggregate and ranking comes from the snapshot."""
        return self.reuse is not None and not self._needed_aggregates() \
            and self.reused_rankings == set(self.plan.compiler.rankings)

    def _kept_columns(self) -> list[sa.ColumnElement]:
        """Rankings and candidate tiers the snapshot has, read from it (``ranked`` and the
        dimension layers then skip computing them)."""
        if self.reuse is None:
            return []
        columns = []
        for atom in self.plan.compiler.atoms.values():
            key = snapshot.ranking_key(atom)
            if atom.origin == "ranking" and self.reuse.has(key):
                value = self.reuse.column(self.values, key)
                columns.append((value == 1.0 if atom.kind == BOOLEAN else value).label(atom.column))
                self.reused_rankings.add(atom.column)
        for code, key in snapshot.candidate_keys(self.plan).items():
            if self.reuse.has(key) and self.reuse.has(f"cur:{code}"):
                columns.append(self.reuse.column(self.values, key).label(f"keptcand_{code}"))
                self.reused_candidates.add(code)
        return columns

    def base(self) -> sa.Select:
        c = self.customers
        aggregates = self._needed_aggregates()
        sources = {}
        for name, table, source_filter in (("activity", Activity.__table__, lambda a: a.source == ACTIVITY),
                                           ("interactions", Interaction.__table__,
                                            lambda a: a.source != ACTIVITY)):
            subquery = self.aggregate_subquery(table, [a for a in aggregates if source_filter(a)], name)
            if subquery is not None:
                sources[name] = subquery
        joined = c
        for subquery in sources.values():
            joined = joined.outerjoin(subquery, subquery.c.customer_id == c.c.id)
        if any(a.origin == "model" for a in self.plan.compiler.atoms.values()):
            scores = CustomerScore.__table__
            sources["scores"] = scores
            joined = joined.outerjoin(scores, sa.and_(scores.c.tenant_id == c.c.tenant_id,
                                                      scores.c.customer_id == c.c.id))
        if self.reuse is not None:
            kept = self.values
            joined = joined.outerjoin(kept, sa.and_(kept.c.tenant_id == c.c.tenant_id, kept.c.customer_id == c.c.id))
        atoms = [a for a in self.plan.compiler.atoms.values() if a.origin not in ("ranking", "tier")]
        columns = [c.c.id.label("customer_id"), c.c.external_id]
        for atom in atoms:
            if self._reused(atom):
                value = self.reuse.column(self.values, snapshot.atom_key(atom))
            else:
                value = self.atom_sql(atom, sources)
            columns.append((sa.cast(value, SQL_TYPES[atom.kind]) if atom.kind == NUMBER else value).label(atom.column))
        for atom, aggregate in self._exact_operands():
            columns.append(self._exact(aggregate, sources).label(f"x_{atom.column}"))
            self.exact_operands.add(atom.column)
        columns += self._kept_columns()
        joined, current = self.current_columns(joined, first_run=not self._assigned())
        columns += current
        return sa.select(*columns).select_from(joined).where(c.c.tenant_id == self.tenant_id)

    def _assigned(self) -> bool:
        """Whether the tenant has any stored assignment (none before its first retier)."""
        a = TierAssignment.__table__
        return db.session.execute(sa.select(sa.exists().where(a.c.tenant_id == self.tenant_id))
                                  .execution_options(tenant_filtered=True)).scalar()

    # -- layer 3: rankings --------------------------------------------------

    def ranked(self, base: sa.Table) -> sa.CTE:
        """Base plus the rankings, computed over a narrow projection and joined back.

        A window sorts every row it is given: fed the whole base row, a million
        customers would be sorted (and spilled) at full width.
        """
        external_id = base.c.external_id
        windows, shares, running, totals = [], [], {}, []
        for ranking in self.plan.compiler.rankings.values():
            if ranking.column in self.reused_rankings:  # a column of base already
                continue
            operand = ranking.operand
            if ranking.function == "percentile":
                # The percentile rank: the share below, plus half the share tied (the mean of cume_dist and
                # the share strictly below).  Ties share the middle of their run: with cume_dist alone, a
                # tenant whose customers all tie (no activity imported yet) put every one of them at 1.0,
                # in the top tier.
                ordered = {"partition_by": operand.is_(None), "order_by": operand}
                below = sa.cast(sa.func.rank().over(**ordered) - 1, sa.Float) / sa.func.count().over(
                    partition_by=operand.is_(None))
                value = sa.case((operand.is_(None), None), else_=(sa.func.cume_dist().over(**ordered) + below) / 2)
                windows.append(value.label(ranking.column))
                continue
            positive = sa.case((operand > 0, operand), else_=0.0)
            key = str(positive.compile(compile_kwargs={"literal_binds": True}))
            if key not in running:  # top_share(x, 0.5) and top_share(x, 0.8) share one running sum
                summed = sa.cast(positive, sa.Numeric()) if self.postgres else positive
                if isinstance(operand, sa.ColumnClause) and operand.name in self.exact_operands:
                    exact = base.c[f"x_{operand.name}"]
                    summed = sa.case((exact > 0, exact), else_=0)
                # Exact decimal running sums on PostgreSQL: who is in the top share must not hang on
                # rounding.  The running sum up to and including this row, less the row: a frame ending
                # at the current row is the one PostgreSQL computes in a single pass.  Ordered by the
                # float itself (a cheaper sort than by its decimal), ties by external id.
                before = sa.func.sum(summed).over(order_by=(positive.desc(), external_id), rows=(None, 0)) - summed
                index = len(running)
                running[key] = (f"before_{index}", f"total_{index}", f"positive_{index}")
                windows += [before.label(f"before_{index}"), positive.label(f"positive_{index}")]
                totals.append(sa.func.sum(summed).label(f"total_{index}"))
            shares.append((ranking, running[key]))
        measure = sa.cast(self.plan.measure, sa.Float).label("value_measure")
        if not windows:
            return sa.select(base, measure).offset(0).cte("ranked")
        ranks = sa.select(base.c.customer_id.label("ranked_id"), *windows).select_from(base).cte("ranks")
        joined = base.join(ranks, ranks.c.ranked_id == base.c.customer_id)
        if totals:  # aggregates computed once, rather than windows over every row (which buffer them all)
            total_row = sa.select(*totals).select_from(base).cte("totals")
            joined = joined.join(total_row, sa.true())
        flags = []
        for ranking, names in shares:
            before, total, positive = ranks.c[names[0]], total_row.c[names[1]], ranks.c[names[2]]
            share = sa.literal(ranking.share, sa.Numeric() if self.postgres else sa.Float())
            if self.postgres:
                flag = sa.and_(positive > 0, before < total * share)
            else:  # SQLite sums in floating point: allow for rounding, never more than half this value
                slack = sa.case((total * 1e-9 < positive / 2, total * 1e-9), else_=positive / 2)
                flag = sa.and_(positive > 0, before < total * share - slack)
            flags.append(flag.label(ranking.column))
        percentiles = [ranks.c[w.name] for w in windows if w.name in self.plan.compiler.rankings]
        return sa.select(base, *percentiles, *flags, measure).select_from(joined).offset(0).cte("ranked")

    # -- layer 4: dimensions ------------------------------------------------
    # Two layers per dimension.  The candidate tier ends in OFFSET 0, a planning fence: flattened,
    # every reference to it would repeat its whole CASE (the rules) instead of reading its value.
    # What follows the candidate (hysteresis, basis, pending state, change flag, reason) is cheap
    # CASEs over columns, in a second layer without a fence: PostgreSQL computes it within the
    # next dimension's candidate layer or the final projection.  Each fence copies every
    # customer's whole row once more (about 0.3 s at a million customers).

    def dimension_layers(self, source: sa.CTE, compiled: CompiledDimension, index: int) -> sa.CTE:
        spec = compiled.spec
        code = spec.code
        current = sa.column(f"cur_{code}", sa.String)
        codes = [t.code for t in spec.tiers]
        whens = []
        for tier, rule in zip(spec.tiers[:-1], compiled.rules):
            condition = rule.strict
            if rule.relaxed is not None:
                condition = sa.or_(condition, sa.and_(current == tier.code, rule.relaxed))
            whens.append((condition, tier.code))
        candidate = sa.case(*whens, else_=spec.fallback.code)
        # Kept by the margin: its current tier's rule holds only in its relaxed form.  Such a customer
        # is held (basis and counts say so), not shown as matching a rule its values do not meet.  A
        # preview says so too: its candidate is the current tier, so only this tells it the customer is
        # held (previews once left it out, and said "0 held" of a draft whose retier then held 16).
        relaxed = {tier.code: rule.strict for tier, rule in zip(spec.tiers[:-1], compiled.rules)
                   if rule.relaxed is not None}
        margin = (sa.not_(sa.func.coalesce(sa.case(relaxed, value=current, else_=sa.true()), False))
                  if relaxed else sa.false())
        if code in self.reused_candidates:  # the same rules over the same values: the kept verdict, a
            candidate = sa.column(f"keptcand_{code}", sa.String)  # column (no fence: nothing to repeat)
            first = sa.select(source, candidate.label(f"cand_{code}"), margin.label(f"margin_{code}")
                              ).subquery(f"candidate_{index}")
        else:
            first = sa.select(source, candidate.label(f"cand_{code}"), margin.label(f"margin_{code}")
                              ).offset(0).cte(f"candidate_{index}")

        cand, cur = first.c[f"cand_{code}"], first.c[f"cur_{code}"]
        pending, pending_count = first.c[f"pend_{code}"], sa.func.coalesce(first.c[f"pendn_{code}"], 0)
        needed = spec.hysteresis.evaluations
        # This evaluation's count: one, but on the same data as the last retier only for a customer
        # whose wait starts now (``data_moved_on``: N evaluations of the data, not N clicks).
        counted = pending_count + 1 if self.new_data else pending_count + sa.case((pending_count == 0, 1), else_=0)
        if needed > 1:
            # N evaluations in a row outside the current tier move the customer to the latest candidate,
            # however the candidate changed meanwhile: one sliding down two tiers is not held longer.
            known = sa.and_(cur.is_not(None), cur.in_(codes))
            tier = sa.case((sa.not_(known), cand), (cand == cur, cur), (counted >= needed, cand), else_=cur)
        else:
            tier = cand
        moving = tier != cand if needed > 1 else sa.false()
        held = sa.or_(moving, sa.and_(cand == cur, first.c[f"margin_{code}"])) if relaxed else moving
        basis = sa.case((held, "held"), (tier == spec.fallback.code, "fallback"), else_="rule")
        new_count = sa.case((moving, counted), else_=0)
        new_pending = sa.case((moving, cand), else_=None)

        # Whether the stored assignment must be written (the retier updates only these rows): a new
        # tier, basis, hysteresis state or rule version.  Only then is the reason computed and stored,
        # so a reason shows the values as of the decision (``decided_at``).  A preview stores nothing:
        # its "changed" are the customers the rules move, whose reasons the samples show (every
        # customer's reason would cost more than the rest of the preview).
        if self.preview:
            changed = sa.and_(cur.in_(codes), cur != cand)
        else:
            changed = sa.or_(cur.is_distinct_from(tier), first.c[f"curbasis_{code}"].is_distinct_from(basis),
                             pending.is_distinct_from(new_pending),
                             first.c[f"pendn_{code}"].is_distinct_from(new_count),
                             sa.not_(first.c[f"sameversion_{code}"]))
        final = cand if self.preview else tier
        # ``changed`` once per customer, then the tier once per mover (a simple CASE): written as one
        # flat CASE, every WHEN repeated the test of ``changed`` and, through it, the candidate's
        # expression (3.4 s of a 6 s preview at a million customers).
        reason = sa.case((changed, sa.case({t.code: rule_reason(rule, postgres=self.postgres)
                                            for t, rule in zip(spec.tiers[:-1], compiled.rules)},
                                           value=final, else_=values_object(compiled.atoms(), postgres=self.postgres))),
                         else_=None)
        return sa.select(first, tier.label(f"tier_{code}"), basis.label(f"basis_{code}"),
                         new_pending.label(f"newpend_{code}"), new_count.label(f"newpendn_{code}"),
                         changed.label(f"changed_{code}"), reason.label(f"reason_{code}")
                         ).cte(f"dimension_{index}")

    def query(self, base: sa.Table, columns: list[sa.Column]) -> sa.Select:
        """``columns`` (``result_columns``), one row per customer, from the stored base."""
        layer = self.ranked(base)
        for index, compiled in enumerate(self.plan.dimensions):
            layer = self.dimension_layers(layer, compiled, index)
        return sa.select(*(layer.c[column.name] for column in columns))
