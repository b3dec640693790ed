"""The days a model speaks of (its data window, its cutoffs, an as-of), on the tenant's clock.

Moments are stored in UTC; a day is where a moment falls on the tenant's clock, as
the dashboard says where the data ends.  A Shanghai bank's data that ends at 02:00
on 15 November ends on the 15th, though in UTC it is still the 14th.  The pages,
``tierwise train`` and the refusals they share all name days this way, whether a
request, a command or a worker asks: each reads the zone of the tenant it acts for.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from tierwise.dates import months_before
from tierwise.platform.numbers import MISSING
from tierwise.platform.tenant import tenant_timezone


def tenant_date(moment: datetime) -> date:
    """The date ``moment`` falls on (a moment without a zone is a stored UTC one)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(ZoneInfo(tenant_timezone())).date()


def tenant_day(moment: datetime | str | None) -> str:
    """``2026-11-15``: the day ``moment`` (a datetime or its ISO text, as a data window stores it) falls on."""
    if moment is None:
        return MISSING
    return tenant_date(datetime.fromisoformat(moment) if isinstance(moment, str) else moment).isoformat()


def tenant_days(moments) -> list[str]:
    """The days of ``moments`` (datetimes or their ISO text) in time order, earliest first."""
    moments = sorted(datetime.fromisoformat(m) if isinstance(m, str) else m for m in moments)
    return [tenant_day(m) for m in moments]


def tenant_midnight(day: date) -> datetime:
    """The moment ``day`` begins on the tenant's clock: an as-of typed as a day means the start of that day."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(tenant_timezone()))


def tenant_months_before(moment: datetime, months: int) -> datetime:
    """``moment`` so many calendar months earlier (later, for negative ``months``) on the tenant's
    calendar, where its bills are dated: cutoffs step by these months, and label windows last them."""
    return months_before(moment, months, tenant_timezone())


def first_day_from(moment: datetime) -> date:
    """The first day that begins at or after ``moment`` on the tenant's clock.

    A day-only date (an imported outcome's ``label_observed_on``) stands for the start of
    that day: it lies at or after ``moment`` exactly when it is this day or a later one.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    day = tenant_date(moment)
    return day if tenant_midnight(day) >= moment else day + timedelta(days=1)
