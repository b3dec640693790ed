"""Importing customers, activity and interactions as tenants' exports really look."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tierwise.platform import tenancy
from tierwise.platform.audit import Actor, acting_as
from tierwise.platform.db import db
from tierwise.tenants.activity import Activity
from tierwise.tenants.customers import Customer
from tierwise.tenants.interactions import Interaction
from tierwise.tenants.imports.runner import import_file

CUSTOMERS = (
    "external_id,name,party_type,branch_code,rm_email,status,churned\n"
    "0001,张三,个人,N,{rm1},正常,否\n"
    "0002,Acme Ltd,对公,S,,active,yes\n"
    "0003,李四,individual,,,dormant,\n"
)
ACTIVITY = (
    "customer,occurred_at,amount,category\n"
    '0001,2024/1/5,"1,234.50",deposit\n'
    "0001,2024年2月5日,300,deposit\n"
    "0002,2024-03-01 10:00,50000,loan\n"
    "0002,2024-03-01 10:00,50000,loan\n"
)
INTERACTIONS = (
    "customer,occurred_at,channel,type,severity,resolved_at,summary\n"
    "0001,2024-05-01,微博,投诉,4,,网点排队太久\n"
    "0002,2024-05-02,regulator_hotline,complaint,5,2024-05-09,利率争议\n"
)


@pytest.fixture
def run_import(app):
    """Import a file into a tenant and commit, as the CLI does; returns the result."""

    def run(world, kind, path, **options):
        with app.app_context(), tenancy.tenant_scope(world.tenant_id), acting_as(Actor(label="test")):
            try:
                result = import_file(path, kind=kind, **options)
                db.session.commit()
                return result
            except Exception:
                db.session.rollback()
                raise

    return run


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def rows(app, world, model):
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        found = list(db.session.scalars(sa.select(model)))
        db.session.expunge_all()
        return found


def test_customers_activity_and_interactions_import_and_reimport_changes_nothing(app, tmp_path, tenant_a, run_import):
    customers = write(tmp_path, "c.csv", CUSTOMERS.format(rm1=tenant_a.email("rm1")))
    first = run_import(tenant_a, "customers", customers, mapping={"churn_label": "churned"})
    assert (first.inserted, first.updated, first.rejected) == (3, 0, 0)
    again = run_import(tenant_a, "customers", customers, mapping={"churn_label": "churned"})
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)

    by_id = {c.external_id: c for c in rows(app, tenant_a, Customer)}
    assert set(by_id) == {"0001", "0002", "0003"}  # leading zeros kept
    assert by_id["0001"].party_type == "individual" and by_id["0002"].party_type == "organisation"
    assert by_id["0001"].rm_user_id == tenant_a.users["rm1"].id
    assert by_id["0001"].branch_id == tenant_a.branches["north"].id
    assert (by_id["0001"].churn_label, by_id["0002"].churn_label, by_id["0003"].churn_label) == (False, True, None)

    activity = write(tmp_path, "a.csv", ACTIVITY)
    assert run_import(tenant_a, "activity", activity).inserted == 4
    assert run_import(tenant_a, "activity", activity).unchanged == 4
    amounts = sorted(float(a.amount) for a in rows(app, tenant_a, Activity))
    assert amounts == [300.0, 1234.5, 50000.0, 50000.0]  # the repeated row is kept as a second event

    interactions = write(tmp_path, "i.csv", INTERACTIONS)
    assert run_import(tenant_a, "interactions", interactions).inserted == 2
    found = {i.channel: i for i in rows(app, tenant_a, Interaction)}
    assert found["social_media"].interaction_type == "complaint" and found["social_media"].severity == 4
    assert found["regulator_hotline"].resolved_at is not None and found["social_media"].resolved_at is None


def test_a_branch_code_in_any_case_puts_the_customer_in_that_branch(app, tmp_path, tenant_a, run_import):
    north, south = tenant_a.branches["north"].id, tenant_a.branches["south"].id  # codes N and S
    first = run_import(tenant_a, "customers", write(tmp_path, "c.csv", "external_id,name,branch_code\n1,A,n\n2,B,S\n"))
    assert (first.inserted, first.rejected) == (2, 0)
    assert {c.external_id: c.branch_id for c in rows(app, tenant_a, Customer)} == {"1": north, "2": south}

    moved = run_import(tenant_a, "customers", write(tmp_path, "c.csv", "external_id,name,branch_code\n1,A,N\n2,B,n\n"))
    assert (moved.updated, moved.unchanged) == (1, 1)  # the same branch in another case is no change
    assert {c.external_id: c.branch_id for c in rows(app, tenant_a, Customer)} == {"1": north, "2": north}


def test_imported_rows_belong_to_the_importing_tenant_only(app, tmp_path, tenant_a, tenant_b, run_import):
    run_import(tenant_a, "customers", write(tmp_path, "c.csv", "external_id,name\n1,A\n2,B\n"))
    assert rows(app, tenant_b, Customer) == []
    with pytest.raises(Exception, match="no customer with this id"):
        run_import(tenant_b, "activity", write(tmp_path, "a.csv", "customer,occurred_at,amount\n1,2024-01-01,5\n"))
