"""Branch codes are unique in a tenant ignoring case: a unique index on (tenant_id, lower(code)).

The application already refused "sh01" beside "SH01", but two admins creating
them at once could both pass its check.  A tenant whose branches already differ
only in case stops the upgrade with the tenant and the codes named: which code
each branch keeps is the tenant's to say (users, customers and saved lists
refer to both), so nothing is renamed or merged here.  The exact
(tenant_id, code) constraint stays; the new index implies it, and dropping it
would rebuild the table on SQLite for nothing.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 10:00:00.000000
"""
from alembic import op
from alembic.util import CommandError
import sqlalchemy as sa

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

NAME = 'uq_branches_tenant_id_lower_code'
CLASHES = """
    SELECT t.slug, b.code FROM branches b
    JOIN (SELECT tenant_id, lower(code) AS folded FROM branches GROUP BY tenant_id, lower(code) HAVING count(*) > 1) d
      ON d.tenant_id = b.tenant_id AND d.folded = lower(b.code)
    JOIN tenants t ON t.id = b.tenant_id
    ORDER BY t.slug, lower(b.code), b.code
"""


def upgrade():
    if not op.get_context().as_sql:  # an offline script has no rows to look at
        clashes = _codes_differing_only_in_case()
        if clashes:
            raise CommandError(_refusal(clashes))
    op.create_index(NAME, 'branches', ['tenant_id', sa.text('lower(code)')], unique=True)


def downgrade():
    op.drop_index(NAME, table_name='branches')


def _codes_differing_only_in_case() -> list:
    """(tenant slug, code) of every branch whose code another of its tenant's differs from only in case."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:  # the schema owner is bound by the branches' forced row-level security too: lifted to look
        op.execute("ALTER TABLE branches NO FORCE ROW LEVEL SECURITY")
    clashes = op.get_bind().execute(sa.text(CLASHES)).all()
    if postgresql:
        op.execute("ALTER TABLE branches FORCE ROW LEVEL SECURITY")
    return clashes


def _refusal(clashes: list) -> str:
    """"tenant 'east-grid': SH01 / sh01, BJ / bj": each tenant once, each set of look-alike codes once."""
    by_tenant: dict[str, dict[str, list[str]]] = {}
    for slug, code in clashes:
        by_tenant.setdefault(slug, {}).setdefault(code.lower(), []).append(code)
    said = "; ".join(f"tenant '{slug}': " + ", ".join(" / ".join(codes) for codes in alike.values())
                     for slug, alike in by_tenant.items())
    return ("branch codes must be unique in a tenant ignoring case, and these differ only in case: "
            f"{said}. Give each of these branches a code of its own, or move what refers to one of them "
            "(users, customers, saved lists) to the other and delete it; then upgrade again.")
