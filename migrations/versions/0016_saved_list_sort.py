"""A saved list keeps the order it was saved in: ``sort`` as the list pages name it (``churn``, ``value``).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 08:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('saved_lists', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sort', sa.String(length=32), nullable=False, server_default='external_id'))


def downgrade():
    with op.batch_alter_table('saved_lists', schema=None) as batch_op:
        batch_op.drop_column('sort')
