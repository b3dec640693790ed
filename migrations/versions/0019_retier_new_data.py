"""A retier records whether it saw new data, and the data generation it left: only new data counts for hysteresis.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 18:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('retier_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('new_data', sa.Boolean(), nullable=True))  # unknown until a run starts
        batch_op.add_column(sa.Column('data_generation', sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('retier_runs', schema=None) as batch_op:
        batch_op.drop_column('data_generation')
        batch_op.drop_column('new_data')
