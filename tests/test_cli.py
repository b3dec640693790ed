"""The ``tierwise`` command line, as an operator meets it.

Commands create tenants, users and API tokens and seed the demo; a mistake ends
with a non-zero exit status, a one-line ``Error: ...`` on stderr and nothing
written.  Most tests drive the click group in-process through ``runner``; one runs
the installed console script to prove the real entry point behaves the same.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, Browser
from tierwise.platform import tenancy
from tierwise.platform.cli import cli
from tierwise.platform.db import db
from tierwise.platform.tenant import Tenant, find_tenant
from tierwise.platform.users import find_user_by_email

INDUSTRIES = ("bank", "power_utility", "pharma_distributor", "other")


def new_slug() -> str:
    return f"cli-{secrets.token_hex(3)}"


def tierwise(runner, *args: str, env: dict | None = None):
    return runner.invoke(cli, list(args), env=env)


def one_line_error(result) -> str:
    """The whole of stderr, which must be a single ``Error: ...`` line."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), result.stderr
    return lines[0]


def tenant_row(app, slug: str) -> dict | None:
    with app.app_context():
        tenant = find_tenant(slug)
        return None if tenant is None else {"id": tenant.id, "name": tenant.name, "industry": tenant.industry,
                                            "settings": tenant.settings}


def tenant_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Tenant))


def user_exists(app, tenant_id: int, email: str) -> bool:
    with app.app_context(), tenancy.tenant_scope(tenant_id):
        return find_user_by_email(email) is not None


def signs_in(app, slug: str, email: str, password: str) -> bool:
    """A fresh browser signs in at ``/t/<slug>/login`` and its home page names the user."""
    browser = Browser(app.test_client())
    response = browser.submit(f"/t/{slug}/login", {"email": email, "password": password})
    if response.status_code != 302:
        return False
    return email in browser.get(f"/t/{slug}/").text


def test_tenant_create_makes_a_tenant_that_tenant_list_shows(app, runner):
    slug = new_slug()
    result = tierwise(runner, "tenant", "create", slug, "--name", "华东银行 East Bank", "--industry", "bank")
    assert result.exit_code == 0, result.stderr
    assert slug in result.stdout
    row = tenant_row(app, slug)
    assert row is not None
    assert (row["name"], row["industry"]) == ("华东银行 East Bank", "bank")

    listing = tierwise(runner, "tenant", "list")
    assert listing.exit_code == 0
    assert f"{slug}\tbank\t华东银行 East Bank" in listing.stdout.splitlines()


def test_a_tenant_outside_china_is_created_on_its_own_clock_and_an_unknown_zone_is_refused(app, runner):
    """A UK retailer's 8:26 is 8:26 in London: read on Shanghai's clock, every time moved eight hours."""
    slug = new_slug()
    created = tierwise(runner, "tenant", "create", slug, "--name", "UK Retail", "--industry", "other",
                       "--timezone", "Europe/London")
    assert created.exit_code == 0, created.stderr
    assert created.stdout.strip().endswith("times read on Europe/London")
    assert tenant_row(app, slug)["settings"] == {"timezone": "Europe/London"}

    other = new_slug()
    refused = tierwise(runner, "tenant", "create", other, "--name", "X", "--industry", "other", "--timezone", "London")
    assert refused.exit_code == 2
    assert one_line_error(refused) == ("Error: --timezone: unknown time zone 'London': use an IANA name such as "
                                       "Asia/Shanghai or UTC")
    assert tenant_row(app, other) is None


def test_duplicate_tenant_slug_exits_nonzero_and_changes_nothing(app, runner):
    slug = new_slug()
    assert tierwise(runner, "tenant", "create", slug, "--name", "First", "--industry", "bank").exit_code == 0
    before = tenant_count(app)

    result = tierwise(runner, "tenant", "create", slug, "--name", "Second", "--industry", "pharma_distributor")

    assert result.exit_code == 2  # a value the command was given: a usage error naming its argument
    assert one_line_error(result) == f"Error: SLUG: a tenant with slug '{slug}' already exists"
    assert tenant_row(app, slug)["name"] == "First"
    assert tenant_row(app, slug)["industry"] == "bank"
    assert tenant_count(app) == before


