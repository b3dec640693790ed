"""The ``tierwise`` command line (a Flask CLI group).

Commands call the same domain functions as the UI and API.  A domain error
becomes a one-line ``Error: ...`` on stderr, with the transaction rolled back so
nothing is half-written.  An error about a value the command was given names
the option (or argument, or environment variable) it came from (``--as-of``,
not the API's ``as_of``) and is a usage error, exit status 2, like Click's own
for an unknown option or a missing value; any other domain error exits 1.
Where a command's option does not share the domain field's name
(``--amount-column`` for an import's ``amount``), the command says so once,
with ``fields_from``.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import click
from flask.cli import AppGroup, FlaskGroup, with_appcontext

from tierwise.errors import TierwiseError, ValidationError
from tierwise.platform import tenancy
from tierwise.platform.audit import Actor, acting_as
from tierwise.platform.db import db


def _create_app():
    from tierwise.platform.app import create_app

    return create_app()


def fields_from(**sources: str):
    """Declare which of a command's parameters a domain field's value came from, where the names differ.

    ``@fields_from(amount="amount_column", password="TIERWISE_PASSWORD")``: a parameter's
    name, or how else the value is given (an environment variable), as the error should say it.
    """
    def declare(callback):
        callback.field_sources = {**getattr(callback, "field_sources", {}), **sources}
        return callback
    return declare


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn domain errors into a clean CLI failure, rolling back the transaction.

    An error naming a value the command was given is a usage error (exit 2) naming its option.
    """
    try:
        yield
    except TierwiseError as exc:
        db.session.rollback()
        pointer = getattr(exc, "pointer", None)  # rule errors show where in the expression
        inside = getattr(exc, "inside", None)  # the content of a file the command was given (``content_of``)
        source = inside or _source_of(exc)
        if pointer and getattr(exc, "expression", ""):
            message = "\n".join(f"{e}\n{e.pointer()}" for e in [exc, *getattr(exc, "more", [])])  # every bad rule
            message = f"{inside}: {message}" if inside else message
        elif inside:
            message = f"{inside}: {exc}"  # and where in the file: ``field 'value.vip.rule': ...``
        else:
            message = f"{source}: {exc.message}" if source else str(exc)
        if source:
            raise OneLineUsageError(message) from None
        raise click.ClickException(message) from None


@contextmanager
def content_of(argument: str) -> Iterator[None]:
    """Inside, a refused value is part of what the file given as ``argument`` holds (a rule set's rule):
    a usage error naming the argument, as a file that cannot be read is, with its place in the file."""
    try:
        yield
    except ValidationError as exc:
        if _source_of(exc) is None:
            exc.inside = argument
        raise


def _source_of(exc: TierwiseError) -> str | None:
    """How the running command's user gave the value ``exc`` is about (``--horizon-days``, ``PATH``), or None.

    The field names are the domain's, shared with the API (``horizon_days``).  A
    field of a file's row (an import's column) is the file's, not an option's.
    """
    field, row = getattr(exc, "field", None), getattr(exc, "row", None)
    ctx = click.get_current_context(silent=True)
    if not field or row is not None or ctx is None:
        return None
    declared = getattr(ctx.command.callback, "field_sources", {}).get(field)
    wanted = declared or field
    flag = f"--{wanted.replace('_', '-')}"
    for param in ctx.command.params:
        if param.name == wanted or flag in param.opts or wanted in param.opts:
            return _named(param)
    return declared  # not a parameter: an environment variable, say


class OneLineUsageError(click.UsageError):
    """A usage error shown as its ``Error: ...`` line alone, without Click's usage block and hint."""

    def show(self, file=None) -> None:
        click.ClickException.show(self, file)


@contextmanager
def _one_line_usage_errors() -> Iterator[None]:
    try:
        yield
    except (click.exceptions.NoArgsIsHelpError, OneLineUsageError):
        raise  # a group run without a command shows its help; ours are said as they are (a rule's caret line)
    except click.UsageError as exc:  # a missing choice lists its values a line each: joined into the one line
        said = exc.format_message()
        if type(exc) is click.BadParameter and (exc.param is not None or isinstance(exc.param_hint, str)):
            # "--model: 'bogus' is not one of ...", as every other refusal names its option
            said = f"{_named(exc.param) if exc.param is not None else exc.param_hint}: {exc.message}"
        lines = (line.strip() for line in said.splitlines())
        raise OneLineUsageError(" ".join(line for line in lines if line)) from None


def _named(param: click.Parameter) -> str:
    """An option by its first name (``--as-of``), an argument by its metavar (``PATH``)."""
    return param.opts[0] if isinstance(param, click.Option) else param.human_readable_name


