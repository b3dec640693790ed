"""Background work as operators meet it: killed workers, retries, time limits, one run per tenant, schedules, imports.

Real PostgreSQL, real Redis, real RQ workers (``tierwise worker`` processes, each in its own
process group so the test can kill exactly what it started).  A job is held "mid-work"
by a lock the test keeps on the table or advisory key the work needs next, so killing
it is deterministic; time passing is simulated by moving stored times, as
``test_schedules`` does.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus

from tests.conftest import Browser, make_settings
from tests.model_helpers import seed_history
from tests.process_helpers import tierwise_process
from tests.rule_helpers import in_tenant, retier_again, tiers
from tierwise.errors import ConflictError
from tierwise.jobs.heartbeat import tick
from tierwise.jobs.queue import redis_connection
from tierwise.jobs.schedules import (
    Schedule,
    create_schedule,
    delete_schedule,
    due_schedules,
    next_run,
    update_schedule,
)
from tierwise.models.pipeline import train_model
from tierwise.models.runs import ModelRun, launch_scoring
from tierwise.models.scores import CustomerScore
from tierwise.models.scoring import score_all
from tierwise.platform.app import create_app
from tierwise.platform.db import db, utcnow
from tierwise.platform.tenant import Tenant
from tierwise.tenants.customers import Customer
from tierwise.tenants.imports.runner import import_file
from tierwise.tenants.imports.runs import ImportRun, start_import_run
from tierwise.tenants.rules.assignments import RetierRun, TierAssignment
from tierwise.tenants.rules.retier_launch import launch_retier
from tierwise.tenants.synthetic import write_csv

BANK = {}  # the synthetic bank file's columns map by themselves, its outcome as churn_label


@pytest.fixture
def rq_app(database_urls, tmp_path, redis_url):
    return create_app(settings=make_settings(database_urls, tmp_path, TIERWISE_REDIS_URL=redis_url))


@pytest.fixture
def workers(database_urls, tmp_path, redis_url):
    """Factory: a burst ``tierwise worker`` process; every one started is killed (with its horse) at the end."""
    started = []

    def start(queues: str = "long"):
        process = tierwise_process(database_urls, tmp_path, redis_url, "worker", "--queues", queues, "--burst",
                                   start_new_session=True)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)


@contextlib.contextmanager
def holding(database_urls, statement: str, **params):
    """Hold a lock (taken by ``statement``) in a transaction of our own until the block ends."""
    engine = sa.create_engine(database_urls["owner"])
    try:
        with engine.connect() as connection:
            transaction = connection.begin()
            connection.execute(sa.text(statement), params)
            try:
                yield
            finally:
                transaction.rollback()
    finally:
        engine.dispose()


def tiers_lock(world) -> tuple[str, dict]:
    return "SELECT pg_advisory_xact_lock(hashtext('tiers'), :tenant_id)", {"tenant_id": world.tenant_id}


def wait_until(predicate, worker=None, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert worker is None or worker.poll() is None, worker.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def kill_horse(worker) -> None:
    """SIGKILL the worker's work-horse, as the kernel's out-of-memory killer would."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        horses = [int(pid) for task in Path(f"/proc/{worker.pid}/task").iterdir()
                  for pid in (task / "children").read_text().split()]
        if horses:
            os.kill(horses[0], signal.SIGKILL)
            return
        time.sleep(0.02)
    raise AssertionError("the worker never forked a work-horse")


def state(app, world, model, row_id):
    with in_tenant(app, world):
        row = db.session.get(model, (world.tenant_id, row_id))
        db.session.expunge(row)
        return row


