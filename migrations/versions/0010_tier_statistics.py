"""Statistics on which tiers go with which dimension, so list queries are planned for the list's real size.

Tier codes repeat across dimensions ("standard" in value and in high_risk), and
PostgreSQL assumes columns independent: it took 31,000 VIPs for 3,000, drove a
VIP page from the tier index, and sorted them all (770 ms for a page at 100k
customers).  With the dimension/tier statistics it walks customers in order and
stops at the page's end (6 ms).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 04:30:00.000000
"""
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE STATISTICS st_tier_assignments_dimension_tier (mcv, dependencies) "
                   "ON dimension, tier FROM tier_assignments")
        op.execute("ANALYZE tier_assignments")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_tier_assignments_dimension_tier")