DISTRIBUTION = "tierwise"  # pyproject.toml's [project] name: what `tierwise --version` reports
FLASK_OPTIONS = {"env_file", "app", "debug"}  # FlaskGroup adds these whatever it is told


class TierwiseGroup(FlaskGroup):
    """The ``tierwise`` group: every command's usage error (``--model nope``, a missing ``--tenant``) is one line.

    It is a FlaskGroup for the commands the app brings (Flask-Migrate's ``db``) and the
    app context it pushes, but it is Tierwise's command, not ``flask``: no ``run``,
    ``shell`` or ``routes``; no ``--app`` (the app is always ``create_app``'s), no
    ``--env-file`` or ``--debug`` (settings come from ``TIERWISE_*`` variables); and
    ``--version`` is Tierwise's, not Python's, Flask's and Werkzeug's.
    """

    def __init__(self, **attrs) -> None:
        super().__init__(add_default_commands=False, add_version_option=False, load_dotenv=False,
                         set_debug_flag=False, **attrs)
        self.params = [param for param in self.params if param.name not in FLASK_OPTIONS]
        click.version_option(package_name=DISTRIBUTION, prog_name="tierwise", message="%(prog)s %(version)s",
                             help="Show Tierwise's version and exit.")(self)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # FlaskGroup's reads --env-file and --app from FLASK_* variables before showing help; there are none here.
        return super(FlaskGroup, self).parse_args(ctx, args)

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        with _one_line_usage_errors():  # the group's own options
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context):
        with _one_line_usage_errors():  # the command's name, options and arguments, and its BadParameter
            return super().invoke(ctx)


def read_password(prompt: str = "Password") -> str:
    """From ``TIERWISE_PASSWORD``, else an interactive prompt (typed twice)."""
    password = os.environ.get("TIERWISE_PASSWORD")
    if password:
        return password
    if not click.get_text_stream("stdin").isatty():
        raise click.ClickException("set TIERWISE_PASSWORD or run interactively to be asked for a password")
    return click.prompt(prompt, hide_input=True, confirmation_prompt=True)


@contextmanager
def in_tenant(slug: str) -> Iterator:
    """Act inside tenant ``slug`` as the CLI (the tenant must exist): every command's ``--tenant``, in any case."""
    from tierwise.platform.tenant import get_tenant

    with reported_errors():
        tenant = get_tenant(slug)
        with tenancy.tenant_scope(tenant.id), acting_as(Actor(label="cli")):
            yield tenant


tenant_cli = AppGroup("tenant", help="Create, list, switch off and on tenants (platform operator).")
user_cli = AppGroup("user", help="Manage a tenant's users.")
branch_cli = AppGroup("branch", help="Manage a tenant's branches (the codes imports and users name).")
token_cli = AppGroup("token", help="Issue API tokens.")
operator_cli = AppGroup("operator", help="Manage platform operators.")


@tenant_cli.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Display name, e.g. '华东电网 East Grid'.")
@click.option("--industry", required=True, help="bank, power_utility, pharma_distributor or other.")
@click.option("--timezone", default=None,
              help="IANA zone its files' local times are read on, e.g. Europe/London (default: Asia/Shanghai). "
                   "Set it before the first import: times already imported were read on the zone of the day.")
def tenant_create(slug: str, name: str, industry: str, timezone: str | None) -> None:
    """Create tenant SLUG."""
    from tierwise.jobs.schedules import validate_timezone
    from tierwise.platform.provisioning import provision_tenant

    with reported_errors():
        settings = {} if timezone is None else {"timezone": validate_timezone(timezone)}
        tenant, _ = provision_tenant(slug, name=name, industry=industry, actor_label="cli", settings=settings)
        db.session.commit()
    click.echo(f"Created tenant {tenant.slug} ({tenant.industry}): {tenant.name}; times read on {tenant.timezone}")


@tenant_cli.command("list")
def tenant_list() -> None:
    """List tenants."""
    from tierwise.platform.tenant import list_tenants

    for tenant in list_tenants():
        click.echo(f"{tenant.slug}\t{tenant.industry}\t{tenant.name}" + ("" if tenant.active else "\t(switched off)"))


@tenant_cli.command("deactivate")
@click.argument("slug")
@fields_from(tenant="slug")
def tenant_deactivate(slug: str) -> None:
    """Switch tenant SLUG off: nobody signs in, no token or schedule runs; its data is kept."""
    slug = _switch_tenant(slug, False)
    click.echo(f"Switched off tenant {slug}: its data is kept; `tierwise tenant activate {slug}` switches it on.")