def customers_file(folder: Path, count: int, seed: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_csv("bank", count, folder, months=3, seed=seed)
    return folder / "customers.csv"


def customer_count(app, world) -> int:
    with in_tenant(app, world):
        return db.session.scalar(sa.select(sa.func.count()).select_from(Customer))


def retiered_tenant(app, world, tmp_path, count: int = 40) -> dict:
    """``count`` customers imported and retiered once; returns their tiers."""
    with in_tenant(app, world):
        import_file(customers_file(tmp_path / "first", count), kind="customers", mapping=BANK)
        db.session.commit()
    retier_again(app, world)
    before = tiers(app, world)
    assert len(before) >= count
    return before


def drain(app) -> None:
    """An in-process worker empties the long queue (for tests whose subject is not the worker process)."""
    with app.app_context():
        connection = redis_connection()
        SimpleWorker([Queue("long", connection=connection)], connection=connection).work(burst=True)


# --- a worker killed mid-job -------------------------------------------------------------------------------


def test_a_worker_killed_mid_retier_fails_the_run_saying_why_keeps_the_tiers_and_frees_the_slot(
        rq_app, tenant_a, tmp_path, database_urls, workers):
    before = retiered_tenant(rq_app, tenant_a, tmp_path)
    statement, params = tiers_lock(tenant_a)
    with holding(database_urls, statement, **params):  # the retier waits for it: mid-work, deterministically
        with in_tenant(rq_app, tenant_a):
            run_id = launch_retier(started_by="test").id
        worker = workers()
        wait_until(lambda: state(rq_app, tenant_a, RetierRun, run_id).status == "running", worker)
        kill_horse(worker)
        _, stderr = worker.communicate(timeout=60)
    run = state(rq_app, tenant_a, RetierRun, run_id)
    assert run.status == "failed", stderr[-3000:]
    assert "killed" in run.message
    assert tiers(rq_app, tenant_a) == before
    with in_tenant(rq_app, tenant_a):
        assert launch_retier(started_by="test").status == "queued"


def test_a_worker_killed_mid_import_fails_the_run_saying_why_keeps_the_data_and_a_new_import_runs(
        rq_app, tenant_a, tmp_path, database_urls, workers):
    with in_tenant(rq_app, tenant_a):
        import_file(customers_file(tmp_path / "first", 20), kind="customers", mapping=BANK)
        db.session.commit()
    incoming = customers_file(tmp_path / "second", 60)
    with holding(database_urls, "LOCK TABLE customers IN SHARE MODE"):  # readers go on, the import's writes wait
        with in_tenant(rq_app, tenant_a):
            run_id = start_import_run(incoming, kind="customers", source_name="customers.csv", created_by="test",
                                  options={"mapping": BANK}).id
        worker = workers()
        wait_until(lambda: state(rq_app, tenant_a, ImportRun, run_id).status == "running", worker)
        time.sleep(0.5)
        kill_horse(worker)
        _, stderr = worker.communicate(timeout=60)
    assert customer_count(rq_app, tenant_a) == 20
    run = state(rq_app, tenant_a, ImportRun, run_id)
    assert run.status == "failed" and run.finished_at is not None, stderr[-3000:]
    assert "killed" in run.message
    with in_tenant(rq_app, tenant_a):
        again = start_import_run(incoming, kind="customers", source_name="customers.csv", created_by="test",
                                  options={"mapping": BANK}).id
    workers().communicate(timeout=60)
    assert state(rq_app, tenant_a, ImportRun, again).status == "succeeded"
    assert customer_count(rq_app, tenant_a) == 60


def test_a_whole_worker_killed_mid_scoring_is_failed_when_rq_finds_the_job_abandoned_and_the_scores_stay(
        rq_app, tenant_a, database_urls, workers):
    seed_history(rq_app, tenant_a, customers=300, months=14)
    with in_tenant(rq_app, tenant_a):
        train_model("churn", trained_by="test", budget_seconds=2)
        db.session.commit()
        score_all()
        db.session.commit()
        scores = {r.customer_id: r.churn_probability for r in db.session.scalars(sa.select(CustomerScore))}
        run_id = launch_scoring(started_by="test").id
    with holding(database_urls, "LOCK TABLE customer_scores IN SHARE MODE"):
        worker = workers()
        wait_until(lambda: state(rq_app, tenant_a, ModelRun, run_id).status == "running", worker)
        kill_horse(worker)  # the horse first, so the parent cannot notice ...
        os.killpg(worker.pid, signal.SIGKILL)  # ... and the whole worker: the machine went away
        worker.communicate(timeout=30)
    with in_tenant(rq_app, tenant_a), pytest.raises(ConflictError):
        launch_scoring(started_by="test")  # until RQ knows the job is lost, the run holds its slot
    with rq_app.app_context():  # a later worker's registry maintenance, once the job's heartbeat has expired
        Queue("long", connection=redis_connection()).started_job_registry.cleanup(timestamp=time.time() + 600)
    run = state(rq_app, tenant_a, ModelRun, run_id)
    assert run.status == "failed" and "nothing it did was kept" in run.message
    with in_tenant(rq_app, tenant_a):
        assert {r.customer_id: r.churn_probability for r in db.session.scalars(sa.select(CustomerScore))} == scores
        assert launch_scoring(started_by="test").status == "queued"


# --- retries, bad input, time limits ----------------------------------------------------------------------


def test_an_unexpected_failure_is_retried_by_the_worker_once_its_backoff_has_passed(
        rq_app, tenant_a, workers, monkeypatch):
    def store_unreachable(**kwargs):
        raise OSError("connection reset by peer")

    monkeypatch.setattr("tierwise.models.scoring.score_all", store_unreachable)  # in this process only
    with in_tenant(rq_app, tenant_a):
        run_id = launch_scoring(started_by="test").id
    drain(rq_app)
    run = state(rq_app, tenant_a, ModelRun, run_id)
    assert run.status == "queued" and "will be retried" in run.message
    with rq_app.app_context():
        connection = redis_connection()
        job = Job.fetch(f"score-{tenant_a.tenant_id}-all", connection=connection)
        assert job.get_status() == JobStatus.SCHEDULED  # backing off, not retried at once
        Queue("long", connection=connection).scheduled_job_registry.schedule(job, datetime.now(UTC) - timedelta(seconds=1))
    workers().communicate(timeout=60)  # the backoff has passed: the deployment's worker retries it
    run = state(rq_app, tenant_a, ModelRun, run_id)
    assert run.status == "failed" and "no champion model yet" in run.message  # the retry ran, and met bad input


def test_bad_input_fails_at_once_without_a_retry_and_the_operator_can_start_again(rq_app, tenant_a):
    with in_tenant(rq_app, tenant_a):
        first = launch_scoring(started_by="test").id  # no champion yet: bad input
    drain(rq_app)
    run = state(rq_app, tenant_a, ModelRun, first)
    assert run.status == "failed" and "no champion model yet" in run.message
    with rq_app.app_context():
        job = Job.fetch(f"score-{tenant_a.tenant_id}-all", connection=redis_connection())
        assert job.get_status() == JobStatus.FAILED
    with in_tenant(rq_app, tenant_a):
        assert launch_scoring(started_by="test").status == "queued"


def test_a_retier_past_its_time_limit_fails_saying_so_keeps_the_tiers_and_frees_the_slot(
        rq_app, tenant_a, tmp_path, database_urls, workers, monkeypatch):
    before = retiered_tenant(rq_app, tenant_a, tmp_path)
    monkeypatch.setattr("tierwise.tenants.rules.retier.JOB_TIMEOUT_SECONDS", 2)  # read when the job is queued
    statement, params = tiers_lock(tenant_a)
    with holding(database_urls, statement, **params):
        with in_tenant(rq_app, tenant_a):
            run_id = launch_retier(started_by="test").id
        _, stderr = workers().communicate(timeout=60)
    run = state(rq_app, tenant_a, RetierRun, run_id)
    assert run.status == "failed", stderr[-3000:]
    assert "timeout" in run.message.lower()
    assert tiers(rq_app, tenant_a) == before
    with in_tenant(rq_app, tenant_a):
        assert launch_retier(started_by="test").status == "queued"


# --- one run per tenant, tenants in parallel --------------------------------------------------------------


def test_one_retier_per_tenant_across_two_workers_while_another_tenant_retiers_in_parallel(
        rq_app, tenant_a, tenant_b, database_urls, workers):
    statement, params = tiers_lock(tenant_a)
    with holding(database_urls, statement, **params):  # tenant A's retier is long
        with in_tenant(rq_app, tenant_a):
            a_run = launch_retier(started_by="test").id
        first = workers()
        wait_until(lambda: state(rq_app, tenant_a, RetierRun, a_run).status == "running", first)
        with in_tenant(rq_app, tenant_b):
            b_run = launch_retier(started_by="test").id
        second = workers()
        wait_until(lambda: state(rq_app, tenant_b, RetierRun, b_run).status == "succeeded", second)
        assert state(rq_app, tenant_a, RetierRun, a_run).status == "running"  # B did not wait for A
        with in_tenant(rq_app, tenant_a), pytest.raises(ConflictError, match="already (queued|running)"):
            launch_retier(started_by="second click")
    for worker in (first, second):
        _, stderr = worker.communicate(timeout=60)
        assert worker.returncode == 0, stderr[-3000:]
    assert state(rq_app, tenant_a, RetierRun, a_run).status == "succeeded"
    with in_tenant(rq_app, tenant_a):
        finished = db.session.scalars(sa.select(RetierRun.status).where(RetierRun.started_by == "test")).all()
    assert finished == ["succeeded"]


# --- schedules ----------------------------------------------------------------------------------------------


def make_schedule(app, world, *, action="retier", cron="0 3 * * *", zone=None, due_at=None) -> uuid.UUID:
    with in_tenant(app, world):
        schedule = create_schedule(action=action, cron=cron, author="admin", timezone=zone)
        if due_at is not None:
            schedule.next_run_at = due_at
        db.session.commit()
        return schedule.id


def started_by_schedule(app, world, schedule_id) -> list:
    with in_tenant(app, world):
        marker = f"schedule:{schedule_id}"
        return (db.session.scalars(sa.select(RetierRun.status).where(RetierRun.started_by == marker)).all()
                + db.session.scalars(sa.select(ModelRun.status).where(ModelRun.started_by == marker)).all())


def test_a_monday_0200_shanghai_schedule_is_due_sunday_1800_utc_and_a_utc_one_monday_0200(app, tenant_a):
    shanghai = state(app, tenant_a, Schedule, make_schedule(app, tenant_a, cron="0 2 * * 1", zone="Asia/Shanghai"))
    utc = state(app, tenant_a, Schedule, make_schedule(app, tenant_a, cron="0 2 * * MON", zone="UTC"))
    assert (shanghai.next_run_at.weekday(), shanghai.next_run_at.hour) == (6, 18)  # Sunday evening in UTC
    assert (utc.next_run_at.weekday(), utc.next_run_at.hour) == (0, 2)
    # From the same instant the Shanghai one comes eight hours first (fixed, not now: between Sunday
    # 18:00 and Monday 02:00 UTC the Shanghai run of this week has already passed).
    sunday_noon = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert (next_run("0 2 * * MON", "UTC", after=sunday_noon)
            - next_run("0 2 * * 1", "Asia/Shanghai", after=sunday_noon)) == timedelta(hours=8)


def test_a_daily_schedule_fires_once_on_the_night_summer_time_ends():
    fired = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST in Berlin; 02:30 comes again an hour later
    assert next_run("30 2 * * *", "Europe/Berlin", after=fired) == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


def test_two_heartbeats_at_once_fire_every_due_schedule_once(rq_app, app, tenant_a, tenant_b):
    due = utcnow() - timedelta(minutes=2)
    schedules = [(tenant_a, make_schedule(app, tenant_a, due_at=due)),
                 (tenant_a, make_schedule(app, tenant_a, action="score", due_at=due)),
                 (tenant_b, make_schedule(app, tenant_b, due_at=due))]
    barrier, outcomes = threading.Barrier(2), []

    def heartbeat():
        with rq_app.app_context():
            barrier.wait()
            outcomes.append(tick())

    threads = [threading.Thread(target=heartbeat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(outcomes) == 2  # both ticks finished
    # Each tick fires every tenant's due schedules: another test's (a */5 one, made earlier in this test
    # process) may be due too, so the firings are counted per schedule of ours, not summed.
    for world, schedule_id in schedules:
        assert started_by_schedule(rq_app, world, schedule_id) == ["queued"]


def test_after_an_hour_without_workers_a_schedule_catches_up_once_and_the_page_says_it_ran_late(
        app, tenant_a):
    now = utcnow()
    missed = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    schedule_id = make_schedule(app, tenant_a, cron="0 * * * *", zone="Asia/Shanghai", due_at=missed)
    with app.app_context():
        tick()
        tick()
    assert started_by_schedule(app, tenant_a, schedule_id) == ["succeeded"]  # once, not once per missed hour
    browser = Browser(app.test_client())
    browser.login(tenant_a, "admin")
    page = browser.get(f"/t/{tenant_a.slug}/schedules/").text
    due_local = missed.astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"{due_local:%Y-%m-%d %H:%M}" in page  # the time it should have run, beside the time it did


def test_a_deactivated_tenants_schedules_wait_and_fire_once_when_it_is_back(app, tenant_a):
    schedule_id = make_schedule(app, tenant_a, due_at=utcnow() - timedelta(hours=5))
    with app.app_context():
        db.session.get(Tenant, tenant_a.tenant_id).active = False
        db.session.commit()
        tick()
    assert started_by_schedule(app, tenant_a, schedule_id) == []
    with app.app_context():
        db.session.get(Tenant, tenant_a.tenant_id).active = True
        db.session.commit()
        tick()
        tick()
    assert started_by_schedule(app, tenant_a, schedule_id) == ["succeeded"]


def queued_by_a_due_schedule(rq_app, app, world) -> uuid.UUID:
    """A schedule that came due and queued its retier (no worker has run it yet); returns the schedule's id."""
    schedule_id = make_schedule(app, world, due_at=utcnow() - timedelta(minutes=1))
    with rq_app.app_context():
        tick()
    assert started_by_schedule(rq_app, world, schedule_id) == ["queued"]
    return schedule_id


def test_a_schedule_edited_while_its_run_is_queued_is_skipped_and_records_no_second_run(rq_app, app, tenant_a):
    schedule_id = queued_by_a_due_schedule(rq_app, app, tenant_a)
    with in_tenant(rq_app, tenant_a):
        schedule = update_schedule(db.session.get(Schedule, (tenant_a.tenant_id, schedule_id)), author="admin",
                                   cron="* * * * *")
        schedule.next_run_at = utcnow() - timedelta(seconds=1)  # the minute passes
        db.session.commit()
    with rq_app.app_context():
        tick()
    assert state(rq_app, tenant_a, Schedule, schedule_id).last_status == "skipped"
    assert started_by_schedule(rq_app, tenant_a, schedule_id) == ["queued"]  # no failed run in the history


def test_a_schedule_deleted_while_its_run_is_queued_leaves_the_run_to_finish(rq_app, app, tenant_a):
    schedule_id = queued_by_a_due_schedule(rq_app, app, tenant_a)
    with in_tenant(rq_app, tenant_a):
        delete_schedule(db.session.get(Schedule, (tenant_a.tenant_id, schedule_id)))
        db.session.commit()
    drain(rq_app)
    assert started_by_schedule(rq_app, tenant_a, schedule_id) == ["succeeded"]
    with rq_app.app_context():
        tick()  # ticks every tenant: other tests' schedules (a */5 one) may be due by now, so only ours is checked
    assert started_by_schedule(rq_app, tenant_a, schedule_id) == ["succeeded"]  # the deleted schedule fired no more
    with in_tenant(rq_app, tenant_a):
        assert due_schedules(utcnow()) == []


# --- an import that adds customers starts a retier -----------------------------------------------------------


def unclassified(app, world) -> int:
    with in_tenant(app, world):
        classified = sa.select(TierAssignment.customer_id).distinct()
        return db.session.scalar(sa.select(sa.func.count()).select_from(Customer)
                                 .where(Customer.id.not_in(classified)))


def test_with_a_worker_the_import_commits_then_its_retier_classifies_the_newcomers(
        rq_app, tenant_a, tmp_path, workers):
    retiered_tenant(rq_app, tenant_a, tmp_path, count=20)
    with in_tenant(rq_app, tenant_a):
        run_id = start_import_run(customers_file(tmp_path / "more", 35), kind="customers",
                                  source_name="customers.csv", created_by="test",
                                  options={"mapping": BANK}).id
    _, stderr = workers().communicate(timeout=60)
    imported = state(rq_app, tenant_a, ImportRun, run_id)
    assert imported.status == "succeeded" and imported.result["inserted"] == 15, stderr[-3000:]
    with in_tenant(rq_app, tenant_a):
        (retier,) = db.session.scalars(sa.select(RetierRun).where(RetierRun.started_by.like("import %"))).all()
        db.session.expunge(retier)
    assert retier.status == "succeeded" and retier.started_at >= imported.finished_at  # queued after the commit
    assert customer_count(rq_app, tenant_a) == 35 and unclassified(rq_app, tenant_a) == 0
    assert imported.result["retier_run_id"] == str(retier.id)
    browser = Browser(rq_app.test_client())
    browser.login(tenant_a, "admin")
    assert 'data-testid="retier-started"' in browser.get(f"/t/{tenant_a.slug}/imports/runs/{run_id}").text


def test_a_retier_already_queued_is_named_by_the_import_not_recorded_as_a_failed_retier(
        rq_app, tenant_a, tmp_path):
    retiered_tenant(rq_app, tenant_a, tmp_path, count=20)
    with in_tenant(rq_app, tenant_a):
        run_id = start_import_run(customers_file(tmp_path / "more", 35), kind="customers",
                                  source_name="customers.csv", created_by="test",
                                  options={"mapping": BANK}).id
        queued_id = launch_retier(started_by="by hand").id  # queued behind the import
    with rq_app.app_context():  # the worker takes the import; the retier is still queued when it finishes
        connection = redis_connection()
        SimpleWorker([Queue("long", connection=connection)], connection=connection).work(burst=True, max_jobs=1)
    assert state(rq_app, tenant_a, RetierRun, queued_id).status == "queued"
    imported = state(rq_app, tenant_a, ImportRun, run_id)
    assert imported.status == "succeeded"
    with in_tenant(rq_app, tenant_a):
        failed = db.session.scalars(sa.select(RetierRun).where(RetierRun.status == "failed")).all()
    assert failed == []  # nothing failed: the queued retier will classify the newcomers
    assert imported.result.get("retier_run_id") == str(queued_id)
