"""Schedules: per-tenant cron schedules for recurring retier, scoring and training runs.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

from tierwise.platform.rls import enable_rls_sql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('schedules',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('cron', sa.String(length=120), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.String(length=16), nullable=True),
    sa.Column('last_message', sa.Text(), nullable=False),
    sa.Column('last_run_id', sa.Uuid(), nullable=True),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('updated_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("action IN ('retier', 'score', 'train_churn', 'train_value')", name=op.f('ck_schedules_action')),
    sa.CheckConstraint("last_status IN ('started', 'skipped', 'failed')", name=op.f('ck_schedules_last_status')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_schedules_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_schedules')),
    sa.UniqueConstraint('tenant_id', 'action', 'cron', name=op.f('uq_schedules_tenant_id_action_cron'))
    )
    with op.batch_alter_table('schedules', schema=None) as batch_op:
        batch_op.create_index('ix_schedules_tenant_id_next_run_at', ['tenant_id', 'next_run_at'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for statement in enable_rls_sql("schedules"):
            op.execute(statement)


def downgrade():
    with op.batch_alter_table('schedules', schema=None) as batch_op:
        batch_op.drop_index('ix_schedules_tenant_id_next_run_at')

    op.drop_table('schedules')
