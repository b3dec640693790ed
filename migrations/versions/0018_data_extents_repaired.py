"""Data extents repaired: each tenant's latest activity and interaction, as the history holds them.

Migration 0013 backfilled the extents reading the history as the schema owner,
whom the history's forced row-level security binds: on a database owned, as in
production, by a role that is no superuser, it read no rows and kept no extent.
Reads fell back to ``max(occurred_at)``, but the next import then kept its own
file's latest moment as the tenant's, however much later the history runs (a
corrected file of March would end the tenant's year in March).  Each extent is
set again from the history, keeping the later of what is kept and what is held.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 11:10:00.000000
"""
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

TABLES = ('activity', 'interactions', 'data_extents')


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:  # lifted to read every tenant's history and write every tenant's extent
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    for source in ('activity', 'interactions'):
        # "WHERE true": SQLite would read ON CONFLICT as a join's ON after the SELECT's FROM
        op.execute(f"""
            INSERT INTO data_extents (tenant_id, source, latest_at)
            SELECT tenant_id, '{source}', max(occurred_at) FROM {source} WHERE true GROUP BY tenant_id
            ON CONFLICT (tenant_id, source) DO UPDATE SET latest_at = CASE
                WHEN excluded.latest_at > data_extents.latest_at THEN excluded.latest_at
                ELSE data_extents.latest_at END""")
    if postgresql:
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def downgrade():
    pass  # the extents stay right: nothing to undo
