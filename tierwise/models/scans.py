"""What happened before (and after) each of several cutoffs: the rows read once, aggregated per cutoff.

Training needs the features as of several cutoffs and the label window after
each.  The activity (tens of millions of rows) is read once, in binary
(``read_activity``), and numpy aggregates it for every cutoff: one ``bincount``
per cutoff adds every windowed sum and count.  As SQL, one scan with about 115
``FILTER``ed aggregates per row took 24 s a scan at a million customers, and
the PostgreSQL server did all of it on one core; now the server only reads the
rows.  Interactions (a fraction of a row per customer) are still aggregated in
SQL, in one scan for every cutoff (``interaction_frame``): columns named
``{name}__{k}`` for cutoff number k.  Every aggregate of a cutoff reads only rows
before it, but ``future_*`` (the label window, which features never read).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import sqlalchemy as sa

from tierwise.models.frames import PG_EPOCH_MICROSECONDS, read_frame, stream_binary
from tierwise.platform import tenancy
from tierwise.platform.db import db, set_transaction_settings
from tierwise.tenants.activity import Activity
from tierwise.tenants.interactions import PUBLIC_CHANNELS, Interaction

if TYPE_CHECKING:
    from tierwise.models.features import FeatureSpec

WINDOWS = (30, 90, 180, 365)  # days, for sums and counts of activity
YEAR_AGO = (365, 455)  # the same 90 days a year earlier, for the year-on-year trend


def current_tenant() -> int:
    tenant_id = tenancy.current_tenant_id()
    if tenant_id is None:
        raise RuntimeError("features are built inside a tenant scope")
    return tenant_id


def _days(cutoff: datetime, days: int) -> datetime:
    return cutoff - timedelta(days=days)


@contextmanager
def serial():
    """No parallel workers for the feature scans, on PostgreSQL.

    The scans group ~22 rows per customer into one row per customer: each parallel
    worker's partial aggregate then holds nearly every customer, spills to disk,
    and the leader merges them all again.  One process was 2.5x faster (1.8 s
    against 4.5 s for one cutoff at 200,000 customers).
    """
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        yield
        return
    setting = "max_parallel_workers_per_gather"
    before = connection.execute(sa.select(sa.func.current_setting(setting))).scalar_one()
    set_transaction_settings(connection, {setting: "0"})
    try:
        yield
    finally:
        set_transaction_settings(connection, {setting: before})


DAY = 86_400_000_000  # microseconds
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
NEVER = np.iinfo(np.int64).max  # ``first_at`` of a customer without activity
MISSING = np.iinfo(np.int64).min  # a latest moment where there is none


def microseconds(moment: datetime) -> int:
    """A moment in Unix microseconds, exactly (the unit PostgreSQL keeps timestamps in); naive means UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - UNIX_EPOCH) // timedelta(microseconds=1)


@dataclass
class ActivityRows:
    """The activity rows a set of cutoffs reads, grouped by customer: read once, aggregated per cutoff.

    Positions index ``customers`` (the feature frames' index).  Rows are in
    position order (each customer's rows together, in the order they were read),
    so a per-customer minimum or maximum is one ``reduceat`` over ``starts``.  Only rows from
    ``start`` on are kept (what the windows of the earliest cutoff reach); of
    the older rows, before every cutoff, only each customer's first and latest
    moments are kept (``first_at``, ``last_before_start``): a customer silent
    for longer than the windows still has a last activity, and so a history.
    """

    customers: pd.Index
    position: np.ndarray  # int32, ascending
    at: np.ndarray  # int64 Unix microseconds
    amount: np.ndarray  # float64
    category: np.ndarray  # int8: the index in the spec's categories, -1 for any other
    first_at: np.ndarray  # int64 per customer, NEVER without activity
    last_before_start: np.ndarray  # int64 per customer: the latest row older than ``start``, MISSING for none
    present: np.ndarray  # bool per customer: has rows here
    starts: np.ndarray  # where each present customer's rows start

    def per_customer(self, reduce: np.ufunc, values: np.ndarray, empty) -> np.ndarray:
        """``reduce`` (``np.minimum``, ``np.maximum``) of each customer's values, ``empty`` for a customer
        without rows: mask rows out by setting them to ``empty``."""
        result = np.full(len(self.customers), empty, dtype=values.dtype)
        if len(self.starts):
            result[self.present] = reduce.reduceat(values, self.starts)
        return result


