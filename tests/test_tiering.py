"""Retier: every customer gets exactly one tier per dimension, for a reason, atomically."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from tierwise.platform import tenancy
from tierwise.platform.audit import Actor, AuditEvent, acting_as
from tierwise.platform.db import db
from tierwise.tenants.customers import Customer
from tierwise.tenants.imports.runner import import_records
from tierwise.tenants.rules import retier as retier_module
from tierwise.tenants.rules import snapshot
from tierwise.tenants.rules.assignments import RetierRun, TierAssignment, TierChange, TierHistory
from tierwise.tenants.rules.distribution import customer_tier_history
from tierwise.tenants.rules.snapshot import PreviewSnapshot
from tests.rule_helpers import assignment, in_tenant, publish_and_retier, retier_again, tiers

AS_OF = datetime(2025, 1, 1, tzinfo=timezone.utc)
PUBLIC = '["social_media", "news_media", "regulator_hotline"]'


def rule_set(value=None, high_risk=None, opinion=None, extra=()):
    """A rule set with the three built-in dimensions (each overridable) and any extra ones."""
    return {"dimensions": [
        {"code": "value", "tiers": value or [
            {"code": "vip", "rule": "top_share(sum(amount, 365d), 0.8)"},
            {"code": "important", "rule": "sum(amount, 365d) >= 1000"},
            {"code": "general", "fallback": True}]},
        {"code": "high_risk", "tiers": high_risk or [
            {"code": "critical", "rule": 'facility_type in ["hospital", "mine"] and outage_consequence >= 4'},
            {"code": "normal", "fallback": True}]},
        {"code": "opinion_risk", "tiers": opinion or [
            {"code": "alert", "rule": f"count(complaints, 90d, channel in {PUBLIC}) >= 2"},
            {"code": "calm", "fallback": True}]},
        *extra]}


@pytest.fixture
def utility(app, make_tenant):
    """A power utility with a low-usage hospital, a big factory, a complaining shop, a home and a new account."""
    world = make_tenant("power_utility")
    customers = [
        {"external_id": "H1", "name": "市第一医院", "facility_type": "hospital", "outage_consequence": "5"},
        {"external_id": "F1", "name": "钢铁厂", "facility_type": "other", "outage_consequence": "2"},
        {"external_id": "S1", "name": "便利店", "facility_type": "other", "outage_consequence": "1"},
        {"external_id": "R1", "name": "张三", "facility_type": "other", "outage_consequence": "1"},
        {"external_id": "N1", "name": "新开户", "facility_type": "other", "outage_consequence": "1"},
    ]
    monthly = {"H1": 20, "F1": 5000, "S1": 150, "R1": 60}
    activity = [{"customer": cid, "occurred_at": f"2024-{m:02d}-20", "amount": str(amount), "category": "bill"}
                for cid, amount in monthly.items() for m in range(1, 13)]
    complaints = [{"customer": "S1", "occurred_at": f"2024-{m}-05", "channel": "social_media", "type": "complaint",
                   "severity": "3"} for m in (10, 11, 12)]
    complaints.append({"customer": "R1", "occurred_at": "2024-12-01", "channel": "phone", "type": "complaint",
                       "severity": "2"})
    with app.app_context(), tenancy.tenant_scope(world.tenant_id), acting_as(Actor(label="test")):
        import_records(customers, kind="customers")
        import_records(activity, kind="activity")
        import_records(complaints, kind="interactions")
        db.session.commit()
    return world


def test_every_customer_gets_exactly_one_tier_in_every_dimension(app, utility):
    run = publish_and_retier(app, utility, rule_set())
    assert run.status == "succeeded" and run.customers == 5
    assigned = tiers(app, utility)
    assert len(assigned) == 5 * 3
    assert assigned[("N1", "value")] == "general"  # no activity at all: still classified, by the fallback
    assert {assigned[(c, "value")] for c in ("F1",)} == {"vip"}


def test_a_low_usage_hospital_is_high_risk_whatever_its_value(app, utility):
    publish_and_retier(app, utility, rule_set())
    assigned = tiers(app, utility)
    assert assigned[("H1", "value")] == "general"
    assert assigned[("H1", "high_risk")] == "critical"
    assert assigned[("F1", "value")] == "vip" and assigned[("F1", "high_risk")] == "normal"


def test_a_repeat_public_complainer_is_an_opinion_risk_but_a_single_phone_complaint_is_not(app, utility):
    publish_and_retier(app, utility, rule_set())
    assigned = tiers(app, utility)
    assert assigned[("S1", "opinion_risk")] == "alert"
    assert assigned[("R1", "opinion_risk")] == "calm"


def test_the_reason_shows_the_values_the_deciding_rule_looked_at(app, utility):
    publish_and_retier(app, utility, rule_set())
    hospital = assignment(app, utility, "H1", "high_risk")
    assert hospital.basis == "rule"
    assert hospital.reason == {"facility_type": "hospital", "outage_consequence": 5}
    shop = assignment(app, utility, "S1", "opinion_risk")
    assert shop.reason == {f"count(complaints, 90d, channel in {PUBLIC})": 3}
    general = assignment(app, utility, "R1", "value")
    assert general.basis == "fallback"
    assert general.reason["sum(amount, 365d)"] == pytest.approx(720)
    assert general.reason["top_share(sum(amount, 365d), 0.8)"] in (False, 0)


def test_a_rule_with_or_shows_only_the_side_the_customer_matched(app, utility):
    # H1 is critical as a hospital; S1 by its complaints.  Neither is shown the other side's values: a hospital's
    # reason once read "Number of complaints … = 0" beside its facility, and a model score a rule had not yet
    # been given read "—".
    high_risk = [{"code": "critical", "rule": f'(facility_type == "hospital" and outage_consequence >= 4) or '
                                              f'count(complaints, 90d, channel in {PUBLIC}) >= 2 or '
                                              f'churn_probability > 0.5'},
                 {"code": "normal", "fallback": True}]
    publish_and_retier(app, utility, rule_set(high_risk=high_risk))
    complaints = f"count(complaints, 90d, channel in {PUBLIC})"
    assert assignment(app, utility, "H1", "high_risk").reason == {"facility_type": "hospital",
                                                                   "outage_consequence": 5}
    assert assignment(app, utility, "S1", "high_risk").reason == {complaints: 3}
    normal = assignment(app, utility, "R1", "high_risk")  # matched nothing: every value the rules looked at
    assert normal.basis == "fallback" and set(normal.reason) == {"facility_type", "outage_consequence", complaints,
                                                                "churn_probability"}


def test_an_and_over_an_or_keeps_both_sides_of_the_and_and_the_matched_side_of_the_or(app, utility):
    high_risk = [{"code": "critical", "rule": 'outage_consequence >= 1 and (facility_type == "hospital" or '
                                              'sum(amount, 365d) >= 10000)'},
                 {"code": "normal", "fallback": True}]
    publish_and_retier(app, utility, rule_set(high_risk=high_risk))
    assert assignment(app, utility, "H1", "high_risk").reason == {"outage_consequence": 5,
                                                                   "facility_type": "hospital"}
    factory = assignment(app, utility, "F1", "high_risk").reason
    assert set(factory) == {"outage_consequence", "sum(amount, 365d)"} and factory["sum(amount, 365d)"] == 60000


def test_a_customer_held_by_the_margin_is_shown_every_value_of_its_rule(app, utility):
    # S1 has 1,800 over the year and is no hospital.
    def value(threshold):
        definition = rule_set(value=[{"code": "important", "rule": f"sum(amount, 365d) >= {threshold} or "
                                                                   "facility_type == \"hospital\""},
                                     {"code": "general", "fallback": True}])
        definition["dimensions"][0]["hysteresis"] = {"margin": 0.1}
        return definition

    publish_and_retier(app, utility, value(1700))
    assert assignment(app, utility, "S1", "value").reason == {"sum(amount, 365d)": 1800}
    publish_and_retier(app, utility, value(1900))  # held within the margin: the rule no longer holds as written
    held = assignment(app, utility, "S1", "value")
    assert held.tier == "important" and held.basis == "held"
    assert held.reason == {"sum(amount, 365d)": 1800, "facility_type": "other"}


def test_tiers_of_other_dimensions_can_be_used_in_rules(app, utility):
    lifecycle = {"code": "attention", "tiers": [
        {"code": "escalate", "rule": 'tier("value") == "vip" or tier("high_risk") == "critical"'},
        {"code": "routine", "fallback": True}]}
    publish_and_retier(app, utility, rule_set(extra=[lifecycle]))
    assigned = tiers(app, utility)
    assert {c for c in ("H1", "F1", "S1", "R1", "N1") if assigned[(c, "attention")] == "escalate"} == {"H1", "F1"}


def test_a_retier_records_history_and_changes_up_down_and_new(app, utility):
    first = publish_and_retier(app, utility, rule_set())
    assert first.changes["value"]["new"] == 5
    stricter = rule_set(value=[{"code": "vip", "rule": "sum(amount, 365d) >= 100000"},
                               {"code": "important", "rule": "sum(amount, 365d) >= 1000"},
                               {"code": "general", "fallback": True}])
    second = publish_and_retier(app, utility, stricter)
    assert second.changes["value"] == {"up": 0, "down": 1, "new": 0, "held": 0}  # F1: vip -> important
    with in_tenant(app, utility):
        f1 = db.session.scalar(sa.select(Customer.id).where(Customer.external_id == "F1"))
        history = [p for p in customer_tier_history(f1) if p.dimension == "value"]
        assert [p.tier for p in history] == ["important", "vip"]  # newest first
        assert history[0].valid_to is None and history[1].valid_to == history[0].valid_from
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TierHistory)) == 1  # closed periods only
        change = db.session.scalars(sa.select(TierChange).where(TierChange.customer_id == f1,
                                                                TierChange.direction == "down")).one()
        assert (change.from_tier, change.to_tier) == ("vip", "important")


def test_a_retier_with_nothing_changed_records_no_changes(app, utility):
    publish_and_retier(app, utility, rule_set())
    run = retier_again(app, utility)
    assert all(counts == {"up": 0, "down": 0, "new": 0, "held": 0} for counts in run.changes.values())


def decisions() -> dict:
    """When each stored assignment was last written, by (customer, dimension)."""
    rows = db.session.execute(sa.select(TierAssignment.customer_id, TierAssignment.dimension, TierAssignment.decided_at))
    return {(customer, dimension): decided for customer, dimension, decided in rows}


def test_a_new_version_rewrites_every_assignment_once_even_where_no_tier_moves(app, utility):
    first = publish_and_retier(app, utility, rule_set())
    # A threshold nobody is near: no tier moves, but every row must say which version decided it.
    edited = rule_set(value=[{"code": "vip", "rule": "top_share(sum(amount, 365d), 0.8)"},
                             {"code": "important", "rule": "sum(amount, 365d) >= 1001"},
                             {"code": "general", "fallback": True}])
    second = publish_and_retier(app, utility, edited)
    assert all(counts == {"up": 0, "down": 0, "new": 0, "held": 0} for counts in second.changes.values())
    with in_tenant(app, utility):
        versions = db.session.execute(sa.select(TierAssignment.rule_version_id, sa.func.count())
                                      .group_by(TierAssignment.rule_version_id)).all()
        assert versions == [(second.rule_version_id, 15)] and second.rule_version_id != first.rule_version_id
        decided = decisions()
    retier_again(app, utility)  # the same version again: nothing is rewritten
    with in_tenant(app, utility):
        assert decisions() == decided


def vip_out_of_reach_held_three_evaluations() -> dict:
    """VIP raised past F1's 60,000 a year, a customer leaving a value tier only after three evaluations."""
    stricter = rule_set(value=[{"code": "vip", "rule": "sum(amount, 365d) >= 100000"},
                               {"code": "important", "rule": "sum(amount, 365d) >= 1000"},
                               {"code": "general", "fallback": True}])
    stricter["dimensions"][0]["hysteresis"] = {"evaluations": 3}
    return stricter


