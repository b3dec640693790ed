"""Saved lists: built-in lists narrowed by filters, owned by a user or shared in the tenant.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 03:40:00.000000
"""
from alembic import op
import sqlalchemy as sa

from sqlalchemy.dialects import postgresql
from tierwise.platform.rls import enable_rls_sql

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('saved_lists',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('base', sa.String(length=32), nullable=False),
    sa.Column('filters', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'owner_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_saved_lists_tenant_id_owner_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_saved_lists_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_saved_lists')),
    sa.UniqueConstraint('tenant_id', 'owner_id', 'name', name=op.f('uq_saved_lists_tenant_id_owner_id_name'))
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in enable_rls_sql("saved_lists"):
            op.execute(statement)


def downgrade():
    op.drop_table('saved_lists')
