"""Schedules: tenant admins set when work runs; RQ's cron scheduler ticks every minute and fires what is due.

Everything runs for real: PostgreSQL (row-level security included), Redis and
RQ workers.  A schedule is made due by moving its ``next_run_at`` into the
past, as the passing of time would.
"""
from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from redis import Redis
from rq import Queue
from rq.job import Job

from tests.conftest import Browser, TenantWorld, make_settings
from tests.process_helpers import tierwise_process
from tierwise.errors import ValidationError
from tierwise.jobs.heartbeat import TICK_QUEUE, TICK_TTL, cron_scheduler, tick
from tierwise.jobs.queue import redis_connection
from tierwise.jobs.schedules import Schedule, create_schedule, next_run, update_schedule
from tierwise.platform import tenancy
from tierwise.platform.app import create_app
from tierwise.platform.audit import Actor, AuditEvent, acting_as
from tierwise.platform.cli import cli
from tierwise.platform.db import db, utcnow
from tierwise.platform.tenant import Tenant, create_tenant
from tierwise.tenants.rules.assignments import RetierRun
from tierwise.tenants.rules.retier_launch import launch_retier

UTC = timezone.utc


@pytest.fixture
def rq_app(database_urls, tmp_path, redis_url):
    return create_app(settings=make_settings(database_urls, tmp_path, TIERWISE_REDIS_URL=redis_url))


class InTenant:
    """App context, tenant scope and a test actor, rolled back on leaving."""

    def __init__(self, app, tenant_id: int):
        self.stack = [app.app_context(), tenancy.tenant_scope(tenant_id), acting_as(Actor(label="test"))]

    def __enter__(self):
        for context in self.stack:
            context.__enter__()

    def __exit__(self, *exc):
        db.session.rollback()
        for context in reversed(self.stack):
            context.__exit__(*exc)


@pytest.fixture
def scheduled(app):
    """Factory: a schedule in ``world``'s tenant, due a minute ago unless told otherwise; returns its id."""

    def factory(world, action: str = "retier", cron: str = "0 3 * * *", *, due_since: timedelta | None =
                timedelta(minutes=1), **options) -> uuid.UUID:
        with InTenant(app, world.tenant_id):
            schedule = create_schedule(action=action, cron=cron, author=f"admin@{world.slug}.test", **options)
            if due_since is not None:
                schedule.next_run_at = utcnow() - due_since
            db.session.commit()
            return schedule.id

    return factory


def schedule_state(app, world, schedule_id) -> Schedule:
    with InTenant(app, world.tenant_id):
        schedule = db.session.get(Schedule, (world.tenant_id, schedule_id))
        db.session.expunge(schedule)
        return schedule


def runs_of(app, world, schedule_id) -> list[RetierRun]:
    with InTenant(app, world.tenant_id):
        runs = list(db.session.scalars(sa.select(RetierRun).where(RetierRun.started_by == f"schedule:{schedule_id}")))
        for run in runs:
            db.session.expunge(run)
        return runs


def tick_now(app) -> dict:
    with app.app_context():  # as `tierwise worker` provides it
        return tick()


@pytest.mark.parametrize("cron, problem", [
    ("61 * * * *", "minute field '61'"),
    ("0 24 * * *", "hour field '24'"),
    ("0 3 * 13 *", "month field '13'"),
    ("0 3 * * MON-FUN", "day of week field"),
    ("0 3 * *", "must have 5 fields"),
    ("0 0 30 2 *", "never matches"),
    ("", "must have 5 fields"),
])
def test_a_bad_cron_expression_is_refused_naming_the_field_and_what_is_wrong(app, tenant_a, cron, problem):
    with InTenant(app, tenant_a.tenant_id), pytest.raises(ValidationError) as error:
        create_schedule(action="retier", cron=cron, author="test")
    assert error.value.field == "cron"
    assert problem in error.value.message


