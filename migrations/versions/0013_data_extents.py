"""Data extents: the latest moment of each tenant's activity and interactions, kept by imports.

Dashboards window the activity up to its latest moment; ``max(occurred_at)`` had
no index to use and read every tenant's activity.  Backfilled from what is
stored (one pass over each table, at upgrade time).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 11:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

from tierwise.platform.rls import enable_rls_sql

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('data_extents',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('latest_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('activity', 'interactions')", name=op.f('ck_data_extents_source')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_data_extents_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('tenant_id', 'source', name=op.f('pk_data_extents')),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    for source in ('activity', 'interactions'):
        if postgresql:  # the schema owner is bound by the history's forced row-level security: lifted to read it
            op.execute(f"ALTER TABLE {source} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"INSERT INTO data_extents (tenant_id, source, latest_at) "
                   f"SELECT tenant_id, '{source}', max(occurred_at) FROM {source} GROUP BY tenant_id")
        if postgresql:
            op.execute(f"ALTER TABLE {source} FORCE ROW LEVEL SECURITY")
    if postgresql:
        for statement in enable_rls_sql('data_extents'):
            op.execute(statement)


def downgrade():
    op.drop_table('data_extents')