def test_hysteresis_by_evaluations_moves_a_customer_only_after_n_evaluations_in_a_row(app, utility):
    publish_and_retier(app, utility, rule_set())
    assert tiers(app, utility)[("F1", "value")] == "vip"
    stricter = vip_out_of_reach_held_three_evaluations()
    run = publish_and_retier(app, utility, stricter)
    held = assignment(app, utility, "F1", "value")
    assert (held.tier, held.basis, held.pending_tier, held.pending_count) == ("vip", "held", "important", 1)
    assert run.changes["value"]["held"] == 1
    retier_again(app, utility, as_of=AS_OF + timedelta(days=1))  # a day's more data: the second evaluation
    assert assignment(app, utility, "F1", "value").tier == "vip"
    retier_again(app, utility, as_of=AS_OF + timedelta(days=2))
    moved = assignment(app, utility, "F1", "value")
    assert (moved.tier, moved.basis, moved.pending_tier, moved.pending_count) == ("important", "rule", None, 0)


def test_retiering_again_on_the_same_data_does_not_count_as_another_evaluation_for_hysteresis(app, utility):
    """Three clicks on "Retier" in one evening must not undo a hold of three evaluations: they look at the same data."""
    publish_and_retier(app, utility, rule_set())
    stricter = vip_out_of_reach_held_three_evaluations()
    first = publish_and_retier(app, utility, stricter)  # new rules on the same data: F1's wait starts, and counts
    assert not first.new_data
    assert (assignment(app, utility, "F1", "value").pending_count, first.changes["value"]["held"]) == (1, 1)
    for _ in range(3):
        again = retier_again(app, utility)
        held = assignment(app, utility, "F1", "value")
        assert (again.new_data, held.tier, held.basis, held.pending_count) == (False, "vip", "held", 1)
        assert again.changes["value"] == {"up": 0, "down": 0, "new": 0, "held": 1}
    later = retier_again(app, utility, as_of=AS_OF + timedelta(days=1))
    assert later.new_data and assignment(app, utility, "F1", "value").pending_count == 2
    retier_again(app, utility, as_of=AS_OF + timedelta(days=2))
    assert assignment(app, utility, "F1", "value").tier == "important"