def test_an_unknown_time_zone_or_action_is_refused_naming_its_field(app, tenant_a):
    with InTenant(app, tenant_a.tenant_id):
        with pytest.raises(ValidationError) as error:
            create_schedule(action="retier", cron="0 3 * * *", timezone="Mars/Olympus", author="test")
        assert error.value.field == "timezone"
        with pytest.raises(ValidationError) as error:
            create_schedule(action="reboot", cron="0 3 * * *", author="test")
        assert error.value.field == "action" and "train_churn" in error.value.message


def test_the_next_run_is_read_on_the_schedules_own_clock():
    noon_utc = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    assert next_run("0 3 * * *", "Asia/Shanghai", after=noon_utc) == datetime(2026, 1, 15, 19, 0, tzinfo=UTC)
    assert next_run("0 3 * * *", "UTC", after=noon_utc) == datetime(2026, 1, 16, 3, 0, tzinfo=UTC)
    assert next_run("0 3 * * *", "America/New_York", after=noon_utc) == datetime(2026, 1, 16, 8, 0, tzinfo=UTC)
    # New York moves to summer time on 8 March 2026: 03:00 local is then 07:00 UTC
    assert next_run("0 3 * * *", "America/New_York", after=datetime(2026, 3, 8, 12, 0, tzinfo=UTC)) == \
        datetime(2026, 3, 9, 7, 0, tzinfo=UTC)


def test_a_new_schedule_takes_the_tenants_time_zone_and_its_next_run_is_stored_in_utc(app, tenant_a, scheduled):
    with app.app_context():
        db.session.get(Tenant, tenant_a.tenant_id).settings = {"timezone": "Europe/Berlin"}
        db.session.commit()
    schedule = schedule_state(app, tenant_a, scheduled(tenant_a, cron="30 2 * * *", due_since=None))
    assert schedule.timezone == "Europe/Berlin"
    local = schedule.in_zone(schedule.next_run_at)
    assert (local.hour, local.minute) == (2, 30)
    assert timedelta(0) < schedule.next_run_at - utcnow() <= timedelta(days=1)


def test_a_due_retier_schedule_fires_exactly_once_through_the_tick_and_records_its_run(app, tenant_a, scheduled):
    schedule_id = scheduled(tenant_a)
    before = utcnow()
    tick_now(app)
    tick_now(app)  # the next tick finds nothing due
    runs = runs_of(app, tenant_a, schedule_id)
    assert len(runs) == 1 and runs[0].status == "succeeded"  # without Redis the retier ran in-process
    schedule = schedule_state(app, tenant_a, schedule_id)
    assert schedule.last_run_id == runs[0].id
    assert (schedule.last_status, schedule.last_message) == ("started", "retier run succeeded")
    assert schedule.last_run_at >= before
    assert schedule.next_run_at > utcnow() and schedule.in_zone(schedule.next_run_at).hour == 3


def test_a_missed_window_fires_once_not_once_per_missed_time(app, tenant_a, scheduled):
    schedule_id = scheduled(tenant_a, cron="*/5 * * * *", due_since=timedelta(hours=3))  # 36 windows missed
    before = utcnow()
    tick_now(app)
    tick_now(app)
    assert len(runs_of(app, tenant_a, schedule_id)) == 1
    next_run_at = schedule_state(app, tenant_a, schedule_id).next_run_at
    assert before < next_run_at <= utcnow() + timedelta(minutes=5)


def test_a_disabled_schedule_never_fires(app, tenant_a, scheduled):
    never_on = scheduled(tenant_a, cron="0 1 * * *", due_since=None, enabled=False)
    switched_off = scheduled(tenant_a, cron="0 2 * * *")
    with InTenant(app, tenant_a.tenant_id):
        update_schedule(db.session.get(Schedule, (tenant_a.tenant_id, switched_off)), enabled=False, author="test")
        db.session.commit()
        # even with a next run left in the past (say, by hand in the database)
        db.session.get(Schedule, (tenant_a.tenant_id, switched_off)).next_run_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    tick_now(app)
    for schedule_id in (never_on, switched_off):
        assert runs_of(app, tenant_a, schedule_id) == []
        assert schedule_state(app, tenant_a, schedule_id).last_run_at is None
    assert schedule_state(app, tenant_a, never_on).next_run_at is None


