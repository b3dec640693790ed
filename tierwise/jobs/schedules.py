"""Per-tenant schedules: recurring retier, scoring and training, each on a cron expression.

A schedule only records *when* and *what*; ``fire`` starts the work through the
same launcher the "Retier now" button and the API use, so a scheduled run is an
ordinary run (``started_by`` = ``schedule:<id>``).  Cron fields are read in the
schedule's own time zone, and ``next_run_at`` is stored in UTC so that finding
due schedules is one indexed comparison.  A missed window (no worker for an
hour) fires once when work resumes, not once per missed minute: the next run is
always computed from *now*.  ``heartbeat.tick`` finds and fires due schedules.
"""
from __future__ import annotations

import importlib
import logging
import uuid
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import sqlalchemy as sa
from croniter import CroniterError, croniter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.errors import ConflictError, TierwiseError, ValidationError, parse_choice
from tierwise.models.runs import ModelRun
from tierwise.platform import audit
from tierwise.platform.db import TenantScoped, db, utcnow
from tierwise.platform.tenant import tenant_timezone
from tierwise.tenants.rules.assignments import RetierRun

log = logging.getLogger(__name__)


class Action(StrEnum):
    RETIER = "retier"
    SCORE = "score"
    TRAIN_CHURN = "train_churn"
    TRAIN_VALUE = "train_value"


ACTION_LABELS = {Action.RETIER: _l("Retier every customer"), Action.SCORE: _l("Rescore customers"),
                 Action.TRAIN_CHURN: _l("Retrain the churn model"), Action.TRAIN_VALUE: _l("Retrain the value model")}

# Each action's launcher, by dotted name (imported when fired: the models package may not
# have one yet) and its leading arguments; every launcher also takes ``started_by``.
LAUNCHERS: dict[Action, tuple[str, tuple]] = {
    Action.RETIER: ("tierwise.tenants.rules.retier_launch.launch_retier", ()),
    Action.SCORE: ("tierwise.models.runs.launch_scoring", ()),
    Action.TRAIN_CHURN: ("tierwise.models.runs.launch_training", ("churn",)),
    Action.TRAIN_VALUE: ("tierwise.models.runs.launch_training", ("value",)),
}
MAX_MESSAGE = 2000
STARTER_PREFIX = "schedule:"  # who started a scheduled run (``started_by``, the audit actor): ``schedule:<id>``
LATE = timedelta(minutes=5)  # a heartbeat ticks every minute: a run this far past its time was missed


class Schedule(TenantScoped, db.Model):
    __tablename__ = "schedules"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "action", "cron"),
        sa.CheckConstraint("action IN ('retier', 'score', 'train_churn', 'train_value')", name="action"),
        sa.CheckConstraint("last_status IN ('started', 'skipped', 'failed')", name="last_status"),
        sa.Index("ix_schedules_tenant_id_next_run_at", "tenant_id", "next_run_at"),
    )
    noun = _l("schedule")

    action: Mapped[str] = mapped_column(sa.String(32))
    cron: Mapped[str] = mapped_column(sa.String(120))
    timezone: Mapped[str] = mapped_column(sa.String(64))
    enabled: Mapped[bool] = mapped_column(default=True)
    next_run_at: Mapped[datetime | None]  # None while disabled
    last_run_at: Mapped[datetime | None]
    last_due_at: Mapped[datetime | None]  # when that run was due: later than it by much, the heartbeat was down
    # started: a run was launched (last_run_id); skipped: one was already queued or running;
    # failed: the launcher refused or broke, or the run it started failed at once (last_message says why)
    last_status: Mapped[str | None] = mapped_column(sa.String(16))
    last_message: Mapped[str] = mapped_column(sa.Text, default="")
    last_run_id: Mapped[uuid.UUID | None]
    created_by: Mapped[str] = mapped_column(sa.String(254))
    updated_by: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)  # the last edit, not the last firing

    @property
    def ran_late(self) -> bool:
        """Its last run started well after it was due (the heartbeat was down): the page says so."""
        return bool(self.last_due_at and self.last_run_at and self.last_run_at - self.last_due_at > LATE)

    @property
    def overdue(self) -> bool:
        """Its time passed well ago and nothing started it: no scheduler runs (``tierwise cron``, or
        ``tierwise schedules run-due`` from crontab).  The page said it "starts by itself" all the same."""
        return bool(self.enabled and self.next_run_at and utcnow() - self.next_run_at > LATE)

    def in_zone(self, moment: datetime | None) -> datetime | None:
        """``moment`` as the schedule's own clock shows it (pages show times that way)."""
        return moment.astimezone(ZoneInfo(self.timezone)) if moment else None


