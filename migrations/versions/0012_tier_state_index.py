"""An index of each assignment's state by (tenant, dimension, customer), so a retier reads it without the rows.

A retier compares every customer's evaluation with the stored tier, basis and
hysteresis state of each dimension.  Read from the table, that was a pass over
every row with its reason (1.15 GB for 3M assignments); from this index it is
an index-only scan of the columns it needs.  The rule version is not in it: the
version every stored row was decided by is the last successful retier's
(``applied_version``), and leaving it out keeps the rewrite under a new version
a HOT update.  Built concurrently on PostgreSQL: tiers stay writable meanwhile.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 08:00:00.000000
"""
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

NAME = 'ix_tier_assignments_tenant_dimension_customer'
COLUMNS = ['tenant_id', 'dimension', 'customer_id']
STATE = ['tier', 'basis', 'pending_tier', 'pending_count']


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(NAME, 'tier_assignments', COLUMNS, postgresql_include=STATE,
                            postgresql_concurrently=True)
    else:
        op.create_index(NAME, 'tier_assignments', COLUMNS)


def downgrade():
    op.drop_index(NAME, table_name='tier_assignments')
