"""``tierwise rules ...`` and ``tierwise retier``: the rule set operations of the editor and the API."""
from __future__ import annotations

from contextlib import nullcontext
from datetime import timezone
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

from tierwise.platform.cli import content_of, fields_from, in_tenant
from tierwise.platform.db import db

rules_cli = AppGroup("rules", help="Export, check, preview, publish and roll back a tenant's tiering rules.")

TENANT = click.option("--tenant", "tenant_slug", required=True, help="Tenant slug.")


def _read(path: str) -> dict:
    from tierwise.tenants.rules import yaml_io

    return yaml_io.read(Path(path))


@rules_cli.command("apply")
@TENANT
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--draft", "as_draft", is_flag=True, help="Save as the tenant's draft instead of publishing.")
@click.option("--note", default="", help="Why this change (kept with the version).")
@fields_from(file="path")
def rules_apply(tenant_slug: str, path: str, as_draft: bool, note: str) -> None:
    """Validate the YAML rule set at PATH and publish it (or save it as the draft).

    Applying the rule set already in force changes nothing and succeeds, so a script
    can export, keep and re-apply a file without checking first.
    """
    from tierwise.tenants.rules import versions

    with in_tenant(tenant_slug):
        data = _read(path)
        with content_of("PATH"):
            definition, _ = versions.validate(data)
        in_force = None if as_draft else versions.identical_in_force(definition.to_dict())
        if in_force is not None:
            click.echo(f"Unchanged: the rule set is identical to version {in_force.number}, which is in force "
                       f"for {tenant_slug}.")
            return
        if as_draft:
            versions.save_draft(data, author="cli", note=note)
            db.session.commit()
            click.echo(f"Saved the draft of {tenant_slug}; preview it with `tierwise rules preview`.")
            return
        number = versions.publish(data, author="cli", note=note).number
        db.session.commit()
    click.echo(f"Published version {number} for {tenant_slug}. Run `tierwise retier --tenant "
               f"{tenant_slug}` to assign tiers with it.")


@rules_cli.command("export")
@TENANT
@click.option("--version", "number", type=int, default=None, help="A published version (default: in force).")
@click.option("--draft", "of_draft", is_flag=True, help="Export the draft instead.")
def rules_export(tenant_slug: str, number: int | None, of_draft: bool) -> None:
    """Print a rule set as YAML (the version in force unless told otherwise)."""
    from tierwise.errors import NotFoundError
    from tierwise.tenants.rules import versions, yaml_io

    if of_draft and number is not None:
        raise click.UsageError("--version and --draft cannot be used together: export one or the other")
    with in_tenant(tenant_slug):
        if of_draft:
            version = versions.draft()
            if version is None:
                raise NotFoundError("there is no draft to export", field="draft")
        elif number is not None:
            version = versions.version_by_number(number)
        else:
            version = versions.current_version()
            if version is None:
                raise NotFoundError(f"nothing is published in {tenant_slug} yet: no rule set is in force to export")
        click.echo(yaml_io.dump(version.definition), nl=False)


@rules_cli.command("check")
@TENANT
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@fields_from(file="path")
def rules_check(tenant_slug: str, path: str) -> None:
    """Validate the YAML rule set at PATH against the tenant's fields, without saving it."""
    from tierwise.tenants.rules import versions

    with in_tenant(tenant_slug):
        data = _read(path)
        with content_of("PATH"):
            definition, _ = versions.validate(data)
    rules = sum(len(d.tiers) - 1 for d in definition.dimensions)
    click.echo(f"OK: {len(definition.dimensions)} dimensions, {rules} rules.")


