"""What an operator sees when a ``tierwise`` command is given something wrong.

The README's promise: a bad input ends with one ``Error: ...`` line on stderr that
names the command's parameter as the operator typed it (``--as-of``, not the
API's ``as_of``), a non-zero exit status (2 for a usage error, as Click's own),
and nothing changed.  ``--help`` still prints the usage.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import make_settings
from tests.model_helpers import seed_history
from tests.rule_helpers import in_tenant
from tierwise.models.runs import ModelRun
from tierwise.platform.cli import cli
from tierwise.platform.db import db


def tierwise(runner, *args: str):
    return runner.invoke(cli, list(args))


def one_line_error(result) -> str:
    """The whole of stderr, which must be a single ``Error: ...`` line."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), result.stderr
    return lines[0]


def model_runs(app, world) -> int:
    with in_tenant(app, world):
        return db.session.scalar(sa.select(sa.func.count()).select_from(ModelRun))


@pytest.mark.parametrize("args, named", [
    (["train", "--tenant", "{tenant}", "--model", "nope"], "--model"),
    (["train", "--tenant", "{tenant}", "--model", "churn", "--as-of", "2026-13-45"], "--as-of"),
    (["train", "--tenant", "{tenant}", "--model", "churn", "--horizon-days", "abc"], "--horizon-days"),
    (["train", "--tenant", "{tenant}"], "--model"),
    (["train", "--model", "churn"], "--tenant"),
    (["train", "--tenant", "{tenant}", "--model", "churn", "--horizon", "90"], "--horizon"),
    (["export", "--tenant", "{tenant}"], "--out"),
    (["rules", "apply", "--tenant", "{tenant}", "/no/such/rules.yaml"], "PATH"),
    (["tenant", "create", "--name", "No slug", "--industry", "bank"], "SLUG"),
    (["trian", "--tenant", "{tenant}"], "trian"),
])
def test_a_usage_error_is_one_line_naming_the_parameter_with_status_2(app, runner, tenant_a, args, named):
    result = tierwise(runner, *(arg.format(tenant=tenant_a.slug) for arg in args))

    assert result.exit_code == 2, result.output
    assert named in one_line_error(result)
    assert "Usage:" not in result.output and "--help" not in result.output
    assert result.stdout == ""
    assert model_runs(app, tenant_a) == 0


def test_help_still_shows_the_usage(runner):
    helped = tierwise(runner, "train", "--help")
    assert helped.exit_code == 0, helped.output
    assert helped.stdout.startswith("Usage:") and "--horizon-days" in helped.stdout

    group = tierwise(runner, "tenant")  # a group without its command: its help, as Click shows it
    assert "Usage:" in group.output and "create" in group.output


@pytest.mark.parametrize("args, error", [
    (["train", "--model", "churn", "--horizon-days", "0"], "Error: --horizon-days: the horizon must be between"),
    (["train", "--model", "churn", "--as-of", "2030-01-01"], "Error: --as-of: 2030-01-01 00:00 UTC+8 is in the future"),
    (["export", "--out", "{folder}/all.csv", "--list", "nope"], "Error: --list: unknown list 'nope'"),
    (["export", "--out", "{folder}/all.pdf"], "Error: --out: "),
])
def test_a_refused_value_names_the_option_not_the_apis_field(app, runner, tenant_a, tmp_path, args, error):
    result = tierwise(runner, args[0], "--tenant", tenant_a.slug, *(a.format(folder=tmp_path) for a in args[1:]))

    assert result.exit_code == 2, result.output  # a bad value is a usage error
    assert one_line_error(result).startswith(error)
    assert "field '" not in result.stderr
    assert model_runs(app, tenant_a) == 0
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("target, error", [
    ("{folder}/named.csv", "is a folder: name the file to write"),  # a folder where the file should go
    ("/dev/null/all.csv", "cannot write '/dev/null/all.csv': "),  # a place no file can be written
])
def test_an_export_that_cannot_be_written_names_out_and_records_no_export(app, runner, tenant_a, tmp_path,
                                                                          target, error):
    from tierwise.tenants.exports import export_log

    (tmp_path / "named.csv").mkdir()
    result = tierwise(runner, "export", "--tenant", tenant_a.slug, "--out", target.format(folder=tmp_path))

    assert result.exit_code == 2, result.output
    message = one_line_error(result)
    assert message.startswith("Error: --out: ") and error in message, message
    assert "Traceback" not in result.output
    with in_tenant(app, tenant_a):
        assert export_log() == []  # the export's audit record went with the file it could not write