def read_activity(spec: FeatureSpec, customers: pd.Index, start: datetime, end: datetime) -> ActivityRows:
    """Every activity row before ``end`` of the current tenant, mapped to positions in ``customers``.

    On PostgreSQL the rows come as binary COPY, parsed by numpy as they arrive:
    about twenty bytes a row kept, no text, no per-row Python.  A row of a
    customer not in ``customers`` (created after they were read) is left out.
    Grouping the rows by customer is a stable sort of their positions (radix, half
    a second at 20M rows); per-customer maxima by ``ufunc.at`` took two seconds each.
    """
    a = Activity.__table__
    category = (sa.case({c: i for i, c in enumerate(spec.categories)}, value=a.c.category, else_=-1)
                if spec.categories else sa.literal(-1))
    select = sa.select(a.c.customer_id, a.c.occurred_at, sa.cast(a.c.amount, sa.Float(53)).label("amount"),
                       sa.cast(category, sa.SmallInteger).label("category")).where(
        a.c.tenant_id == current_tenant(), a.c.occurred_at < end)
    first_at = np.full(len(customers), NEVER, dtype=np.int64)
    last_before_start = np.full(len(customers), MISSING, dtype=np.int64)
    kept, since = [], microseconds(start)
    for position, at, amount, code in _activity_chunks(select, customers):
        recent = at >= since
        if not recent.all():  # older rows count only for the first and latest moments (usually few are read)
            np.minimum.at(first_at, position[~recent], at[~recent])
            np.maximum.at(last_before_start, position[~recent], at[~recent])
        kept.append((position[recent], at[recent], amount[recent], code[recent]))
    parts = list(zip(*kept)) if kept else [[np.empty(0, t)] for t in (np.int32, np.int64, np.float64, np.int8)]
    position, at, amount, code = (np.concatenate(p) for p in parts)
    del kept, parts
    order = np.argsort(position, kind="stable")
    position, at, amount, code = position[order], at[order], amount[order], code[order]
    del order
    counts = np.bincount(position, minlength=len(customers))
    present = counts > 0
    starts = (np.cumsum(counts) - counts)[present]
    rows = ActivityRows(customers, position, at, amount, code, first_at, last_before_start, present, starts)
    np.minimum(first_at, rows.per_customer(np.minimum, at, NEVER), out=first_at)
    return rows


def _activity_chunks(select: sa.Select, customers: pd.Index):
    """(position, at, amount, category) arrays, chunk by chunk, rows of unknown customers left out."""
    if db.session.connection().dialect.name != "postgresql":  # the embedded demo: small, through the DB-API
        frame = read_frame(select, dtypes={"customer_id": "string", "amount": "float64", "category": "int64"},
                           dates=("occurred_at",))
        position = customers.get_indexer(frame["customer_id"])
        known = position >= 0
        at = frame["occurred_at"].dt.tz_convert(None).to_numpy(dtype="datetime64[us]").view(np.int64)
        yield (position[known].astype(np.int32), at[known], frame["amount"].to_numpy()[known],
               frame["category"].to_numpy()[known].astype(np.int8))
        return
    if len(customers) == 0:  # nobody to map rows to (customers read before an import committed some)
        return
    words = uuid_words(customers)
    by_low = pd.Index(words[:, 1])
    if not by_low.is_unique:  # two ids sharing their last 8 bytes: look up all 16 (slower, never wrong)
        by_low = pd.MultiIndex.from_arrays([words[:, 0], words[:, 1]])
    uuid = np.dtype([("high", ">u8"), ("low", ">u8")])
    for rows in stream_binary(select, [("customer", uuid), ("at", ">i8"), ("amount", ">f8"), ("category", ">i2")]):
        high, low = rows["customer"]["high"].astype(np.uint64), rows["customer"]["low"].astype(np.uint64)
        if isinstance(by_low, pd.MultiIndex):
            position = by_low.get_indexer(pd.MultiIndex.from_arrays([high, low]))
        else:
            position = by_low.get_indexer(low)
            position[(position >= 0) & (words[position, 0] != high)] = -1
        known = position >= 0
        yield (position[known].astype(np.int32), rows["at"][known].astype(np.int64) + PG_EPOCH_MICROSECONDS,
               rows["amount"][known].astype(np.float64), rows["category"][known].astype(np.int8))


_HEX = np.full(256, 255, dtype=np.uint8)
for _value, _digit in enumerate("0123456789abcdef"):
    _HEX[ord(_digit)] = _HEX[ord(_digit.upper())] = _value
_DIGITS = [i for i in range(36) if i not in (8, 13, 18, 23)]  # a uuid's text without its dashes


