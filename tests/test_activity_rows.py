"""The activity rows training and scoring read: the same rows whichever way they travel, only the tenant's,
and windows that start and end exactly where the rule language's do."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from tests.model_helpers import seed_history
from tests.rule_helpers import in_tenant
from tierwise.models import features, frames, scans
from tierwise.platform.db import db
from tierwise.tenants.activity import Activity
from tierwise.tenants.customers import Customer

CUTOFF = datetime(2025, 3, 1, tzinfo=timezone.utc)
DAY = timedelta(days=1)
MICRO = timedelta(microseconds=1)


def _read(spec, customers: pd.Index) -> scans.ActivityRows:
    return features.activity_rows(spec, customers, [CUTOFF], horizon_days=90)


def _sorted(rows: scans.ActivityRows) -> np.ndarray:
    order = np.lexsort((rows.amount, rows.at, rows.position))
    return np.stack([rows.position[order], rows.at[order], rows.amount[order], rows.category[order]])


def test_page_batches_and_single_rows_read_the_same_rows_of_this_tenant_only(app, tenant_a, tenant_b, monkeypatch):
    seed_history(app, tenant_a, customers=120, months=12)
    seed_history(app, tenant_b, industry="power_utility", customers=80, months=12, seed=5)  # the same pages
    with in_tenant(app, tenant_a):
        spec = features.current_spec()
        customers = pd.Index(features.customer_frame(spec)["customer_id"])
        expected = db.session.execute(sa.select(sa.func.count()).select_from(Activity).where(
            Activity.occurred_at < CUTOFF + 90 * DAY)).scalar_one()
        monkeypatch.setattr(frames, "PAGES_PER_MESSAGE", 3)  # many batches, some of them empty
        monkeypatch.setattr(frames, "_reads_whole_table", lambda *a: True)  # a tenant holding much of the table
        batched = _read(spec, customers)
        monkeypatch.setattr(frames, "_reads_whole_table", lambda *a: False)  # a small tenant of a large table
        single = _read(spec, customers)
    assert len(batched.at) == len(single.at) == expected > 0
    assert np.array_equal(_sorted(batched), _sorted(single))
    assert np.array_equal(batched.first_at, single.first_at)
    assert np.all(np.diff(batched.position) >= 0)  # grouped by customer
    assert batched.position.max() < len(customers)


def test_the_plan_decides_how_rows_travel(app, tenant_a):
    with in_tenant(app, tenant_a):
        select = sa.select(Activity.customer_id).where(Activity.tenant_id == tenant_a.tenant_id)
        connection = db.session.connection()
        db.session.execute(sa.text("SET LOCAL enable_indexscan = off; SET LOCAL enable_indexonlyscan = off; "
                                   "SET LOCAL enable_bitmapscan = off"))  # as for a tenant of most of the table
        assert frames._reads_whole_table(connection, select)
        db.session.execute(sa.text("SET LOCAL enable_indexscan = on; SET LOCAL enable_seqscan = off"))
        assert not frames._reads_whole_table(connection, select)


@pytest.mark.parametrize("whole_table", [True, False])
def test_a_null_or_a_value_of_another_width_is_refused_not_misread(app, tenant_a, whole_table, monkeypatch):
    seed_history(app, tenant_a, customers=40, months=6)
    a = Activity.__table__
    monkeypatch.setattr(frames, "_reads_whole_table", lambda *a: whole_table)
    with in_tenant(app, tenant_a):
        nulls = sa.select(a.c.occurred_at, sa.cast(sa.null(), sa.Float(53))).where(a.c.tenant_id == tenant_a.tenant_id)
        with pytest.raises(ValueError, match="NULL"):
            list(frames.stream_binary(nulls, [("at", ">i8"), ("amount", ">f8")]))
        narrow = sa.select(a.c.occurred_at, sa.cast(a.c.ordinal, sa.SmallInteger)).where(
            a.c.tenant_id == tenant_a.tenant_id)
        with pytest.raises(ValueError, match="width"):
            list(frames.stream_binary(narrow, [("at", ">i8"), ("ordinal", ">i4")]))


def _rows(events: list[tuple[int, datetime, float, int]], customers: int) -> scans.ActivityRows:
    """Rows built by hand: (customer position, moment, amount, category)."""
    events = sorted(events, key=lambda e: e[0])
    position = np.array([e[0] for e in events], dtype=np.int32)
    at = np.array([scans.microseconds(e[1]) for e in events], dtype=np.int64)
    counts = np.bincount(position, minlength=customers)
    first = np.full(customers, scans.NEVER, dtype=np.int64)
    np.minimum.at(first, position, at)
    return scans.ActivityRows(pd.Index([f"c{i}" for i in range(customers)]), position, at,
                              np.array([e[2] for e in events]), np.array([e[3] for e in events], dtype=np.int8),
                              first, np.full(customers, scans.MISSING), counts > 0,
                              (np.cumsum(counts) - counts)[counts > 0])


def test_windows_include_their_first_microsecond_and_exclude_the_cutoff():
    rows = _rows([
        (0, CUTOFF - 30 * DAY, 1.0, 0),  # the first moment of the 30-day window
        (0, CUTOFF - 30 * DAY - MICRO, 10.0, 1),  # just before it: 90 days only
        (0, CUTOFF - MICRO, 100.0, 0),  # the last moment before the cutoff
        (0, CUTOFF, 1000.0, 0),  # at the cutoff: the label window's first moment
        (0, CUTOFF + 90 * DAY - MICRO, 10_000.0, 0),  # the label window's last
        (0, CUTOFF + 90 * DAY, 100_000.0, 0),  # after it
        (1, CUTOFF - 365 * DAY, 3.0, -1),  # a year ago exactly: in the 365-day window
        (1, CUTOFF - 365 * DAY - MICRO, 7.0, 0),  # the year-ago quarter
        (1, CUTOFF - 455 * DAY, 20.0, 0),  # the year-ago quarter's first moment
        (1, CUTOFF - 455 * DAY - MICRO, 50.0, 0),  # older: only the first activity
    ], customers=3)
    first_at, [frame] = scans.activity_frames(rows, [CUTOFF], horizon_days=90, categories=2)
    one, two, none = frame.iloc[0], frame.iloc[1], frame.iloc[2]
    assert (one["amount_sum_30d"], one["events_30d"]) == (101.0, 2)
    assert (one["amount_sum_90d"], one["events_90d"]) == (111.0, 3)
    assert one["last_at"] == pd.Timestamp(CUTOFF - MICRO)
    assert (one["future_amount"], one["future_events"]) == (11_000.0, 2)
    assert (one["amount_365d_cat_0"], one["amount_365d_cat_1"]) == (101.0, 10.0)
    assert one["amount_max_365d"] == 100.0
    assert (two["amount_sum_365d"], two["events_365d"], two["amount_year_ago_90d"]) == (3.0, 1, 27.0)
    assert (two["amount_365d_cat_0"], two["amount_365d_cat_1"]) == (0.0, 0.0)  # -1: no category of the spec
    assert first_at.iloc[1] == pd.Timestamp(CUTOFF - 455 * DAY - MICRO)
    assert pd.isna(none["last_at"]) and np.isnan(none["amount_max_365d"]) and none["events_365d"] == 0
    assert pd.isna(first_at.iloc[2])


def test_a_customer_silent_for_longer_than_every_window_still_has_a_history(app, tenant_a):
    with in_tenant(app, tenant_a):
        silent = Customer(external_id="SILENT", name="silent")
        odd = Customer(external_id="ODD", name="odd")
        db.session.add_all([silent, odd])
        db.session.flush()
        db.session.add_all([
            Activity(customer_id=silent.id, occurred_at=CUTOFF - 500 * DAY, amount=Decimal("5")),
            Activity(customer_id=odd.id, occurred_at=CUTOFF - 10 * DAY, amount=Decimal("7"), category="50%off"),
            Activity(customer_id=odd.id, occurred_at=CUTOFF - 20 * DAY, amount=Decimal("1"), category="plain")])
        db.session.flush()
        spec = features.FeatureSpec(categories=("50%off", "plain"))
        alone = features.build_features(spec, CUTOFF)
        together = features.build_feature_sets(spec, [CUTOFF - 120 * DAY, CUTOFF])[1][0]
        naive = features.build_features(spec, CUTOFF.replace(tzinfo=None))
        for x in (alone, together):  # whether or not an earlier cutoff's windows reach its last activity
            row = x.loc[str(silent.id)]
            assert row["recency_days"] == 500 and row["amount_sum_365d"] == 0 and row["events_30d"] == 0
        assert alone.loc[str(odd.id), "amount_365d_cat_0"] == 7  # a % in a category is read as itself
        assert alone.equals(naive)  # a naive cutoff is UTC
