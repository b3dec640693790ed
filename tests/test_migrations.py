"""The models and the migrations describe the same schema, and that schema isolates tenants.

``alembic`` autogenerate must find nothing to do after ``upgrade`` on PostgreSQL
and on a brand-new SQLite file (the demo's database).  Every tenant-owned table
keys on ``tenant_id`` first, every unique constraint and every foreign key to
another tenant-owned table includes ``tenant_id`` (so a cross-tenant reference
cannot be stored), and on PostgreSQL row-level security is enabled and forced.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.conftest import make_settings
from tierwise.platform.db import db, tenant_scoped_tables
from tierwise.platform.rls import POLICY_NAME

TENANT_TABLES = {"users", "branches", "api_tokens", "audit_events"}


@pytest.fixture
def owner_engine(database_urls, app):
    """The migrated PostgreSQL test database, as the schema owner (``app`` ran the upgrade)."""
    engine = sa.create_engine(database_urls["owner"], poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def schema_differences(connection: sa.Connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, db.metadata)


def test_postgresql_schema_after_upgrade_matches_the_models(owner_engine):
    with owner_engine.connect() as connection:
        assert schema_differences(connection) == []


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
        db.engine.dispose()


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
