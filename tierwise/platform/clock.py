"""Moments shown to people: stored in UTC, shown on the reader's clock with its offset named.

People at a Shanghai power utility read 09:00, not 01:00; a time with no zone
beside it is a guess.  Every page shows a moment through ``when`` (the macro)
or these globals, in the tenant's time zone (``Tenant.timezone``), or in the
zone a schedule keeps its own time in; a message that names a moment (a run
already under way, started at ...) says it through ``local_time`` too, which is
why this module sits beside the domain code rather than among the views.
Operator pages, outside any tenant, and the CLI and workers show UTC, said so.
The API's fields keep ISO 8601 in UTC: machines convert for themselves.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import Flask, g

from tierwise.platform.numbers import MISSING


def page_zone(zone: str | None = None) -> str:
    """The zone named, else the signed-in tenant's, else UTC."""
    tenant = g.get("tenant")
    return zone or (tenant.timezone if tenant is not None else "UTC")


def offset_label(offset: timedelta | None) -> str:
    """``UTC``, ``UTC+8``, ``UTC+5:30``, ``UTC-3``: short, and unambiguous where "CST" is not."""
    minutes = int((offset or timedelta()).total_seconds() // 60)
    if not minutes:
        return "UTC"
    sign, minutes = ("+" if minutes > 0 else "-"), abs(minutes)
    return f"UTC{sign}{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else "")


def _local(moment: datetime, zone: str | None) -> datetime:
    if moment.tzinfo is None:  # SQLite hands stored UTC back without its zone
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(ZoneInfo(page_zone(zone)))


def local_time(moment: datetime | date | None, zone: str | None = None, *, seconds: bool = False) -> str:
    """``2026-12-07 09:00 UTC+8``; a plain date stays a date (it has no clock)."""
    if moment is None:
        return MISSING
    if not isinstance(moment, datetime):
        return moment.isoformat()
    local = _local(moment, zone)
    return f"{local:%Y-%m-%d %H:%M{':%S' if seconds else ''}} {offset_label(local.utcoffset())}"


def local_date(moment: datetime | date | None, zone: str | None = None) -> str:
    """The day ``moment`` falls on, on the reader's clock."""
    if moment is None:
        return MISSING
    return (_local(moment, zone) if isinstance(moment, datetime) else moment).strftime("%Y-%m-%d")


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(local_time=local_time, local_date=local_date)
