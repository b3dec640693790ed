"""``tierwise cron`` and ``tierwise schedules ...``: what starts the tenants' scheduled work.

``tierwise cron`` runs RQ's cron scheduler, which enqueues the heartbeat every
minute for a ``tierwise worker`` to run; ``tierwise schedules run-due`` fires
what is due once, in this process, for installations without Redis (run it
every minute from the system's crontab).
"""
from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext

from tierwise.platform.cli import in_tenant
from tierwise.platform.clock import local_time
from tierwise.platform.db import utcnow

schedules_cli = AppGroup("schedules", help="List the tenants' schedules and fire the due ones.")


@click.command("cron")
@with_appcontext
def cron_command() -> None:
    """Run the scheduler that starts due schedules (needs TIERWISE_REDIS_URL and a `tierwise worker`)."""
    from tierwise.jobs.heartbeat import TICK_INTERVAL, TICK_QUEUE, cron_scheduler
    from tierwise.jobs.queue import redis_connection

    connection = redis_connection()
    if connection is None:
        raise click.ClickException("TIERWISE_REDIS_URL is not set: the scheduler enqueues its heartbeat on Redis. "
                                   "Without Redis, run `tierwise schedules run-due` every minute from cron instead")
    click.echo(f"Enqueueing the schedules' heartbeat every {TICK_INTERVAL} s on the '{TICK_QUEUE}' queue; "
               f"`tierwise worker` runs it. Ctrl+C to stop.")
    cron_scheduler(connection).start()


@schedules_cli.command("list")
@click.option("--tenant", "tenant_slug", required=True, help="Tenant slug.")
def schedules_list(tenant_slug: str) -> None:
    """List a tenant's schedules with their next run and last outcome."""
    from tierwise.jobs.schedules import last_runs, list_schedules

    with in_tenant(tenant_slug) as tenant:
        listed = list_schedules()
        if not listed:
            click.echo(f"No schedules in {tenant_slug}.")  # an empty listing would look like a command that did nothing
            return
        runs = last_runs(listed)
        for schedule in listed:
            state = "on " if schedule.enabled else "off"
            next_run = local_time(schedule.next_run_at, schedule.timezone) if schedule.next_run_at else "-"
            if schedule.overdue and tenant.active:  # nothing started it: say why (a switched-off tenant's wait)
                next_run += " OVERDUE: no scheduler is running (tierwise cron, or schedules run-due from crontab)"
            run = runs.get(schedule.last_run_id)
            outcome = (f"{schedule.action} run {run.status} {run.message if run.status == 'failed' else ''}" if run
                       else f"{schedule.last_status or ''} {schedule.last_message}")
            last = (f"{local_time(schedule.last_run_at, schedule.timezone)} {outcome}".strip()
                    if schedule.last_run_at else "never run")
            click.echo(f"{schedule.id}  {state}  {schedule.action:<11} {schedule.cron:<16} {schedule.timezone:<18} "
                       f"next {next_run:<25} last {last}")


@schedules_cli.command("run-due")
def schedules_run_due() -> None:
    """Fire every tenant's due schedules once, in this process (where there is no Redis and no `tierwise cron`)."""
    from tierwise.jobs.heartbeat import run_due

    outcomes = run_due(utcnow())
    click.echo(f"{sum(outcomes.values())} due: {outcomes['started']} started, {outcomes['skipped']} skipped "
               f"(already running), {outcomes['failed']} failed.")
    if outcomes["failed"]:
        click.get_current_context().exit(1)  # for the crontab's mail; each failure is recorded on its schedule
