"""The tiering lifecycle as a tenant admin or an RM lives it, across many retiers.

New customers between retiers, erasure, hysteresis over time, tier-change
events and history periods across versions and roll-backs, two retiers at once,
readers during a retier, a failure part-way, and RMs leaving.  Time passes by
the retier's ``as_of``: activity is dated mid-month and the value rules look at
the last 30 days, so the retier at each month's end sees that month's amount.
"""
from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.rule_helpers import assignment, in_tenant, publish_and_retier, retier_again, tiers
from tierwise.errors import ConflictError
from tierwise.platform import tenancy
from tierwise.platform.audit import Actor, acting_as
from tierwise.platform.db import db
from tierwise.platform.policy import visible_customers
from tierwise.platform.users import User, update_user
from tierwise.tenants import dashboards, ownership
from tierwise.tenants.customer_directory import erase_customer
from tierwise.tenants.customers import Customer
from tierwise.tenants.dashboards import customer_figures
from tierwise.tenants.imports.runner import import_records
from tierwise.tenants.lists.query import list_page
from tierwise.tenants.rules import retier as retier_module
from tierwise.tenants.rules import snapshot
from tierwise.tenants.rules.assignments import RetierRun, TierAssignment, TierChange, TierHistory
from tierwise.tenants.rules.distribution import customer_tier_history, customer_tiers, tier_distribution
from tierwise.tenants.rules.definition import RuleSetDefinition
from tierwise.tenants.rules.preview import preview
from tierwise.tenants.rules.versions import compile_for_tenant, publish, roll_back

JAN = datetime(2025, 1, 31, tzinfo=UTC)


def month_end(month: int) -> datetime:
    """The retier moment at the end of ``month`` of 2025 (the 28th: every month has one)."""
    return datetime(2025, month, 28, tzinfo=UTC)


def value_tiers(key: float = 5000, important: float = 1000, standard: float = 100) -> list[dict]:
    return [{"code": "key", "rule": f"sum(amount, 30d) >= {key}"},
            {"code": "important", "rule": f"sum(amount, 30d) >= {important}"},
            {"code": "standard", "rule": f"sum(amount, 30d) >= {standard}"},
            {"code": "basic", "fallback": True}]


def rules(value: list[dict] | None = None, *, hysteresis: dict | None = None, extra=()) -> dict:
    """Value by the last 30 days, high risk for hospitals, opinion risk for any complaint in a year."""
    dimensions = [
        {"code": "value", "tiers": value or value_tiers()},
        {"code": "high_risk", "tiers": [{"code": "critical", "rule": 'facility_type == "hospital"'},
                                        {"code": "standard", "fallback": True}]},
        {"code": "opinion_risk", "tiers": [{"code": "watch", "rule": "count(complaints, 365d) >= 1"},
                                           {"code": "none", "fallback": True}]},
        *extra]
    if hysteresis:
        dimensions[0]["hysteresis"] = hysteresis
    return {"dimensions": dimensions}


# A book of two RMs: external id -> (RM, facility, amount in January 2025)
BOOK = {"A1": ("rm1", "other", 6000), "A2": ("rm1", "other", 1500), "A3": ("rm1", "hospital", 50),
        "B1": ("rm2", "other", 200), "B2": ("rm2", "other", 0)}


def add_customers(app, world, customers: dict, *, months: dict[str, dict[int, float]] | None = None) -> None:
    """Import customers (with their RM) and their monthly amounts (month of 2025 -> amount)."""
    rows = [{"external_id": cid, "name": f"客户{cid}", "facility_type": facility,
             "rm_email": world.email(rm)} for cid, (rm, facility, _) in customers.items()]
    amounts = months or {cid: {1: amount} for cid, (_, _, amount) in customers.items()}
    activity = [{"customer": cid, "occurred_at": f"2025-{m:02d}-15", "amount": str(amount), "category": "bill"}
                for cid, by_month in amounts.items() for m, amount in by_month.items() if amount]
    with app.app_context(), tenancy.tenant_scope(world.tenant_id), acting_as(Actor(label="test")):
        import_records(rows, kind="customers")
        if activity:
            import_records(activity, kind="activity")
        db.session.commit()


@pytest.fixture
def book(app, make_tenant):
    """A power utility whose RMs hold the customers of BOOK, tiered once (as of the end of January)."""
    world = make_tenant("power_utility")
    add_customers(app, world, BOOK)
    publish_and_retier(app, world, rules(), as_of=JAN)
    return world