# Why each of a cron expression's five fields (minute, hour, day of month, month, day of week) is not valid,
# each a whole sentence to translate.
_CRON_FIELD_PROBLEMS = (
    _l("the minute field '%(value)s' is not valid (allowed: 0-59, '*', lists, ranges and steps such as "
       "1-5 or */15)"),
    _l("the hour field '%(value)s' is not valid (allowed: 0-23, '*', lists, ranges and steps such as "
       "1-5 or */15)"),
    _l("the day of month field '%(value)s' is not valid (allowed: 1-31, '*', lists, ranges and steps "
       "such as 1-5 or */15)"),
    _l("the month field '%(value)s' is not valid (allowed: 1-12 or JAN-DEC, '*', lists, ranges and "
       "steps such as 1-5 or */15)"),
    _l("the day of week field '%(value)s' is not valid (allowed: 0-6 or SUN-SAT, '*', lists, ranges and "
       "steps such as 1-5 or */15)"),
)


def starter(schedule_id: uuid.UUID) -> str:
    """``started_by`` of the runs the schedule starts (and its actor in the audit log)."""
    return f"{STARTER_PREFIX}{schedule_id}"


def validate_cron(expression: str) -> str:
    """The expression, normalised; a ValidationError on ``cron`` saying which field is wrong."""
    fields = (expression or "").split()
    if len(fields) != len(_CRON_FIELD_PROBLEMS):
        raise ValidationError(_("must have 5 fields (minute hour day-of-month month day-of-week), e.g. '0 3 * * *'; "
                                "got %(count)s", count=len(fields)), field="cron")
    for position, value in enumerate(fields):
        alone = ["*"] * len(fields)
        alone[position] = value
        if not croniter.is_valid(" ".join(alone)):
            raise ValidationError(_invalid_cron_field(position, value), field="cron")
    normalised = " ".join(fields)
    try:
        croniter(normalised, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterError:
        raise ValidationError(_("'%(cron)s' never matches a date (e.g. 30 February)", cron=normalised),
                              field="cron") from None
    return normalised


def _invalid_cron_field(position: int, value: str) -> str:
    """Why ``value`` cannot be the cron field at ``position``, and what can."""
    return str(_CRON_FIELD_PROBLEMS[position]) % {"value": value}


@cache
def _known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_timezone(name: str) -> str:
    """An IANA zone name as given; empty is refused, not read as the default (leave the time zone out for that)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("give a time zone such as Asia/Shanghai or UTC, or leave it out"), field="timezone")
    if name not in _known_timezones():
        raise ValidationError(_("unknown time zone '%(name)s': use an IANA name such as Asia/Shanghai or UTC",
                                name=name), field="timezone")
    return name


def next_run(cron: str, zone: str, *, after: datetime) -> datetime:
    """The first moment strictly after ``after`` that ``cron`` matches on the clock of ``zone``, in UTC.

    Stepped on the wall clock (naive local times), each matched time read with ``fold=0``:
    on the night summer time ends, 02:30 happens twice, and croniter on aware times
    matched both, so a daily schedule fired twice.  A time the spring change skips
    (02:30 when clocks jump from 02:00 to 03:00) still fires once, an hour on.
    """
    tz = ZoneInfo(zone)
    wall = croniter(cron, after.astimezone(tz).replace(tzinfo=None))
    for _step in range(1000):  # a few steps at most: a match at or before ``after`` only around a change
        moment = wall.get_next(datetime).replace(tzinfo=tz, fold=0).astimezone(timezone.utc)
        if moment > after:
            return moment
    raise ValueError(f"cron '{cron}' finds no time after {after.isoformat()} in {zone}")


def _refuse_duplicate(action: str, cron: str, *, other_than: uuid.UUID | None = None) -> None:
    query = sa.select(Schedule.id).where(Schedule.action == action, Schedule.cron == cron)
    if other_than is not None:
        query = query.where(Schedule.id != other_than)
    if db.session.scalar(query) is not None:
        raise ConflictError(_("a schedule to %(action)s with cron '%(cron)s' already exists",
                              action=str(ACTION_LABELS[Action(action)]).lower(), cron=cron), field="cron")


def create_schedule(*, action: str, cron: str, author: str, timezone: str | None = None,
                    enabled: bool = True) -> Schedule:
    """A new schedule of the current tenant (audited); nothing is written if any argument is rejected."""
    action = parse_choice(Action, action, field="action").value
    cron = validate_cron(cron)
    zone = tenant_timezone() if timezone is None else validate_timezone(timezone)
    _refuse_duplicate(action, cron)
    schedule = Schedule(action=action, cron=cron, timezone=zone, enabled=bool(enabled), created_by=author,
                        updated_by=author, next_run_at=next_run(cron, zone, after=utcnow()) if enabled else None)
    db.session.add(schedule)
    db.session.flush()
    audit.record("schedule.created", target_type="schedule", target_id=schedule.id,
                 details={"action": action, "cron": cron, "timezone": zone, "enabled": schedule.enabled})
    return schedule


def update_schedule(schedule: Schedule, *, author: str, cron: str | None = None, timezone: str | None = None,
                    enabled: bool | None = None) -> Schedule:
    """Change what is given (None leaves it); the next run is recomputed from now, never caught up."""
    wanted = {"cron": validate_cron(cron) if cron is not None else schedule.cron,
              "timezone": validate_timezone(timezone) if timezone is not None else schedule.timezone,
              "enabled": bool(enabled) if enabled is not None else schedule.enabled}
    changes = {name: [getattr(schedule, name), value] for name, value in wanted.items()
               if getattr(schedule, name) != value}
    if not changes:
        return schedule
    if "cron" in changes:
        _refuse_duplicate(schedule.action, wanted["cron"], other_than=schedule.id)
    for name, value in wanted.items():
        setattr(schedule, name, value)
    schedule.updated_by, schedule.updated_at = author, utcnow()
    schedule.next_run_at = next_run(schedule.cron, schedule.timezone, after=utcnow()) if schedule.enabled else None
    audit.record("schedule.updated", target_type="schedule", target_id=schedule.id,
                 details={"action": schedule.action, "changes": changes})
    return schedule


def delete_schedule(schedule: Schedule) -> None:
    """Remove it (runs it started stay, with their ``started_by``)."""
    audit.record("schedule.deleted", target_type="schedule", target_id=schedule.id,
                 details={"action": schedule.action, "cron": schedule.cron, "timezone": schedule.timezone})
    db.session.delete(schedule)
    db.session.flush()


def get_schedule(schedule_id: uuid.UUID) -> Schedule:
    return Schedule.get(schedule_id)  # another tenant's id: NotFoundError


def list_schedules() -> list[Schedule]:
    return list(db.session.scalars(sa.select(Schedule).order_by(Schedule.action, Schedule.cron)))


def last_runs(listed: list[Schedule]) -> dict[uuid.UUID, RetierRun | ModelRun]:
    """The run each schedule started last, as it stands now.

    A schedule records only that it started a run; on a worker the run is still
    queued then, and whether it succeeded is the run's to say.  Without this the
    page said "Run started" for a run that failed an hour later.
    """
    ids = [schedule.last_run_id for schedule in listed if schedule.last_run_id]
    if not ids:
        return {}
    return {run.id: run for kind in (RetierRun, ModelRun)
            for run in db.session.scalars(sa.select(kind).where(kind.id.in_(ids)))}


def due_query(now: datetime) -> sa.Select:
    """The current tenant's enabled schedules whose next run is at or before ``now``, earliest first."""
    return (sa.select(Schedule).where(Schedule.enabled, Schedule.next_run_at <= now)
            .order_by(Schedule.next_run_at, Schedule.id))


def due_schedules(now: datetime) -> list[Schedule]:
    return list(db.session.scalars(due_query(now)))


class LauncherMissing(RuntimeError):
    """The action's launcher is not in this version of Tierwise (recorded as the firing's failure)."""


def launcher(action: str):
    """The function that starts ``action``'s run, with its leading arguments bound."""
    dotted, leading = LAUNCHERS[Action(action)]
    module_name, _dot, function_name = dotted.rpartition(".")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError):
        raise LauncherMissing(f"{action} cannot run yet: {dotted} is not available") from None
    return lambda **kwargs: function(*leading, **kwargs)