def uuid_words(ids: pd.Index) -> np.ndarray:
    """Canonical uuid texts as two big-endian 64-bit words each (shape n x 2): PostgreSQL's binary order."""
    text = np.asarray(ids, dtype="S36").view(np.uint8).reshape(len(ids), 36)
    digits = _HEX[text[:, _DIGITS]]
    if len(ids) and ((digits == 255).any() or (text[:, [8, 13, 18, 23]] != ord("-")).any()):
        raise ValueError("customer ids must be uuids in their canonical text form")
    octets = (digits[:, 0::2] << 4) | digits[:, 1::2]
    return np.ascontiguousarray(octets).view(">u8").astype(np.uint64)


def activity_frames(rows: ActivityRows, cutoffs: list[datetime], horizon_days: int | list[int] = 0,
                    categories: int = 0) -> tuple[pd.Series, list[pd.DataFrame]]:
    """Activity aggregates as of each cutoff: the first activity of all, and a frame per cutoff.

    Each row falls, for each cutoff, into one period of whole days before it
    (the last 30, 31-90, 91-180, 181-365 and 366-455 days), the label window
    after it, or none: one ``bincount`` of (customer, period) adds every sum and
    one every count, and the windows are running totals of periods.  The latest
    moment before the cutoff and the largest amount of the last year are
    per-customer maxima, and ``amount_last`` the amount at that latest moment.
    With ``horizon_days``, also ``future_amount`` and ``future_events``: the label window [cutoff, cutoff + horizon), which the
    features never read; a list gives each cutoff its own window, in whole days (``horizons.label_days``: a
    horizon of calendar months is 89 to 92 days, by the months).  ``first_at`` is the first activity of all: the first
    before a cutoff, where it is before it.  Customers without activity get zero
    sums and counts and no moments.
    """
    n = len(rows.customers)
    horizons = list(horizon_days) if isinstance(horizon_days, (list, tuple)) else [horizon_days] * len(cutoffs)
    horizon_days = max(horizons, default=0)  # the longest window: every lookup covers it
    edges = (0, *WINDOWS, YEAR_AGO[1])  # period p holds days [edges[p], edges[p + 1]) before the cutoff
    future, other = len(edges) - 1, len(edges)
    shared = np.full(horizon_days + YEAR_AGO[1] + 2, other, dtype=np.int8)  # by whole days before, from -h-1
    for period, (low, high) in enumerate(zip(edges[:-1], edges[1:])):
        shared[horizon_days + 1 + low:horizon_days + 1 + high] = period
    slots = other + 1
    base = rows.position.astype(np.int64) * slots
    day_position, day_first = active_days(rows, since=microseconds(min(cutoffs)) - 365 * DAY) if cutoffs else ((), ())
    frames = []
    for cutoff, horizon in zip(cutoffs, horizons):
        lookup = shared.copy()
        lookup[horizon_days + 1 - horizon:horizon_days + 1] = future  # days -h..-1: [cutoff, cutoff + h)
        age = microseconds(cutoff) - rows.at  # > 0 before the cutoff
        days = np.floor_divide(age - 1, DAY)  # whole days before it: 0 for the last 24 hours, -1 just after it
        period = lookup[np.clip(days, -horizon_days - 1, YEAR_AGO[1], out=days) + horizon_days + 1]
        del days
        slot = base + period
        sums = np.bincount(slot, weights=rows.amount, minlength=n * slots).reshape(n, slots)
        counts = np.bincount(slot, minlength=n * slots).reshape(n, slots).astype(np.float64)
        del slot
        window_sums = np.cumsum(sums[:, :len(WINDOWS)], axis=1)
        window_counts = np.cumsum(counts[:, :len(WINDOWS)], axis=1)
        last_year = period < len(WINDOWS)
        last = np.maximum(rows.per_customer(np.maximum, np.where(age > 0, rows.at, MISSING), MISSING),
                          rows.last_before_start)
        columns = {"last_at": _moments(last, MISSING)}
        # The amount of the latest activity before the cutoff (all of it at that moment): a fading
        # customer's last bill, whatever the billing cycle and however a window's edge falls between bills.
        latest = (age > 0) & (rows.at == last[rows.position])
        at_latest = rows.position[latest]
        latest_amount = np.bincount(at_latest, weights=rows.amount[latest], minlength=n)
        columns["amount_last"] = np.where(np.bincount(at_latest, minlength=n) > 0, latest_amount, np.nan)
        del latest, at_latest
        in_year = (day_first < microseconds(cutoff)) & (day_first >= microseconds(cutoff) - 365 * DAY)
        columns["active_days_365d"] = np.bincount(day_position[in_year], minlength=n).astype(np.float64)
        for i, window in enumerate(WINDOWS):
            columns[f"amount_sum_{window}d"] = window_sums[:, i]
            columns[f"events_{window}d"] = window_counts[:, i]
        largest = rows.per_customer(np.maximum, np.where(last_year, rows.amount, -np.inf), -np.inf)
        columns["amount_max_365d"] = np.where(np.isneginf(largest), np.nan, largest)
        columns["amount_year_ago_90d"] = sums[:, len(WINDOWS)]
        if categories:
            in_category = last_year & (rows.category >= 0)
            by_category = np.bincount(rows.position[in_category].astype(np.int64) * categories
                                      + rows.category[in_category], weights=rows.amount[in_category],
                                      minlength=n * categories).reshape(n, categories)
            for index in range(categories):
                columns[f"amount_365d_cat_{index}"] = by_category[:, index]
        if horizon_days:
            columns["future_amount"] = sums[:, future]
            columns["future_events"] = counts[:, future]
        frames.append(pd.DataFrame(columns, index=rows.customers))
    return pd.Series(_moments(rows.first_at), index=rows.customers), frames


