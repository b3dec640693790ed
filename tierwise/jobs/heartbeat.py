"""The heartbeat: one RQ cron job that fires every tenant's due schedules.

RQ's ``CronScheduler`` (``tierwise cron``) knows a single job, ``tick``, every
minute on the ``short`` queue.  The schedules themselves live in the database,
per tenant, so admins edit them without restarting anything and the scheduler
process holds no tenant data.  A ``tierwise worker`` runs the tick (it provides
the application, as it does for every task); ``tierwise schedules run-due``
runs the same ``run_due`` without Redis, e.g. from the system's crontab.

Ticks may overlap (a slow tick, two scheduler processes): each due schedule is
claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` and its next run committed
before it is launched, so it fires once.
"""
from __future__ import annotations

import logging
import uuid
from collections import Counter
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, has_app_context
from redis import Redis
from rq.cron import CronScheduler

from tierwise.jobs.schedules import Schedule, due_query, fire, starter
from tierwise.platform import tenancy
from tierwise.platform.audit import Actor, acting_as
from tierwise.platform.db import db, utcnow

log = logging.getLogger(__name__)

TICK_QUEUE = "short"
TICK_INTERVAL = 60  # seconds; a schedule fires within a minute of its time
TICK_TIMEOUT = 300
TICK_TTL = 120  # a tick no worker has picked up in two minutes is dropped: the next one does its work


def tick() -> dict[str, int]:
    """The cron job: fire the due schedules of every active tenant; returns how many started, skipped, failed."""
    if not has_app_context():
        raise RuntimeError("run workers with `tierwise worker` (it provides the application)")
    with current_app.app_context():  # its own database session, as run_tenant_task has
        try:
            return dict(run_due(utcnow()))
        finally:
            db.session.remove()


def cron_scheduler(connection: Redis) -> CronScheduler:
    """The RQ cron scheduler with the heartbeat registered: the whole of Tierwise's RQ schedule."""
    scheduler = CronScheduler(connection=connection)
    scheduler.register(tick, TICK_QUEUE, interval=TICK_INTERVAL, job_timeout=TICK_TIMEOUT, ttl=TICK_TTL,
                       name="tierwise.schedules.tick")
    return scheduler


def run_due(now: datetime) -> Counter:
    """Fire every active tenant's schedules due at ``now``; one tenant's failure never stops the others."""
    from tierwise.platform.tenant import Tenant

    tenants = db.session.execute(sa.select(Tenant.id, Tenant.slug).where(Tenant.active).order_by(Tenant.id)).all()
    db.session.rollback()  # the tenants table is platform data; each tenant gets its own transactions
    outcomes: Counter = Counter()
    for tenant_id, slug in tenants:
        try:
            with tenancy.tenant_scope(tenant_id):
                outcomes.update(fire_due(now))
        except Exception:
            db.session.rollback()
            log.exception("the schedules of tenant %s could not be fired", slug)
            outcomes["failed"] += 1
    return outcomes


def fire_due(now: datetime) -> Counter:
    """Fire the current tenant's due schedules, each claimed so that an overlapping tick skips it."""
    outcomes: Counter = Counter()
    passed: set[uuid.UUID] = set()
    while (schedule := _claim_next(now, passed)) is not None:
        schedule_id = schedule.id
        passed.add(schedule_id)  # never looped on, even if firing it broke before it advanced
        try:
            with acting_as(Actor(label=starter(schedule_id))):
                outcomes[fire(schedule, now).last_status] += 1
        except Exception:
            db.session.rollback()
            log.exception("schedule %s could not be fired", schedule_id)
            outcomes["failed"] += 1
    return outcomes


def _claim_next(now: datetime, passed: set[uuid.UUID]) -> Schedule | None:
    """The earliest due schedule no other tick holds, locked until ``fire`` commits its next run."""
    query = due_query(now).limit(1).with_for_update(skip_locked=True)
    if passed:
        query = query.where(Schedule.id.not_in(passed))
    return db.session.scalar(query)
