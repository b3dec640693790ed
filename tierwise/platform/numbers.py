"""Numbers as people read them, the same on every page, reason and export.

Stored amounts are floats (``1200000.0``, ``204137.2286``); a person reads
``1,200,000`` and ``204,137``.  Large values lose their decimals, small ones keep
what matters (``0.15``, ``2.5``), and a probability reads as a percentage
(``69.4%``), as the lists and the customer page show churn.
"""
from __future__ import annotations

import math

MISSING = "—"


def readable_number(value) -> str:
    """``1,200,000`` for 1200000.0, ``31`` for 31.0, ``2.5`` for 2.50, ``0.153`` for 0.15329; ``—`` for None."""
    if value is None:
        return MISSING
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if value == round(value) or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if abs(value) >= 0.001:
        return f"{value:.3g}"
    return "0"


def readable_percent(value) -> str:
    """A probability or share (0..1) as a percentage with one decimal: ``69.4%``; ``—`` for None.

    Never a certainty that is not one: 0.9996 rounded to one decimal reads "100.0%", a churn the model is
    sure of, and 0.0004 reads "0.0%", none at all.  Such a value takes a second decimal (``99.96%``,
    ``0.04%``); one that still rounds to the edge is said as beyond the last step shown (``>99.99%``,
    ``<0.01%``).  Only 0 and 1 themselves read ``0.0%`` and ``100.0%``.
    """
    if value is None:
        return MISSING
    for decimals in (1, 2):
        shown = round(value * 100, decimals)
        if not (shown == 0 and value != 0) and not (shown == 100 and 0.5 < value < 1):
            return f"{value:.{decimals}%}"
    if value > 0.5:
        return ">99.99%"
    return "<0.01%" if value > 0 else ">-0.01%"


def readable_days(value) -> str:
    """A count of days in whole days elapsed: ``37`` for 37.9 (days between two moments come out fractional;
    people count the days gone by); ``—`` for None.

    Whole days elapsed, not rounded: a reason must agree with its rule, and the floor does for ``>=``,
    ``<`` and ``<=`` against a whole number of days (29.6 days is "29" under ``< 30``; rounded it read
    "30").  Only ``>`` can read one day short (37.4 under ``> 37`` reads "37").
    """
    return MISSING if value is None else readable_number(math.floor(value))


def readable_feature(feature: str, value) -> str:
    """A model feature's value as people read it: changes and percentiles as percentages (12.1%, as tier
    reasons say them), day counts in whole days, anything else as ``readable_number``."""
    from tierwise.models.features import reads_as

    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return readable_number(value)  # None, text (a category's code is labelled by the caller)
    kind = reads_as(feature)
    if kind == "percent":
        return readable_percent(value)
    if kind == "days":
        return readable_days(value)
    return readable_number(value)