def test_a_file_imported_between_two_retiers_is_new_data_even_when_it_ends_where_the_data_did(app, utility):
    """A late bill for last spring moves nobody's moment, but the next retier evaluates something new."""
    publish_and_retier(app, utility, rule_set())
    stricter = vip_out_of_reach_held_three_evaluations()
    publish_and_retier(app, utility, stricter)
    assert not retier_again(app, utility).new_data
    with in_tenant(app, utility), acting_as(Actor(label="test")):
        import_records([{"customer": "S1", "occurred_at": "2024-04-02", "amount": "10", "category": "bill"}],
                       kind="activity")
        db.session.commit()
    again = retier_again(app, utility)
    assert again.new_data and assignment(app, utility, "F1", "value").pending_count == 2
    assert not retier_again(app, utility).new_data  # and nothing since


def test_a_crash_that_empties_the_data_generation_does_not_make_new_data_look_already_seen(app, utility):
    """PostgreSQL empties the unlogged table holding the generation in a crash; counting again from 1
    reached the value the last retier recorded, and a retier on new data was taken for one on the same."""
    publish_and_retier(app, utility, rule_set())
    publish_and_retier(app, utility, vip_out_of_reach_held_three_evaluations())
    recorded = retier_again(app, utility)
    assert not recorded.new_data and recorded.data_generation is not None
    with in_tenant(app, utility), acting_as(Actor(label="test")):
        db.session.execute(sa.delete(PreviewSnapshot.__table__))  # what a crash does to it
        import_records([{"customer": "S1", "occurred_at": "2024-04-02", "amount": "10", "category": "bill"}],
                       kind="activity")
        while snapshot.generation() < recorded.data_generation:  # as many changes since as it takes to get there
            snapshot.data_changed()
        db.session.commit()
    again = retier_again(app, utility)
    assert again.new_data and assignment(app, utility, "F1", "value").pending_count == 2