def test_generating_into_a_place_that_cannot_hold_a_folder_names_out(runner):
    result = tierwise(runner, "generate", "--industry", "bank", "--customers", "10", "--out", "/dev/null/trial")

    assert result.exit_code == 2, result.output
    assert one_line_error(result).startswith("Error: --out: cannot write to '/dev/null/trial': ")


def test_an_as_of_too_early_for_the_history_is_refused_naming_it_and_no_run_is_recorded(app, runner, tenant_a):
    seed_history(app, tenant_a, customers=30, months=6)  # activity from the start of 2025 to 2025-06-30

    early = tierwise(runner, "train", "--tenant", tenant_a.slug, "--model", "churn", "--as-of", "2025-03-01")

    assert early.exit_code == 2, early.output
    message = one_line_error(early)
    assert message.startswith("Error: --as-of: 2025-03-01 is too early"), message
    assert "a horizon of 90 days needs more than" in message and "the earliest as-of that works is 2025-" in message
    assert "horizon_days" not in message and "field '" not in message
    assert "Training run" not in early.stdout

    before = tierwise(runner, "train", "--tenant", tenant_a.slug, "--model", "churn", "--as-of", "2000-01-01")

    assert before.exit_code == 2, before.output
    assert one_line_error(before).startswith("Error: --as-of: 2000-01-01 is before the tenant's first activity")
    assert "Training run" not in before.stdout
    assert model_runs(app, tenant_a) == 0


# --- every command's refused values name the option (or argument, or variable) they came from ----------------------

CSV_WITH_AMOUNT = "customer,occurred_at,amount\nC1,2025-01-05,10\n"


@pytest.mark.parametrize("args, named", [
    (["import", "activity", "--tenant", "{tenant}", "{csv}", "--amount-column", "nosuch"], "--amount-column: "),
    (["import", "customers", "--tenant", "{tenant}", "{csv}", "--label-column", "nosuch"], "--label-column: "),
    (["import", "customers", "--tenant", "{tenant}", "{csv}", "--id-column", "nosuch"], "--id-column: "),
    (["import", "customers", "--tenant", "{tenant}", "{folder}/missing.csv"], "Error: PATH: File "),
    (["export", "--tenant", "{tenant}", "--out", "{folder}/all.csv", "--list", "nope"], "--list: "),
    (["tenant", "create", "new-one", "--name", "New", "--industry", "nope"], "--industry: "),
    (["user", "create", "--tenant", "{tenant}", "--email", "x@y.test", "--role", "boss"], "--role: "),
    (["user", "create", "--tenant", "{tenant}", "--email", "x@y.test", "--role", "analyst", "--branch", "NOPE"],
     "--branch: "),
    (["user", "create", "--tenant", "{tenant}", "--email", "x@y.test", "--role", "analyst"], "TIERWISE_PASSWORD: "),
    (["rules", "export", "--tenant", "{tenant}", "--version", "1", "--draft"], "--version and --draft"),
    (["import", "customers", "--tenant", "{tenant}", "{csv}", "--mapping", "nosuch"],
     "Error: --mapping: no mapping named 'nosuch' is saved for the Customers import"),
    (["import", "status", "--tenant", "{tenant}", "nope"], "Error: RUN_ID: no import run 'nope' in tenant"),
    (["token", "create", "--tenant", "{tenant}", "--email", "nobody@y.test"], "Error: --email: no active user"),
    (["rules", "export", "--tenant", "{tenant}", "--draft"], "Error: --draft: there is no draft to export"),
    (["rules", "preview", "--tenant", "{tenant}"], "Error: PATH: there is no draft to preview"),
    (["rules", "check", "--tenant", "{tenant}", "{yaml}"], "Error: PATH: line 2, column 1: not valid YAML"),
    (["train", "--tenant", "{tenant}", "--model", "bogus"], "Error: --model: 'bogus' is not one of"),  # Click's own
    (["train", "--tenant", "{tenant}", "--model", "churn", "--as-of", "yesterday"],
     "Error: --as-of: 'yesterday' is not a date"),
])
def test_every_commands_bad_value_is_a_usage_error_naming_its_option(runner, tenant_a, tmp_path, monkeypatch,
                                                                     args, named):
    monkeypatch.setenv("TIERWISE_PASSWORD", "short")
    (tmp_path / "data.csv").write_text(CSV_WITH_AMOUNT, encoding="utf-8")
    (tmp_path / "rules.yaml").write_text("dimensions: [value\n", encoding="utf-8")
    result = tierwise(runner, *(a.format(tenant=tenant_a.slug, csv=tmp_path / "data.csv", folder=tmp_path,
                                         yaml=tmp_path / "rules.yaml") for a in args))

    assert result.exit_code == 2, result.output
    message = one_line_error(result)
    assert named in message, message
    assert "field '" not in message