def test_a_retier_already_queued_is_recorded_as_skipped_and_the_schedule_moves_on(rq_app, tenant_a, scheduled):
    with InTenant(rq_app, tenant_a.tenant_id):
        assert launch_retier(started_by="by hand").status == "queued"  # no worker runs it yet
    schedule_id = scheduled(tenant_a)
    tick_now(rq_app)
    schedule = schedule_state(rq_app, tenant_a, schedule_id)
    assert schedule.last_status == "skipped" and schedule.last_run_id is None
    assert "already running" in schedule.last_message
    assert schedule.next_run_at > utcnow()


def test_a_failing_tenant_is_recorded_and_does_not_stop_the_others(app, tenant_a, scheduled):
    with app.app_context():  # a bare tenant: not provisioned, so no rule set to retier with
        bare = create_tenant(f"bare-{uuid.uuid4().hex[:6]}", name="No rules yet", industry="other")
        db.session.commit()
        bare_world = TenantWorld(tenant_id=bare.id, slug=bare.slug)
    failing = scheduled(bare_world)
    working = scheduled(tenant_a)
    tick_now(app)
    failed = schedule_state(app, bare_world, failing)
    assert failed.last_status == "failed" and "no rule set has been published" in failed.last_message
    assert failed.next_run_at > utcnow()
    assert schedule_state(app, tenant_a, working).last_status == "started"


def test_a_schedule_another_tick_holds_is_skipped_by_this_tick(app, tenant_a, scheduled):
    schedule_id = scheduled(tenant_a)
    with app.app_context(), db.engine.connect() as other_tick:
        with other_tick.begin():
            tenancy.set_rls_tenant(other_tick, tenant_a.tenant_id)
            other_tick.execute(sa.text("SELECT id FROM schedules WHERE id = :id FOR UPDATE"), {"id": schedule_id})
            tick_now(app)  # must neither wait for the lock nor fire the schedule
            assert runs_of(app, tenant_a, schedule_id) == []
    tick_now(app)
    assert len(runs_of(app, tenant_a, schedule_id)) == 1


def test_a_tick_fires_each_tenants_schedules_in_that_tenant_only(app, tenant_a, tenant_b, scheduled):
    ours, theirs = scheduled(tenant_a), scheduled(tenant_b)
    theirs_later = scheduled(tenant_b, cron="0 4 * * *", due_since=None)
    tick_now(app)
    for world, schedule_id in ((tenant_a, ours), (tenant_b, theirs)):
        schedule = schedule_state(app, world, schedule_id)
        (run,) = runs_of(app, world, schedule_id)
        assert schedule.last_run_id == run.id and run.tenant_id == world.tenant_id
    later = schedule_state(app, tenant_b, theirs_later)
    assert later.last_run_at is None and later.next_run_at > utcnow()


def test_the_cron_scheduler_enqueues_the_tick_on_the_short_queue_once_a_minute(rq_app):
    with rq_app.app_context():
        connection = redis_connection()
        scheduler = cron_scheduler(connection)
        assert [job.func_name for job in scheduler.enqueue_jobs()] == ["tierwise.jobs.heartbeat.tick"]
        assert scheduler.enqueue_jobs() == []  # the next one is a minute away
        (job,) = [Job.fetch(job_id, connection=connection) for job_id in Queue(TICK_QUEUE, connection=connection).job_ids]
        assert job.func_name == "tierwise.jobs.heartbeat.tick" and job.ttl == TICK_TTL


