"""Rules on the data real tenants have: no activity, refunds, nulls, ties, odd windows and fields that go away.

Whatever the data, every customer lands in exactly one tier per dimension (the
fallback at worst); a rule the product cannot use is refused before it is saved,
at its position; a retier that cannot run fails clearly and leaves the previous
assignment as it was.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.rule_helpers import AS_OF, assignment, in_tenant, publish_and_retier, retier_again, tiers
from tierwise.errors import ValidationError
from tierwise.platform.db import db
from tierwise.tenants.fields import FieldDefinition, define_field
from tierwise.tenants.imports.runner import import_records
from tierwise.tenants.rules import versions
from tierwise.tenants.rules.assignments import RetierRun
from tierwise.tenants.rules.preview import preview
from tierwise.tenants.rules.syntax import RuleError

CUSTOMERS = ("A1", "B1", "R1", "T1", "T2", "T3", "Z0")


@pytest.fixture
def bank(app, make_tenant):
    """A bank with a field of every registry type and customers at the edges.

    A1: a steady buyer, every field filled in.   B1: bought only in the last 90 days (no earlier window).
    R1: refunds larger than its purchases.       T1, T2, T3: three accounts with exactly the same value.
    Z0: imported with nothing at all: no fields, no activity, no complaints.
    """
    world = make_tenant("bank")
    with in_tenant(app, world):
        define_field(name="opened_on", field_type="date")
        define_field(name="is_staff", field_type="boolean")
        define_field(name="sales_rep", field_type="text")
        define_field(name="segment", field_type="category", categories=["retail", "sme", "corporate"])
        db.session.flush()
        import_records([
            {"external_id": "A1", "name": "甲公司", "aum_avg_3m": "5000000", "products_held": "3",
             "opened_on": "2024-10-05", "is_staff": "true", "sales_rep": "张三", "segment": "sme"},
            {"external_id": "B1", "name": "乙", "aum_avg_3m": "20000", "products_held": "1",
             "opened_on": "2019-03-01", "is_staff": "false", "sales_rep": "李四", "segment": "retail"},
            {"external_id": "R1", "name": "丙", "aum_avg_3m": "0", "products_held": "0"},
            {"external_id": "T1", "name": "丁1"}, {"external_id": "T2", "name": "丁2"},
            {"external_id": "T3", "name": "丁3"},
            {"external_id": "Z0", "name": "新开户"},
        ], kind="customers")
        activity = [{"customer": "A1", "occurred_at": f"2024-{m:02d}-15", "amount": "1000"} for m in range(1, 13)]
        activity += [{"customer": "B1", "occurred_at": "2024-12-01", "amount": "500"},
                     {"customer": "R1", "occurred_at": "2024-11-01", "amount": "100"},
                     {"customer": "R1", "occurred_at": "2024-12-01", "amount": "-300"}]
        activity += [{"customer": t, "occurred_at": "2024-12-10", "amount": "100"} for t in ("T3", "T1", "T2")]
        import_records(activity, kind="activity")
        db.session.commit()
    return world


def rules(*value_tiers, extra=()) -> dict:
    """The built-in dimensions, with ``value`` tiered by (code, rule) pairs and a fallback ``rest``."""
    value = [{"code": code, "rule": rule} for code, rule in value_tiers] + [{"code": "rest", "fallback": True}]
    return {"dimensions": [
        {"code": "value", "tiers": value},
        {"code": "high_risk", "tiers": [{"code": "high", "rule": "loan_balance > 1000000"},
                                        {"code": "normal", "fallback": True}]},
        {"code": "opinion_risk", "tiers": [{"code": "alert", "rule": "count(complaints, 90d) >= 2"},
                                           {"code": "calm", "fallback": True}]},
        *extra]}


def value_tiers(app, world, definition) -> dict[str, str]:
    """Publish, retier, check every customer is classified in every dimension, return the value tiers."""
    run = publish_and_retier(app, world, definition)
    assert run.status == "succeeded"
    assigned = tiers(app, world)
    codes = [d["code"] for d in definition["dimensions"]]
    assert set(assigned) == {(c, d) for c in CUSTOMERS for d in codes}  # nobody unclassified, nowhere
    return {customer: tier for (customer, dimension), tier in assigned.items() if dimension == "value"}


def matching(app, world, rule) -> set[str]:
    """The customers a single rule puts in the tier ``hit`` (everyone else must be in the fallback)."""
    assigned = value_tiers(app, world, rules(("hit", rule)))
    assert set(assigned.values()) <= {"hit", "rest"}
    return {customer for customer, tier in assigned.items() if tier == "hit"}


def refused(world_app, world, definition) -> ValidationError:
    """The error publishing ``definition`` gives; nothing is published."""
    with in_tenant(world_app, world):
        before = versions.current_version().number
        with pytest.raises(ValidationError) as caught:
            versions.publish(definition, author="test")
        db.session.rollback()
        assert versions.current_version().number == before
    return caught.value


# -- arithmetic and nulls ----------------------------------------------------

def test_an_average_ticket_of_a_customer_without_activity_is_unknown_not_a_crash(app, bank):
    # 90 days: A1 (3 x 1000 / 3), B1 (500 / 1), R1 (-200 / 2), T* (100 / 1); Z0 divides by zero.
    assert matching(app, bank, "sum(amount, 90d) / count(activity, 90d) >= 100") == {"A1", "B1", "T1", "T2", "T3"}
    assert matching(app, bank, "(sum(amount, 90d) / count(activity, 90d)) is null") == {"Z0"}


def test_a_missing_field_matches_neither_a_test_nor_its_negation(app, bank):
    # T1 has no aum_avg_3m: it is not above 1, and not "not above 1" either; it lands in the next tier.
    assigned = value_tiers(app, bank, rules(("big", "aum_avg_3m > 1"), ("small", "not (aum_avg_3m > 1)")))
    assert assigned["A1"] == "big" and assigned["R1"] == "small"
    assert {assigned[c] for c in ("T1", "T2", "T3", "Z0")} == {"rest"}


def test_is_null_finds_customers_without_a_value(app, bank):
    assert matching(app, bank, "aum_avg_3m is null and opened_on is null and is_staff is null") == {
        "T1", "T2", "T3", "Z0"}


def test_refunds_make_a_negative_total_that_rules_can_see(app, bank):
    assert matching(app, bank, "sum(amount, 90d) < 0") == {"R1"}
    assert matching(app, bank, "abs(sum(amount, 90d)) >= 200 and sum(amount, 90d) < 0") == {"R1"}


def test_very_large_numbers_compare_as_numbers(app, bank):
    assert matching(app, bank, "aum_avg_3m * 1000000000 > 1e15") == {"A1"}
    assert matching(app, bank, "sum(amount, 365d) < 99999999999999999999") == set(CUSTOMERS)


def test_an_integer_field_compares_with_a_decimal(app, bank):
    assert matching(app, bank, "products_held > 2.5") == {"A1"}
    assert matching(app, bank, "products_held == 1.0") == {"B1"}


# -- windows, trend, days since ----------------------------------------------

def test_trend_without_an_earlier_window_is_unknown_and_the_customer_is_still_tiered(app, bank):
    # B1 bought only in the last 90 days: there is no earlier value to grow from.
    assigned = value_tiers(app, bank, rules(("growing", "trend(amount, 90d) >= 0.2"),
                                            ("shrinking", "trend(amount, 90d) <= -0.2"),
                                            ("unknown", "trend(amount, 90d) is null")))
    assert assigned["A1"] == "rest"  # 3,000 against 3,000: flat
    assert {c for c, t in assigned.items() if t == "unknown"} == {"B1", "R1", "T1", "T2", "T3", "Z0"}


def test_days_since_last_activity_of_a_customer_without_any_is_null(app, bank):
    assigned = value_tiers(app, bank, rules(("recent", "days_since_last(activity) <= 40"),
                                            ("never", "days_since_last(activity) is null")))
    assert {c for c, t in assigned.items() if t == "recent"} == {"A1", "B1", "R1", "T1", "T2", "T3"}
    assert {c for c, t in assigned.items() if t == "never"} == {"Z0"}


def test_a_one_day_window_and_a_ten_year_window(app, bank):
    assert matching(app, bank, "count(activity, 1d) > 0") == set()
    assert matching(app, bank, "count(activity, 3650d) >= 12") == {"A1"}


@pytest.mark.parametrize("rule, column", [
    ("sum(amount, 0d) > 0", 13),
    ("sum(amount, -90d) > 0", 13),
    ("count(activity, 0w) > 0", 17),
])
def test_an_empty_or_negative_window_is_refused_at_its_position(app, bank, rule, column):
    error = refused(app, bank, rules(("hit", rule)))
    assert isinstance(error, RuleError) and error.field == "value.hit.rule"
    assert error.position + 1 == column and ("duration" in error.message or "window" in error.message), error.message