def test_unknown_industry_is_refused_with_the_allowed_list_and_no_tenant(app, runner):
    slug = new_slug()
    result = tierwise(runner, "tenant", "create", slug, "--name", "Mining Co", "--industry", "mining")

    assert result.exit_code != 0
    message = one_line_error(result)
    assert "mining" in message
    for industry in INDUSTRIES:
        assert industry in message
    assert tenant_row(app, slug) is None


@pytest.mark.parametrize("slug", ["Upper-Case", "under_score", "trailing-hyphen-", "sp ace", "x" * 41, "api"])
def test_invalid_tenant_slug_is_refused_and_nothing_is_created(app, runner, slug):
    before = tenant_count(app)
    result = tierwise(runner, "tenant", "create", slug, "--name", "Bad slug", "--industry", "bank")

    assert result.exit_code == 2  # a bad value: a usage error naming the argument
    assert one_line_error(result).startswith("Error: SLUG: ")
    assert tenant_count(app) == before


def test_user_create_with_password_from_env_can_sign_in(app, runner, tenant_a):
    email = f"rm.new@{tenant_a.slug}.test"
    result = tierwise(runner, "user", "create", "--tenant", tenant_a.slug, "--email", email,
                      "--role", "relationship_manager", env={"TIERWISE_PASSWORD": PASSWORD})

    assert result.exit_code == 0, result.stderr
    assert email in result.stdout
    assert signs_in(app, tenant_a.slug, email, PASSWORD)
    assert not signs_in(app, tenant_a.slug, email, "wrong-password-123")


def test_user_create_with_unknown_role_fails_cleanly(app, runner, tenant_a):
    email = f"wizard@{tenant_a.slug}.test"
    result = tierwise(runner, "user", "create", "--tenant", tenant_a.slug, "--email", email,
                      "--role", "wizard", env={"TIERWISE_PASSWORD": PASSWORD})

    assert result.exit_code != 0
    message = one_line_error(result)
    assert "wizard" in message
    assert "relationship_manager" in message
    assert not user_exists(app, tenant_a.tenant_id, email)


def test_user_create_finds_the_branch_whatever_the_case_of_its_code(app, runner, tenant_a):
    email = f"rm.north@{tenant_a.slug}.test"
    result = tierwise(runner, "user", "create", "--tenant", tenant_a.slug, "--email", email,
                      "--role", "relationship_manager", "--branch", "n", env={"TIERWISE_PASSWORD": PASSWORD})

    assert result.exit_code == 0, result.stderr
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        assert find_user_by_email(email).branch_id == tenant_a.branches["north"].id  # branch N


def test_user_create_with_an_unknown_branch_code_names_the_option_and_creates_no_one(app, runner, tenant_a):
    email = f"rm.nowhere@{tenant_a.slug}.test"
    result = tierwise(runner, "user", "create", "--tenant", tenant_a.slug, "--email", email,
                      "--role", "relationship_manager", "--branch", "nw", env={"TIERWISE_PASSWORD": PASSWORD})

    assert result.exit_code == 2
    assert one_line_error(result) == (f"Error: --branch: no branch with code 'nw' in tenant '{tenant_a.slug}' "
                                      f"(create it with `tierwise branch create --tenant {tenant_a.slug} --code nw "
                                      "--name ...`)")
    assert not user_exists(app, tenant_a.tenant_id, email)


def test_an_operator_with_only_the_command_line_creates_a_branch_and_then_its_rms(app, runner, tenant_a):
    created = tierwise(runner, "branch", "create", "--tenant", tenant_a.slug, "--code", "NJ01", "--name", "南京分行")
    assert created.exit_code == 0, created.stderr
    assert created.output.strip() == f"Created branch NJ01 (南京分行) in tenant {tenant_a.slug}"
    email = f"rm.nj@{tenant_a.slug}.test"
    rm = tierwise(runner, "user", "create", "--tenant", tenant_a.slug, "--email", email,
                  "--role", "relationship_manager", "--branch", "nj01", env={"TIERWISE_PASSWORD": PASSWORD})
    assert rm.exit_code == 0, rm.stderr
    listed = tierwise(runner, "branch", "list", "--tenant", tenant_a.slug)
    assert listed.output.splitlines() == ["N\tNorth", "NJ01\t南京分行", "S\tSouth"]

    again = tierwise(runner, "branch", "create", "--tenant", tenant_a.slug, "--code", "nj01", "--name", "Other")
    assert again.exit_code != 0
    assert one_line_error(again) == "Error: --code: a branch with code 'NJ01' already exists"