@tenant_cli.command("activate")
@click.argument("slug")
@fields_from(tenant="slug")
def tenant_activate(slug: str) -> None:
    """Switch tenant SLUG on again."""
    slug = _switch_tenant(slug, True)
    click.echo(f"Switched on tenant {slug}.")


def _switch_tenant(slug: str, active: bool) -> str:
    """Switch the tenant off or on; its slug as stored, to say which (``DEMO-BANK`` was typed, ``demo-bank`` is)."""
    from tierwise.platform.tenant import set_active

    with reported_errors():
        slug = set_active(slug, active, actor_label="cli").slug
        db.session.commit()
    return slug


@branch_cli.command("create")
@click.option("--tenant", "tenant_slug", required=True, help="Tenant slug.")
@click.option("--code", required=True, help="The code files and users name it by, e.g. SH01 (fixed once created).")
@click.option("--name", required=True, help="Display name, e.g. '浦东支行 Pudong'.")
def branch_create(tenant_slug: str, code: str, name: str) -> None:
    """Create a branch: before its RMs (``user create --branch``) and a customer file naming its code."""
    from tierwise.platform.branches import create_branch

    with in_tenant(tenant_slug) as tenant:
        branch = create_branch(code=code, name=name)
        db.session.commit()
        click.echo(f"Created branch {branch.code} ({branch.name}) in tenant {tenant.slug}")


@branch_cli.command("list")
@click.option("--tenant", "tenant_slug", required=True, help="Tenant slug.")
def branch_list(tenant_slug: str) -> None:
    """List the tenant's branches: code and name."""
    from tierwise.platform.branches import list_branches

    with in_tenant(tenant_slug):
        for branch in list_branches():
            click.echo(f"{branch.code}\t{branch.name}")


@user_cli.command("create")
@click.option("--tenant", "tenant_slug", required=True, help="Tenant slug.")
@click.option("--email", required=True)
@click.option("--role", required=True, help="tenant_admin, analyst or relationship_manager.")
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--branch", "branch_code", default=None, help="Branch code to scope the user to.")
@fields_from(password="TIERWISE_PASSWORD")
def user_create(tenant_slug: str, email: str, role: str, display_name: str, branch_code: str | None) -> None:
    """Create a user; the password comes from TIERWISE_PASSWORD or a prompt."""
    from tierwise.errors import NotFoundError
    from tierwise.platform.branches import find_branch_by_code
    from tierwise.platform.users import create_user, validate_role

    with in_tenant(tenant_slug) as tenant:
        validate_role(role)
        branch_id = None
        if branch_code:
            branch = find_branch_by_code(branch_code)
            if branch is None:
                raise NotFoundError(f"no branch with code '{branch_code}' in tenant '{tenant.slug}' (create it with "
                                    f"`tierwise branch create --tenant {tenant.slug} --code {branch_code} --name ...`)",
                                    field="branch")
            branch_id = branch.id
        user = create_user(email=email, role=role, password=read_password(), display_name=display_name,
                           branch_id=branch_id)
        db.session.commit()
        click.echo(f"Created {user.role} {user.email} in tenant {tenant.slug}")


@token_cli.command("create")
@click.option("--tenant", "tenant_slug", required=True, help="Tenant slug.")
@click.option("--email", required=True, help="The user the token acts as.")
@click.option("--name", default="cli", show_default=True, help="A name to recognise the token by.")
def token_create(tenant_slug: str, email: str, name: str) -> None:
    """Issue an API token and print it (it is not shown again)."""
    from tierwise.errors import NotFoundError
    from tierwise.platform import api_tokens
    from tierwise.platform.users import find_user_by_email

    with in_tenant(tenant_slug) as tenant:
        user = find_user_by_email(email)
        if user is None or not user.active:
            raise NotFoundError(f"no active user '{email}' in tenant '{tenant.slug}'", field="email")
        _token, plaintext = api_tokens.issue(user, name=name, tenant_slug=tenant.slug)
        db.session.commit()
    click.echo(plaintext)


@operator_cli.command("create")
@click.option("--email", required=True)
@fields_from(password="TIERWISE_PASSWORD")
def operator_create(email: str) -> None:
    """Create a platform operator; the password comes from TIERWISE_PASSWORD or a prompt."""
    from tierwise.platform.operators import create_operator

    with reported_errors():
        operator = create_operator(email=email, password=read_password())
        db.session.commit()
    click.echo(f"Created operator {operator.email}")


@click.command("demo")
@with_appcontext
@click.option("--password", default=None, help="Password for every demo user (default: tierwise-demo).")
@click.option("--no-data", is_flag=True, help="Only tenants and users, no synthetic customer data.")
@click.option("--scale", default=1.0, show_default=True, type=click.FloatRange(0.0001, 10),
              help="Size of the synthetic data relative to the default (20k / 50k / 5k customers).")
