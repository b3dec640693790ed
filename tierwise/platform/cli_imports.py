"""``tierwise import customers|activity|interactions|status``: the CLI door to the one import path.

An import runs in this process and transaction by default; ``--background`` starts
an import run instead, exactly as the upload page does, and ``import status``
reports on it.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from flask.cli import AppGroup

from tierwise.errors import ValidationError
from tierwise.platform.cli import fields_from
from tierwise.platform.clock import local_time
from tierwise.platform.db import db
from tierwise.platform.tenant import tenant_timezone

SHOWN_ERRORS = 20
import_cli = AppGroup("import", help="Import customers, activity or interactions from CSV/XLSX into a tenant, "
                                     "and follow background import runs.")


def _common(function):
    """Options every import kind takes."""
    for option in reversed([
        click.option("--tenant", "tenant_slug", required=True, help="Tenant slug."),
        click.option("--map", "pairs", multiple=True, metavar="TARGET=COLUMN",
                     help="Map a source column to a target (repeatable), e.g. --map name=客户名称."),
        click.option("--set", "sets", multiple=True, metavar="TARGET=VALUE",
                     help="Give a target one value for every row, where the file has no column for it "
                          "(repeatable), e.g. --set type=complaint --set channel=hotline."),
        click.option("--mapping", "mapping_name", default=None, help="Use a saved column mapping."),
        click.option("--save-mapping", "save_as", default=None, help="Save the mapping used under this name."),
        click.option("--skip-invalid", is_flag=True, help="Apply the valid rows; write rejected ones to --rejects."),
        click.option("--rejects", "rejects_path", type=click.Path(dir_okay=False), default=None,
                     help="Where rejected rows go with --skip-invalid (default: PATH.rejects.csv)."),
        click.option("--background", is_flag=True,
                     help="Start an import run (on RQ with TIERWISE_REDIS_URL, else in-process), print its id "
                          "and return; follow it with `tierwise import status`."),
    ]):
        function = option(function)
    return click.argument("path", type=click.Path(exists=True, dir_okay=False))(function)


def _mapping(pairs: tuple[str, ...], sets: tuple[str, ...] = (), **columns: str | None) -> dict[str, str]:
    """The ``--<target>-column`` options, then the ``--map`` pairs (which win), then the ``--set`` values.

    A set value is a mapping entry starting with ``=`` (``imports.constants``); a target both mapped
    to a column and set is refused, as it is ambiguous.
    """
    from tierwise.tenants.imports.constants import SET_PREFIX
    from tierwise.tenants.imports.mappings import parse_pairs

    mapping = {**{target: column for target, column in columns.items() if column}, **parse_pairs(pairs, field="--map")}
    for target, value in parse_pairs(sets, field="--set").items():
        if mapping.get(target):
            raise ValidationError(f"'{target}' is both mapped to the column '{mapping[target]}' and set to "
                                  f"'{value}' for every row: leave one out", field="--set")
        mapping[target] = SET_PREFIX + value
    return mapping


def _run(kind: str, mapping: dict[str, str], *, path: str, tenant_slug: str, mapping_name: str | None,
         save_as: str | None, skip_invalid: bool, rejects_path: str | None, background: bool,
         add_fields: bool = False) -> None:
    """Import now, in this process and transaction (the default), or start a run with ``--background``."""
    from tierwise.platform.cli import in_tenant
    from tierwise.tenants.imports.mappings import import_mapped, optional_targets, resolve_mapping

    if background:
        _start_run(kind, mapping, path=path, tenant_slug=tenant_slug, mapping_name=mapping_name, save_as=save_as,
                   skip_invalid=skip_invalid, rejects_path=rejects_path, add_fields=add_fields)
        return
    with in_tenant(tenant_slug):
        optional = optional_targets(mapping_name, mapping, kind=kind)
        mapping = resolve_mapping(kind, saved_name=mapping_name, explicit=mapping)
        rejects = rejects_path or (f"{path}.rejects.csv" if skip_invalid else None)
        show_progress = sys.stderr.isatty()

        def progress(rows: int) -> None:
            if show_progress:
                click.echo(f"\r{rows:,} rows read", err=True, nl=False)

        result = import_mapped(path, kind=kind, mapping=mapping, save_as=save_as, skip_invalid=skip_invalid,
                               add_fields=add_fields, rejects_path=rejects, progress=progress, optional=optional)
        db.session.commit()
        ahead = local_time(result.latest_ahead, tenant_timezone()) if result.dated_ahead else ""
    if show_progress:
        click.echo("", err=True)
    rate = result.rows_read / result.seconds if result.seconds else 0
    click.echo(f"Imported {Path(path).name} into {tenant_slug}: {result.rows_read:,} "
               f"row{'' if result.rows_read == 1 else 's'} read, "
               f"{result.inserted:,} new, {result.updated:,} updated, {result.unchanged:,} unchanged, "
               f"{result.rejected:,} rejected ({result.seconds:.1f} s, {rate:,.0f} rows/s)")
    if result.added_fields:
        click.echo(f"Added fields: {', '.join(result.added_fields)}")
    if result.recognised_columns:
        click.echo(f"Columns recognised by their header: {_pairs(result.recognised_columns)}")
    if _set_values(mapping):
        click.echo(f"Set for every row: {_set_values(mapping)}")
    if result.date_order:
        click.echo(f"Dates with the year last: {_date_order(result.date_order)}")
    if result.ignored_columns:
        click.echo(f"Ignored columns: {', '.join(result.ignored_columns)}")
    if result.dated_ahead:
        click.echo(f"{result.dated_ahead:,} row{'s are' if result.dated_ahead != 1 else ' is'} dated after today (the "
                   f"latest {ahead}): kept, and counted by the rules, "
                   "models and dashboards once their day comes")
    if result.rejects_path:
        click.echo(f"Rejected rows and reasons: {result.rejects_path}")
    if save_as:  # as `import status` says it of a background run
        click.echo(f"Mapping saved as: {save_as} (reuse it with --mapping {save_as})")
    _classify_newcomers(tenant_slug, result)


def _date_order(order: str) -> str:
    """How an import read dates written with the year last (``ImportResult.date_order``), as the run page says it."""
    from tierwise.tenants.imports.specs import DATE_ORDER_LABELS

    return str(DATE_ORDER_LABELS.get(order, order))


def _pairs(recognised: dict[str, str]) -> str:
    """Targets and the columns that filled them, as ``--map`` takes them (external_id=客户编号)."""
    return ", ".join(f"{target}={column}" for target, column in sorted(recognised.items()))


def _set_values(mapping: dict[str, str]) -> str:
    """The values the mapping sets for every row, as ``--set`` takes them (type=complaint), or empty."""
    from tierwise.tenants.imports.constants import constants_of

    return _pairs(constants_of(mapping))


def _classify_newcomers(tenant_slug: str, result) -> None:
    """New customers get their tiers now (``retier_launch.classify_newcomers``), and the CLI says how it went."""
    from tierwise.platform.cli import in_tenant
    from tierwise.tenants.rules.retier_launch import classify_newcomers

    with in_tenant(tenant_slug):
        run = classify_newcomers(result.inserted, kind=result.kind, started_by="cli import")
        if run is not None:
            db.session.commit()
            newcomers = f"{result.inserted:,} new customer" + ("" if result.inserted == 1 else "s")
            click.echo(f"Retier {run.id} to classify the {newcomers}: {run.status}"
                       + (f" ({run.message})" if run.status == "failed" else ""))


def _start_run(kind: str, mapping: dict[str, str], *, path: str, tenant_slug: str, mapping_name: str | None,
               save_as: str | None, skip_invalid: bool, rejects_path: str | None, add_fields: bool) -> None:
    """``--background``: an import run, as the upload page makes, on RQ (or in-process without Redis)."""
    from tierwise.platform.cli import in_tenant
    from tierwise.tenants.imports.runs import start_import_run

    if rejects_path:
        raise ValidationError("cannot be used with --background: the run records the rejected rows "
                              "(see `tierwise import status`)", field="--rejects")
    with in_tenant(tenant_slug):
        run = start_import_run(Path(path), kind=kind, source_name=Path(path).name, created_by="cli",
                               mapping_name=mapping_name, save_as=save_as,
                               options={"mapping": mapping, "skip_invalid": skip_invalid, "add_fields": add_fields})
        run_id, status, message = run.id, run.status, run.said_message()
    click.echo(f"Import run {run_id} ({kind}, {Path(path).name}): {status}")
    if status in ("succeeded", "failed"):  # without TIERWISE_REDIS_URL the run is over before this line
        click.echo(f"It ran in this process (TIERWISE_REDIS_URL is not set); its report: "
                   f"tierwise import status --tenant {tenant_slug} {run_id}")
    else:
        click.echo(f"Follow it with: tierwise import status --tenant {tenant_slug} {run_id}")
    if status == "failed":
        _fail(run_id, message)


def _fail(run_id, message: str) -> NoReturn:
    """A failed run ends the command with one ``Error:`` line, however long the recorded message."""
    raise click.ClickException(f"import run {run_id} failed: {' '.join(message.split())}")


def run_report(run) -> list[str]:
    """What ``import status`` prints.  A run records no row total, so there is no ETA: the elapsed time instead."""
    from tierwise.platform.db import utcnow
    from tierwise.tenants.imports.errors import RowError

    rate = f" ({run.rows_per_second:,.0f} rows/s)" if run.rows_per_second else ""
    lines = [f"Import run {run.id}: {run.kind} from {run.source_name}, started by {run.created_by}",
             f"Status: {run.status}"]
    if run.status != "failed" or run.rows_read:  # a file refused before its rows were read has none
        lines.append(f"Rows read: {run.rows_read:,}{rate if run.status != 'failed' else ''}")
    if run.status == "failed" and (run.result or {}).get("rejected"):
        lines.append(f"Rows with errors: {run.result['rejected']:,}")
    if run.started_at:
        lines.append(f"Elapsed: {((run.finished_at or utcnow()) - run.started_at).total_seconds():.1f} s")
    elif run.status == "queued":
        lines.append("Waiting for a worker (tierwise worker --queues long)")
    result = run.result or {}
    if run.status == "succeeded":
        lines.append(f"Result: {result['inserted']:,} new, {result['updated']:,} updated, "
                     f"{result['unchanged']:,} unchanged, {result['rejected']:,} rejected")
        if result.get("added_fields"):
            lines.append(f"Added fields: {', '.join(result['added_fields'])}")
        if result.get("recognised_columns"):
            lines.append(f"Columns recognised by their header: {_pairs(result['recognised_columns'])}")
        if _set_values(run.options.get("mapping") or {}):
            lines.append(f"Set for every row: {_set_values(run.options['mapping'])}")
        if result.get("date_order"):
            lines.append(f"Dates with the year last: {_date_order(result['date_order'])}")
        if run.options.get("save_mapping"):
            lines.append(f"Mapping saved as: {run.options['save_mapping']}")
    errors = result.get("errors") or []
    lines += [f"  {RowError(**e)}" for e in errors[:SHOWN_ERRORS]]
    if len(errors) > SHOWN_ERRORS:
        lines.append(f"  ... and more (rejected rows: {result.get('rejected', len(errors)):,})")
    return lines


@import_cli.command("status")
@click.option("--tenant", "tenant_slug", required=True, help="Tenant slug.")
@click.argument("run_id")
def import_status(tenant_slug: str, run_id: str) -> None:
    """Show import run RUN_ID: state, rows read, rate; exits non-zero if it failed."""
    from tierwise.errors import NotFoundError
    from tierwise.platform.cli import in_tenant
    from tierwise.tenants.imports.runs import find_run

    with in_tenant(tenant_slug):
        run = find_run(run_id)
        if run is None:
            raise NotFoundError(f"no import run '{run_id}' in tenant '{tenant_slug}'", field="run_id")
        for line in run_report(run):
            click.echo(line)
        status, message = run.status, run.said_message()
    if status == "failed":
        _fail(run_id, message)


@import_cli.command("customers")
@_common
@click.option("--id-column", default=None, help="Column holding the customer id (default: external_id).")
@click.option("--label-column", default=None, help="Column holding the churn outcome label (yes/no).")
@click.option("--label-date-column", default=None, help="Column holding the date the label was observed.")
@click.option("--add-fields", is_flag=True, help="Create registry fields for unknown columns (types inferred).")
@fields_from(file="path", external_id="id_column", churn_label="label_column",
             label_observed_on="label_date_column")
def import_customers(pairs, sets, id_column, label_column, label_date_column, add_fields, **common):
    """Import customers from PATH (upsert by external id)."""
    from tierwise.platform.cli import reported_errors

    with reported_errors():
        mapping = _mapping(pairs, sets, external_id=id_column, churn_label=label_column, label_observed_on=label_date_column)
        _run("customers", mapping, add_fields=add_fields, **common)


@import_cli.command("activity")
@_common
@click.option("--customer-column", default=None, help="Customer id column (default: customer).")
@click.option("--time-column", default=None, help="Date/time column (default: occurred_at).")
@click.option("--amount-column", default=None, help="Amount column (default: amount).")
@click.option("--quantity-column", default=None, help="Quantity column, e.g. kWh (optional).")
@click.option("--category-column", default=None, help="Category column (optional).")
@fields_from(file="path", customer="customer_column", occurred_at="time_column", amount="amount_column",
             quantity="quantity_column", category="category_column")
def import_activity(pairs, sets, customer_column, time_column, amount_column, quantity_column, category_column,
                    **common):
    """Import activity (transactions, bills, orders) from PATH."""
    from tierwise.platform.cli import reported_errors

    with reported_errors():
        mapping = _mapping(pairs, sets, customer=customer_column, occurred_at=time_column, amount=amount_column,
                           quantity=quantity_column, category=category_column)
        _run("activity", mapping, **common)


@import_cli.command("interactions")
@_common
@click.option("--customer-column", default=None, help="Customer id column (default: customer).")
@click.option("--time-column", default=None, help="Date/time column (default: occurred_at).")
@click.option("--channel-column", default=None, help="Channel column (default: channel).")
@click.option("--type-column", default=None, help="complaint / request / opinion / praise (default: type).")
@click.option("--severity-column", default=None, help="Severity 1-5 (default: severity).")
@click.option("--resolved-column", default=None, help="When it was resolved (default: resolved_at).")
@click.option("--resolved-flag-column", default=None,
              help="Whether it was resolved, yes/no, where no time is given, e.g. 是否办结 (default: resolved).")
@click.option("--summary-column", default=None, help="Free text (default: summary).")
@fields_from(file="path", customer="customer_column", occurred_at="time_column", channel="channel_column",
             type="type_column", severity="severity_column", resolved_at="resolved_column",
             resolved="resolved_flag_column", summary="summary_column")
def import_interactions(pairs, sets, customer_column, time_column, channel_column, type_column, severity_column,
                        resolved_column, resolved_flag_column, summary_column, **common):
    """Import interactions (complaints, requests, opinions, praise) from PATH."""
    from tierwise.platform.cli import reported_errors

    with reported_errors():
        mapping = _mapping(pairs, sets, customer=customer_column, occurred_at=time_column, channel=channel_column,
                           type=type_column, severity=severity_column, resolved_at=resolved_column,
                           resolved=resolved_flag_column, summary=summary_column)
        _run("interactions", mapping, **common)
