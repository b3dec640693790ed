"""Fields are described in Chinese too, as they are labelled: ``description`` is the English one.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 05:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('field_definitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description_zh', sa.Text(), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('field_definitions', schema=None) as batch_op:
        batch_op.drop_column('description_zh')
