"""Preview snapshots: the per-customer values of the last full preview, so the next one reuses them.

Unlogged on PostgreSQL (a cache: emptied after a crash, never replicated), and
without foreign keys (see ``tierwise.tenants.rules.snapshot``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 06:10:00.000000
"""
from alembic import op
import sqlalchemy as sa

from sqlalchemy.dialects import postgresql
from tierwise.platform.rls import enable_rls_sql

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    prefixes = ["UNLOGGED"] if postgres else []
    op.create_table('preview_snapshots',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('generation', sa.BigInteger(), nullable=False),
    sa.Column('built_generation', sa.BigInteger(), nullable=True),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=True),
    sa.Column('layout', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('tenant_id', 'name', name=op.f('pk_preview_snapshots')),
    prefixes=prefixes,
    )
    op.create_table('preview_values',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('numbers', sa.JSON().with_variant(postgresql.ARRAY(sa.Float()), 'postgresql'), nullable=False),
    sa.Column('texts', sa.JSON().with_variant(postgresql.ARRAY(sa.String()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'customer_id', name=op.f('pk_preview_values')),
    prefixes=prefixes,
    )
    if postgres:
        for table in ('preview_snapshots', 'preview_values'):
            for statement in enable_rls_sql(table):
                op.execute(statement)
        # A new snapshot replaces every row of the tenant's: vacuum after a tenth has changed, not a fifth.
        op.execute("ALTER TABLE preview_values SET (autovacuum_vacuum_scale_factor = 0.1, "
                   "autovacuum_vacuum_insert_scale_factor = 0.1)")


def downgrade():
    op.drop_table('preview_values')
    op.drop_table('preview_snapshots')
