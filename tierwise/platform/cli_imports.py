"""``tierwise import customers|activity|interactions``: the CLI door to the one import path."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from tierwise.errors import ValidationError
from tierwise.platform.db import db

import_cli = AppGroup("import", help="Import customers, activity or interactions from CSV/XLSX into a tenant.")


def _common(function):
    """Options every import kind takes."""
    for option in reversed([
        click.option("--tenant", "tenant_slug", required=True, help="Tenant slug."),
        click.option("--map", "pairs", multiple=True, metavar="TARGET=COLUMN",
                     help="Map a source column to a target (repeatable), e.g. --map name=客户名称."),
        click.option("--mapping", "mapping_name", default=None, help="Use a saved column mapping."),
        click.option("--save-mapping", "save_as", default=None, help="Save the mapping used under this name."),
        click.option("--skip-invalid", is_flag=True, help="Apply the valid rows; write rejected ones to --rejects."),
        click.option("--rejects", "rejects_path", type=click.Path(dir_okay=False), default=None,
                     help="Where rejected rows go with --skip-invalid (default: PATH.rejects.csv)."),
    ]):
        function = option(function)
    return click.argument("path", type=click.Path(dir_okay=False))(function)


def _mapping(pairs: tuple[str, ...], **columns: str | None) -> dict[str, str]:
    mapping = {target: column for target, column in columns.items() if column}
    for pair in pairs:
        target, sep, column = pair.partition("=")
        if not sep or not target.strip() or not column.strip():
            raise ValidationError(f"'{pair}' is not TARGET=COLUMN", field="--map")
        mapping[target.strip()] = column.strip()
    return mapping


def _run(kind: str, path: str, tenant_slug: str, mapping: dict[str, str], mapping_name: str | None,
         save_as: str | None, skip_invalid: bool, rejects_path: str | None, add_fields: bool = False) -> None:
    from tierwise.platform.cli import in_tenant
    from tierwise.tenants.imports.mappings import load_mapping, save_mapping
    from tierwise.tenants.imports.runner import import_file

    with in_tenant(tenant_slug):
        if mapping_name:
            mapping = {**load_mapping(kind, mapping_name), **mapping}
        rejects = rejects_path or (f"{path}.rejects.csv" if skip_invalid else None)
        show_progress = sys.stderr.isatty()

        def progress(rows: int) -> None:
            if show_progress:
                click.echo(f"\r{rows:,} rows read", err=True, nl=False)

        result = import_file(path, kind=kind, mapping=mapping, skip_invalid=skip_invalid, add_fields=add_fields,
                             rejects_path=rejects, progress=progress)
        if save_as:
            save_mapping(kind, save_as, mapping)
        db.session.commit()
    if show_progress:
        click.echo("", err=True)
    rate = result.rows_read / result.seconds if result.seconds else 0
    click.echo(f"Imported {Path(path).name} into {tenant_slug}: {result.rows_read:,} rows read, "
               f"{result.inserted:,} new, {result.updated:,} updated, {result.unchanged:,} unchanged, "
               f"{result.rejected:,} rejected ({result.seconds:.1f} s, {rate:,.0f} rows/s)")
    if result.added_fields:
        click.echo(f"Added fields: {', '.join(result.added_fields)}")
    if result.ignored_columns:
        click.echo(f"Ignored columns: {', '.join(result.ignored_columns)}")
    if result.rejects_path:
        click.echo(f"Rejected rows and reasons: {result.rejects_path}")


@import_cli.command("customers")
@_common
@click.option("--id-column", default=None, help="Column holding the customer id (default: external_id).")
@click.option("--label-column", default=None, help="Column holding the churn outcome label (yes/no).")
@click.option("--label-date-column", default=None, help="Column holding the date the label was observed.")
@click.option("--add-fields", is_flag=True, help="Create registry fields for unknown columns (types inferred).")
def import_customers(path, tenant_slug, pairs, mapping_name, save_as, skip_invalid, rejects_path,
                     id_column, label_column, label_date_column, add_fields):
    """Import customers from PATH (upsert by external id)."""
    from tierwise.platform.cli import reported_errors

    with reported_errors():
        mapping = _mapping(pairs, external_id=id_column, churn_label=label_column, label_observed_on=label_date_column)
        _run("customers", path, tenant_slug, mapping, mapping_name, save_as, skip_invalid, rejects_path, add_fields)


@import_cli.command("activity")
@_common
@click.option("--customer-column", default=None, help="Customer id column (default: customer).")
@click.option("--time-column", default=None, help="Date/time column (default: occurred_at).")
@click.option("--amount-column", default=None, help="Amount column (default: amount).")
@click.option("--quantity-column", default=None, help="Quantity column, e.g. kWh (optional).")
@click.option("--category-column", default=None, help="Category column (optional).")
def import_activity(path, tenant_slug, pairs, mapping_name, save_as, skip_invalid, rejects_path,
                    customer_column, time_column, amount_column, quantity_column, category_column):
    """Import activity (transactions, bills, orders) from PATH."""
    from tierwise.platform.cli import reported_errors

    with reported_errors():
        mapping = _mapping(pairs, customer=customer_column, occurred_at=time_column, amount=amount_column,
                           quantity=quantity_column, category=category_column)
        _run("activity", path, tenant_slug, mapping, mapping_name, save_as, skip_invalid, rejects_path)


@import_cli.command("interactions")
@_common
@click.option("--customer-column", default=None, help="Customer id column (default: customer).")
@click.option("--time-column", default=None, help="Date/time column (default: occurred_at).")
@click.option("--channel-column", default=None, help="Channel column (default: channel).")
@click.option("--type-column", default=None, help="complaint / request / opinion / praise (default: type).")
@click.option("--severity-column", default=None, help="Severity 1-5 (default: severity).")
@click.option("--resolved-column", default=None, help="When it was resolved (default: resolved_at).")
@click.option("--summary-column", default=None, help="Free text (default: summary).")
def import_interactions(path, tenant_slug, pairs, mapping_name, save_as, skip_invalid, rejects_path,
                        customer_column, time_column, channel_column, type_column, severity_column,
                        resolved_column, summary_column):
    """Import interactions (complaints, requests, opinions, praise) from PATH."""
    from tierwise.platform.cli import reported_errors

    with reported_errors():
        mapping = _mapping(pairs, customer=customer_column, occurred_at=time_column, channel=channel_column,
                           type=type_column, severity=severity_column, resolved_at=resolved_column,
                           summary=summary_column)
        _run("interactions", path, tenant_slug, mapping, mapping_name, save_as, skip_invalid, rejects_path)