def test_tierwise_cron_and_a_real_worker_fire_a_due_schedule(
        rq_app, database_urls, tmp_path, redis_url, tenant_a, scheduled):
    schedule_id = scheduled(tenant_a)
    ticks = Queue(TICK_QUEUE, connection=Redis.from_url(redis_url))
    cron = tierwise_process(database_urls, tmp_path, redis_url, "cron")
    try:
        deadline = time.monotonic() + 60
        while not ticks.count and cron.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        cron.terminate()
        cron.communicate(timeout=30)
    assert ticks.count == 1, "tierwise cron enqueued no tick"
    worker = tierwise_process(database_urls, tmp_path, redis_url, "worker", "--burst")
    _, stderr = worker.communicate(timeout=300)
    assert worker.returncode == 0, stderr
    schedule = schedule_state(rq_app, tenant_a, schedule_id)
    (run,) = runs_of(rq_app, tenant_a, schedule_id)
    assert schedule.last_status == "started" and schedule.last_run_id == run.id
    assert run.status == "succeeded"  # the same burst worker then ran the retier job the tick queued


def test_admins_manage_schedules_through_the_api_and_every_change_is_audited(app, client, tenant_a, issue_token):
    admin = {"Authorization": f"Bearer {issue_token(tenant_a, 'admin')}"}
    created = client.post("/api/v1/schedules", json={"action": "retier", "cron": "0 3 * * *",
                                                     "timezone": "Asia/Shanghai"}, headers=admin)
    assert created.status_code == 201, created.json
    schedule = created.json
    assert created.headers["Location"].endswith(f"/api/v1/schedules/{schedule['id']}")
    assert datetime.fromisoformat(schedule["next_run_at"]).astimezone(UTC).hour == 19  # 03:00 in Shanghai
    assert schedule["created_by"] == tenant_a.email("admin")
    again = client.post("/api/v1/schedules", json={"action": "retier", "cron": "0 3 * * *"}, headers=admin)
    assert again.status_code == 409 and again.json["error"]["field"] == "cron"
    assert again.json["error"]["message"] == "a schedule to retier every customer with cron '0 3 * * *' already exists"
    bad = client.post("/api/v1/schedules", json={"action": "retier", "cron": "0 3 * * * *"}, headers=admin)
    assert bad.status_code == 400 and bad.json["error"]["field"] == "cron"
    url = f"/api/v1/schedules/{schedule['id']}"
    changed = client.patch(url, json={"enabled": False}, headers=admin)
    assert changed.status_code == 200 and changed.json["next_run_at"] is None
    assert client.patch(url, json={"action": "score"}, headers=admin).json["error"]["field"] == "action"
    assert client.patch(url, json={"enabled": "no"}, headers=admin).json["error"]["field"] == "enabled"
    assert [s["id"] for s in client.get("/api/v1/schedules", headers=admin).json["items"]] == [schedule["id"]]
    assert client.delete(url, headers=admin).status_code == 204
    assert client.get(url, headers=admin).status_code == 404
    with InTenant(app, tenant_a.tenant_id):
        actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.target_id == schedule["id"])
                                     .order_by(AuditEvent.occurred_at)).all()
    assert actions == ["schedule.created", "schedule.updated", "schedule.deleted"]


def test_analysts_read_schedules_and_relationship_managers_do_not(client, tenant_a, issue_token, scheduled):
    schedule_id = scheduled(tenant_a, due_since=None)
    analyst = {"Authorization": f"Bearer {issue_token(tenant_a, 'analyst')}"}
    rm = {"Authorization": f"Bearer {issue_token(tenant_a, 'rm1')}"}
    assert client.get(f"/api/v1/schedules/{schedule_id}", headers=analyst).status_code == 200
    assert client.patch(f"/api/v1/schedules/{schedule_id}", json={"enabled": False}, headers=analyst).status_code == 403
    assert client.post("/api/v1/schedules", json={"action": "retier", "cron": "0 5 * * *"},
                       headers=analyst).status_code == 403
    assert client.get("/api/v1/schedules", headers=rm).status_code == 403