def test_user_create_in_unknown_tenant_fails_cleanly(runner):
    slug = new_slug()
    result = tierwise(runner, "user", "create", "--tenant", slug, "--email", "someone@example.test",
                      "--role", "analyst", env={"TIERWISE_PASSWORD": PASSWORD})

    assert result.exit_code != 0
    assert slug in one_line_error(result)


@pytest.mark.parametrize("args", [["schedules", "list"], ["rules", "export"], ["retier"],
                                  ["user", "create", "--email", "new.rm@x.test", "--role", "analyst"]])
def test_every_command_finds_its_tenant_whatever_the_case_of_the_slug_typed(runner, tenant_a, args):
    result = tierwise(runner, *args, "--tenant", tenant_a.slug.upper(), env={"TIERWISE_PASSWORD": PASSWORD})

    assert result.exit_code == 0, result.output


def test_a_token_for_a_tenant_typed_in_capitals_names_the_tenant_as_it_is_stored(runner, client, tenant_a):
    result = tierwise(runner, "token", "create", "--tenant", tenant_a.slug.upper(), "--email", tenant_a.email("rm1"))

    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith(f"tw_{tenant_a.slug}_")  # the API reads the tenant from the token: it must be the slug
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_switching_a_tenant_typed_in_capitals_says_its_slug_as_stored(runner, tenant_a):
    off = tierwise(runner, "tenant", "deactivate", tenant_a.slug.upper())
    on = tierwise(runner, "tenant", "activate", tenant_a.slug.upper())

    assert (off.exit_code, on.exit_code) == (0, 0), off.output + on.output
    assert on.stdout == f"Switched on tenant {tenant_a.slug}.\n"
    assert f"`tierwise tenant activate {tenant_a.slug}`" in off.stdout


def test_token_create_prints_a_token_that_authenticates_as_the_user(runner, client, tenant_a):
    result = tierwise(runner, "token", "create", "--tenant", tenant_a.slug, "--email", tenant_a.email("rm1"))

    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith(f"tw_{tenant_a.slug}_")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json["user"]["email"] == tenant_a.email("rm1")
    assert me.json["user"]["role"] == "relationship_manager"
    assert me.json["tenant"]["slug"] == tenant_a.slug


def test_token_create_for_unknown_user_fails_cleanly(runner, tenant_a):
    result = tierwise(runner, "token", "create", "--tenant", tenant_a.slug, "--email", "nobody@example.test")

    assert result.exit_code == 2  # a bad value: a usage error naming the option
    assert one_line_error(result) == f"Error: --email: no active user 'nobody@example.test' in tenant '{tenant_a.slug}'"
    assert "tw_" not in result.stdout


def test_help_shows_tierwises_commands_and_options_not_flasks(runner):
    result = tierwise(runner, "--help")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: tierwise [OPTIONS] COMMAND [ARGS]...")
    options = result.stdout.split("Options:")[1].split("Commands:")[0]
    assert options.split() == ["--version", "Show", "Tierwise's", "version", "and", "exit.",
                               "--help", "Show", "this", "message", "and", "exit."]
    commands = {line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.strip()}
    assert {"tenant", "user", "import", "rules", "train", "serve", "worker", "db"} <= commands  # db: Flask-Migrate's
    assert not commands & {"run", "shell", "routes"}


@pytest.mark.parametrize("option", ["--app", "--env-file", "--debug"])
def test_flasks_own_options_are_not_tierwises(runner, option):
    result = tierwise(runner, option, "tierwise.platform.app", "tenant", "list")

    assert result.exit_code == 2
    assert one_line_error(result) == f"Error: No such option '{option}'."


@pytest.mark.parametrize("command", ["run", "shell", "routes"])
def test_flasks_default_commands_are_not_tierwises(runner, command):
    result = tierwise(runner, command)

    assert result.exit_code == 2
    assert one_line_error(result).startswith(f"Error: No such command '{command}'.")  # routes: "Did you mean 'rules'?"


