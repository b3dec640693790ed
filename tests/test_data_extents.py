"""Each tenant's latest activity is kept by its imports, so dashboards window the year without scanning activity."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from tests.rule_helpers import in_tenant
from tierwise.platform.db import db
from tierwise.tenants.activity import Activity, DataExtent, latest_activity_at
from tierwise.tenants.dashboards import pareto
from tierwise.tenants.imports.runner import import_records

UTC = timezone.utc


def bills(*days: str) -> list[dict]:
    return [{"customer": "C1", "occurred_at": day, "amount": "100", "category": "bill"} for day in days]


def kept() -> dict[str, datetime]:
    return dict(db.session.execute(sa.select(DataExtent.source, DataExtent.latest_at)).all())


def latest_bill() -> datetime:
    return db.session.scalar(sa.select(sa.func.max(Activity.occurred_at)))


def test_imports_move_the_latest_activity_forward_and_never_back(app, make_tenant):
    world = make_tenant("power_utility")
    with in_tenant(app, world):
        import_records([{"external_id": "C1", "name": "工厂"}], kind="customers")
        assert latest_activity_at() is None  # nothing imported yet: no window
        import_records(bills("2024-03-20", "2024-06-20"), kind="activity")
        db.session.commit()
        june = kept()["activity"]
        assert june == latest_bill() and june.month == 6
        import_records(bills("2023-01-20"), kind="activity")  # a late file of old bills
        db.session.commit()
        assert kept()["activity"] == june
        import_records(bills("2024-08-20"), kind="activity")
        db.session.commit()
        assert kept()["activity"] == latest_bill() > june
        assert pareto(sa.true()).window_end == latest_activity_at() == latest_bill()  # the dashboard's year ends there
        import_records([{"customer": "C1", "occurred_at": "2024-09-01", "channel": "phone", "type": "complaint"}],
                       kind="interactions")
        db.session.commit()
        assert kept()["interactions"] > kept()["activity"]


def test_a_row_dated_months_ahead_does_not_carry_the_dashboards_year_past_today(app, make_tenant):
    world = make_tenant("pharma_distributor")
    last_month = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    ahead = (datetime.now(UTC) + timedelta(days=200)).date().isoformat()  # a year or more ahead is refused
    with in_tenant(app, world):
        import_records([{"external_id": "C1", "name": "药房"}, {"external_id": "C2", "name": "诊所"}], kind="customers")
        import_records([{"customer": "C1", "occurred_at": last_month, "amount": "900"},
                        {"customer": "C2", "occurred_at": last_month, "amount": "100"},
                        {"customer": "C2", "occurred_at": ahead, "amount": "5"}], kind="activity")  # issued ahead
        db.session.commit()
        measured = pareto(sa.true())
    assert measured.window_end <= datetime.now(UTC)
    assert measured.total_value == 1000 and measured.points[0].value_share == 0.9  # the top customer holds 90%


def test_the_extent_is_the_tenants_own(app, make_tenant):
    first, second = make_tenant("power_utility"), make_tenant("power_utility")
    for world, day in ((first, "2024-06-20"), (second, "2025-02-20")):
        with in_tenant(app, world):
            import_records([{"external_id": "C1", "name": "工厂"}], kind="customers")
            import_records(bills(day), kind="activity")
            db.session.commit()
    with in_tenant(app, first):
        assert latest_activity_at() == latest_bill() and latest_activity_at().year == 2024


def test_activity_written_other_than_by_an_import_is_still_found(app, make_tenant):
    world = make_tenant("power_utility")
    with in_tenant(app, world):
        import_records([{"external_id": "C1", "name": "工厂"}], kind="customers")
        customer_id = db.session.execute(sa.text("SELECT id FROM customers")).scalar()
        db.session.add(Activity(customer_id=customer_id, occurred_at=datetime(2024, 9, 1, tzinfo=UTC), amount=5))
        db.session.commit()
        assert latest_activity_at() == datetime(2024, 9, 1, tzinfo=UTC)
