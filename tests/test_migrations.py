"""The models and the migrations describe the same schema, and that schema isolates tenants.

``alembic`` autogenerate must find nothing to do after ``upgrade`` on PostgreSQL
and on a brand-new SQLite file (the demo's database).  Every tenant-owned table
keys on ``tenant_id`` first, every unique constraint and every foreign key to
another tenant-owned table includes ``tenant_id`` (so a cross-tenant reference
cannot be stored), and on PostgreSQL row-level security is enabled and forced.
An upgrade that would fail on the data a tenant already holds stops first and
says what to fix.
"""
from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.conftest import ADMIN_URL, _psycopg, make_settings
from tierwise.platform.branches import CODE_INDEX
from tierwise.platform.db import db, tenant_scoped_tables
from tierwise.platform.rls import POLICY_NAME
from tierwise.platform.tenancy import RLS_SETTING

TENANT_TABLES = {"users", "branches", "api_tokens", "audit_events"}


@pytest.fixture
def owner_engine(database_urls, app):
    """The migrated PostgreSQL test database, as the schema owner (``app`` ran the upgrade)."""
    engine = sa.create_engine(database_urls["owner"], poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


CONFIGURATION_TABLES = ("field_definitions", "rule_set_versions")  # migration 0020's triggers


def schema_differences(connection: sa.Connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, db.metadata)


def test_postgresql_schema_after_upgrade_matches_the_models(owner_engine):
    with owner_engine.connect() as connection:
        assert schema_differences(connection) == []


# SQLite's reflection skips expression indexes (and says so): the comparison leaves the branch code index out,
# so the test looks for it itself.
@pytest.mark.filterwarnings(f"ignore:Skipped unsupported reflection of expression-based index {CODE_INDEX}")
@pytest.mark.filterwarnings(f"ignore:autogenerate skipping metadata-specified expression-based index '{CODE_INDEX}'")
def test_fresh_sqlite_database_upgrades_to_exactly_the_models(database_urls, tmp_path):
    from flask_migrate import upgrade

    from tierwise.platform.app import create_app

    url = f"sqlite:///{tmp_path}/t.db"
    settings = make_settings(database_urls, tmp_path, TIERWISE_DATABASE_URL=url, TIERWISE_MIGRATION_DATABASE_URL=url)
    sqlite_app = create_app(settings=settings)
    with sqlite_app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            assert connection.dialect.name == "sqlite"
            tables = set(sa.inspect(connection).get_table_names())
            assert {"tenants", "operators", *TENANT_TABLES} <= tables
            assert schema_differences(connection) == []
            assert "lower(code)" in connection.execute(sa.text(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name"), {"name": CODE_INDEX}).scalar()
            # what keeps the configuration version current (a batch rebuild of these tables would drop them)
            triggers = set(connection.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                                              ).scalars())
            assert {f"{table}_config_{event}" for table in CONFIGURATION_TABLES
                    for event in ("inserted", "updated", "deleted")} <= triggers
        db.engine.dispose()


def test_every_change_to_a_tenants_fields_or_rule_sets_renews_its_configuration_version(owner_engine):
    with owner_engine.connect() as connection:
        renewing = set(connection.execute(sa.text(
            "SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname LIKE '%_renew_config' AND tgenabled = 'O'"
        )).scalars())
    assert renewing == set(CONFIGURATION_TABLES)


def test_tenant_scoped_tables_are_the_tables_with_tenant_data():
    scoped = {table.name for table in tenant_scoped_tables()}
    assert scoped >= TENANT_TABLES
    with_tenant_column = {table.name for table in db.metadata.tables.values() if "tenant_id" in table.c}
    assert with_tenant_column == scoped


def _reflected(owner_engine) -> sa.MetaData:
    metadata = sa.MetaData()
    metadata.reflect(bind=owner_engine, only=[table.name for table in tenant_scoped_tables()])
    return metadata


@pytest.fixture(params=["models", "postgresql"])
def tenant_tables(request) -> list[sa.Table]:
    """The tenant-owned tables as the models declare them, and as PostgreSQL actually has them."""
    if request.param == "models":
        return tenant_scoped_tables()
    metadata = _reflected(request.getfixturevalue("owner_engine"))
    return [metadata.tables[table.name] for table in tenant_scoped_tables()]


def test_tenant_id_leads_every_tenant_primary_key(tenant_tables):
    for table in tenant_tables:
        key = [column.name for column in table.primary_key.columns]
        assert key[0] == "tenant_id", f"{table.name} primary key is {key}"
        assert len(key) > 1, f"{table.name} primary key is only tenant_id"


def test_every_unique_constraint_includes_tenant_id(tenant_tables):
    checked = 0
    for table in tenant_tables:
        uniques = [c for c in table.constraints if isinstance(c, sa.UniqueConstraint)]
        uniques += [index for index in table.indexes if index.unique]
        for unique in uniques:
            columns = [column.name for column in unique.columns]
            assert "tenant_id" in columns, f"{table.name}: unique {columns} lacks tenant_id"
            checked += 1
    assert checked >= 3  # users.email, branches.code, api_tokens.token_hash at least


def test_every_foreign_key_between_tenant_tables_includes_tenant_id(tenant_tables):
    names = {table.name for table in tenant_tables}
    checked = 0
    for table in tenant_tables:
        for fk in table.foreign_key_constraints:
            if fk.referred_table.name not in names:
                continue
            pairs = {element.parent.name: element.column.name for element in fk.elements}
            assert pairs.get("tenant_id") == "tenant_id", (
                f"{table.name} -> {fk.referred_table.name} {pairs} does not match tenant_id to tenant_id")
            checked += 1
    assert checked >= 2  # users -> branches, api_tokens -> users at least


def test_row_level_security_is_enabled_and_forced_on_every_tenant_table(owner_engine):
    names = [table.name for table in tenant_scoped_tables()]
    with owner_engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace AND relname = ANY(:names)"
        ), {"names": names}).all()
        policies = set(connection.execute(sa.text(
            "SELECT tablename FROM pg_policies WHERE schemaname = 'public' AND policyname = :policy"
        ), {"policy": POLICY_NAME}).scalars())

    assert sorted(row.relname for row in rows) == sorted(names)
    for row in rows:
        assert row.relrowsecurity, f"{row.relname}: row-level security is not enabled"
        assert row.relforcerowsecurity, f"{row.relname}: row-level security is not forced"
    assert set(names) <= policies, f"tables without the {POLICY_NAME} policy: {set(names) - policies}"


