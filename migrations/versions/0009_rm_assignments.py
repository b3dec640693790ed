"""RM assignments: the history of who looked after each customer, kept by a trigger on customers.

Every change of ``customers.rm_user_id`` (an insert with an RM counts) closes
the customer's open period and opens a new one, whichever code made it; who and
why come from ``tierwise.platform.change_context``.  PostgreSQL does it once per
statement over the transition tables (set-based: a bulk reassign or an import
of 250,000 customers is one INSERT ... SELECT); SQLite, which only has row
triggers, once per changed row.  Assignments that existed before this revision
are recorded as open periods starting when the customer was created.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

from tierwise.platform.rls import enable_rls_sql

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BACKFILL = """
    INSERT INTO rm_assignments (tenant_id, id, customer_id, valid_from, valid_to, rm_user_id, changed_by, reason)
    SELECT tenant_id, {new_id}, id, created_at, NULL, rm_user_id, 'migration', 'assigned before history was kept'
    FROM customers WHERE rm_user_id IS NOT NULL
"""

POSTGRESQL_TRIGGER = """
CREATE FUNCTION record_rm_assignments() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed_at timestamptz := clock_timestamp();
    actor text := COALESCE(NULLIF(current_setting('tierwise.actor', true), ''), session_user::text);
    why text := COALESCE(current_setting('tierwise.change_reason', true), '');
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO rm_assignments (tenant_id, id, customer_id, valid_from, valid_to, rm_user_id, changed_by, reason)
        SELECT n.tenant_id, gen_random_uuid(), n.id, changed_at, NULL, n.rm_user_id, actor, why
        FROM new_customers n WHERE n.rm_user_id IS NOT NULL;
        RETURN NULL;
    END IF;
    -- The tenant is matched with IS NOT DISTINCT FROM (both sides are NOT NULL) rather than "=": an equality
    -- would let the planner carry row-level security's tenant condition onto the transition tables, which have
    -- no statistics; it then expects a handful of rows and nests loops over them, quadratic in customers changed.
    UPDATE rm_assignments a SET valid_to = changed_at
    FROM old_customers o JOIN new_customers n ON n.tenant_id = o.tenant_id AND n.id = o.id
    WHERE o.rm_user_id IS DISTINCT FROM n.rm_user_id
      AND a.customer_id = n.id AND a.tenant_id IS NOT DISTINCT FROM n.tenant_id AND a.valid_to IS NULL;
    INSERT INTO rm_assignments (tenant_id, id, customer_id, valid_from, valid_to, rm_user_id, changed_by, reason)
    SELECT n.tenant_id, gen_random_uuid(), n.id, changed_at, NULL, n.rm_user_id, actor, why
    FROM old_customers o JOIN new_customers n ON n.tenant_id = o.tenant_id AND n.id = o.id
    WHERE o.rm_user_id IS DISTINCT FROM n.rm_user_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER customers_rm_inserted AFTER INSERT ON customers
    REFERENCING NEW TABLE AS new_customers FOR EACH STATEMENT EXECUTE FUNCTION record_rm_assignments();
CREATE TRIGGER customers_rm_changed AFTER UPDATE ON customers
    REFERENCING OLD TABLE AS old_customers NEW TABLE AS new_customers
    FOR EACH STATEMENT EXECUTE FUNCTION record_rm_assignments();
"""

# SQLAlchemy stores SQLite timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC) and UUIDs as 32 hex digits.
_SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'"
_SQLITE_OPEN = f"""
        INSERT INTO rm_assignments (tenant_id, id, customer_id, valid_from, valid_to, rm_user_id, changed_by, reason)
        VALUES (NEW.tenant_id, lower(hex(randomblob(16))), NEW.id, {_SQLITE_NOW}, NULL, NEW.rm_user_id,
                tierwise_actor(), tierwise_change_reason());"""
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER customers_rm_inserted AFTER INSERT ON customers WHEN NEW.rm_user_id IS NOT NULL
    BEGIN {_SQLITE_OPEN}
    END""",
    f"""CREATE TRIGGER customers_rm_changed AFTER UPDATE OF rm_user_id ON customers
    WHEN OLD.rm_user_id IS NOT NEW.rm_user_id
    BEGIN
        UPDATE rm_assignments SET valid_to = {_SQLITE_NOW}
        WHERE tenant_id = NEW.tenant_id AND customer_id = NEW.id AND valid_to IS NULL; {_SQLITE_OPEN}
    END""",
]


def upgrade():
    op.create_table('rm_assignments',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rm_user_id', sa.Uuid(), nullable=True),
    sa.Column('changed_by', sa.String(length=254), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_rm_assignments_tenant_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'rm_user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_rm_assignments_tenant_id_rm_user_id_users')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_rm_assignments'))
    )
    with op.batch_alter_table('rm_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_rm_assignments_tenant_id_customer_id_valid_from',
                              ['tenant_id', 'customer_id', 'valid_from'], unique=False)
        batch_op.create_index('uq_rm_assignments_open_period', ['tenant_id', 'customer_id'], unique=True,
                              postgresql_where=sa.text('valid_to IS NULL'), sqlite_where=sa.text('valid_to IS NULL'))

    if op.get_bind().dialect.name == "postgresql":
        # The schema owner is bound by customers' forced row-level security too: lift it for the backfill only.
        op.execute("ALTER TABLE customers NO FORCE ROW LEVEL SECURITY")
        op.execute(BACKFILL.format(new_id="gen_random_uuid()"))
        op.execute("ALTER TABLE customers FORCE ROW LEVEL SECURITY")
        for statement in enable_rls_sql("rm_assignments"):
            op.execute(statement)
        op.execute(POSTGRESQL_TRIGGER)
    else:
        op.execute(BACKFILL.format(new_id="lower(hex(randomblob(16)))"))
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER customers_rm_changed ON customers")
        op.execute("DROP TRIGGER customers_rm_inserted ON customers")
        op.execute("DROP FUNCTION record_rm_assignments()")
    else:
        op.execute("DROP TRIGGER customers_rm_changed")
        op.execute("DROP TRIGGER customers_rm_inserted")
    with op.batch_alter_table('rm_assignments', schema=None) as batch_op:
        batch_op.drop_index('uq_rm_assignments_open_period', postgresql_where=sa.text('valid_to IS NULL'),
                            sqlite_where=sa.text('valid_to IS NULL'))
        batch_op.drop_index('ix_rm_assignments_tenant_id_customer_id_valid_from')

    op.drop_table('rm_assignments')
