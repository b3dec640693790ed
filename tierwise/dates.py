"""Calendar arithmetic shared by the rules (windows such as ``3m``) and the models (monthly cutoffs)."""
from __future__ import annotations

import calendar
from datetime import datetime


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the month's last day if it is shorter)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)