def test_the_rules_page_and_the_api_say_which_retiers_ran_on_the_same_data_as_the_one_before(
        app, utility, browser, issue_token):
    publish_and_retier(app, utility, rule_set())
    retier_again(app, utility)  # nothing new since the first
    retier_again(app, utility, as_of=AS_OF + timedelta(days=1))
    browser.login(utility)
    rows = browser.get(f"/t/{utility.slug}/rules/").text.split("Recent retiers")[1].split("</tr>")[1:4]
    note = "No new data since the previous retier: hysteresis did not count it again."
    assert [note in row for row in rows] == [False, True, False]  # newest first
    runs = browser.client.get("/api/v1/retier-runs", headers={"Authorization": f"Bearer {issue_token(utility)}"})
    assert [run["new_data"] for run in runs.get_json()["items"]] == [True, False, True]
    with in_tenant(app, utility):
        retier_module.start_retier(started_by="test")  # queued: not known until it runs
        db.session.commit()
    runs = browser.client.get("/api/v1/retier-runs", headers={"Authorization": f"Bearer {issue_token(utility)}"})
    assert [run["new_data"] for run in runs.get_json()["items"]][:2] == [None, True]


def test_hysteresis_by_margin_keeps_a_customer_just_below_the_boundary(app, utility):
    # S1 has 1,800 over the year.  Entering "important" needs 1,700; with a 10% margin staying needs 1,530.
    def value(threshold):
        definition = rule_set(value=[{"code": "important", "rule": f"sum(amount, 365d) >= {threshold}"},
                                     {"code": "general", "fallback": True}])
        definition["dimensions"][0]["hysteresis"] = {"margin": 0.1}
        return definition

    publish_and_retier(app, utility, value(1700))
    assert tiers(app, utility)[("S1", "value")] == "important"
    publish_and_retier(app, utility, value(1900))  # 1,800 is within 10% of 1,900: stays
    assert tiers(app, utility)[("S1", "value")] == "important"
    publish_and_retier(app, utility, value(2100))  # staying would need 1,890: leaves
    assert tiers(app, utility)[("S1", "value")] == "general"
    publish_and_retier(app, utility, value(1700 * 1.05))  # entering is never relaxed: 1,785 < 1,800, enters
    assert tiers(app, utility)[("S1", "value")] == "important"
    publish_and_retier(app, utility, value(1900))  # once in, it stays again within the margin
    assert tiers(app, utility)[("S1", "value")] == "important"


