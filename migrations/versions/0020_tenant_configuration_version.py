"""Each tenant's configuration version: renewed by triggers whenever its fields or rule sets change.

A list page names fields and tiers by their labels, from the tenant's field
registry and the rule set in force: two reads per page that almost never give a
new answer.  ``tenants.config_version`` changes with every insert, update or
delete of a tenant's ``field_definitions`` or ``rule_set_versions`` row,
whichever code makes it (the ORM, an import, a migration, psql), so a process
may keep what it read under the version the request's tenant row carries
(``tierwise.platform.configuration``) and read it again only when it moved.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 19:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

TABLES = ('field_definitions', 'rule_set_versions')
POSTGRESQL_FUNCTION = """
CREATE FUNCTION renew_tenant_config_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE tenants SET config_version = gen_random_uuid() WHERE id = OLD.tenant_id;
    ELSE
        UPDATE tenants SET config_version = gen_random_uuid() WHERE id = NEW.tenant_id;
        IF TG_OP = 'UPDATE' AND OLD.tenant_id IS DISTINCT FROM NEW.tenant_id THEN
            UPDATE tenants SET config_version = gen_random_uuid() WHERE id = OLD.tenant_id;
        END IF;
    END IF;
    RETURN NULL;
END $$
"""
# SQLAlchemy stores UUIDs on SQLite as 32 hex digits.
_SQLITE_RENEW = "UPDATE tenants SET config_version = lower(hex(randomblob(16))) WHERE id = {row}.tenant_id;"


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    # SQLite adds no column with a computed default: its tenants get theirs from the update below,
    # new ones from the model.  A tenant without one is simply read every time.
    default = sa.text("gen_random_uuid()") if postgresql else None
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('config_version', sa.Uuid(), nullable=True, server_default=default))
    if postgresql:
        op.execute(POSTGRESQL_FUNCTION)
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_renew_config AFTER INSERT OR UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION renew_tenant_config_version()")
    else:
        op.execute("UPDATE tenants SET config_version = lower(hex(randomblob(16)))")
        # A later batch migration that rebuilds one of these tables on SQLite must create them again.
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_config_inserted AFTER INSERT ON {table} "
                       f"BEGIN {_SQLITE_RENEW.format(row='NEW')} END")
            op.execute(f"CREATE TRIGGER {table}_config_updated AFTER UPDATE ON {table} "
                       f"BEGIN {_SQLITE_RENEW.format(row='NEW')} {_SQLITE_RENEW.format(row='OLD')} END")
            op.execute(f"CREATE TRIGGER {table}_config_deleted AFTER DELETE ON {table} "
                       f"BEGIN {_SQLITE_RENEW.format(row='OLD')} END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_renew_config ON {table}")
        op.execute("DROP FUNCTION renew_tenant_config_version()")
    else:
        for table in TABLES:
            for event in ("inserted", "updated", "deleted"):
                op.execute(f"DROP TRIGGER {table}_config_{event}")
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('config_version')
