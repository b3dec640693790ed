"""Pages show moments on the tenant's clock, with the offset named: a Shanghai utility reads 09:00, not 01:00."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.attributes import flag_modified

from tests.conftest import Browser
from tierwise.platform import tenancy
from tierwise.platform.db import db
from tierwise.platform.tenant import Tenant
from tierwise.platform.users import User
from tierwise.platform.clock import local_time, offset_label


@pytest.mark.parametrize("hours, label", [(0, "UTC"), (8, "UTC+8"), (5.5, "UTC+5:30"), (-3.5, "UTC-3:30"),
                                          (-5, "UTC-5")])
def test_an_offset_is_named_the_way_people_write_it(hours, label):
    assert offset_label(timedelta(hours=hours)) == label


def test_a_stored_moment_is_shown_in_the_zone_asked_for_and_a_plain_date_stays_a_date(app):
    moment = datetime(2026, 12, 6, 17, 30, tzinfo=timezone.utc)
    with app.test_request_context():
        assert local_time(moment, "Asia/Shanghai") == "2026-12-07 01:30 UTC+8"
        assert local_time(moment.replace(tzinfo=None), "Asia/Shanghai") == "2026-12-07 01:30 UTC+8"  # SQLite's
        assert local_time(moment) == "2026-12-06 17:30 UTC"  # outside a tenant: UTC, said so
        assert local_time(date(2026, 12, 6), "Asia/Shanghai") == "2026-12-06"
        assert local_time(None) == "—"


def last_login_shown(app, world) -> str:
    admin = Browser(app.test_client())
    admin.login(world, "admin")
    page = admin.get(f"/t/{world.slug}/users/").text
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        signed_in = db.session.scalar(sa.select(User.last_login_at).where(User.email == world.email("admin")))
        zone = db.session.get(Tenant, world.tenant_id).timezone
    expected = signed_in.replace(tzinfo=signed_in.tzinfo or timezone.utc).astimezone(ZoneInfo(zone))
    return page, f"{expected:%Y-%m-%d %H:%M}"


def test_the_users_page_shows_the_last_sign_in_on_the_tenants_clock(app, tenant_a):
    page, shanghai = last_login_shown(app, tenant_a)
    assert f"{shanghai} UTC+8" in page
    with app.app_context():
        tenant = db.session.get(Tenant, tenant_a.tenant_id)
        tenant.settings = {**(tenant.settings or {}), "timezone": "America/Sao_Paulo"}
        flag_modified(tenant, "settings")
        db.session.commit()
    page, sao_paulo = last_login_shown(app, tenant_a)
    assert f"{sao_paulo} UTC-3" in page


def test_a_run_already_under_way_is_said_with_its_start_on_the_tenants_clock(app, tenant_a):
    from tests.model_fixtures import record_model_run
    from tierwise.tenants.rules.assignments import RetierRun
    from tierwise.tenants.rules.versions import current_version

    started = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=5)
    shanghai = f"{started.astimezone(ZoneInfo('Asia/Shanghai')):%Y-%m-%d %H:%M} UTC+8"  # tenant_a's clock
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        record_model_run(job="train", status="running", model="churn", started_at=started, started_by="li@bank.test")
        db.session.add(RetierRun(rule_version_id=current_version().id, as_of=started, status="running",
                                 started_at=started, started_by="li@bank.test"))
        db.session.commit()
    admin = Browser(app.test_client())
    admin.login(tenant_a, "admin")
    english = {"Accept-Language": "en"}
    for page, action in (("models/", "models/train"), ("rules/", "rules/retier")):
        refused = admin.submit(f"/t/{tenant_a.slug}/{page}", {"model": "churn"},
                               action=f"/t/{tenant_a.slug}/{action}")
        text = admin.get(refused.location, headers=english).text
        assert f"already running (started by li@bank.test at {shanghai})" in text, action
