"""Customer data: field registry, customers, activity, interactions, saved column mappings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from tierwise.platform.rls import enable_rls_sql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


TENANT_TABLES = ("column_mappings", "field_definitions", "customers", "activity", "interactions")


def upgrade():
    op.create_table('column_mappings',
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('mapping', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_column_mappings_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_column_mappings')),
    sa.UniqueConstraint('tenant_id', 'kind', 'name', name=op.f('uq_column_mappings_tenant_id_kind_name'))
    )
    op.create_table('field_definitions',
    sa.Column('name', sa.String(length=63), nullable=False),
    sa.Column('field_type', sa.String(length=16), nullable=False),
    sa.Column('field_group', sa.String(length=16), nullable=False),
    sa.Column('label_zh', sa.String(length=100), nullable=False),
    sa.Column('label_en', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("field_group IN ('profile', 'behaviour', 'value', 'risk', 'compliance')", name=op.f('ck_field_definitions_field_group')),
    sa.CheckConstraint("field_type IN ('number', 'integer', 'boolean', 'category', 'date', 'text')", name=op.f('ck_field_definitions_field_type')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_field_definitions_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_field_definitions')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_field_definitions_tenant_id_name'))
    )
    op.create_table('customers',
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('party_type', sa.String(length=16), nullable=False),
    sa.Column('branch_id', sa.Uuid(), nullable=True),
    sa.Column('rm_user_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('churn_label', sa.Boolean(), nullable=True),
    sa.Column('label_observed_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("party_type IN ('individual', 'organisation')", name=op.f('ck_customers_party_type')),
    sa.CheckConstraint("status IN ('active', 'dormant', 'closed')", name=op.f('ck_customers_status')),
    sa.ForeignKeyConstraint(['tenant_id', 'branch_id'], ['branches.tenant_id', 'branches.id'], name=op.f('fk_customers_tenant_id_branch_id_branches')),
    sa.ForeignKeyConstraint(['tenant_id', 'rm_user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_customers_tenant_id_rm_user_id_users')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_customers_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_customers')),
    sa.UniqueConstraint('tenant_id', 'external_id', name=op.f('uq_customers_tenant_id_external_id'))
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index('ix_customers_tenant_branch', ['tenant_id', 'branch_id'], unique=False)
        batch_op.create_index('ix_customers_tenant_name', ['tenant_id', 'name'], unique=False)
        batch_op.create_index('ix_customers_tenant_rm', ['tenant_id', 'rm_user_id'], unique=False)

    op.create_table('activity',
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('ordinal', sa.SmallInteger(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_activity_tenant_id_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'customer_id', 'occurred_at', 'category', 'ordinal', name=op.f('pk_activity'))
    )
    op.create_table('interactions',
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('interaction_type', sa.String(length=16), nullable=False),
    sa.Column('ordinal', sa.SmallInteger(), nullable=False),
    sa.Column('severity', sa.SmallInteger(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("channel IN ('phone', 'counter', 'web', 'app', 'sms', 'email', 'social_media', 'news_media', 'regulator_hotline', 'other')", name=op.f('ck_interactions_channel')),
    sa.CheckConstraint("interaction_type IN ('complaint', 'request', 'opinion', 'praise')", name=op.f('ck_interactions_interaction_type')),
    sa.CheckConstraint('severity BETWEEN 1 AND 5', name=op.f('ck_interactions_severity')),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_interactions_tenant_id_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'customer_id', 'occurred_at', 'channel', 'interaction_type', 'ordinal', name=op.f('pk_interactions'))
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            for statement in enable_rls_sql(table):
                op.execute(statement)


def downgrade():
    op.drop_table('interactions')
    op.drop_table('activity')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index('ix_customers_tenant_rm')
        batch_op.drop_index('ix_customers_tenant_name')
        batch_op.drop_index('ix_customers_tenant_branch')

    op.drop_table('customers')
    op.drop_table('field_definitions')
    op.drop_table('column_mappings')

