"""Where the training and validation cutoffs fall: a time-aware design, planned before any example is built.

The validation cutoff is the most recent one whose horizon the data covers, a
whole number of calendar months before the data's end (where scoring takes its
features), so customers billed monthly are seen at the same point of their
cycle.  Training examples come from earlier cutoffs, one ``step`` apart.  Where the history allows, every training label window ends
before the validation cutoff, so nothing the model learns from overlaps what it
is judged on.  Where it does not (a one-year horizon on eighteen months of
data, a 90-day churn horizon on nine), the training cutoffs move closer and the
validation customers are held out of training instead (a churn model trains on
the rest of that cutoff too); the plan says so and the model page shows it.

A plan reads no features, so it is its own module: a run is refused before it is
recorded for an as-of or a horizon the data cannot hold (``check_plan``), and
``dataset`` builds the examples of a plan.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from tierwise.errors import ValidationError
from tierwise.models.days import first_day_from, tenant_date, tenant_day, tenant_midnight
from tierwise.models.days import tenant_months_before as months_before
from tierwise.models.horizons import horizon_end
from tierwise.models.labels import CHURN, population_days
from tierwise.platform import tenancy
from tierwise.platform.db import db
from tierwise.platform.numbers import readable_number
from tierwise.tenants.activity import Activity, data_end
from tierwise.tenants.customers import Customer

MIN_HISTORY_DAYS = 30  # a cutoff needs at least this much activity before it
MAX_TRAINING_CUTOFFS = 6
DEFAULT_HORIZON = {CHURN: 90, "value": 365}
SNAPSHOT = "snapshot"
SNAPSHOT_VALIDATION = "customers held out at random, the labels are a snapshot"


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
    # CUTOFFS: examples at past cutoffs, labelled by what followed.  SNAPSHOT: a churn model on imported
    # labels that no cutoff can place in time (``models.snapshot_churn``), why said by ``snapshot_reason``.
    design: str = "cutoffs"
    snapshot_reason: str = ""
    labels_dated: bool = True  # a snapshot's labels carry the day they describe (else it is the training's day)
    # SNAPSHOT: fields left out because each alone tells who left (``leaks.outcome_columns``)
    outcome_fields: list[str] = field(default_factory=list)

    def describe(self) -> dict:
        described = {"design": self.design, "horizon_days": self.horizon_days,
                     "data_start": self.data_start.isoformat(), "data_end": self.data_end.isoformat(),
                     "validation_cutoff": self.validation_cutoff.isoformat(),
                     "training_cutoffs": [c.isoformat() for c in self.training_cutoffs],
                     "unused_training_cutoffs": [c.isoformat() for c in self.unused_cutoffs],
                     "validation": "customers held out, label windows overlap" if self.overlapping
                     else "later cutoff, label windows do not overlap"}
        if self.design == SNAPSHOT:  # no cutoffs: said why, and how its customers were held out instead
            described |= {"snapshot_reason": self.snapshot_reason, "labels_dated": self.labels_dated,
                          "validation": SNAPSHOT_VALIDATION, "outcome_fields": list(self.outcome_fields)}
        return described


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
        raise no_activity(model)
    last = end = data_end()
    if end <= first:
        raise ValidationError(_l("the tenant's activity starts on %(first)s, after today: nothing is known yet",
                                 first=tenant_day(first)), field="activity")
    if as_of is not None:
        end = min(end, as_of)
    if validation_cutoff(end, horizon_days) <= first + timedelta(days=MIN_HISTORY_DAYS):
        raise too_little_history(first, end, horizon_days, known_until=last if end < last else None, model=model)
    return _plan(model, horizon_days, first, end, step_days)


def no_activity(model: str = CHURN) -> ValidationError:
    """The refusal of a tenant without activity, saying what its churn labels can do where it imported some.

    A snapshot such as Kaggle's bank churn file (fields and an ``Exited`` flag, no
    transactions) imports as customers with labels.  They train a churn model from
    the customers' fields (``snapshot_churn``, which never comes here); a value model
    needs amounts over time, and the admin should hear that the labels are no help
    to it rather than wonder why they were not enough.
    """
    c = Customer.__table__
    labelled = db.session.scalar(sa.select(sa.func.count()).where(
        c.c.tenant_id == tenancy.current_tenant_id(), c.c.churn_label.is_not(None)
    ).execution_options(tenant_filtered=True))
    if not labelled or model == CHURN:
        return ValidationError(_l("this tenant has no activity yet: import some before training"), field="activity")
    return ValidationError(_l(
        "this tenant has no activity yet: import some before training. The value model learns what each customer "
        "will be worth from their amounts over time (transactions, bills, orders); the churn labels of "
        "%(labelled)s customers train a churn model, not a value model", labelled=readable_number(labelled)),
        field="activity")


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
        try:
            plan_cutoffs(model, horizon_days, as_of=as_of)  # raises, saying what to change
        except TooLittleHistory:
            if not snapshot_instead(model, as_of):
                raise
            return
    if as_of is not None and as_of < last and model == CHURN:
        # An as-of early in the data may leave a churn model nobody who churned (or nobody who
        # stayed) to learn from, though its cutoffs fit: said now, naming a later as-of that works.
        plan = plan_cutoffs(model, horizon_days, as_of=as_of)
        if not both_outcomes(plan):
            raise _one_outcome(plan, known_until=last)


def snapshot_instead(model: str, as_of: datetime | None) -> bool:
    """Whether a churn training the history is too short for learns from a snapshot of labels instead.

    Where the tenant has churn labels of both outcomes and no as-of was asked for: the labels and
    the customers' fields teach more than a refusal does (``snapshot_churn``, reason ``short_history``).
    """
    from tierwise.models.snapshot_churn import labelled_outcomes  # it reads the plans this module makes

    return model == CHURN and as_of is None and all(labelled_outcomes())


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


class TooLittleHistory(ValidationError):
    """The activity is too short for any cutoff of the horizon (with no as-of to blame).

    Training answers it with a churn model from a snapshot of labels where the tenant has them
    (``pipeline.examples``): a bank's first export of a churn snapshot with two months of transactions.
    """


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
        return TooLittleHistory(
            _l("a horizon of %(horizon)s days needs %(needed)s; the activity covers %(covered)s days, from %(first)s "
               "to %(end)s: choose a horizon of at most %(longest)s days", horizon=horizon_days, needed=needed,
               covered=covered, first=tenant_day(first), end=tenant_day(end), longest=longest), field="horizon_days")
    return TooLittleHistory(
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


def trains_at_validation(plan: Plan) -> bool:
    """Whether the validation cutoff's other customers are training examples too: where label windows
    overlap, always for churn (the history most like scoring's; value models keep their plan, unmeasured),
    and for value when no other cutoff fits."""
    return plan.validation_cutoff in plan.training_cutoffs