def active_days(rows: ActivityRows, since: int) -> tuple[np.ndarray, np.ndarray]:
    """Each (customer, UTC day) with activity, as the customer's position and the day's first moment.

    Only for customers first seen after ``since`` (Unix microseconds): the ones a
    cutoff may know for less than a year, whose cadence (``features._known_days``)
    the features need.  A day counts before a cutoff when its first activity is
    before it, so nothing after the cutoff moves the count.
    """
    keep = (rows.first_at > since)[rows.position]
    if not keep.any():
        return np.empty(0, np.int64), np.empty(0, np.int64)
    seconds = rows.at[keep] // 1_000_000
    origin = int(seconds.min())
    ordered = np.sort((rows.position[keep].astype(np.int64) << 32) | (seconds - origin))  # by customer, then time
    position, moment = ordered >> 32, (ordered & 0xFFFFFFFF) + origin
    day = moment // 86_400
    first = np.ones(len(ordered), dtype=bool)
    first[1:] = (position[1:] != position[:-1]) | (day[1:] != day[:-1])
    return position[first], moment[first] * 1_000_000


def _moments(values: np.ndarray, missing: int = NEVER) -> pd.DatetimeIndex:
    """Unix microseconds as UTC timestamps, ``missing`` as NaT."""
    moments = values.astype("datetime64[us]")
    moments[values == missing] = np.datetime64("NaT")
    return pd.DatetimeIndex(moments).tz_localize("UTC")


def interaction_frame(spec: FeatureSpec, cutoffs: list[datetime]) -> pd.DataFrame:
    """Interaction aggregates as of each cutoff, in one scan, named like ``activity_frame``'s."""
    i = Interaction.__table__
    at = i.c.occurred_at
    complaint = i.c.interaction_type == "complaint"
    columns = [i.c.customer_id]
    for k, cutoff in enumerate(cutoffs):
        before = at < cutoff
        last_year = sa.and_(before, at >= _days(cutoff, 365))
        columns += [
            sa.func.count().filter(last_year).label(f"interactions_365d__{k}"),
            sa.func.count().filter(sa.and_(complaint, before, at >= _days(cutoff, 90))).label(f"complaints_90d__{k}"),
            sa.func.count().filter(sa.and_(complaint, last_year)).label(f"complaints_365d__{k}"),
            sa.func.count().filter(sa.and_(complaint, last_year, i.c.channel.in_(sorted(PUBLIC_CHANNELS))))
            .label(f"public_complaints_365d__{k}"),
            sa.func.count().filter(sa.and_(last_year, i.c.severity >= 4)).label(f"severe_interactions_365d__{k}"),
            # resolved after the cutoff: still open at the cutoff
            sa.func.count().filter(sa.and_(complaint, before, sa.or_(i.c.resolved_at.is_(None),
                                                                     i.c.resolved_at >= cutoff)))
            .label(f"unresolved_complaints__{k}"),
            sa.func.max(at).filter(sa.and_(complaint, before)).label(f"last_complaint_at__{k}")]
        for index, channel in enumerate(spec.channels):
            columns.append(sa.func.count().filter(sa.and_(last_year, i.c.channel == channel))
                           .label(f"interactions_365d_ch_{index}__{k}"))
    select = sa.select(*columns).where(i.c.tenant_id == current_tenant(), at < max(cutoffs)).group_by(i.c.customer_id)
    dates = tuple(f"last_complaint_at__{k}" for k in range(len(cutoffs)))
    numeric = {c.name: "float64" for c in select.selected_columns if c.name not in ("customer_id", *dates)}
    return read_frame(select, dtypes={"customer_id": "string", **numeric}, dates=dates).set_index("customer_id")
