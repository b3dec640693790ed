"""Rules on the data real tenants have: no activity, refunds, nulls, ties, odd windows and fields that go away.

Whatever the data, every customer lands in exactly one tier per dimension (the
fallback at worst); a rule the product cannot use is refused before it is saved,
at its position; a retier that cannot run fails clearly and leaves the previous
assignment as it was.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.rule_helpers import (
    AS_OF,
    assignment,
    in_tenant,
    publish_and_retier,
    retier_again,
    tiers,
)
from tierwise.errors import ValidationError
from tierwise.platform.db import db
from tierwise.tenants.customers import Customer
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
    with in_tenant(app, world):
        everyone = set(db.session.scalars(sa.select(Customer.external_id)))
    assert run.customers == len(everyone)
    assert set(assigned) == {(c, d) for c in everyone for d in codes}  # nobody unclassified, nowhere
    return {customer: tier for (customer, dimension), tier in assigned.items() if dimension == "value"}


def matching(app, world, rule) -> set[str]:
    """The customers a single rule puts in the tier ``hit`` (everyone else must be in the fallback)."""
    assigned = value_tiers(app, world, rules(("hit", rule)))
    assert set(assigned.values()) <= {"hit", "rest"}
    return {customer for customer, tier in assigned.items() if tier == "hit"}


def refused(app, world, definition) -> ValidationError:
    """The error publishing ``definition`` gives; nothing is published."""
    with in_tenant(app, world):
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


def test_an_integer_field_compares_with_a_decimal_and_counts_divide_without_truncating(app, bank):
    assert matching(app, bank, "products_held > 2.5") == {"A1"}
    assert matching(app, bank, "products_held == 1.0 or products_held / 2 == 1.5") == {"A1", "B1"}
    # A1: 3 of its 12 purchases in the last quarter is 0.25, not 0.
    assert matching(app, bank, "count(activity, 90d) / count(activity, 365d) == 0.25") == {"A1"}


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


def test_a_window_reaching_before_the_calendar_began_is_refused_or_means_all_history(app, bank):
    # "Everything ever" written as a very long window: refused up front, or simply all of the history.
    definition = rules(("ever", "count(activity, 9999y) >= 12"))
    with in_tenant(app, bank):
        try:
            versions.publish(definition, author="test")
        except RuleError as error:
            assert error.field == "value.ever.rule" and error.position + 1 == 17, (error.position, error.message)
            return
        db.session.commit()
    run = retier_again(app, bank)
    assert run.status == "succeeded"
    assert {c for (c, d), t in tiers(app, bank).items() if d == "value" and t == "ever"} == {"A1"}


# -- rankings ------------------------------------------------------------------

def test_top_share_of_nothing_picks_nobody(app, bank):
    assert matching(app, bank, "top_share(sum(amount, 1d), 0.8)") == set()  # everyone's value is zero


def test_top_share_ties_are_broken_by_external_id_not_by_import_order(app, bank):
    # Last 25 days: A1 1,000 and T1, T2, T3 100 each (imported T3 first).  90% of 1,300 is 1,170.
    assert matching(app, bank, "top_share(sum(amount, 25d), 0.9)") == {"A1", "T1", "T2"}


def test_top_share_leaves_out_refunds_and_missing_values(app, bank):
    assert matching(app, bank, "top_share(sum(amount, 90d), 1)") == {"A1", "B1", "T1", "T2", "T3"}  # not R1 (-200)
    assert matching(app, bank, "top_share(aum_avg_3m, 1)") == {"A1", "B1"}  # R1 is 0, the rest have none


@pytest.mark.parametrize("share", ["0", "1.5", "-0.1", "80"])
def test_an_impossible_share_is_refused_at_its_position(app, bank, share):
    rule = f"top_share(sum(amount, 365d), {share})"
    error = refused(app, bank, rules(("a", rule)))
    assert isinstance(error, RuleError) and error.field == "value.a.rule"
    assert error.position == rule.index(share) and "share" in error.message


def test_percentile_ranks_only_customers_with_a_value_and_ties_share_a_rank(app, bank):
    # aum_avg_3m: R1 0, B1 20,000, A1 5,000,000 (percentile ranks 1/6, 1/2, 5/6); the rest have none and no rank.
    assigned = value_tiers(app, bank, rules(("top", "percentile(aum_avg_3m) >= 0.5"),
                                            ("ranked", "percentile(aum_avg_3m) is not null")))
    assert {c for c, t in assigned.items() if t == "top"} == {"A1", "B1"}
    assert {c for c, t in assigned.items() if t == "ranked"} == {"R1"}
    # Last 25 days: B1, R1, Z0 at 0 (3/14), T1-T3 tied at 100 (9/14), A1 1,000 (13/14): ties share the middle.
    assert matching(app, bank, "percentile(sum(amount, 25d)) >= 0.6") == {"A1", "T1", "T2", "T3"}
    assert matching(app, bank, "percentile(sum(amount, 25d)) >= 0.7") == {"A1"}


def test_customers_who_all_tie_are_ranked_in_the_middle_not_at_the_top(app, bank):
    """Before any activity is imported every sum is 0: nobody is in the top 5%."""
    assert matching(app, bank, "percentile(sum(amount, 1d)) >= 0.95") == set()
    assert matching(app, bank, "percentile(sum(amount, 1d)) >= 0.5") == {"A1", "B1", "R1", "T1", "T2", "T3", "Z0"}


# -- lists, ranges, text -------------------------------------------------------------

@pytest.mark.parametrize("rule, at, message", [
    ("aum_avg_3m in []", "[", "the list is empty"),
    ('aum_avg_3m in [1, "a"]', '"a"', "cannot compare aum_avg_3m with \"a\""),
    ('segment in ["sme", 3]', "3", "cannot compare segment with 3"),
    ('segment in ["sme", "corprate"]', '"corprate"', "did you mean 'corporate'"),
])
def test_a_list_that_cannot_match_is_refused_at_the_item(app, bank, rule, at, message):
    error = refused(app, bank, rules(("hit", rule)))
    assert error.position == rule.index(at) and message in error.message, (error.position, error.message)


def test_between_with_the_bounds_the_wrong_way_round_is_refused(app, bank):
    rule = "aum_avg_3m between 6000000 and 1000000"
    error = refused(app, bank, rules(("hit", rule)))
    assert isinstance(error, RuleError) and error.position == rule.index("between"), error


def test_chinese_text_compares_and_errors_after_it_point_at_the_right_column(app, bank):
    assert matching(app, bank, 'sales_rep == "张三" or sales_rep in ["王五", "李四"]') == {"A1", "B1"}
    rule = 'sales_rep == "张三" and salesrep == "李四"'
    error = refused(app, bank, rules(("hit", rule)))
    assert error.position == rule.index("salesrep") and "did you mean 'sales_rep'" in error.message
    _expression, caret = error.pointer().splitlines()
    assert caret == " " * (rule.index("salesrep") + 2) + "^"  # 张三 is four columns wide


def test_a_field_name_in_capitals_is_offered_the_real_one(app, bank):
    error = refused(app, bank, rules(("hit", "AUM_AVG_3M > 1000000")))
    assert error.position == 0 and "'aum_avg_3m'" in error.message, error.message


def test_a_category_code_in_the_wrong_case_is_offered_the_real_one(app, bank):
    rule = 'segment == "SME"'
    error = refused(app, bank, rules(("hit", rule)))
    assert error.position == rule.index('"SME"') and "did you mean 'sme'" in error.message, error.message


@pytest.mark.parametrize("rule, at, hint", [
    ("aum_avg_3m > 1000000)", ")", "')'"),
    ("aum_avg_3m > 1,000,000", ",", "1000000"),
    ("aum_avg_3m ≥ 1000000", "≥", "'≥'"),
])
def test_a_typing_slip_is_explained_at_its_position_without_a_misleading_hint(app, bank, rule, at, hint):
    error = refused(app, bank, rules(("hit", rule)))
    assert error.position == (rule.index(at) if at else len(rule)), (error.position, error.message)
    assert hint in error.message and "missing 'and' / 'or'" not in error.message, error.message


def test_an_error_in_a_rule_written_over_several_lines_is_pointed_at_on_its_line(app, bank):
    rule = 'aum_avg_3m > 1000000\n  and produts_held >= 2\n  and segment == "sme"'  # a YAML block (|) rule
    error = refused(app, bank, rules(("hit", rule)))
    assert error.position == rule.index("produts_held") and "did you mean 'products_held'" in error.message
    lines = error.pointer().splitlines()
    caret = next(i for i, line in enumerate(lines) if line.strip() == "^")
    assert lines[caret - 1][lines[caret].index("^"):].startswith("produts_held"), lines


@pytest.mark.parametrize("where", ["rule", "value_measure"])
def test_a_rule_of_only_spaces_is_refused_where_it_is_written(app, bank, where):
    definition = rules(("hit", "aum_avg_3m > 1"))
    if where == "rule":
        definition["dimensions"][0]["tiers"][0]["rule"] = " \t\n "
    else:
        definition["value_measure"] = "   "
    error = refused(app, bank, definition)
    assert error.field == ("value.hit.rule" if where == "rule" else "value_measure"), error.field


def test_a_long_rule_within_the_limit_is_evaluated(app, bank):
    many_ors = " or ".join(f"aum_avg_3m == {i}" for i in range(1, 95)) + " or sales_rep == \"张三\""
    long_sum = " + ".join("coalesce(aum_avg_3m, 0)" for _ in range(75)) + " > 0"
    assert len(many_ors) < 2000 and len(long_sum) < 2000
    assigned = value_tiers(app, bank, rules(("ors", many_ors), ("sum", long_sum)))
    assert assigned["A1"] == "ors" and assigned["B1"] == "sum" and assigned["Z0"] == "rest"


# -- other dimensions' tiers and model outputs -------------------------------------------

def test_a_dimension_may_use_a_tier_defined_after_it_through_a_chain(app, bank):
    lifecycle = {"code": "lifecycle", "tiers": [{"code": "watched", "rule": 'tier("opinion_risk") == "calm" '
                                                                            'and aum_avg_3m > 100000'},
                                                {"code": "other", "fallback": True}]}
    assigned = value_tiers(app, bank, rules(("vip", 'tier("lifecycle") == "watched"'), extra=[lifecycle]))
    assert {c for c, t in assigned.items() if t == "vip"} == {"A1"}


def test_a_cycle_across_three_dimensions_is_refused_before_saving(app, bank):
    def uses(code, other, tier="x"):
        return {"code": code, "tiers": [{"code": "x", "rule": f'tier("{other}") == "{tier}"'},
                                        {"code": "y", "fallback": True}]}

    error = refused(app, bank, rules(("vip", 'tier("one") == "x"'),
                                     extra=[uses("one", "two"), uses("two", "value", "vip")]))
    assert "cycle" in error.message and "value" in error.message and "two" in error.message, error.message


def test_model_outputs_before_any_model_leave_every_customer_to_later_tiers(app, bank):
    assigned = value_tiers(app, bank, rules(("churning", "churn_probability >= 0.6"),
                                            ("safe", "not (churn_probability >= 0.3)"),
                                            ("potential", ("percentile(predicted_value) >= 0.9 "
                                                           "or top_share(predicted_value, 0.8)")),
                                            ("unscored", "predicted_value is null and churn_probability is null")))
    assert set(assigned.values()) == {"unscored"}


# -- the tenant's own fields ------------------------------------------------------------

@pytest.mark.parametrize("rule, expected", [
    ("aum_avg_3m >= 1000000", {"A1"}),                                     # number
    ('sales_rep == "张三"', {"A1"}),                                          # text
    ('segment in ["sme", "corporate"]', {"A1"}),                           # category
    ("is_staff", {"A1"}),                                                    # boolean
    ("not is_staff", {"B1"}),
    ('opened_on >= "2024-06-01"', {"A1"}),                                  # date
    ("days_since(opened_on) < 120", {"A1"}),                                # 5 Oct 2024 to 1 Jan 2025: 88 days
    ('opened_on between "2019-01-01" and "2019-12-31"', {"B1"}),
])
def test_a_field_of_every_registry_type_can_decide_a_tier(app, bank, rule, expected):
    assert matching(app, bank, rule) == expected


def test_days_since_a_date_field_counts_from_the_day_the_moment_falls_on_for_the_tenant(app, bank):
    """00:30 on 6 October in Shanghai is still 5 October in UTC: A1 opened on 5 October is a day old."""
    from datetime import datetime, timezone

    run = publish_and_retier(app, bank, rules(("hit", "days_since(opened_on) >= 1")),
                             as_of=datetime(2024, 10, 5, 16, 30, tzinfo=timezone.utc))
    assert run.status == "succeeded" and tiers(app, bank)[("A1", "value")] == "hit"


def test_a_date_field_compared_with_text_that_is_not_a_date_is_refused(app, bank):
    rule = 'opened_on > "June"'
    error = refused(app, bank, rules(("hit", rule)))
    assert error.position == rule.index('"June"') and "not a date" in error.message, error.message


def test_a_date_written_without_leading_zeros_is_refused_or_read_as_that_date(app, bank):
    rule = 'opened_on >= "2024-6-1"'
    with in_tenant(app, bank):
        try:
            versions.publish(rules(("hit", rule)), author="test")
        except RuleError as error:
            assert error.position == rule.index('"2024-6-1"') and "date" in error.message, error.message
            return
        db.session.commit()
    retier_again(app, bank)
    assert {c for (c, d), t in tiers(app, bank).items() if d == "value" and t == "hit"} == {"A1"}


def latest_run(app, world) -> RetierRun:
    with in_tenant(app, world):
        run = db.session.scalars(sa.select(RetierRun).order_by(RetierRun.started_at.desc()).limit(1)).one()
        db.session.expunge(run)
        return run


def test_a_field_removed_after_publishing_fails_the_next_retier_clearly_and_keeps_the_tiers(app, bank):
    value_tiers(app, bank, rules(("staff", "is_staff"), ("big", "aum_avg_3m > 10000")))
    before = tiers(app, bank)
    with in_tenant(app, bank):
        db.session.execute(sa.delete(FieldDefinition).where(FieldDefinition.name == "is_staff"))
        db.session.commit()
    with pytest.raises(RuleError, match="unknown field 'is_staff'"):
        retier_again(app, bank)
    failed = latest_run(app, bank)
    assert failed.status == "failed" and "value.staff.rule" in failed.message and "is_staff" in failed.message
    assert tiers(app, bank) == before
    assert assignment(app, bank, "A1", "value").reason == {"is_staff": True}


def test_a_category_code_withdrawn_after_publishing_fails_the_next_retier_clearly_and_keeps_the_tiers(app, bank):
    from tierwise.tenants.fields import field_registry, update_field

    value_tiers(app, bank, rules(("business", 'segment in ["sme", "corporate"]')))
    before = tiers(app, bank)
    with in_tenant(app, bank):
        segment = field_registry()["segment"]
        update_field(segment, field_group=segment.field_group, label_zh=segment.label_zh, label_en=segment.label_en,
                     description=segment.description, categories=["retail", "sme"])
        db.session.commit()
    with pytest.raises(RuleError, match="'corporate' is not a value of segment"):
        retier_again(app, bank)
    assert latest_run(app, bank).status == "failed" and tiers(app, bank) == before


# -- preview and empty tenants -----------------------------------------------------------

def test_a_preview_of_rules_full_of_unknowns_classifies_everyone_as_the_retier_then_does(app, bank):
    definition = rules(("growing", "trend(amount, 90d) >= 0.2"),
                       ("ticket", "sum(amount, 90d) / count(activity, 90d) >= 400"),
                       ("scored", "churn_probability < 0.5"),
                       ("refunding", "sum(amount, 90d) < 0"))
    definition["value_measure"] = "sum(amount, 90d) / count(activity, 90d)"  # unknown for Z0
    with in_tenant(app, bank):
        _, plan = versions.validate(definition)
        shown = preview(plan, as_of=AS_OF)
        db.session.rollback()
    assert shown.customers == len(CUSTOMERS)
    for dimension in shown.dimensions:
        assert dimension.unclassified == 0 and sum(t.customers for t in dimension.tiers) == len(CUSTOMERS)
    counts = {t.tier: t.customers for t in next(d for d in shown.dimensions if d.dimension == "value").tiers}
    assigned = value_tiers(app, bank, definition)
    assert counts == {tier: sum(1 for t in assigned.values() if t == tier) for tier in counts}
    assert counts == {"growing": 0, "ticket": 2, "scored": 0, "refunding": 1, "rest": 4}  # A1 1,000, B1 500


def test_a_tenant_without_customers_previews_and_retiers_to_nothing(app, make_tenant):
    empty = make_tenant("bank")
    definition = rules(("vip", "top_share(sum(amount, 365d), 0.8) and percentile(aum_avg_3m) > 0.5"))
    with in_tenant(app, empty):
        _, plan = versions.validate(definition)
        shown = preview(plan, as_of=AS_OF)
        db.session.rollback()
    assert shown.customers == 0 and all(d.unclassified == 0 for d in shown.dimensions)
    run = publish_and_retier(app, empty, definition)
    assert run.status == "succeeded" and run.customers == 0
