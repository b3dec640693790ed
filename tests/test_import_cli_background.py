"""``tierwise import ... --background`` and ``tierwise import status``: big files without holding a terminal.

Without Redis the run happens in-process before the command returns; with
``TIERWISE_REDIS_URL`` it waits on the ``long`` queue for a worker.  Either way
the command prints the run's id and how to follow it, and ``import status``
reports the run as the import page does.
"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.conftest import make_settings
from tierwise.platform import tenancy
from tierwise.platform.cli import cli
from tierwise.platform.db import db
from tierwise.tenants.customers import Customer
from tierwise.tenants.imports.mappings import ColumnMapping
from tierwise.tenants.imports.runs import ImportRun

RUN_ID = re.compile(r"Import run ([0-9a-f-]{36})")


def tierwise(runner, *args: str):
    return runner.invoke(cli, [str(arg) for arg in args])


def one_line_error(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def run_id_from(result) -> str:
    match = RUN_ID.search(result.stdout)
    assert match, result.stdout
    return match.group(1)


def customer_ids(app, world) -> set[str]:
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        return set(db.session.scalars(sa.select(Customer.external_id)))


def run_count(app, world) -> int:
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        return db.session.scalar(sa.select(sa.func.count()).select_from(ImportRun))


@pytest.fixture
def export(tmp_path):
    def write(text: str, name: str = "customers.csv"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


def test_a_background_import_without_redis_completes_and_status_reports_it(app, runner, tenant_a, export):
    path = export("external_id,name\n0001,张三\n0002,李四\n")
    started = tierwise(runner, "import", "customers", "--tenant", tenant_a.slug, path, "--background")
    assert started.exit_code == 0, started.stderr
    run_id = run_id_from(started)
    assert f"tierwise import status --tenant {tenant_a.slug} {run_id}" in started.stdout
    # over before the command returns: nothing to follow, and said so
    assert "It ran in this process (TIERWISE_REDIS_URL is not set)" in started.stdout
    assert "Follow it with" not in started.stdout
    assert customer_ids(app, tenant_a) == {"0001", "0002"}

    status = tierwise(runner, "import", "status", "--tenant", tenant_a.slug, run_id)
    assert status.exit_code == 0, status.stderr
    assert "Status: succeeded" in status.stdout
    assert "Rows read: 2 (" in status.stdout and "rows/s)" in status.stdout
    assert "Result: 2 new, 0 updated, 0 unchanged, 0 rejected" in status.stdout


def test_without_background_the_import_still_runs_in_this_process_and_records_no_run(app, runner, tenant_a, export):
    result = tierwise(runner, "import", "customers", "--tenant", tenant_a.slug, export("external_id,name\n7,A\n"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Imported customers.csv") and "Import run" not in result.stdout
    assert run_count(app, tenant_a) == 0 and customer_ids(app, tenant_a) == {"7"}


def test_a_background_import_on_rq_waits_for_a_worker_then_reports_success(database_urls, tmp_path, redis_url,
                                                                            tenant_a, export):
    from rq import Queue, SimpleWorker

    from tierwise.jobs.queue import redis_connection
    from tierwise.platform.app import create_app

    rq_app = create_app(settings=make_settings(database_urls, tmp_path, TIERWISE_REDIS_URL=redis_url))
    runner = rq_app.test_cli_runner()
    path = export("客户编号,客户名称\n0100,华东电网\n")
    started = tierwise(runner, "import", "customers", "--tenant", tenant_a.slug, path, "--background",
                       "--map", "external_id=客户编号", "--map", "name=客户名称", "--save-mapping", "grid-export")
    assert started.exit_code == 0, started.stderr
    run_id = run_id_from(started)
    assert f"{run_id} (customers, customers.csv): queued" in started.stdout

    waiting = tierwise(runner, "import", "status", "--tenant", tenant_a.slug, run_id)
    assert waiting.exit_code == 0 and "Status: queued" in waiting.stdout and "Waiting for a worker" in waiting.stdout
    assert customer_ids(rq_app, tenant_a) == set()

    with rq_app.app_context():
        connection = redis_connection()
        SimpleWorker([Queue("long", connection=connection)], connection=connection).work(burst=True)
    done = tierwise(runner, "import", "status", "--tenant", tenant_a.slug, run_id)
    assert done.exit_code == 0, done.stderr
    assert "Status: succeeded" in done.stdout and "Mapping saved as: grid-export" in done.stdout
    assert customer_ids(rq_app, tenant_a) == {"0100"}
    with rq_app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        saved = db.session.scalar(sa.select(ColumnMapping).where(ColumnMapping.name == "grid-export"))
        assert saved.mapping == {"external_id": "客户编号", "name": "客户名称"}


def test_a_failed_background_run_exits_non_zero_and_status_says_why(app, runner, tenant_a, export):
    path = export("external_id,name,status\n0003,A,active\n0004,B,zombie\n")
    started = tierwise(runner, "import", "customers", "--tenant", tenant_a.slug, path, "--background")
    assert started.exit_code != 0
    run_id = run_id_from(started)  # the id is printed even so, to look the run up
    assert "failed" in one_line_error(started) and "zombie" in started.stderr

    status = tierwise(runner, "import", "status", "--tenant", tenant_a.slug, run_id)
    assert status.exit_code != 0
    assert "Status: failed" in status.stdout
    assert "Rows read: 2\n" in status.stdout and "Rows with errors: 1\n" in status.stdout
    assert "row 3, column 'status', value 'zombie'" in status.stdout
    assert f"import run {run_id} failed" in one_line_error(status)
    assert customer_ids(app, tenant_a) == set()


def test_a_background_run_with_skip_invalid_lists_the_rejected_rows(app, runner, tenant_a, export):
    path = export("external_id,name,status\n0003,A,active\n0004,B,zombie\n")
    started = tierwise(runner, "import", "customers", "--tenant", tenant_a.slug, path, "--background",
                       "--skip-invalid")
    assert started.exit_code == 0, started.stderr
    status = tierwise(runner, "import", "status", "--tenant", tenant_a.slug, run_id_from(started))
    assert "1 new, 0 updated, 0 unchanged, 1 rejected" in status.stdout
    assert "row 3, column 'status', value 'zombie'" in status.stdout
    assert customer_ids(app, tenant_a) == {"0003"}


@pytest.mark.parametrize("run_id", ["0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b", "not-a-run-id"])
def test_status_of_an_unknown_run_id_names_it(runner, tenant_a, run_id):
    result = tierwise(runner, "import", "status", "--tenant", tenant_a.slug, run_id)
    assert result.exit_code == 2  # a usage error naming the argument, as for any value the command was given
    assert one_line_error(result) == f"Error: RUN_ID: no import run '{run_id}' in tenant '{tenant_a.slug}'"


def test_another_tenants_run_is_unknown_to_status(runner, tenant_a, tenant_b, export):
    started = tierwise(runner, "import", "customers", "--tenant", tenant_b.slug, export("external_id,name\n9,B\n"),
                       "--background")
    theirs = run_id_from(started)
    result = tierwise(runner, "import", "status", "--tenant", tenant_a.slug, theirs)
    assert result.exit_code == 2
    assert one_line_error(result) == f"Error: RUN_ID: no import run '{theirs}' in tenant '{tenant_a.slug}'"
    assert result.stdout == ""


@pytest.mark.parametrize("options,message", [
    (["--rejects", "out.csv"], "Error: --rejects: cannot be used with --background"),
    (["--mapping", "nope"], "Error: --mapping: no mapping named 'nope' is saved for the Customers import"),
    (["--save-mapping", "empty"], "Error: --save-mapping: there is no column mapping to save"),
])
def test_background_options_that_cannot_work_are_refused_before_any_run_starts(app, runner, tenant_a, export,
                                                                                options, message):
    result = tierwise(runner, "import", "customers", "--tenant", tenant_a.slug, export("external_id,name\n1,A\n"),
                      "--background", *options)
    assert result.exit_code == 2  # each is a usage error naming its option
    assert one_line_error(result).startswith(message)
    assert run_count(app, tenant_a) == 0 and customer_ids(app, tenant_a) == set()


def test_a_missing_file_is_refused_before_any_run_starts(app, runner, tenant_a, tmp_path):
    result = tierwise(runner, "import", "activity", "--tenant", tenant_a.slug, tmp_path / "missing.csv", "--background")
    assert result.exit_code == 2  # as for `rules check`: Click's own usage error on PATH
    assert one_line_error(result).startswith("Error: PATH: ") and "does not exist" in one_line_error(result)
    assert run_count(app, tenant_a) == 0