def fire(schedule: Schedule, now: datetime) -> Schedule:
    """Start the schedule's run and record the outcome on it.

    The next run is advanced past ``now`` and committed *before* launching: the
    launchers commit themselves, so this is the moment the schedule is claimed
    (a concurrent tick no longer finds it due).  An already running action is
    recorded as skipped; any other failure as failed, with why.
    """
    schedule_id, action = schedule.id, schedule.action
    schedule.last_due_at, schedule.last_run_at = schedule.next_run_at, now
    schedule.next_run_at = next_run(schedule.cron, schedule.timezone, after=now)
    db.session.commit()
    run_id, status, message = None, "started", ""
    try:
        run = launcher(action)(started_by=starter(schedule_id))
    except ConflictError as exc:
        db.session.rollback()
        status, message = "skipped", f"already running: {exc.message}"
    except (TierwiseError, LauncherMissing) as exc:  # nothing published yet, say: the admin can act on it
        db.session.rollback()
        log.warning("schedule %s (%s) could not launch: %s", schedule_id, action, exc)
        status, message = "failed", str(exc)
    except Exception as exc:  # recorded for the admin to read; the tick goes on to the next schedule
        db.session.rollback()
        log.exception("schedule %s (%s) failed to launch", schedule_id, action)
        status, message = "failed", str(exc) or type(exc).__name__
    else:
        run_id, message = run.id, f"{action} run {run.status}"
        if run.status == "failed":
            status, message = "failed", getattr(run, "message", "") or message
    schedule = get_schedule(schedule_id)
    schedule.last_status, schedule.last_run_id, schedule.last_message = status, run_id, message[:MAX_MESSAGE]
    db.session.commit()
    return schedule