def test_another_tenant_cannot_see_or_touch_a_schedule(client, tenant_a, tenant_b, issue_token, scheduled):
    schedule_id = scheduled(tenant_a, due_since=None)
    theirs = {"Authorization": f"Bearer {issue_token(tenant_b, 'admin')}"}
    assert client.get("/api/v1/schedules", headers=theirs).json["items"] == []
    url = f"/api/v1/schedules/{schedule_id}"
    for response in (client.get(url, headers=theirs), client.patch(url, json={"enabled": False}, headers=theirs),
                     client.delete(url, headers=theirs)):
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_admin_adds_switches_off_and_deletes_a_schedule_on_the_page(app, browser, tenant_a):
    site = f"/t/{tenant_a.slug}/schedules"
    browser.login(tenant_a, "admin")
    assert site in browser.get(f"/t/{tenant_a.slug}/").text  # linked from the navigation
    refused = browser.submit(f"{site}/new", {"action": "retier", "cron": "0 3 * *", "timezone": "Asia/Shanghai",
                                             "enabled": "y"})
    assert refused.status_code == 400 and "must have 5 fields" in refused.text
    added = browser.submit(f"{site}/new", {"action": "retier", "cron": "15 2 * * 1", "timezone": "Asia/Shanghai",
                                           "enabled": "y"})
    assert added.status_code == 302
    with InTenant(app, tenant_a.tenant_id):
        schedule = db.session.scalar(sa.select(Schedule))
        schedule_id, next_local = schedule.id, schedule.in_zone(schedule.next_run_at)
    page = browser.get(f"{site}/").text
    assert "15 2 * * 1" in page and f"{next_local:%Y-%m-%d} 02:15" in page
    switched = browser.submit(f"{site}/", {"enabled": "off"}, action=f"{site}/{schedule_id}/switch")
    assert switched.status_code == 302
    assert schedule_state(app, tenant_a, schedule_id).next_run_at is None
    deleted = browser.submit(f"{site}/", {}, action=f"{site}/{schedule_id}/delete")
    assert deleted.status_code == 302
    with InTenant(app, tenant_a.tenant_id):
        assert db.session.scalar(sa.select(Schedule)) is None


def test_analysts_see_the_schedules_page_read_only_and_rms_not_at_all(app, tenant_a, scheduled):
    schedule_id = scheduled(tenant_a, due_since=None)
    site = f"/t/{tenant_a.slug}/schedules"
    analyst, rm = Browser(app.test_client()), Browser(app.test_client())
    analyst.login(tenant_a, "analyst")
    page = analyst.get(f"{site}/")
    assert page.status_code == 200 and "0 3 * * *" in page.text
    assert f"{site}/new" not in page.text and f"{site}/{schedule_id}" not in page.text
    assert analyst.get(f"{site}/{schedule_id}").status_code == 403
    rm.login(tenant_a, "rm1")
    assert rm.get(f"{site}/").status_code == 403
    assert site not in rm.get(f"/t/{tenant_a.slug}/").text


def test_the_cli_lists_a_tenants_schedules_and_fires_the_due_ones_without_redis(app, runner, tenant_a, scheduled):
    schedule_id = scheduled(tenant_a)
    fired = runner.invoke(cli, ["schedules", "run-due"])
    assert fired.exit_code == 0, fired.output
    assert "started" in fired.output
    assert len(runs_of(app, tenant_a, schedule_id)) == 1
    listed = runner.invoke(cli, ["schedules", "list", "--tenant", tenant_a.slug])
    assert listed.exit_code == 0 and str(schedule_id) in listed.output and "retier run succeeded" in listed.output
    assert "UTC+8" in listed.output and "CST" not in listed.output  # Shanghai's offset, not an ambiguous "CST"


def test_a_schedule_nothing_started_says_no_scheduler_is_running_on_the_page_and_the_cli(
        app, browser, runner, tenant_a, scheduled):
    """Without `tierwise cron` or a crontab running `schedules run-due`, the page said work "starts by itself"
    while the nightly retier's time went by, night after night."""
    on_time, overdue = scheduled(tenant_a), scheduled(tenant_a, "score", due_since=timedelta(hours=7))
    browser.login(tenant_a)
    page = browser.get(f"/t/{tenant_a.slug}/schedules/").text
    assert 'data-testid="no-scheduler"' in page and "`tierwise schedules run-due` every minute" in page
    rows = {row.split('"', 1)[0]: row for row in page.split('data-schedule="')[1:]}
    assert ['data-testid="overdue"' in rows[str(schedule_id)] for schedule_id in (on_time, overdue)] == [False, True]
    listed = runner.invoke(cli, ["schedules", "list", "--tenant", tenant_a.slug]).output.splitlines()
    assert ["OVERDUE: no scheduler is running" in line for line in sorted(listed, key=lambda line: str(overdue) in line)
            ] == [False, True]
    runner.invoke(cli, ["schedules", "run-due"])
    assert "no-scheduler" not in browser.get(f"/t/{tenant_a.slug}/schedules/").text  # fired: on time again