@pytest.fixture
def fresh(app, make_tenant):
    """A power utility with nothing imported yet (each test brings its own customers)."""
    return make_tenant("power_utility")


def admin_view():
    return sa.true()


def rm_view(world, who: str):
    user = db.session.scalar(sa.select(User).where(User.email == world.email(who)))
    return visible_customers(user)


def listed(app, world, name: str = "all", who: str | None = None) -> dict[str, dict]:
    """external id -> tiers, as a list shows them to ``who`` (an admin by default)."""
    with in_tenant(app, world):
        visible = rm_view(world, who) if who else admin_view()
        return {row.external_id: row.tiers for row in list_page(name, visible, limit=500).rows}


def customer_id(app, world, external_id: str):
    with in_tenant(app, world):
        return db.session.scalar(sa.select(Customer.id).where(Customer.external_id == external_id))


def count(app, world, model, **where) -> int:
    with in_tenant(app, world):
        query = sa.select(sa.func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return db.session.scalar(query)


def events(app, world, external_id: str, dimension: str) -> list[tuple]:
    """(from, to, direction) of a customer's tier changes in one dimension, oldest first."""
    with in_tenant(app, world):
        rows = db.session.execute(
            sa.select(TierChange.from_tier, TierChange.to_tier, TierChange.direction)
            .join(Customer, Customer.id == TierChange.customer_id)
            .where(Customer.external_id == external_id, TierChange.dimension == dimension)
            .order_by(TierChange.occurred_at)).all()
        return [tuple(row) for row in rows]


def timeline(app, world, external_id: str, dimension: str) -> list[tuple]:
    """(tier, valid_from, valid_to) of every period, oldest first; the last one is open (valid_to None)."""
    cid = customer_id(app, world, external_id)
    with in_tenant(app, world):
        periods = [p for p in customer_tier_history(cid) if p.dimension == dimension]
    return [(p.tier, p.valid_from, p.valid_to) for p in reversed(periods)]


def assert_contiguous(periods: list[tuple]) -> None:
    """Each period ends where the next begins; only the last is open; none is empty."""
    assert periods, "no periods at all"
    for (_, start, end), (_, next_start, _) in itertools.pairwise(periods):
        assert end is not None and end == next_start and start < end, periods
    assert periods[-1][2] is None, periods


def state(app, world) -> dict:
    """Everything a retier writes, to compare before and after."""
    with in_tenant(app, world):
        assigned = sorted((str(a.customer_id), a.dimension, a.tier, a.basis, str(a.rule_version_id), a.since,
                           a.decided_at, a.pending_tier, a.pending_count, repr(a.reason))
                          for a in db.session.scalars(sa.select(TierAssignment)))
        history = sorted((str(h.customer_id), h.dimension, h.tier, h.valid_from, h.valid_to)
                         for h in db.session.scalars(sa.select(TierHistory)))
        changes = sorted((str(c.customer_id), c.dimension, c.occurred_at, c.from_tier, c.to_tier, c.direction)
                         for c in db.session.scalars(sa.select(TierChange)))
        return {"assigned": assigned, "history": history, "changes": changes}


# --- customers arriving and leaving between retiers ------------------------------------------------------------

def test_customers_imported_after_a_retier_are_classified_without_waiting_for_someone_to_retier(
        app, book, client, issue_token):
    """Through the API, as a nightly sync would send them; the CLI and uploads take the same step."""
    imported = client.post("/api/v1/imports/customers", headers={"Authorization": f"Bearer {issue_token(book)}"},
                           json={"rows": [{"external_id": "N1", "name": "客户N1", "facility_type": "hospital",
                                           "rm_email": book.email("rm2")}]})
    assert imported.status_code == 200 and imported.json["inserted"] == 1
    assert imported.json["retier_run_id"] is not None  # without Redis it already ran
    with in_tenant(app, book):
        shown = {d.dimension: d.unclassified for d in tier_distribution()}
        dashboard = {d.dimension: d.unclassified for d in customer_figures(admin_view()).distribution}
    assert shown == dashboard == {"value": 0, "high_risk": 0, "opinion_risk": 0}  # the issue: must be zero
    assert listed(app, book)["N1"]["high_risk"] == "critical"
    assert "N1" in listed(app, book, "high_risk", who="rm2")  # a hospital is on its RM's high-risk list


def test_a_new_tenants_first_customers_wait_for_its_first_retier(app, fresh, client, issue_token):
    """Customers usually arrive before their activity: classified then, every value tier would rest on no data."""
    imported = client.post("/api/v1/imports/customers", headers={"Authorization": f"Bearer {issue_token(fresh)}"},
                           json={"rows": [{"external_id": "F1", "name": "客户F1", "facility_type": "other"}]})
    assert imported.status_code == 200 and imported.json["retier_run_id"] is None
    assert count(app, fresh, RetierRun) == 0


def test_customers_imported_from_the_cli_are_classified_in_the_foreground_and_in_the_background(
        app, book, runner, tmp_path):
    from tierwise.platform.cli import cli

    for flags, cid in (((), "N2"), (("--background",), "N3")):
        path = tmp_path / f"{cid}.csv"
        path.write_text(f"external_id,name,facility_type\n{cid},客户{cid},hospital\n", encoding="utf-8")
        result = runner.invoke(cli, ["import", "customers", "--tenant", book.slug, str(path), *flags])
        assert result.exit_code == 0, result.output
        if not flags:
            assert "to classify the 1 new customer: succeeded" in result.stdout
        else:  # the run's page links to the retier it started
            from tierwise.tenants.imports.runs import ImportRun

            with in_tenant(app, book):
                run = db.session.scalars(sa.select(ImportRun).order_by(ImportRun.created_at.desc()).limit(1)).one()
                assert run.result["retier_run_id"] is not None
        assert listed(app, book)[cid]["high_risk"] == "critical", flags


def test_an_erased_customer_leaves_no_tiers_history_or_changes_and_every_count_adds_up(app, book):
    publish_and_retier(app, book, rules(value_tiers(key=7000)), as_of=JAN)  # A1: key -> important
    a1 = customer_id(app, book, "A1")
    assert count(app, book, TierHistory, customer_id=a1) == 1 and count(app, book, TierChange, customer_id=a1) == 1
    with in_tenant(app, book):
        erase_customer(db.session.scalars(sa.select(Customer).where(Customer.id == a1)).one())
        db.session.commit()
    for model in (TierAssignment, TierHistory, TierChange):
        assert count(app, book, model, customer_id=a1) == 0, model.__tablename__
    assert "A1" not in listed(app, book)
    with in_tenant(app, book):
        for dimension in tier_distribution():
            assert dimension.unclassified == 0 and dimension.other == 0
            assert sum(t.customers for t in dimension.tiers) == 4
        flows = customer_figures(admin_view()).flows
    assert all(f.customers for d in flows for f in d.flows)  # nothing counted for a customer who is gone
    assert sum(d.moves["down"] for d in flows) == 0  # A1's move went with A1
    run = retier_again(app, book, as_of=JAN)
    assert run.status == "succeeded" and run.customers == 4
    assert all(counts == {"up": 0, "down": 0, "new": 0, "held": 0} for counts in run.changes.values())


# --- hysteresis over many retiers ----------------------------------------------------------------------------

def previewed(app, world, definition, as_of=JAN):
    """The value dimension as a preview of ``definition`` shows it: computed from scratch, then again over the
    snapshot that preview kept (the path an edited draft's preview takes).  Both must say the same."""
    seen = []
    for from_scratch in (True, False):
        with in_tenant(app, world):
            if from_scratch:
                snapshot.data_changed()  # what an import would do: no snapshot is current any more
                db.session.commit()
            shown = preview(compile_for_tenant(RuleSetDefinition.from_dict(definition)), as_of=as_of)
            db.session.rollback()
        assert shown.reused is not from_scratch
        seen.append(next(d for d in shown.dimensions if d.dimension == "value"))
    scratch, reused = seen
    assert (reused.held, reused.tiers, reused.matrix) == (scratch.held, scratch.tiers, scratch.matrix)
    return scratch


def held_in_store(app, world) -> int:
    """Value assignments stored with basis 'held' (what the customer pages and lists say)."""
    return count(app, world, TierAssignment, dimension="value", basis="held")


def test_a_preview_under_hysteresis_shows_what_the_next_retier_will_do(app, book):
    """A1 (6,000) would leave key when key needs 7,000; held for one more evaluation, it stays key for now."""
    publish_and_retier(app, book, rules(value_tiers(), hysteresis={"evaluations": 2}), as_of=JAN)
    draft = rules(value_tiers(key=7000), hysteresis={"evaluations": 2})
    value = previewed(app, book, draft)
    assert value.held == 1 and value.moving_down == []  # held back: not moving yet
    assert value.matrix["key"] == {"key": 1}
    run = publish_and_retier(app, book, draft, as_of=JAN)
    assert run.changes["value"]["held"] == 1 and held_in_store(app, book) == 1
    assert {t.tier: t.customers for t in value.tiers} == {
        tier: sum(1 for (c, d), t in tiers(app, book).items() if d == "value" and t == tier)
        for tier in ("key", "important", "standard", "basic")}  # the preview's counts are the retier's
    # A day's more data: the second evaluation in a row outside key, so the next retier moves A1.
    after = previewed(app, book, draft, as_of=JAN + timedelta(days=1))
    assert after.held == 0 and after.matrix["key"] == {"important": 1}
    run = retier_again(app, book, as_of=JAN + timedelta(days=1))
    assert run.changes["value"]["held"] == 0 and run.changes["value"]["down"] == 1 and held_in_store(app, book) == 0


# M1 (1,800) stays important by the margin when important needs 1,850 (5% below: 1,757.50); M2 (1,500) leaves.
MARGIN_BOOK = {"K1": ("rm1", "other", 6000), "M1": ("rm1", "other", 1800), "M2": ("rm2", "other", 1500),
               "S1": ("rm2", "other", 500), "B1": ("rm2", "other", 0)}


def test_a_preview_counts_customers_kept_in_their_tier_by_the_margin_as_held_as_the_retier_does(app, fresh):
    add_customers(app, fresh, MARGIN_BOOK)
    publish_and_retier(app, fresh, rules(value_tiers()), as_of=JAN)  # M1 and M2 important (1,000)
    draft = rules(value_tiers(important=1850), hysteresis={"margin": 0.05})
    value = previewed(app, fresh, draft)
    assert value.matrix["important"] == {"important": 1, "standard": 1}  # M1 kept, M2 down
    assert value.held == 1  # M1: its tier is the rules' verdict only through the margin
    run = publish_and_retier(app, fresh, draft, as_of=JAN)
    assert run.changes["value"]["held"] == 1 and held_in_store(app, fresh) == 1
    assert assignment(app, fresh, "M1", "value").basis == "held"
    # Previewing the rules in force again: M1 is still held, and the next retier says so too.
    assert previewed(app, fresh, draft).held == 1
    run = retier_again(app, fresh, as_of=JAN)
    assert run.changes["value"]["held"] == 1 and held_in_store(app, fresh) == 1


def test_a_preview_counts_both_kinds_of_hold_as_every_retier_after_it_holds_them(app, fresh):
    """K1 (6,000) leaves key (7,000, or 6,650 with the margin) and M2 leaves important after three evaluations
    outside their tiers; M1 stays important by the margin."""
    add_customers(app, fresh, MARGIN_BOOK)
    publish_and_retier(app, fresh, rules(value_tiers()), as_of=JAN)  # M1 and M2 important (1,000)
    draft = rules(value_tiers(key=7000, important=1850), hysteresis={"evaluations": 3, "margin": 0.05})
    held = [previewed(app, fresh, draft).held]
    run = publish_and_retier(app, fresh, draft, as_of=JAN)
    stored = [(run.changes["value"]["held"], held_in_store(app, fresh))]
    for day in (1, 2):  # each retier a day's more data later: each is another evaluation
        held.append(previewed(app, fresh, draft, as_of=JAN + timedelta(days=day)).held)
        run = retier_again(app, fresh, as_of=JAN + timedelta(days=day))
        stored.append((run.changes["value"]["held"], held_in_store(app, fresh)))
    assert held == [3, 3, 1]  # K1, M2 and M1, then M1 alone: the third evaluation moves K1 and M2
    assert stored == [(3, 3), (3, 3), (1, 1)]  # every preview said what the retier after it did
    assert (tiers(app, fresh)[("K1", "value")], tiers(app, fresh)[("M2", "value")]) == ("important", "standard")


def test_a_customer_flapping_around_a_boundary_keeps_its_tier_until_n_evaluations_in_a_row(app, fresh):
    # busy in Jan and Mar, quiet from Apr: only the third quiet month in a row moves it.
    add_customers(app, fresh, {"O1": ("rm1", "other", 0)},
                  months={"O1": {1: 2000, 2: 500, 3: 2000, 4: 500, 5: 500, 6: 500}})
    publish_and_retier(app, fresh, rules(value_tiers(), hysteresis={"evaluations": 3}), as_of=month_end(1))
    seen = []
    for month in range(2, 7):
        retier_again(app, fresh, as_of=month_end(month))
        held = assignment(app, fresh, "O1", "value")
        seen.append((held.tier, held.basis, held.pending_tier, held.pending_count))
    assert seen == [("important", "held", "standard", 1), ("important", "rule", None, 0),
                    ("important", "held", "standard", 1), ("important", "held", "standard", 2),
                    ("standard", "rule", None, 0)]
    assert events(app, fresh, "O1", "value") == [("important", "standard", "down")]  # the first tier is no move
    periods = timeline(app, fresh, "O1", "value")
    assert [p[0] for p in periods] == ["important", "standard"]
    assert_contiguous(periods)


def test_a_customer_leaves_its_tier_after_n_evaluations_outside_it_even_if_it_slid_further_meanwhile(app, fresh):
    # key in Jan; then important, standard, standard: three evaluations in a row outside "key".
    add_customers(app, fresh, {"D1": ("rm1", "other", 0)}, months={"D1": {1: 6000, 2: 2000, 3: 500, 4: 500}})
    publish_and_retier(app, fresh, rules(value_tiers(), hysteresis={"evaluations": 3}), as_of=month_end(1))
    for month in (2, 3, 4):
        retier_again(app, fresh, as_of=month_end(month))
    assert assignment(app, fresh, "D1", "value").tier == "standard"


def test_a_customer_dropping_two_tiers_at_once_moves_once_and_is_recorded_as_one_down_move(app, fresh):
    add_customers(app, fresh, {"J1": ("rm1", "other", 0)}, months={"J1": {1: 6000, 2: 500, 3: 500, 4: 500}})
    publish_and_retier(app, fresh, rules(value_tiers(), hysteresis={"evaluations": 3}), as_of=month_end(1))
    held = []
    for month in (2, 3, 4):
        run = retier_again(app, fresh, as_of=month_end(month))
        held.append((assignment(app, fresh, "J1", "value").tier, run.changes["value"]))
    assert [tier for tier, _ in held] == ["key", "key", "standard"]
    assert held[-1][1] == {"up": 0, "down": 1, "new": 0, "held": 0}
    assert events(app, fresh, "J1", "value") == [("key", "standard", "down")]
    assert_contiguous(timeline(app, fresh, "J1", "value"))


def test_turning_hysteresis_off_releases_held_customers_at_the_next_retier(app, book):
    stricter = value_tiers(key=7000)  # A1 (6,000) would drop to important
    publish_and_retier(app, book, rules(stricter, hysteresis={"evaluations": 3}), as_of=JAN)
    held = assignment(app, book, "A1", "value")
    assert (held.tier, held.basis, held.pending_tier) == ("key", "held", "important")
    run = publish_and_retier(app, book, rules(stricter), as_of=JAN)
    released = assignment(app, book, "A1", "value")
    assert (released.tier, released.basis, released.pending_tier, released.pending_count) == \
        ("important", "rule", None, 0)
    assert run.changes["value"] == {"up": 0, "down": 1, "new": 0, "held": 0}
    assert events(app, book, "A1", "value")[-1] == ("key", "important", "down")


def test_a_tier_removed_while_customers_are_held_in_it_leaves_nobody_in_it(app, book):
    publish_and_retier(app, book, rules(value_tiers(key=7000), hysteresis={"evaluations": 3}), as_of=JAN)
    assert assignment(app, book, "A1", "value").basis == "held"
    without_key = value_tiers(key=7000)[1:]
    publish_and_retier(app, book, rules(without_key, hysteresis={"evaluations": 3}), as_of=JAN)
    moved = assignment(app, book, "A1", "value")
    assert (moved.tier, moved.basis, moved.pending_tier) == ("important", "rule", None)
    with in_tenant(app, book):
        value = next(d for d in tier_distribution() if d.dimension == "value")
    assert value.other == 0 and value.unclassified == 0
    assert [(f, t) for f, t, _ in events(app, book, "A1", "value")] == [("key", "important")]
    assert_contiguous(timeline(app, book, "A1", "value"))


def test_a_customer_kept_in_its_tier_by_the_margin_is_shown_as_held_not_as_matching_its_rule(app, fresh):
    add_customers(app, fresh, {"M1": ("rm1", "other", 1800)})
    margin = {"margin": 0.1}
    publish_and_retier(app, fresh, rules(value_tiers(important=1700), hysteresis=margin), as_of=JAN)
    assert assignment(app, fresh, "M1", "value").basis == "rule"
    run = publish_and_retier(app, fresh, rules(value_tiers(important=1900), hysteresis=margin), as_of=JAN)
    kept = assignment(app, fresh, "M1", "value")
    assert kept.tier == "important" and kept.reason == {"sum(amount, 30d)": 1800}  # below the rule's 1,900
    assert kept.basis == "held"  # "Its rule matched" would contradict the reason beside it
    assert run.changes["value"]["held"] == 1


# --- tier-change events and history across versions -----------------------------------------------------------

def test_rolling_back_moves_customers_back_up_with_one_event_each_way_and_unbroken_history(app, book):
    publish_and_retier(app, book, rules(value_tiers(key=7000)), as_of=JAN)  # A1 down to important
    with in_tenant(app, book):
        version = roll_back(2, author="test")  # v1 is the template, v2 the book's rules
        db.session.commit()
        assert version.restored_from == 2
    run = retier_again(app, book, as_of=JAN)
    assert run.changes["value"] == {"up": 1, "down": 0, "new": 0, "held": 0}
    assert events(app, book, "A1", "value") == [("key", "important", "down"), ("important", "key", "up")]
    periods = timeline(app, book, "A1", "value")
    assert [p[0] for p in periods] == ["key", "important", "key"]
    assert_contiguous(periods)
    assert assignment(app, book, "A1", "value").rule_version_id == run.rule_version_id
    assert count(app, book, TierChange, retier_run_id=run.id) == 1


def test_a_dimension_added_later_gives_everyone_a_new_tier_in_it_and_moves_nobody_elsewhere(app, book):
    lifecycle = {"code": "lifecycle", "tiers": [
        {"code": "active", "rule": "count(activity, 90d) >= 1"},
        {"code": "dormant", "fallback": True}]}
    run = publish_and_retier(app, book, rules(extra=[lifecycle]), as_of=JAN)
    assert run.changes["lifecycle"] == {"up": 0, "down": 0, "new": 5, "held": 0}
    assert all(run.changes[d] == {"up": 0, "down": 0, "new": 0, "held": 0}
               for d in ("value", "high_risk", "opinion_risk"))
    assert {cid: row["lifecycle"] for cid, row in listed(app, book).items()} == \
        {"A1": "active", "A2": "active", "A3": "active", "B1": "active", "B2": "dormant"}
    with in_tenant(app, book):
        assert all(d.unclassified == 0 for d in tier_distribution())
    assert count(app, book, TierChange, retier_run_id=run.id) == 0  # where its history starts, not a move


# --- concurrency and atomicity --------------------------------------------------------------------------------

class Paused:
    """Stops the first retier after it has written everything, before it commits, until released."""

    def __init__(self, monkeypatch):
        self.inside, self.release, self.calls = threading.Event(), threading.Event(), 0
        real = retier_module.drop_removed_dimensions

        def pausing(*args):
            result = real(*args)
            self.calls += 1
            if self.calls == 1:
                self.inside.set()
                assert self.release.wait(60)
            return result

        monkeypatch.setattr(retier_module, "drop_removed_dimensions", pausing)


def in_thread(target, results: dict, key: str) -> threading.Thread:
    def run():
        try:
            results[key] = target()
        except Exception as error:  # noqa: BLE001  (the test's assertions report it)
            results[key] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_retier_started_while_one_runs_is_refused_and_each_move_is_recorded_once(app, book, monkeypatch):
    with in_tenant(app, book):
        publish(rules(value_tiers(key=7000)), author="test")  # A1: key -> important
        db.session.commit()
    runs, moves, periods = (count(app, book, model) for model in (RetierRun, TierChange, TierHistory))
    paused, results = Paused(monkeypatch), {}
    first = in_thread(lambda: retier_again(app, book, as_of=JAN), results, "first")
    assert paused.inside.wait(60)
    second = in_thread(lambda: retier_again(app, book, as_of=JAN), results, "second")
    second.join(60)
    assert isinstance(results["second"], ConflictError) and "already running" in str(results["second"])
    paused.release.set()
    first.join(60)
    assert results["first"].status == "succeeded", results
    assert count(app, book, RetierRun) == runs + 1  # the refused attempt left no failed run in the history
    assert count(app, book, TierChange) == moves + 1 and count(app, book, TierHistory) == periods + 1
    assert count(app, book, TierAssignment) == 15


def test_a_reader_during_a_retier_sees_all_the_old_tiers_and_then_all_the_new(app, book, monkeypatch):
    before_tiers, before_state = listed(app, book), state(app, book)
    with in_tenant(app, book):
        publish(rules(value_tiers(key=100000, important=100000)), author="test")  # A1, A2 drop to standard
        db.session.commit()
    paused, results = Paused(monkeypatch), {}
    worker = in_thread(lambda: retier_again(app, book, as_of=JAN), results, "run")
    assert paused.inside.wait(60)
    try:
        assert listed(app, book) == before_tiers
        assert state(app, book) == before_state
        with in_tenant(app, book):
            value = next(d for d in tier_distribution() if d.dimension == "value")
        assert {t.tier: t.customers for t in value.tiers if t.customers} == {"key": 1, "important": 1,
                                                                               "standard": 1, "basic": 2}
    finally:
        paused.release.set()
        worker.join(60)
    assert results["run"].status == "succeeded"
    after = listed(app, book)
    assert after["A1"]["value"] == after["A2"]["value"] == "standard"


def test_a_customer_erased_while_a_retier_runs_is_not_written_back_by_it(app, book, monkeypatch):
    with in_tenant(app, book):
        publish(rules(value_tiers(key=7000)), author="test")  # A1 moves: a change, a history period
        db.session.commit()
    a1 = customer_id(app, book, "A1")
    paused, results = Paused(monkeypatch), {}
    worker = in_thread(lambda: retier_again(app, book, as_of=JAN), results, "run")
    assert paused.inside.wait(60)

    def erase():
        with in_tenant(app, book):
            erase_customer(db.session.scalars(sa.select(Customer).where(Customer.id == a1)).one())
            db.session.commit()
            return "erased"

    eraser = in_thread(erase, results, "erase")
    time.sleep(1)
    paused.release.set()
    worker.join(60), eraser.join(60)
    assert results["erase"] == "erased" and results["run"].status == "succeeded", results
    for model in (TierAssignment, TierHistory, TierChange):
        assert count(app, book, model, customer_id=a1) == 0, model.__tablename__
    with in_tenant(app, book):
        assert all(d.unclassified == 0 and sum(t.customers for t in d.tiers) == 4 for d in tier_distribution())


def test_the_dashboard_never_mixes_the_tiers_of_one_retier_with_the_moves_of_another(app, book, monkeypatch):
    first_run = retier_again(app, book, as_of=JAN)  # the latest run, moving nobody
    with in_tenant(app, book):
        publish(rules(value_tiers(key=7000)), author="test")  # A1: key -> important
        db.session.commit()
    real, results = dashboards.tier_distribution, {}

    def retier_lands_meanwhile(*args, **kwargs):
        in_thread(lambda: retier_again(app, book, as_of=JAN), results, "run").join(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(dashboards, "tier_distribution", retier_lands_meanwhile)
    with in_tenant(app, book):
        figures = customer_figures(admin_view())
    assert results["run"].status == "succeeded"
    value = {t.tier: t.customers for t in next(d for d in figures.distribution if d.dimension == "value").tiers}
    flows = next(d for d in figures.flows if d.dimension == "value")
    new_tiers = value["key"] == 0
    shows_new_moves = figures.period.retier_run_id == results["run"].id and flows.moves["down"] == 1
    assert figures.period.retier_run_id in (first_run.id, results["run"].id)
    assert new_tiers == shows_new_moves, (value, flows.moves)


def test_a_retier_failing_at_its_last_step_leaves_tiers_history_and_changes_as_they_were(app, book, monkeypatch):
    lifecycle = {"code": "lifecycle", "tiers": [{"code": "active", "rule": "count(activity, 90d) >= 1"},
                                                {"code": "dormant", "fallback": True}]}
    publish_and_retier(app, book, rules(value_tiers(key=7000), extra=[lifecycle]), as_of=JAN)  # history to keep
    before = state(app, book)

    class Failing:
        @staticmethod
        def record(*args, **kwargs):
            raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(retier_module, "audit", Failing)
    with pytest.raises(RuntimeError, match="audit store unavailable"):  # moves A2, drops lifecycle
        publish_and_retier(app, book, rules(value_tiers(key=7000, important=100000)),
                           as_of=JAN)
    assert state(app, book) == before
    with in_tenant(app, book):
        last = db.session.scalars(sa.select(RetierRun).order_by(RetierRun.started_at.desc()).limit(1)).one()
        assert last.status == "failed" and "audit store unavailable" in last.message


# --- accounts belong to the company ---------------------------------------------------------------------------

def test_an_rms_book_moves_with_tiers_and_reasons_intact_and_stays_listed_after_they_leave(app, book):
    a3 = customer_id(app, book, "A3")
    with in_tenant(app, book):
        reasons = {t.dimension: (t.tier, t.reason, t.basis, t.since) for t in customer_tiers(a3)}
    with in_tenant(app, book):
        ownership.reassign_book(book.users["rm1"].id, book.users["rm2"].id, reason="rm1 leaves")
        rm1 = db.session.scalars(sa.select(User).where(User.id == book.users["rm1"].id)).one()
        update_user(rm1, display_name=rm1.display_name, role=rm1.role, branch_id=rm1.branch_id,
                    book_scope=rm1.book_scope, active=False)
        db.session.commit()
    everyone = listed(app, book)
    assert set(everyone) == set(BOOK) and all(all(t is not None for t in row.values()) for row in everyone.values())
    assert set(listed(app, book, who="rm2")) == set(BOOK)
    assert "A3" in listed(app, book, "high_risk", who="rm2") and listed(app, book, "high_risk", who="rm1") == {}
    with in_tenant(app, book):
        assert {t.dimension: (t.tier, t.reason, t.basis, t.since) for t in customer_tiers(a3)} == reasons
    run = retier_again(app, book, as_of=JAN)
    assert all(c == {"up": 0, "down": 0, "new": 0, "held": 0} for c in run.changes.values())


def test_new_scores_refresh_every_reason_that_reads_them_without_moving_anyone(app, fresh):
    """Tiered before the first scoring, a customer's reason said "predicted value: —"; the retier after
    scoring rewrites every reason with the scores, records no move, and the next retier writes nothing."""
    from tierwise.models.runs import SCORE, ModelRun
    from tierwise.models.scores import CustomerScore
    from tierwise.platform.db import utcnow

    add_customers(app, fresh, BOOK)
    potential = {"code": "potential", "tiers": [{"code": "high", "rule": "predicted_value >= 1000000"},
                                                {"code": "other", "fallback": True}]}
    publish_and_retier(app, fresh, rules(extra=[potential]), as_of=JAN)
    unscored = assignment(app, fresh, "B1", "potential")
    assert unscored.tier == "other" and unscored.reason == {"predicted_value": None}
    ids = {external_id: customer_id(app, fresh, external_id) for external_id in BOOK}
    with in_tenant(app, fresh):  # what a scoring run writes, and its record (scored_at is the data's moment)
        db.session.add_all(CustomerScore(customer_id=ids[external_id], predicted_value=2500.0, churn_probability=0.1,
                                         scored_at=JAN) for external_id in BOOK)
        db.session.add(ModelRun(job=SCORE, status="succeeded", started_by="test", finished_at=utcnow()))
        db.session.commit()
    changes = count(app, fresh, TierChange)

    later = JAN + timedelta(hours=1)  # a reason's moment is its retier's as-of (``decided_at``)
    retier_again(app, fresh, as_of=later)
    scored = assignment(app, fresh, "B1", "potential")
    assert scored.tier == "other" and scored.reason == {"predicted_value": 2500.0}
    assert scored.since == unscored.since and scored.decided_at > unscored.decided_at
    assert assignment(app, fresh, "A1", "value").decided_at > unscored.decided_at  # every row: one version, one moment
    assert count(app, fresh, TierChange) == changes  # nobody moved

    retier_again(app, fresh, as_of=later + timedelta(hours=1))  # nothing new: nothing is written
    assert assignment(app, fresh, "B1", "potential").decided_at == scored.decided_at