def test_a_crash_in_the_middle_of_a_retier_leaves_the_previous_assignment_intact(app, utility, monkeypatch):
    publish_and_retier(app, utility, rule_set())
    before = tiers(app, utility)
    real = retier_module._execute

    def crash_once_changes_are_recorded(sql, params):
        if "UPDATE tier_assignments" in sql:  # changes and history already written in this transaction
            raise RuntimeError("worker killed")
        return real(sql, params)

    monkeypatch.setattr(retier_module, "_execute", crash_once_changes_are_recorded)
    flipped = rule_set(value=[{"code": "vip", "rule": "sum(amount, 365d) < 1000"},
                              {"code": "important", "rule": "sum(amount, 365d) >= 1000"},
                              {"code": "general", "fallback": True}])
    with pytest.raises(RuntimeError, match="worker killed"):
        publish_and_retier(app, utility, flipped)
    assert tiers(app, utility) == before
    with in_tenant(app, utility):
        failed = db.session.scalars(sa.select(RetierRun).order_by(RetierRun.started_at.desc()).limit(1)).one()
        assert failed.status == "failed" and "worker killed" in failed.message
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TierChange)) == 0  # the failed run left none (a first tier is no move)


def test_a_retier_sees_only_its_own_tenant(app, utility, make_tenant):
    other = make_tenant("power_utility")
    with in_tenant(app, other):
        import_records([{"external_id": "H1", "name": "别家医院", "facility_type": "hospital",
                         "outage_consequence": "5"}], kind="customers")
        db.session.commit()
    run = publish_and_retier(app, utility, rule_set())
    assert run.customers == 5
    assert len(tiers(app, other)) == 0


def test_publishing_and_retiering_are_audited(app, utility):
    publish_and_retier(app, utility, rule_set())
    with in_tenant(app, utility):
        actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"rules.published", "rules.retiered"} <= actions


