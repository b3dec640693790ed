"""Tiering rules: rule set versions, tier assignments with history and changes, retier runs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 10:20:42.296273
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from tierwise.platform.rls import enable_rls_sql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rule_set_versions',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=True),
    sa.Column('definition', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('restored_from', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.String(length=254), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(number IS NULL) = (published_at IS NULL)', name=op.f('ck_rule_set_versions_published_number')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_rule_set_versions_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_rule_set_versions')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_rule_set_versions_tenant_id_number'))
    )
    op.create_table('retier_runs',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('rule_version_id', sa.Uuid(), nullable=False),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('changes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('started_by', sa.String(length=254), nullable=False),
    sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')", name=op.f('ck_retier_runs_status')),
    sa.ForeignKeyConstraint(['tenant_id', 'rule_version_id'], ['rule_set_versions.tenant_id', 'rule_set_versions.id'], name=op.f('fk_retier_runs_tenant_id_rule_version_id_rule_set_versions')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_retier_runs_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_retier_runs'))
    )
    op.create_table('tier_assignments',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('dimension', sa.String(length=32), nullable=False),
    sa.Column('tier', sa.String(length=32), nullable=False),
    sa.Column('rule_version_id', sa.Uuid(), nullable=False),
    sa.Column('basis', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('pending_tier', sa.String(length=32), nullable=True),
    sa.Column('pending_count', sa.SmallInteger(), nullable=False),
    sa.CheckConstraint("basis IN ('rule', 'fallback', 'held')", name=op.f('ck_tier_assignments_basis')),
    sa.PrimaryKeyConstraint('tenant_id', 'customer_id', 'dimension', name=op.f('pk_tier_assignments')),
    postgresql_with={'fillfactor': '70'}
    )
    with op.batch_alter_table('tier_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_tier_assignments_tenant_dimension_tier', ['tenant_id', 'dimension', 'tier', 'customer_id'], unique=False)

    op.create_table('tier_changes',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('dimension', sa.String(length=32), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retier_run_id', sa.Uuid(), nullable=False),
    sa.Column('from_tier', sa.String(length=32), nullable=True),
    sa.Column('to_tier', sa.String(length=32), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.CheckConstraint("direction IN ('up', 'down', 'new')", name=op.f('ck_tier_changes_direction')),
    sa.PrimaryKeyConstraint('tenant_id', 'customer_id', 'dimension', 'occurred_at', name=op.f('pk_tier_changes'))
    )
    with op.batch_alter_table('tier_changes', schema=None) as batch_op:
        batch_op.create_index('ix_tier_changes_tenant_occurred_at', ['tenant_id', 'occurred_at'], unique=False)

    op.create_table('tier_history',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('dimension', sa.String(length=32), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tier', sa.String(length=32), nullable=False),
    sa.Column('rule_version_id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'customer_id', 'dimension', 'valid_from', name=op.f('pk_tier_history'))
    )

    if op.get_bind().dialect.name == "postgresql":
        for table in ("rule_set_versions", "retier_runs", "tier_assignments", "tier_changes", "tier_history"):
            for statement in enable_rls_sql(table):
                op.execute(statement)


def downgrade():
    op.drop_table('tier_history')
    with op.batch_alter_table('tier_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_tier_changes_tenant_occurred_at')

    op.drop_table('tier_changes')
    with op.batch_alter_table('tier_assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_tier_assignments_tenant_dimension_tier')

    op.drop_table('tier_assignments')
    op.drop_table('retier_runs')
    op.drop_table('rule_set_versions')