# --- upgrades that stop on a tenant's data ---------------------------------------------------------------------------

@pytest.fixture
def sqlite_at(database_urls, tmp_path):
    """Factory: an app on a fresh SQLite file upgraded to ``revision`` (migrations run as the app)."""
    from flask_migrate import upgrade

    from tierwise.platform.app import create_app

    def at(revision: str):
        url = f"sqlite:///{tmp_path}/old.db"
        old = create_app(settings=make_settings(database_urls, tmp_path, TIERWISE_DATABASE_URL=url,
                                                TIERWISE_MIGRATION_DATABASE_URL=url))
        with old.app_context():
            upgrade(revision=revision)
        return old

    return at


@pytest.fixture
def postgresql_at(database_urls, tmp_path):
    """Factory: an app on a fresh PostgreSQL database upgraded to ``revision``, owned, as in production, by a
    role that is no superuser (the tenant tables' forced row-level security binds it too)."""
    from flask_migrate import upgrade

    from tierwise.platform.app import create_app

    admin = sa.create_engine(_psycopg(ADMIN_URL), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    owner, name = f"tierwise_owner_{secrets.token_hex(4)}", f"tierwise_old_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE ROLE {owner} LOGIN NOSUPERUSER NOBYPASSRLS"))
        connection.execute(sa.text(f"CREATE DATABASE {name} OWNER {owner}"))
    owner_url = sa.engine.make_url(database_urls["owner"]).set(database=name, username=owner)
    urls = {"owner": owner_url.render_as_string(hide_password=False),
            "app": owner_url.set(username="tierwise_app").render_as_string(hide_password=False)}

    def at(revision: str):
        old = create_app(settings=make_settings(urls, tmp_path))
        with old.app_context():
            upgrade(revision=revision)
        return old

    yield at
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(sa.text(f"DROP ROLE IF EXISTS {owner}"))
    admin.dispose()


