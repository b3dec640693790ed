"""PostgreSQL row-level security: the second wall behind the ORM's tenant filter.

Each tenant-owned table gets a policy comparing ``tenant_id`` with the
transaction's ``tierwise.tenant_id`` setting (see ``tenancy``); with no setting
the comparison is NULL and no row is visible or writable.  ``FORCE`` applies the
policy to the table owner too.  Superusers and roles with BYPASSRLS still skip
it, so the app must connect as a role that is neither and owns nothing:
``check_app_role`` refuses to run otherwise in production.
"""
from __future__ import annotations

import sqlalchemy as sa

from tierwise.errors import ConfigurationError
from tierwise.platform.tenancy import RLS_SETTING

POLICY_NAME = "tenant_isolation"
TENANT_MATCH = f"tenant_id = NULLIF(current_setting('{RLS_SETTING}', true), '')::integer"
# Platform tables the app may read and write, and tables it may only append to.
PLATFORM_TABLES = ("tenants", "operators")
APPEND_ONLY_TABLES = ("audit_events", "operator_events")


def enable_rls_sql(table: str) -> list[str]:
    """The statements that put ``table`` behind the tenant policy (for migrations)."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {POLICY_NAME} ON {table} USING ({TENANT_MATCH}) WITH CHECK ({TENANT_MATCH})",
    ]


def grant_app_role(connection: sa.Connection, role: str) -> None:
    """Give the application role data access, and nothing more, to every table.

    Idempotent; run after every upgrade.  Append-only tables get SELECT and
    INSERT only, so even a compromised app cannot rewrite the audit trail.
    """
    if not connection.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar():
        raise ConfigurationError(
            f"database role '{role}' (TIERWISE_DB_APP_ROLE) does not exist: create it (see README: Database roles) "
            "or set TIERWISE_DB_APP_ROLE to the role the app connects as")
    quoted = connection.dialect.identifier_preparer.quote(role)
    tables = connection.execute(sa.text(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
    )).scalars().all()
    schema = connection.dialect.identifier_preparer.quote(connection.execute(sa.text("SELECT current_schema()")).scalar())
    connection.execute(sa.text(f"GRANT USAGE ON SCHEMA {schema} TO {quoted}"))
    for table in tables:
        privileges = "SELECT, INSERT" if table in APPEND_ONLY_TABLES else "SELECT, INSERT, UPDATE, DELETE"
        connection.execute(sa.text(f"REVOKE ALL ON {table} FROM {quoted}"))
        connection.execute(sa.text(f"GRANT {privileges} ON {table} TO {quoted}"))
    connection.execute(sa.text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {quoted}"))


def app_role_problems(connection: sa.Connection) -> list[str]:
    """Why row-level security would not hold for this connection's role (empty if it holds)."""
    row = connection.execute(sa.text(
        "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )).one()
    problems = []
    if row.rolsuper:
        problems.append(f"role '{row.rolname}' is a superuser")
    if row.rolbypassrls:
        problems.append(f"role '{row.rolname}' has BYPASSRLS")
    owned = connection.execute(sa.text(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tableowner = current_user"
    )).scalars().all()
    if owned:
        problems.append(f"role '{row.rolname}' owns tables ({', '.join(sorted(owned)[:5])})")
    return problems


def check_app_role(engine: sa.Engine) -> None:
    """Refuse to serve tenant data through a connection that row-level security does not bind."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as connection:
        problems = app_role_problems(connection)
    if problems:
        raise ConfigurationError(
            "row-level security would not apply: " + "; ".join(problems)
            + ". Connect TIERWISE_DATABASE_URL as a role that owns nothing (see README: Database roles)."
        )