def test_tierwise_cron_refuses_to_start_without_redis(runner):
    result = runner.invoke(cli, ["cron"])
    assert result.exit_code != 0 and "TIERWISE_REDIS_URL is not set" in result.output


def outcome_shown(browser, world, schedule_id) -> str:
    """The text of a schedule's "Outcome" cell on the schedules page."""
    page = browser.get(f"/t/{world.slug}/schedules/").text
    row = page[page.index(f'data-schedule="{schedule_id}"'):]
    cell = row[row.index('data-testid="outcome">') + len('data-testid="outcome">'):]
    return " ".join(re.sub(r"<[^>]+>", " ", cell[:cell.index("</td>")]).split())


def test_the_page_and_the_cli_show_how_the_run_a_schedule_started_ended(rq_app, runner, tenant_a, scheduled):
    schedule_id = scheduled(tenant_a)
    tick_now(rq_app)  # with Redis the run is queued: the schedule can only say it started it
    (run,) = runs_of(rq_app, tenant_a, schedule_id)
    admin = Browser(rq_app.test_client())
    admin.login(tenant_a, "admin")
    assert outcome_shown(admin, tenant_a, schedule_id).startswith("Queued")
    with InTenant(rq_app, tenant_a.tenant_id):  # as the worker's on-lost handler leaves it
        lost = db.session.get(RetierRun, (tenant_a.tenant_id, run.id))
        lost.status, lost.message = "failed", "the worker running it stopped"
        db.session.commit()
    outcome = outcome_shown(admin, tenant_a, schedule_id)
    assert outcome.startswith("Failed") and "the worker running it stopped" in outcome
    listed = runner.invoke(cli, ["schedules", "list", "--tenant", tenant_a.slug])
    assert "retier run failed the worker running it stopped" in listed.output, listed.output


def test_a_schedule_sent_an_empty_time_zone_is_refused_and_one_left_out_takes_the_tenants(app, client, tenant_a,
                                                                                          issue_token):
    admin = {"Authorization": f"Bearer {issue_token(tenant_a, 'admin')}"}
    for empty in ("", "  "):
        refused = client.post("/api/v1/schedules", json={"action": "retier", "cron": "0 3 * * *", "timezone": empty},
                              headers=admin)
        assert refused.status_code == 400 and refused.json["error"]["field"] == "timezone", refused.json
    assert client.get("/api/v1/schedules", headers=admin).json["items"] == []

    left_out = client.post("/api/v1/schedules", json={"action": "retier", "cron": "0 3 * * *"}, headers=admin)
    assert left_out.status_code == 201 and left_out.json["timezone"] == "Asia/Shanghai"
    emptied = client.patch(f"/api/v1/schedules/{left_out.json['id']}", json={"timezone": ""}, headers=admin)
    assert emptied.status_code == 400 and emptied.json["error"]["field"] == "timezone"


def test_the_cli_lines_up_schedules_whatever_their_zones_offsets(app, runner, tenant_a, scheduled):
    scheduled(tenant_a, due_since=None, timezone="Asia/Shanghai")
    scheduled(tenant_a, cron="30 2 * * 1", due_since=None, timezone="Europe/London")
    listed = runner.invoke(cli, ["schedules", "list", "--tenant", tenant_a.slug])
    lines = [line for line in listed.output.splitlines() if " next " in line]
    assert len(lines) == 2 and len({line.index(" last ") for line in lines}) == 1, listed.output