@contextmanager
def as_schema_owner(old_app, slug: str | None = None) -> Iterator[sa.Connection]:
    """A transaction as the schema owner (who writes data from before an upgrade), acting for tenant ``slug``."""
    engine = sa.create_engine(old_app.config["TIERWISE"].migration_database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            if slug and connection.dialect.name == "postgresql":  # the owner is bound by row-level security too
                tenant_id = connection.execute(sa.text("SELECT id FROM tenants WHERE slug = :slug"), {"slug": slug})
                connection.execute(sa.text("SELECT set_config(:name, :value, true)"),
                                   {"name": RLS_SETTING, "value": str(tenant_id.scalar_one())})
            yield connection
    finally:
        engine.dispose()


def add_tenant_with_branches(old_app, slug: str, codes: list[str]) -> None:
    tenants, branches = db.metadata.tables["tenants"], db.metadata.tables["branches"]
    with as_schema_owner(old_app) as connection:
        # The columns every revision has (the model's later ones, config_version, are not there yet)
        older = sa.table("tenants", *(sa.column(c.name, c.type) for c in tenants.c if c.name != "config_version"))
        connection.execute(older.insert().values(slug=slug, name=slug, industry="bank", settings={}, active=True,
                                                 created_at=datetime.now(timezone.utc)))

    with as_schema_owner(old_app, slug) as connection:
        tenant_id = connection.execute(sa.select(tenants.c.id).where(tenants.c.slug == slug)).scalar_one()
        connection.execute(branches.insert(), [{"tenant_id": tenant_id, "id": uuid.uuid4(), "code": code,
                                                "name": code} for code in codes])


def upgraded(old_app, capsys) -> str:
    """Upgrade to the newest revision as ``tierwise db upgrade`` does; the errors it wrote, if any."""
    from flask_migrate import upgrade

    capsys.readouterr()
    with old_app.app_context():
        try:
            upgrade()
        except SystemExit as stopped:  # Flask-Migrate writes the error and exits 1, as the command does
            assert stopped.code == 1
    return "\n".join(line for line in capsys.readouterr().err.splitlines() if "ERROR" in line)


def schema_facts(old_app) -> tuple[str, bool, bool]:
    """(revision, whether the branch code index exists, whether the branches' row-level security is forced)."""
    with as_schema_owner(old_app) as connection:
        revision = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        if connection.dialect.name == "postgresql":
            indexed = connection.execute(sa.text("SELECT 1 FROM pg_indexes WHERE indexname = :name"),
                                         {"name": CODE_INDEX}).scalar()
            forced = connection.execute(sa.text(
                "SELECT relforcerowsecurity FROM pg_class WHERE relname = 'branches'")).scalar()
        else:
            indexed = connection.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name = :name"),
                                         {"name": CODE_INDEX}).scalar()
            forced = True  # no row-level security to lift
    return revision, bool(indexed), forced


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_branch_codes_differing_only_in_case_stop_the_upgrade_naming_the_tenant_and_the_codes(
        request, capsys, database):
    old_app = request.getfixturevalue(f"{database}_at")("0016")
    add_tenant_with_branches(old_app, "east-grid", ["SH01", "BJ", "sh01", "Bj", "GZ"])
    add_tenant_with_branches(old_app, "west-grid", ["SH01", "GZ"])  # the same codes in another tenant are fine

    refused = upgraded(old_app, capsys)

    assert "Error: branch codes must be unique in a tenant ignoring case, and these differ only in case: " \
           "tenant 'east-grid': BJ / Bj, SH01 / sh01. Give each of these branches a code of its own" in refused
    assert "west-grid" not in refused and "IntegrityError" not in refused
    assert schema_facts(old_app) == ("0016", False, True)  # nothing changed, row-level security forced again

    with as_schema_owner(old_app, "east-grid") as connection:  # the operator fixes them, as the message asks
        connection.execute(sa.text("UPDATE branches SET code = code || '-2' WHERE code IN ('sh01', 'Bj')"))
    assert upgraded(old_app, capsys) == ""
    assert schema_facts(old_app)[1:] == (True, True)  # upgraded past 0017: the index made, still forced