@rules_cli.command("preview")
@TENANT
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False))
@fields_from(file="path")
def rules_preview(tenant_slug: str, path: str | None) -> None:
    """What the rule set at PATH (default: the draft) would change if published and run now."""
    from tierwise.errors import NotFoundError
    from tierwise.tenants.fields import field_labels
    from tierwise.tenants.rules import versions
    from tierwise.tenants.rules.preview import preview
    from tierwise.tenants.rules.reasons import reason_lines

    with in_tenant(tenant_slug):
        if path is None:
            draft = versions.draft()
            if draft is None:
                raise NotFoundError("there is no draft to preview: give a YAML file", field="path")
            data = draft.definition
        else:
            data = _read(path)
        with content_of("PATH") if path is not None else nullcontext():
            _, plan = versions.validate(data)
        result = preview(plan)
        labels = field_labels()  # the samples' reasons in words, as the preview page says them
        said = {id(sample): "; ".join(f"{line.caption} = {line.value}" for line in reason_lines(sample.reason, labels))
                for dimension in result.dimensions for sample in (*dimension.moving_up, *dimension.moving_down)}
        db.session.rollback()
    click.echo(f"{result.customers:,} customers, evaluated in {result.seconds:.2f} s")
    for dimension in result.dimensions:
        moves = dimension.moves()
        click.echo(f"\n{dimension.dimension}: {moves['up']:,} up, {moves['down']:,} down, {moves['new']:,} new, "
                   f"{dimension.unchanged:,} unchanged, {dimension.held:,} held by hysteresis, "
                   f"{dimension.unclassified} unclassified")
        for tier in dimension.tiers:
            click.echo(f"  {tier.tier:<20} {tier.customers:>10,}  {tier.customer_share:6.1%} of customers  "
                       f"{tier.value_share:6.1%} of value")
        moved = [(source, target, count) for source, row in dimension.matrix.items() for target, count in row.items()
                 if source != target and count]
        for source, target, count in sorted(moved, key=lambda move: -move[2]):  # the migration matrix's moves
            click.echo(f"  {source or '(none)':>20} -> {target:<20} {count:>10,}")
        for label, samples in (("up", dimension.moving_up), ("down", dimension.moving_down)):
            for sample in samples:
                click.echo(f"  {label:>4} {sample.external_id} {sample.name}: {sample.from_tier} -> "
                           f"{sample.to_tier}  {said[id(sample)]}")


@rules_cli.command("versions")
@TENANT
def rules_versions(tenant_slug: str) -> None:
    """List the published versions, newest first."""
    from tierwise.tenants.rules import versions

    with in_tenant(tenant_slug):
        for version in versions.published_versions():
            restored = f" (restores {version.restored_from})" if version.restored_from else ""
            published = version.published_at.astimezone(timezone.utc)  # as the CLI says every moment
            click.echo(f"{version.number:>4}  {published:%Y-%m-%d %H:%M} UTC  {version.published_by}"
                       f"{restored}  {version.note}")


@rules_cli.command("rollback")
@TENANT
@click.argument("number", type=int)
@fields_from(version="number")
def rules_rollback(tenant_slug: str, number: int) -> None:
    """Publish version NUMBER's rules again, as a new version."""
    from tierwise.tenants.rules import versions

    with in_tenant(tenant_slug):
        new_number = versions.roll_back(number, author="cli").number
        db.session.commit()
    click.echo(f"Published version {new_number} (the rules of version {number}). Run `tierwise retier --tenant "
               f"{tenant_slug}` to assign tiers with it.")


def _in_rule_order(run) -> dict[str, dict]:
    """A run's counts per dimension in the order its rule set gives the dimensions, as ``rules preview`` lists
    them (stored as JSON, the counts come back in PostgreSQL's order of keys: the shortest first)."""
    from tierwise.tenants.rules.versions import RuleSetVersion

    version = db.session.get(RuleSetVersion, (run.tenant_id, run.rule_version_id))
    codes = [dimension.code for dimension in version.parsed().dimensions]
    return dict(sorted(run.changes.items(), key=lambda item: codes.index(item[0]) if item[0] in codes else len(codes)))


@click.command("retier")
@with_appcontext
@TENANT
@click.option("--background", is_flag=True, help="Queue it (on RQ when TIERWISE_REDIS_URL is set).")
def retier_command(tenant_slug: str, background: bool) -> None:
    """Evaluate every customer under the rules in force and switch to the new tiers atomically."""
    from tierwise.platform.clock import local_time
    from tierwise.platform.tenant import tenant_timezone
    from tierwise.tenants.rules.retier import run_retier, start_retier
    from tierwise.tenants.rules.retier_launch import launch_retier

    with in_tenant(tenant_slug):
        if background:
            run = launch_retier(started_by="cli")  # as the web page and the API start one
            said = {"queued": "is queued", "running": "is running", "failed": f"failed: {run.message}",
                    # without TIERWISE_REDIS_URL the run is over before this line
                    "succeeded": "finished (it ran in this process: TIERWISE_REDIS_URL is not set)"}
            click.echo(f"Retier run {run.id} {said.get(run.status, 'is ' + run.status)}.")
            return
        run = start_retier(started_by="cli")
        db.session.commit()
        run_id = run.id
        run = run_retier(run_id)
        # the moment its windows end: where the data ends, which an old extract puts long before today
        click.echo(f"Retiered {run.customers:,} customers of {tenant_slug} on the data as of "
                   f"{local_time(run.as_of, tenant_timezone())} (run {run_id}).")
        for dimension, counts in _in_rule_order(run).items():
            click.echo(f"  {dimension}: {counts['up']:,} up, {counts['down']:,} down, {counts['new']:,} new, "
                       f"{counts['held']:,} held")
        if run.new_data is False:
            click.echo("  No new data since the previous retier: customers already held by hysteresis were not counted "
                       "another evaluation (they wait for new data: an import, a scoring run, newer activity).")
