"""Shared steps for rule tests: act in a tenant, publish, retier, read the tiers back."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

from tierwise.platform import tenancy
from tierwise.platform.audit import Actor, acting_as
from tierwise.platform.db import db
from tierwise.tenants.customers import Customer
from tierwise.tenants.rules.assignments import RetierRun, TierAssignment
from tierwise.tenants.rules.retier import run_retier, start_retier
from tierwise.tenants.rules.versions import publish

AS_OF = datetime(2025, 1, 1, tzinfo=timezone.utc)


def in_tenant(app, world):
    class Scope:
        def __enter__(self):
            self.stack = [app.app_context(), tenancy.tenant_scope(world.tenant_id), acting_as(Actor(label="test"))]
            for context in self.stack:
                context.__enter__()

        def __exit__(self, *exc):
            db.session.rollback()
            for context in reversed(self.stack):
                context.__exit__(*exc)

    return Scope()


def publish_and_retier(app, world, definition, as_of=AS_OF) -> RetierRun:
    with in_tenant(app, world):
        publish(definition, author="test")
        db.session.commit()
    return retier_again(app, world, as_of)


def retier_again(app, world, as_of=AS_OF) -> RetierRun:
    with in_tenant(app, world):
        run = start_retier(started_by="test", as_of=as_of)
        db.session.commit()
        run_id = run.id
    with in_tenant(app, world):
        run = run_retier(run_id)
        db.session.refresh(run)
        db.session.expunge(run)
        return run


def tiers(app, world) -> dict[tuple[str, str], str]:
    with in_tenant(app, world):
        rows = db.session.execute(sa.select(Customer.external_id, TierAssignment.dimension, TierAssignment.tier)
                                  .join(Customer, Customer.id == TierAssignment.customer_id)).all()
        return {(external_id, dimension): tier for external_id, dimension, tier in rows}


def assignment(app, world, external_id: str, dimension: str) -> TierAssignment:
    with in_tenant(app, world):
        found = db.session.scalars(sa.select(TierAssignment).join(Customer, Customer.id == TierAssignment.customer_id)
                                   .where(Customer.external_id == external_id,
                                          TierAssignment.dimension == dimension)).one()
        db.session.expunge(found)
        return found