def test_the_data_extents_are_backfilled_from_every_tenants_history_by_an_owner_bound_by_row_level_security(
        postgresql_at, capsys):
    """Migration 0013 reads the activity as the schema owner, whom the history's forced row-level security binds."""
    old_app = postgresql_at("0012")
    add_tenant_with_branches(old_app, "east-grid", ["E1"])
    customers = db.metadata.tables["customers"]
    with as_schema_owner(old_app, "east-grid") as connection:
        tenant_id = connection.execute(sa.text("SELECT id FROM tenants WHERE slug = 'east-grid'")).scalar_one()
        customer_id = uuid.uuid4()
        now = datetime.now(timezone.utc)
        connection.execute(customers.insert().values(
            tenant_id=tenant_id, id=customer_id, external_id="C1", name="C1", party_type="individual",
            status="active", attributes={}, created_at=now, updated_at=now))
        connection.execute(sa.text("INSERT INTO activity (tenant_id, customer_id, occurred_at, category, ordinal, "
                                   "amount) VALUES (:t, :c, '2026-11-15 00:00+00', '', 0, 10)"),
                           {"t": tenant_id, "c": customer_id})
    assert upgraded(old_app, capsys) == ""
    with as_schema_owner(old_app, "east-grid") as connection:
        kept = connection.execute(sa.text("SELECT source, latest_at FROM data_extents")).all()
        forced = connection.execute(sa.text("SELECT relname FROM pg_class WHERE relforcerowsecurity AND relname IN "
                                            "('activity', 'interactions')")).scalars().all()
    assert [(source, latest.isoformat()) for source, latest in kept] == [("activity", "2026-11-15T00:00:00+00:00")]
    assert sorted(forced) == ["activity", "interactions"]  # forced again


def test_extents_an_earlier_0013_left_empty_or_behind_are_set_again_from_the_history(postgresql_at, capsys):
    """A database 0013 reached before its fix kept no extent; an import since kept only its own file's latest."""
    old_app = postgresql_at("0017")
    add_tenant_with_branches(old_app, "east-grid", ["E1"])
    add_tenant_with_branches(old_app, "west-grid", ["W1"])
    customers = db.metadata.tables["customers"]
    with as_schema_owner(old_app) as connection:
        ids = dict(connection.execute(sa.text("SELECT slug, id FROM tenants")).all())
    for slug, latest in (("east-grid", "2026-11-15"), ("west-grid", "2026-10-15")):
        with as_schema_owner(old_app, slug) as connection:
            customer_id, now = uuid.uuid4(), datetime.now(timezone.utc)
            connection.execute(customers.insert().values(
                tenant_id=ids[slug], id=customer_id, external_id="C1", name="C1", party_type="individual",
                status="active", attributes={}, created_at=now, updated_at=now))
            for day in ("2026-03-15", latest):
                connection.execute(sa.text("INSERT INTO activity (tenant_id, customer_id, occurred_at, category, "
                                           "ordinal, amount) VALUES (:t, :c, :at, '', 0, 10)"),
                                   {"t": ids[slug], "c": customer_id, "at": f"{day} 00:00+00"})
            if slug == "west-grid":  # a corrected March file imported since: its own latest moment kept
                connection.execute(sa.text("INSERT INTO data_extents VALUES (:t, 'activity', '2026-03-15 00:00+00')"),
                                   {"t": ids[slug]})
    assert upgraded(old_app, capsys) == ""
    for slug, latest in (("east-grid", "2026-11-15"), ("west-grid", "2026-10-15")):
        with as_schema_owner(old_app, slug) as connection:
            kept = connection.execute(sa.text("SELECT source, latest_at FROM data_extents")).all()
        assert [(source, at.date().isoformat()) for source, at in kept] == [("activity", latest)], slug
