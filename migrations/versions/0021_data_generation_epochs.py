"""Data generations that never repeat, even after PostgreSQL empties the unlogged preview tables in a crash.

A tenant's data generation (``preview_snapshots.generation``) counts the changes
to what the rules read; a retier records the one it evaluated, and the next
retier counts an evaluation for hysteresis only if the generation moved on.  The
table is UNLOGGED (a cache): after a crash PostgreSQL empties it, and the
counter started again at 1, 2, ... where a recorded value could come round again
and a retier on new data would be taken for one on the same data.  A tenant's
row is now created at the start of a new epoch, ``nextval`` of this (logged)
sequence times 2^32, so a recreated row counts from above every value handed
out before.  PostgreSQL only: SQLite's table is an ordinary one.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 21:00:00.000000
"""
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE data_generation_epochs")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE data_generation_epochs")