def test_the_distribution_counts_every_customer_and_a_customer_shows_its_tiers_with_the_rule(app, utility):
    from tierwise.tenants.rules.distribution import customer_tiers, tier_distribution

    with in_tenant(app, utility):
        before = {d.dimension: d.unclassified for d in tier_distribution()}
    assert before["high_risk"] == 5  # imported, not yet tiered
    publish_and_retier(app, utility, rule_set())
    with in_tenant(app, utility):
        shown = tier_distribution()
        hospital = db.session.scalar(sa.select(Customer.id).where(Customer.external_id == "H1"))
        mine = {t.dimension: t for t in customer_tiers(hospital)}
    assert all(d.unclassified == 0 and sum(t.customers for t in d.tiers) == 5 for d in shown)
    assert mine["high_risk"].tier == "critical" and mine["high_risk"].rule.startswith("facility_type in")
    assert mine["value"].basis == "fallback" and mine["value"].rule is None


def test_complaints_resolved_after_a_date_are_counted_by_the_database(app, utility):
    rules = rule_set(opinion=[{"code": "alert", "rule": 'count(complaints, 365d, resolved_at >= "2024-01-01") >= 1'},
                              {"code": "calm", "fallback": True}])
    run = publish_and_retier(app, utility, rules)
    assert run.status == "succeeded"
    assert tiers(app, utility)[("S1", "opinion_risk")] == "calm"  # none of its complaints is resolved


def test_a_margin_never_tightens_a_true_false_comparison(app, utility):
    # S1 has 1,800 over the year: in "small" while it is below the bound, and kept there within 10% of it.
    def small_below(threshold):
        definition = rule_set(value=[{"code": "small", "rule": f"(sum(amount, 365d) >= {threshold}) == false"},
                                     {"code": "big", "fallback": True}])
        definition["dimensions"][0]["hysteresis"] = {"margin": 0.1}
        return definition

    publish_and_retier(app, utility, small_below(2000))
    assert tiers(app, utility)[("S1", "value")] == "small"
    publish_and_retier(app, utility, small_below(1700))  # not relaxed, not tightened: 1,800 >= 1,700 leaves
    assert tiers(app, utility)[("S1", "value")] == "big"


def test_top_share_of_everything_includes_every_customer_with_value(app, utility):
    publish_and_retier(app, utility, rule_set(value=[{"code": "all", "rule": "top_share(sum(amount, 365d), 1)"},
                                                     {"code": "none", "fallback": True}]))
    assigned = tiers(app, utility)
    assert {c for c in ("H1", "F1", "S1", "R1", "N1") if assigned[(c, "value")] == "all"} == {"H1", "F1", "S1", "R1"}


def test_a_run_abandoned_by_a_dead_worker_is_marked_failed_by_the_next_retier(app, utility):
    from datetime import timedelta

    from tierwise.tenants.rules.retier import JOB_TIMEOUT_SECONDS, start_retier

    with in_tenant(app, utility):
        stale = start_retier(started_by="test")
        stale.started_at -= timedelta(seconds=JOB_TIMEOUT_SECONDS + 60)
        db.session.commit()
        stale_id = stale.id
    retier_again(app, utility)
    with in_tenant(app, utility):
        stale = RetierRun.get(stale_id)
        assert stale.status == "failed" and "abandoned" in stale.message


def test_a_trend_of_exactly_the_threshold_counts_as_reaching_it(app, utility):
    # 2,612.05 growing to 3,134.46 is +20% exactly; in floating point it is 0.19999999999999993.
    with app.app_context(), tenancy.tenant_scope(utility.tenant_id), acting_as(Actor(label="test")):
        import_records([{"external_id": "G1", "name": "扩产工厂", "facility_type": "other",
                         "outage_consequence": "1"}], kind="customers")
        import_records([{"customer": "G1", "occurred_at": "2024-08-20", "amount": "2612.05", "category": "bill"},
                        {"customer": "G1", "occurred_at": "2024-11-20", "amount": "3134.46", "category": "bill"}],
                       kind="activity")
        db.session.commit()
    publish_and_retier(app, utility, rule_set(value=[{"code": "growing", "rule": "trend(amount, 90d) >= 0.2"},
                                                     {"code": "flat", "fallback": True}]))
    assert tiers(app, utility)[("G1", "value")] == "growing"