@pytest.mark.parametrize("args", [["retier"], ["score"], ["train", "--model", "churn"], ["rules", "export"],
                                  ["export", "--out", "{folder}/all.csv"]])
def test_an_unknown_tenant_is_a_usage_error_naming_tenant(runner, tmp_path, args):
    result = tierwise(runner, *(a.format(folder=tmp_path) for a in args), "--tenant", "no-such-tenant")

    assert result.exit_code == 2, result.output
    assert one_line_error(result) == "Error: --tenant: no tenant 'no-such-tenant'"
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_rule_set_version_names_the_option_or_argument_it_came_from(runner, tenant_a):
    exported = tierwise(runner, "rules", "export", "--tenant", tenant_a.slug, "--version", "99")
    rolled_back = tierwise(runner, "rules", "rollback", "--tenant", tenant_a.slug, "99")

    assert (exported.exit_code, rolled_back.exit_code) == (2, 2)
    assert one_line_error(exported) == "Error: --version: no rule set version 99"
    assert one_line_error(rolled_back) == "Error: NUMBER: no rule set version 99"


@pytest.mark.parametrize("command", ["check", "apply"])
@pytest.mark.parametrize("text, error", [
    ("dimensions: [value\n", "Error: PATH: line 2, column 1: not valid YAML"),
    ("- just\n- a list\n", "Error: PATH: the file must hold a rule set"),
])
def test_a_rule_file_that_is_not_a_rule_set_names_path_as_its_argument_is_called(runner, tenant_a, tmp_path,
                                                                                   command, text, error):
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    result = tierwise(runner, "rules", command, "--tenant", tenant_a.slug, str(path))

    assert result.exit_code == 2, result.output
    assert one_line_error(result).startswith(error)
    assert "field 'file'" not in result.stderr
    published = tierwise(runner, "rules", "versions", "--tenant", tenant_a.slug).stdout
    assert published.split()[0] == "1"  # only the industry template: nothing was published


def test_exporting_a_draft_that_does_not_exist_names_draft_and_prints_no_yaml(runner, tenant_a):
    result = tierwise(runner, "rules", "export", "--tenant", tenant_a.slug, "--draft")

    assert result.exit_code == 2, result.output
    assert one_line_error(result) == "Error: --draft: there is no draft to export"
    assert result.stdout == ""
    in_force = tierwise(runner, "rules", "export", "--tenant", tenant_a.slug)  # the version in force is still there
    assert in_force.exit_code == 0 and "dimensions:" in in_force.stdout


def test_an_unknown_worker_queue_names_queues(database_urls, tmp_path, redis_url):
    from tierwise.platform.app import create_app

    rq_app = create_app(settings=make_settings(database_urls, tmp_path, TIERWISE_REDIS_URL=redis_url))
    result = rq_app.test_cli_runner().invoke(cli, ["worker", "--queues", "short,nope", "--burst"])

    assert result.exit_code == 2, result.output
    assert one_line_error(result).startswith("Error: --queues: unknown queue 'nope' (choose one of: ")
