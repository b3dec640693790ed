"""Schedules keep the time their last run was due, so a late run (no worker for a while) shows as late.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 17:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('schedules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_due_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('schedules', schema=None) as batch_op:
        batch_op.drop_column('last_due_at')