def test_version_is_tierwises_installed_version(runner):
    result = tierwise(runner, "--version")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"tierwise {version('tierwise')}\n"  # the distribution pyproject.toml names
    assert "Flask" not in result.stdout and "Python" not in result.stdout


def test_schedules_list_says_when_a_tenant_has_none(runner, tenant_a):
    result = tierwise(runner, "schedules", "list", "--tenant", tenant_a.slug)

    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"No schedules in {tenant_a.slug}.\n"


def demo_credentials(stdout: str) -> list[tuple[str, str, str]]:
    """(tenant slug, email, password) for every tenant user the demo printed."""
    rows = []
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0].startswith("demo-"):
            rows.append((parts[0], parts[1], parts[3]))
    return rows


def test_demo_prints_users_who_can_sign_in_even_when_run_twice(app, runner):
    first = tierwise(runner, "demo", "--scale", "0.01")
    assert first.exit_code == 0, first.stderr
    assert "operator@tierwise.demo" in first.stdout

    second = tierwise(runner, "demo", "--password", "second-demo-password")
    assert second.exit_code == 0, second.stderr
    credentials = demo_credentials(second.stdout)

    assert {slug for slug, _, _ in credentials} == {"demo-bank", "demo-power", "demo-pharma"}
    assert len(credentials) == 9
    for slug, email, password in credentials:
        assert password == "second-demo-password"
        assert signs_in(app, slug, email, password), f"{email} cannot sign in to {slug}"
    assert not signs_in(app, "demo-bank", "admin@bank.demo", "tierwise-demo")


def test_console_script_reports_a_duplicate_tenant_on_one_stderr_line(database_urls, tmp_path):
    script = Path(sys.executable).parent / "tierwise"
    env = {key: value for key, value in os.environ.items() if not key.startswith("TIERWISE_")}
    env.update({
        "TIERWISE_ENV": "test",
        "TIERWISE_DATABASE_URL": database_urls["app"],
        "TIERWISE_MIGRATION_DATABASE_URL": database_urls["owner"],
        "TIERWISE_SECRET_KEY": "subprocess-secret-key-that-is-long-enough-0123456789",
        "TIERWISE_INSTANCE_PATH": str(tmp_path),
    })
    slug = new_slug()
    command = [str(script), "tenant", "create", slug, "--name", "Script Co", "--industry", "other"]

    created = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, created.stderr
    duplicate = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    assert duplicate.returncode != 0
    lines = duplicate.stderr.strip().splitlines()
    assert len(lines) == 1, duplicate.stderr
    assert lines[0].startswith("Error: ") and slug in lines[0]
    assert duplicate.stdout == ""

    versioned = subprocess.run([str(script), "--version"], env=env, capture_output=True, text=True, timeout=120)
    assert (versioned.returncode, versioned.stdout) == (0, f"tierwise {version('tierwise')}\n")


def test_demo_seeds_customer_data_through_the_import_path(app, runner):
    import sqlalchemy as sa

    from tierwise.models.runs import ModelRun
    from tierwise.platform import tenancy
    from tierwise.platform.db import db
    from tierwise.platform.tenant import find_tenant
    from tierwise.tenants.activity import Activity
    from tierwise.tenants.customers import Customer

    tierwise(runner, "demo", "--scale", "0.01")
    with app.app_context():
        for slug in ("demo-bank", "demo-power", "demo-pharma"):
            with tenancy.tenant_scope(find_tenant(slug).id):
                customers = db.session.scalar(sa.select(sa.func.count()).select_from(Customer))
                activity = db.session.scalar(sa.select(sa.func.count()).select_from(Activity))
                assert customers >= 50 and activity > customers * 10, slug
                # the models are trained and scored through recorded runs, as the model page shows them
                runs = {(r.job, r.model): r for r in db.session.scalars(sa.select(ModelRun))}
                assert {("train", "churn"), ("train", "value")} <= set(runs), slug
                assert all(r.started_by == "demo" and r.status in ("succeeded", "failed") for r in runs.values())
                if any(runs[("train", m)].status == "succeeded" for m in ("churn", "value")):
                    assert runs[("score", "")].status == "succeeded" and runs[("score", "")].summary["drift"], slug
