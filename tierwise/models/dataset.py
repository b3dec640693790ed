"""Training and validation examples from several past cutoffs: a time-aware design.

The validation cutoff is the most recent one whose horizon the data covers, a
whole number of calendar months before the data's end (where scoring takes its
features), so customers billed monthly are seen at the same point of their
cycle.  Training examples come from earlier cutoffs, one ``step`` apart.  Where the history allows, every training label window ends
before the validation cutoff, so nothing the model learns from overlaps what it
is judged on.  Where it does not (a one-year horizon on eighteen months of
data, a 90-day churn horizon on nine), the training cutoffs move closer and the
validation customers are held out of training instead (a churn model trains on
the rest of that cutoff too); the plan says so and the model page shows it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from tierwise.errors import ValidationError
from tierwise.models import features as f
from tierwise.models.days import first_day_from, tenant_date, tenant_day, tenant_days, tenant_midnight
from tierwise.models.days import tenant_months_before as months_before
from tierwise.models.horizons import horizon_end
from tierwise.models.labels import CHURN, imported_outcomes, labels_for, population_days
from tierwise.platform import tenancy
from tierwise.platform.db import db
from tierwise.platform.numbers import readable_number
from tierwise.tenants.activity import Activity, data_end

MIN_HISTORY_DAYS = 30  # a cutoff needs at least this much activity before it
MAX_TRAINING_CUTOFFS = 6
MIN_TRAINING_CUTOFFS = 2  # kept where the plan has them, however large the tenant
HELD_OUT_SHARE = 0.3  # of the customers, for validation when label windows must overlap
MAX_TRAINING_ROWS = 2_000_000  # earlier cutoffs are not built past this; the rows over it are sampled
DRIFT_REFERENCE_ROWS = 100_000  # customers binned for the drift reference: deciles need no more
DEFAULT_HORIZON = {CHURN: 90, "value": 365}


@dataclass
class Plan:
    model: str
    horizon_days: int
    data_start: datetime
    data_end: datetime
    validation_cutoff: datetime
    training_cutoffs: list[datetime]
    overlapping: bool  # training label windows overlap the validation window (customers held out instead)
    # earlier cutoffs the plan had but the examples did not need (the row budget was reached without them)
    unused_cutoffs: list[datetime] = field(default_factory=list)

    def describe(self) -> dict:
        return {"horizon_days": self.horizon_days, "data_start": self.data_start.isoformat(),
                "data_end": self.data_end.isoformat(), "validation_cutoff": self.validation_cutoff.isoformat(),
                "training_cutoffs": [c.isoformat() for c in self.training_cutoffs],
                "unused_training_cutoffs": [c.isoformat() for c in self.unused_cutoffs],
                "validation": "customers held out, label windows overlap" if self.overlapping
                else "later cutoff, label windows do not overlap"}


@dataclass
class Dataset:
    plan: Plan
    spec: f.FeatureSpec
    train_x: pd.DataFrame
    train_y: pd.Series
    train_cutoff: pd.Series  # which cutoff each training row comes from (0 the oldest)
    train_bucket: np.ndarray  # a stable 0-999 hash of each row's customer for the inner split (not the outer one's)
    valid_x: pd.DataFrame
    valid_y: pd.Series
    # The model's population as of the data's end, as scoring will see it on the same data (a sample):
    # what drift is measured against (``drift_reference``).
    now_x: pd.DataFrame | None = None
    extras: dict = field(default_factory=dict)
    customers: int = 0  # the tenant's customers when the examples were built: what scoring will walk


def first_activity_at() -> datetime | None:
    a = Activity.__table__
    return db.session.scalar(sa.select(sa.func.min(a.c.occurred_at)).where(
        a.c.tenant_id == tenancy.current_tenant_id()).execution_options(tenant_filtered=True))


def validation_cutoff(end: datetime, horizon_days: int) -> datetime:
    """The most recent cutoff whose horizon ``end`` covers: the first whole number of calendar months back.

    Whole months, so the validation customers are seen at the point of their monthly
    cycle where scoring (as of the end) sees them: a 90-day horizon may take 92 days.
    """
    return months_before(end, validation_months(end, horizon_days))


def validation_months(end: datetime, horizon_days: int) -> int:
    """How many calendar months before ``end`` the validation cutoff sits (``validation_cutoff``)."""
    back = 1
    while horizon_end(months_before(end, back), horizon_days) > end:
        back += 1
    return back


def plan_cutoffs(model: str, horizon_days: int, *, as_of: datetime | None = None,
                 step_days: int | None = None) -> Plan:
    """Where the validation and training cutoffs fall; a ValidationError names what is missing."""
    if horizon_days < 1:
        raise ValidationError(_l("the horizon must be at least 1 day"), field="horizon_days")
    first = first_activity_at()
    if first is None:
        raise ValidationError(_l("this tenant has no activity yet: import some before training"), field="activity")
    last = end = data_end()
    if end <= first:
        raise ValidationError(_l("the tenant's activity starts on %(first)s, after today: nothing is known yet",
                                 first=tenant_day(first)), field="activity")
    if as_of is not None:
        end = min(end, as_of)
    if validation_cutoff(end, horizon_days) <= first + timedelta(days=MIN_HISTORY_DAYS):
        raise too_little_history(first, end, horizon_days, known_until=last if end < last else None, model=model)
    return _plan(model, horizon_days, first, end, step_days)


def _plan(model: str, horizon_days: int, first: datetime, end: datetime, step_days: int | None = None) -> Plan:
    """The cutoffs of a plan on activity from ``first`` to ``end`` (whose validation cutoff fits)."""
    back = validation_months(end, horizon_days)
    validation = months_before(end, back)
    earliest = earliest_training_cutoff(model, horizon_days, first, validation)
    # Cutoffs step back by whole calendar months from the validation cutoff, so each one sits at the same
    # point of a monthly cycle (bills, statements): 30-day steps would drift a monthly bill in and out
    # of the 30-day window from one cutoff to the next, and the model would learn the drift.
    step_months = max(1, round((step_days or min(max(30, horizon_days // 3), 91)) / 30.44))
    # Every cutoff steps back from the end itself, not from another cutoff: from a cutoff clamped to
    # 28 February, the next ones fell on the 28th of every month, days before bills dated the 31st.
    gap = 1
    while horizon_end(months_before(end, back + gap), horizon_days) > validation:
        gap += 1  # the first whole number of months at least a horizon back
    strict = [months_before(end, back + gap + k * step_months) for k in range(MAX_TRAINING_CUTOFFS)]
    strict = [c for c in strict if c > earliest]
    overlapping = len(strict) < 2
    cutoffs = strict
    if overlapping:
        latest = back if model == CHURN else back + step_months  # ``trains_at_validation``
        cutoffs = [c for c in (months_before(end, latest + k * step_months) for k in range(MAX_TRAINING_CUTOFFS))
                   if c > earliest]
    if not cutoffs:
        cutoffs = [validation]  # the only cutoff: customers held out for validation
        overlapping = True
    return Plan(model=model, horizon_days=horizon_days, data_start=first, data_end=end,
                validation_cutoff=validation, training_cutoffs=sorted(cutoffs), overlapping=overlapping)


def earliest_training_cutoff(model: str, horizon_days: int, first: datetime, validation: datetime) -> datetime:
    """What a training cutoff must come after: MIN_HISTORY_DAYS after ``first``, and for a churn model the
    horizon, where the validation cutoff is that far in.

    A churn model's population is the customers active in the horizon before a cutoff.
    Closer to the data's start, those silent since before it began are missing: the
    clearest leavers.  Nine months of a synthetic bank put its cutoffs 58 and 88 days in,
    where 5.6% and 7.6% churned against 9.4% at the validation cutoff.  Where even the
    validation cutoff is closer (six months), every cutoff misses some, and the rows of
    the earlier ones were worth more: with a 180-day horizon on a year, ROC AUC 0.966
    without them, 0.973 with them.  Value models keep 30 days: no short history holds a year.
    """
    window = timedelta(days=population_days(model, horizon_days) if model == CHURN else 0)
    if validation <= first + window:
        window = timedelta(0)
    return first + max(timedelta(days=MIN_HISTORY_DAYS), window)


def check_plan(model: str, horizon_days: int, *, as_of: datetime | None = None) -> None:
    """Refuse now, before a run is recorded, an as-of or a horizon that ``plan_cutoffs`` would refuse.

    Quick where the plan fits: a probe for one activity old enough before the
    validation cutoff, where the tenant's first activity takes a read of all of it
    (a second at a million customers); only a plan that does not fit is planned in
    full, for its message.  A tenant with no activity at all is left to the run, which
    records why it cannot train.
    """
    end = data_end()
    if end is None:
        return
    last = end
    if as_of is not None:
        end = min(end, as_of)
    enough_before = validation_cutoff(end, horizon_days) - timedelta(days=MIN_HISTORY_DAYS)
    a = Activity.__table__
    if not db.session.scalar(sa.select(sa.exists().where(
            a.c.tenant_id == tenancy.current_tenant_id(), a.c.occurred_at < enough_before))
            .execution_options(tenant_filtered=True)):
        plan_cutoffs(model, horizon_days, as_of=as_of)  # raises, saying what to change
    if as_of is not None and as_of < last and model == CHURN:
        # An as-of early in the data may leave a churn model nobody who churned (or nobody who
        # stayed) to learn from, though its cutoffs fit: said now, naming a later as-of that works.
        plan = plan_cutoffs(model, horizon_days, as_of=as_of)
        if not both_outcomes(plan):
            raise _one_outcome(plan, known_until=last)


def both_outcomes(plan: Plan) -> bool:
    """Whether a churn plan's training cutoffs and its validation cutoff each have churned and stayed customers.

    Counted as ``labels.churn_labels`` derives them: customers with activity in the horizon
    before a cutoff, churned if they have none in the horizon after it; an imported churn
    dated in that horizon counts as churned too, so the probe refuses only what training would.
    """
    training = _outcomes(plan.training_cutoffs, plan.horizon_days)
    validation = _outcomes([plan.validation_cutoff], plan.horizon_days)
    return all(stayed and churned for stayed, churned in (training, validation))


def _outcomes(cutoffs: list[datetime], horizon_days: int) -> tuple[int, int]:
    """(stayed, churned) examples over ``cutoffs``, in one aggregate per cutoff."""
    from tierwise.tenants.customers import Customer

    a, c = Activity.__table__, Customer.__table__
    tenant_id, horizon = tenancy.current_tenant_id(), timedelta(days=horizon_days)
    stayed = churned = 0
    for cutoff in cutoffs:
        seen = (sa.select(a.c.customer_id, sa.func.max(sa.case((a.c.occurred_at >= cutoff, 1), else_=0))
                          .label("after"))
                .where(a.c.tenant_id == tenant_id, a.c.occurred_at >= cutoff - horizon,
                       a.c.occurred_at < horizon_end(cutoff, horizon_days))
                .group_by(a.c.customer_id).having(sa.func.min(a.c.occurred_at) < cutoff).subquery())
        after = sa.func.coalesce(sa.func.sum(seen.c.after), 0)
        kept, gone = db.session.execute(sa.select(after, sa.func.count() - after)
                                        .execution_options(tenant_filtered=True)).one()
        imported = db.session.scalar(sa.select(sa.func.count()).where(
            c.c.tenant_id == tenant_id, c.c.churn_label.is_(True), c.c.label_observed_on >= first_day_from(cutoff),
            c.c.label_observed_on < first_day_from(horizon_end(cutoff, horizon_days))).execution_options(tenant_filtered=True))
        stayed, churned = stayed + int(kept), churned + int(gone) + int(imported or 0)
    return stayed, churned


def _one_outcome(plan: Plan, *, known_until: datetime) -> ValidationError:
    """Why an as-of leaves a churn model one outcome to learn from, naming the earliest later as-of that works."""
    later = earliest_as_of(plan.data_start, plan.horizon_days, until=known_until, after=plan.data_end)
    if later is not None:
        return ValidationError(_l("%(as_of)s is too early: up to it, a horizon of %(horizon)s days leaves a churn "
                                  "model customers of one outcome only (nobody churned, or nobody stayed) to learn "
                                  "from; the earliest as-of that works is %(later)s",
                                  as_of=tenant_day(plan.data_end),
                                  horizon=plan.horizon_days, later=tenant_day(later)), field="as_of")
    return ValidationError(_l("a horizon of %(horizon)s days leaves a churn model customers of one outcome only "
                              "(nobody churned, or nobody stayed) at every as-of up to %(end)s: try another horizon",
                              horizon=plan.horizon_days, end=tenant_day(known_until)), field="horizon_days")


def too_little_history(first: datetime, end: datetime, horizon_days: int, *,
                       known_until: datetime | None = None, model: str = CHURN) -> ValidationError:
    """Why no cutoff fits between ``first`` and ``end`` for the horizon, blaming what to change.

    ``known_until``: the data's end, where an as-of before it ends the data early.  The
    as-of is blamed if a later one would do (the earliest is named); otherwise the
    horizon, with the longest the activity allows.  No option is named: the CLI and
    the API each name the field their own way.
    """
    after = (end - validation_cutoff(end, horizon_days)).days
    if after == horizon_days:
        needed = _l("more than %(days)s days of activity (%(before)s before a cutoff and the horizon after it)",
                    days=after + MIN_HISTORY_DAYS, before=MIN_HISTORY_DAYS)
    else:
        needed = _l("more than %(days)s days of activity (%(before)s before a cutoff and %(after)s after it: "
                    "the horizon in whole calendar months)", days=after + MIN_HISTORY_DAYS, before=MIN_HISTORY_DAYS,
                    after=after)
    covered = (end - first).days
    if known_until is not None:
        later = earliest_as_of(first, horizon_days, until=known_until, model=model)
        if end <= first:
            if later:
                return ValidationError(_l("%(as_of)s is before the tenant's first activity (%(first)s); the earliest "
                                          "as-of that works is %(later)s", as_of=tenant_day(end),
                                          first=tenant_day(first), later=tenant_day(later)), field="as_of")
            return ValidationError(_l("%(as_of)s is before the tenant's first activity (%(first)s): nothing is known "
                                      "then", as_of=tenant_day(end), first=tenant_day(first)), field="as_of")
        if later is not None:
            return ValidationError(
                _l("%(as_of)s is too early: up to it the activity covers %(covered)s days (from %(first)s), and a "
                   "horizon of %(horizon)s days needs %(needed)s; the earliest as-of that works is %(later)s",
                   as_of=tenant_day(end), covered=covered, first=tenant_day(first), horizon=horizon_days, needed=needed,
                   later=tenant_day(later)), field="as_of")
    longest = longest_horizon(first, end)
    if longest:
        return ValidationError(
            _l("a horizon of %(horizon)s days needs %(needed)s; the activity covers %(covered)s days, from %(first)s "
               "to %(end)s: choose a horizon of at most %(longest)s days", horizon=horizon_days, needed=needed,
               covered=covered, first=tenant_day(first), end=tenant_day(end), longest=longest), field="horizon_days")
    return ValidationError(
        _l("a horizon of %(horizon)s days needs %(needed)s; the activity covers %(covered)s days, from %(first)s "
           "to %(end)s", horizon=horizon_days, needed=needed, covered=covered, first=tenant_day(first),
           end=tenant_day(end)),
        field="horizon_days")


MAX_OUTCOME_PROBES = 400  # as-ofs whose churn labels ``earliest_as_of`` counts before giving up


def earliest_as_of(first: datetime, horizon_days: int, *, until: datetime, after: datetime | None = None,
                   model: str = CHURN) -> datetime | None:
    """The first midnight (the tenant's, as ``tierwise train --as-of`` reads a day) after ``after`` as of which
    training works, if one comes by ``until``.

    Works: a cutoff fits after ``first`` and, for a churn model, its labels hold both outcomes
    (``both_outcomes``), so the as-of named is one the run will not refuse.  The validation
    cutoff lies less than a month further back than the horizon, so the search for a cutoff
    ends within about a month of the first day that could do.
    """
    enough = first + timedelta(days=MIN_HISTORY_DAYS)
    day = tenant_midnight(tenant_date(enough + timedelta(days=horizon_days)))
    if after is not None:
        day = max(day, tenant_midnight(tenant_date(after) + timedelta(days=1)))
    probes = 0
    while day <= until:
        if validation_cutoff(day, horizon_days) > enough:
            if model != CHURN or both_outcomes(_plan(model, horizon_days, first, day)):
                return day
            probes += 1
            if probes >= MAX_OUTCOME_PROBES:
                return None
        day += timedelta(days=1)
    return None


def longest_horizon(first: datetime, end: datetime) -> int | None:
    """The longest horizon, in days, that leaves a cutoff enough history after ``first`` (None: not even one)."""
    enough = first + timedelta(days=MIN_HISTORY_DAYS)
    if months_before(end, 1) <= enough:
        return None
    back = 1
    while months_before(end, back + 1) > enough:
        back += 1
    longest = (end - months_before(end, back)).days
    # A horizon a few days longer may be taken as the same calendar months (``horizons``): it fits too.
    while validation_cutoff(end, longest + 1) > enough:
        longest += 1
    return longest


def build_dataset(plan: Plan, spec: f.FeatureSpec, *, seed: int = 7, progress=None) -> Dataset:
    """The examples of the plan's cutoffs; ``Dataset.plan`` names the training cutoffs actually used.

    Training cutoffs are built from the most recent backwards, a few per scan of the
    activity (``_batches``), and only until MAX_TRAINING_ROWS examples are reached:
    at a million customers two or three cutoffs hold that many, and building the
    other three only for sampling to throw most of them away took half the time.
    At least MIN_TRAINING_CUTOFFS are kept where the plan has them, so the model
    still sees more than one moment.
    """
    # In the tenant's own id order: the same data gives the same model however it was stored.  Ids
    # (UUIDv7) made within one millisecond of an import fall in random order, and LightGBM's bagging
    # draws rows by position: on the pharma demo, row order alone moved validation ROC AUC by 0.01.
    customers = f.customer_frame(spec).sort_values("external_id", kind="stable", ignore_index=True)
    external = customers.set_index("customer_id")["external_id"]  # splits hash the tenant's own ids: reproducible
    outcomes = imported_outcomes() if plan.model == CHURN else None
    planned = len(plan.training_cutoffs) + 1
    valid_x = valid_y = None
    built: dict[datetime, tuple[pd.DataFrame, pd.Series]] = {}  # training cutoff: (x, y)
    if progress:
        progress("reading the activity", 1 / (planned + 1))
    rows = f.activity_rows(spec, pd.Index(customers["customer_id"]),
                           [plan.validation_cutoff, *plan.training_cutoffs, plan.data_end], plan.horizon_days)
    for batch in _batches(plan, len(customers), built):
        if progress:
            progress(f"features as of {', '.join(tenant_days(batch))}", (len(built) + 2) / (planned + 1))
        scanned = f.build_feature_sets(spec, batch, customers, plan.horizon_days, rows)
        for cutoff, (x, future) in zip(batch, scanned):
            y = labels_for(plan.model, x, future, cutoff, plan.horizon_days, outcomes)
            known = y.notna()
            x, y = x[known], y[known]
            if valid_x is None:  # the first scan's first cutoff, which may also be a training one
                valid_x, valid_y = x, y
                if plan.overlapping:
                    held_out = customer_buckets(external.reindex(x.index)) < HELD_OUT_SHARE * 1000
                    valid_x, valid_y = x[held_out], y[held_out]
                if not trains_at_validation(plan):
                    continue
            if plan.overlapping:
                keep = ~x.index.isin(valid_x.index)
                x, y = x[keep], y[keep]
            built[cutoff] = (x, y)
        del scanned
    now_x = drift_reference(plan, spec, customers, rows, external)
    del rows
    used = sorted(built)
    plan = replace(plan, training_cutoffs=used,
                   unused_cutoffs=[c for c in plan.training_cutoffs if c not in built])
    frames, labels = [built[c][0] for c in used], [built[c][1] for c in used]
    if not frames or sum(len(x) for x in frames) == 0:
        raise ValidationError(_l("no training examples: no customer has a known label at any training cutoff"),
                              field="horizon_days")
    origins = np.concatenate([np.full(len(x), number) for number, x in enumerate(frames)])
    total = len(origins)
    if total > MAX_TRAINING_ROWS:  # sampled evenly over the cutoffs, each frame before they are put together
        keep = np.sort(np.random.default_rng(seed).choice(total, MAX_TRAINING_ROWS, replace=False))
        origins = origins[keep]
        starts = np.cumsum([0] + [len(x) for x in frames])
        parts = [keep[(keep >= a) & (keep < b)] - a for a, b in zip(starts[:-1], starts[1:])]
        frames = [x.iloc[p] for x, p in zip(frames, parts)]
        labels = [y.iloc[p] for y, p in zip(labels, parts)]
    train_x, ids = _positional(frames)
    del frames, built
    train_bucket = customer_buckets(external.reindex(ids), salt="inner")
    train_y = pd.concat(labels, ignore_index=True)
    _check_usable(plan, train_x, train_y, valid_y)
    return Dataset(plan, spec, train_x, train_y, pd.Series(origins), train_bucket, valid_x, valid_y, now_x,
                   customers=len(customers))


def drift_reference(plan: Plan, spec: f.FeatureSpec, customers: pd.DataFrame, rows, external: pd.Series
                    ) -> pd.DataFrame:
    """The model's population as of the data's end: what scoring on the same data will see (a sample).

    Drift answers "has the population moved since this model was trained?", so it is
    measured against the customers as they were when it was trained, not at the
    validation cutoff.  That cutoff lies a horizon back (a year for the value model),
    where every customer's tenure was shorter and, on a history imported from one
    date, the year-long windows were not yet full: measured against it, the first
    scoring on unchanged data alerted, and retraining could never clear the alert.
    """
    [(x, _future)] = f.build_feature_sets(spec, [plan.data_end], customers, 0, rows)
    x = x[(x["recency_days"] <= population_days(plan.model, plan.horizon_days)).to_numpy()]
    if len(x) > DRIFT_REFERENCE_ROWS:  # the same customers every time: a hash of their own ids
        share = -(-DRIFT_REFERENCE_ROWS * 1000 // len(x))
        x = x[customer_buckets(external.reindex(x.index), salt="drift") < share]
    return x


def _batches(plan: Plan, customers: int, built: dict):  # ``built``: the caller's, filled in between scans
    """The cutoffs of each scan: the validation cutoff and the most recent training cutoffs first.

    A cutoff has at most one example per customer, so the first scan takes as many
    training cutoffs as could be needed to reach the row budget (two at least); each
    further scan as many more as the examples per cutoff so far say are missing.
    At a few hundred thousand customers or fewer that is every cutoff in one scan.
    """
    pending = sorted((c for c in plan.training_cutoffs if c != plan.validation_cutoff), reverse=True)
    count = max(MIN_TRAINING_CUTOFFS, -(-MAX_TRAINING_ROWS // max(customers, 1))) - trains_at_validation(plan)
    first, pending = pending[:count], pending[count:]
    yield [plan.validation_cutoff, *sorted(first)]  # the validation cutoff first: it decides who is held out
    while pending:
        rows = sum(len(y) for _x, y in built.values())
        if rows >= MAX_TRAINING_ROWS:
            return
        count = max(1, -(-(MAX_TRAINING_ROWS - rows) * len(built) // max(rows, 1)))
        batch, pending = pending[:count], pending[count:]
        yield sorted(batch)


def trains_at_validation(plan: Plan) -> bool:
    """Whether the validation cutoff's other customers are training examples too: where label windows
    overlap, always for churn (the history most like scoring's; value models keep their plan, unmeasured),
    and for value when no other cutoff fits."""
    return plan.validation_cutoff in plan.training_cutoffs


def _positional(frames: list[pd.DataFrame]) -> tuple[pd.DataFrame, pd.Index]:
    """The cutoffs' rows one after another, addressed by position (customer ids repeat), and their ids.

    A categorical column keeps every category of every cutoff, sampled rows or not
    (concat of differing category sets would fall back to object).
    """
    kinds = {}
    for column in frames[0].columns:
        dtypes = [x[column].dtype for x in frames]
        if isinstance(dtypes[0], pd.CategoricalDtype) and any(d != dtypes[0] for d in dtypes):
            kinds[column] = pd.CategoricalDtype(sorted(set().union(*(d.categories for d in dtypes))))
    ids = pd.Index(np.concatenate([x.index.to_numpy() for x in frames]))
    return pd.concat([x.astype(kinds) if kinds else x for x in frames], ignore_index=True), ids


def customer_buckets(ids: pd.Series, salt: str = "") -> np.ndarray:
    """0-999 per customer (external) id, from a hash: the same customer always lands in the same bucket.

    A different ``salt`` gives an independent split (the inner split must not reuse the outer one).
    """
    ids = pd.Series(ids.to_numpy(), dtype="string")
    return (pd.util.hash_pandas_object(salt + ids, index=False).to_numpy() % 1000).astype(int)


def _check_usable(plan: Plan, train_x: pd.DataFrame, train_y: pd.Series, valid_y: pd.Series) -> None:
    """Refuse examples no model can be learnt from or judged on, saying what to change."""
    if len(valid_y) < 20:
        cutoff = tenant_day(plan.validation_cutoff)
        if len(valid_y) == 1:
            raise ValidationError(_l("only 1 customer has a known label at the validation cutoff %(cutoff)s: too few "
                                     "to judge a model", cutoff=cutoff), field="customers")
        raise ValidationError(_l("only %(count)s customers have a known label at the validation cutoff %(cutoff)s: "
                                 "too few to judge a model", count=len(valid_y), cutoff=cutoff), field="customers")
    if plan.model == CHURN:
        for name, y in (("training", train_y), ("validation", valid_y)):
            positives = int(y.sum())
            if positives == 0 or positives == len(y):
                raise ValidationError(_one_class(name, stayed=positives == 0, count=len(y)), field="horizon_days")
        return
    trained_on, judged_on = float(train_y.clip(lower=0.0).sum()), float(valid_y.clip(lower=0.0).sum())
    if trained_on == 0.0 and not (train_x["amount_sum_365d"].fillna(0.0) > 0).any():  # no amounts at all
        raise ValidationError(_l("every training example's amount in its horizon is zero (%(count)s customers): "
                                 "a value model needs amounts; import activity with its amounts",
                                 count=readable_number(len(train_y))),
                              field="amount")
    if trained_on == 0.0 or judged_on == 0.0:
        # Monthly bills on the 15th and a 20-day horizon from the 14th: every window falls between two bills.
        # Judged there, model and baselines score alike on nothing, and the version would be offered as a
        # champion on metrics that say nothing.
        raise ValidationError(_l("no amount falls in the %(days)s days after the cutoffs (the validation cutoff is "
                                 "%(cutoff)s), though the customers have amounts before them: the horizon falls "
                                 "between their bills or orders; try a horizon of at least one billing cycle",
                                 days=plan.horizon_days, cutoff=tenant_day(plan.validation_cutoff)),
                              field="horizon_days")


def _one_class(name: str, *, stayed: bool, count: int) -> str:
    """Why a churn model cannot learn from ``name`` (training or validation) customers who are all one outcome."""
    count = readable_number(count)  # "4,077": a count reads as every page says one
    if name == "training":
        if stayed:
            return _l("all %(count)s training customers stayed: a churn model needs some who churned and some who "
                      "stayed; try another horizon", count=count)
        return _l("all %(count)s training customers churned: a churn model needs some who churned and some who "
                  "stayed; try another horizon", count=count)
    if stayed:
        return _l("all %(count)s validation customers stayed: a churn model needs some who churned and some who "
                  "stayed; try another horizon", count=count)
    return _l("all %(count)s validation customers churned: a churn model needs some who churned and some who "
              "stayed; try another horizon", count=count)