@click.option("--port", default=5000, show_default=True, type=int, help="The port the printed addresses name.")
def demo_command(password: str | None, no_data: bool, scale: float, port: int) -> None:
    """Seed (or refresh) the three demo tenants and print their users."""
    from flask import current_app

    from tierwise.platform.demo import DEFAULT_PASSWORD, seed_demo

    if current_app.config["TIERWISE"].is_production:
        raise click.ClickException("demo tenants and their known passwords are not for production (TIERWISE_ENV=production)")
    with reported_errors():
        credentials = seed_demo(password or DEFAULT_PASSWORD, with_data=not no_data, scale=scale, progress=click.echo)
    click.echo(f"Demo users (sign in at http://127.0.0.1:{port}/t/<tenant>/login):")
    click.echo(f"  {'tenant':<20} {'email':<28} {'role':<22} password")
    for cred in credentials:
        click.echo(f"  {cred.tenant_slug:<20} {cred.email:<28} {cred.role:<22} {cred.password}")
    click.echo(f"  operator console: http://127.0.0.1:{port}/operator/login")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes.")
@click.option("--threads", default=4, show_default=True, type=int, help="Threads per worker.")
def serve_command(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the app with gunicorn."""
    from tierwise.platform.serve import serve

    click.echo(f"Tierwise is serving on http://{host}:{port}/  (Ctrl+C to stop)")
    serve(host=host, port=port, workers=workers, threads=threads)


@click.command("worker")
@click.option("--queues", default="short,long", show_default=True, help="Comma-separated queues, most urgent first.")
@click.option("--burst", is_flag=True, help="Exit once the queues are empty.")
@with_appcontext
@fields_from(queue="queues")
def worker_command(queues: str, burst: bool) -> None:
    """Run an RQ worker (needs TIERWISE_REDIS_URL)."""
    from rq import Worker

    from tierwise.jobs.queue import get_queue, redis_connection

    connection = redis_connection()
    if connection is None:
        raise click.ClickException("TIERWISE_REDIS_URL is not set: without Redis, jobs run in-process")
    with reported_errors():
        worker_queues = [get_queue(name.strip(), connection) for name in queues.split(",") if name.strip()]
    from tierwise.jobs.runner import work_horse_killed

    # with_scheduler: a failed job's retry waits in RQ's scheduled registry for its backoff, and only a worker
    # running the scheduler moves it back onto its queue; without it the retry never ran and the run stayed queued.
    Worker(worker_queues, connection=connection, work_horse_killed_handler=work_horse_killed).work(
        burst=burst, with_scheduler=True)


cli = TierwiseGroup(name="tierwise", create_app=_create_app,
                    help="Tierwise: customer tiering for banks, utilities and distributors.")
for command in (tenant_cli, branch_cli, user_cli, token_cli, operator_cli, demo_command, serve_command,
                worker_command):
    cli.add_command(command)


@click.command("generate")
@click.option("--industry", required=True, type=click.Choice(["bank", "power_utility", "pharma_distributor"]))
@click.option("--customers", "count", required=True, type=click.IntRange(1, 50_000_000))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for the CSV files.")
@click.option("--months", default=24, show_default=True, type=click.IntRange(2, 120))
@click.option("--seed", default=7, show_default=True, type=int)
def generate_command(industry: str, count: int, out: str, months: int, seed: int) -> None:
    """Write synthetic customers, activity and interactions as CSV (for benchmarks and trials)."""
    from pathlib import Path

    from tierwise.tenants.synthetic import write_csv

    try:
        counts = write_csv(industry, count, Path(out), months=months, seed=seed)
    except OSError as exc:  # a folder that cannot be made or written (read-only, a file in the way)
        raise OneLineUsageError(f"--out: cannot write to '{out}': {exc.strerror or exc}") from None
    click.echo(f"Wrote {counts['customers']:,} customers, {counts['activity']:,} activity rows and "
               f"{counts['interactions']:,} interactions to {out}")


def _add_domain_commands() -> None:
    from tierwise.platform.cli_imports import import_cli
    from tierwise.platform.cli_models import export_command, score_command, train_command
    from tierwise.platform.cli_rules import retier_command, rules_cli
    from tierwise.platform.cli_schedules import cron_command, schedules_cli

    cli.add_command(import_cli)
    cli.add_command(rules_cli)
    cli.add_command(retier_command)
    cli.add_command(schedules_cli)
    cli.add_command(cron_command)
    cli.add_command(generate_command)
    for command in (train_command, score_command, export_command):
        cli.add_command(command)


_add_domain_commands()


def main() -> None:
    cli(prog_name="tierwise")
