"""A preview keeps its per-customer values; the next preview of an edited draft reuses what the edit left alone.

Every test compares a preview built on a snapshot with the same preview computed
from scratch: reuse must never change an answer, only its cost.
"""
from __future__ import annotations

import copy
from datetime import timedelta

import sqlalchemy as sa

from tests.rule_helpers import AS_OF, in_tenant, publish_and_retier, retier_again
from tests.test_tiering import rule_set, utility  # noqa: F401  (the fixture)
from tierwise.platform.db import db
from tierwise.tenants.customer_directory import erase_customer
from tierwise.tenants.customers import Customer
from tierwise.tenants.imports.runner import import_records
from tierwise.tenants.rules import snapshot
from tierwise.tenants.rules.preview import preview
from tierwise.tenants.rules.versions import validate

CARE = {"code": "care", "tiers": [{"code": "personal", "rule": 'tier("value") == "vip"'},
                                  {"code": "standard", "fallback": True}]}


def shown(app, world, definition, as_of=AS_OF, *, from_scratch=False):
    """(the preview as a dict without its timing, whether it reused a snapshot)."""
    with in_tenant(app, world):
        if from_scratch:
            snapshot.data_changed()  # what an import would do: no snapshot is current any more
            db.session.commit()
        _, plan = validate(definition)
        result = preview(plan, as_of=as_of)
    answer = result.as_dict()
    answer.pop("seconds")
    return answer, answer.pop("reused")


def edited(definition, dimension: str, tier: str, rule: str) -> dict:
    changed = copy.deepcopy(definition)
    for spec in changed["dimensions"]:
        for entry in spec["tiers"] if spec["code"] == dimension else ():
            if entry["code"] == tier:
                entry["rule"] = rule
    return changed


def test_a_second_preview_of_the_same_draft_reuses_the_first_and_answers_the_same(app, utility):  # noqa: F811
    publish_and_retier(app, utility, rule_set())
    first, reused_first = shown(app, utility, rule_set())
    again, reused_again = shown(app, utility, rule_set())
    assert (reused_first, reused_again) == (False, True)
    assert again == first


def test_an_edited_rule_is_evaluated_anew_and_the_answer_matches_a_preview_from_scratch(app, utility):  # noqa: F811
    published = rule_set(extra=[CARE])
    publish_and_retier(app, utility, published)
    shown(app, utility, published)  # keeps a snapshot
    # The top 99% of value is now the factory, the shop and the home: value and care (its tier()) move.
    draft = edited(published, "value", "vip", "top_share(sum(amount, 365d), 0.99) and count(activity, 365d) >= 12")
    reused, was_reused = shown(app, utility, draft)
    scratch, _ = shown(app, utility, draft, from_scratch=True)
    assert was_reused and reused == scratch
    unchanged = {d["dimension"]: d["unchanged"] for d in reused["dimensions"]}
    assert unchanged["value"] == 3 and unchanged["care"] == 3  # two move up, and tier("value") follows


def test_a_margin_and_new_aggregates_are_computed_over_the_snapshot(app, utility):  # noqa: F811
    publish_and_retier(app, utility, rule_set())
    shown(app, utility, rule_set())
    draft = rule_set(opinion=[{"code": "alert", "rule": "count(complaints, 30d) >= 1 or trend(amount, 90d) > 0.5"},
                              {"code": "calm", "fallback": True}])
    draft["dimensions"][0]["hysteresis"] = {"margin": 0.2}
    reused, was_reused = shown(app, utility, draft)
    scratch, _ = shown(app, utility, draft, from_scratch=True)
    assert was_reused and reused == scratch


def test_new_data_makes_the_next_preview_start_from_scratch(app, utility):  # noqa: F811
    publish_and_retier(app, utility, rule_set())
    before, _ = shown(app, utility, rule_set())
    with in_tenant(app, utility):
        import_records([{"customer": "N1", "occurred_at": "2024-12-10", "amount": "90000", "category": "bill"}],
                       kind="activity")
        db.session.commit()
    after, reused = shown(app, utility, rule_set())
    assert not reused
    value_tiers = {t["tier"]: t["customers"] for t in after["dimensions"][0]["tiers"]}
    assert value_tiers != {t["tier"]: t["customers"] for t in before["dimensions"][0]["tiers"]}


def test_a_retier_that_moves_someone_or_an_erasure_retires_the_snapshot(app, utility):  # noqa: F811
    publish_and_retier(app, utility, rule_set())
    shown(app, utility, rule_set())
    retier_again(app, utility)  # nothing moved: the snapshot still describes the assignment
    assert shown(app, utility, rule_set())[1]
    publish_and_retier(app, utility, edited(rule_set(), "value", "important", "sum(amount, 365d) >= 100000"))
    assert not shown(app, utility, rule_set())[1]
    with in_tenant(app, utility):
        erase_customer(db.session.scalars(sa.select(Customer).where(Customer.external_id == "R1")).one())
        db.session.commit()
    after, reused = shown(app, utility, rule_set())
    assert not reused and after["customers"] == 4


def test_another_moment_is_not_served_from_the_snapshot(app, utility):  # noqa: F811
    publish_and_retier(app, utility, rule_set())
    shown(app, utility, rule_set())
    later, reused = shown(app, utility, rule_set(), as_of=AS_OF + timedelta(days=40))
    scratch, _ = shown(app, utility, rule_set(), as_of=AS_OF + timedelta(days=40), from_scratch=True)
    assert not reused and later == scratch


def test_snapshots_are_kept_per_tenant(app, utility, make_tenant):  # noqa: F811
    publish_and_retier(app, utility, rule_set())
    shown(app, utility, rule_set())
    other = make_tenant("power_utility")
    publish_and_retier(app, other, rule_set())
    answer, reused = shown(app, other, rule_set())
    assert not reused and answer["customers"] == 0
    with in_tenant(app, other):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(snapshot.PreviewValue)) == 0


# --- kept after a retier on a worker (``warmup``) ------------------------------------------------

def retier_on_a_worker(database_urls, tmp_path, redis_url, world, as_of=AS_OF):
    """Queue a retier as the schedules and the UI do, and let a worker drain the long queue (retier, warm-up)."""
    from rq import Queue, SimpleWorker

    from tests.conftest import make_settings
    from tierwise.jobs.queue import redis_connection
    from tierwise.platform.app import create_app
    from tierwise.tenants.rules.retier import queue_retier, start_retier

    rq_app = create_app(settings=make_settings(database_urls, tmp_path, TIERWISE_REDIS_URL=redis_url))
    with in_tenant(rq_app, world):
        run = start_retier(started_by="test", as_of=as_of)
        db.session.commit()
        queue_retier(run.id, tenant_id=world.tenant_id)
        connection = redis_connection()
        SimpleWorker([Queue("long", connection=connection)], connection=connection).work(burst=True)


def test_a_retier_on_a_worker_leaves_a_snapshot_the_first_preview_reuses(app, utility, database_urls, tmp_path,  # noqa: F811
                                                                          redis_url):
    with in_tenant(app, utility):
        from tierwise.tenants.rules.versions import publish

        publish(rule_set(), author="test")
        db.session.commit()
    retier_on_a_worker(database_urls, tmp_path, redis_url, utility)
    first, reused = shown(app, utility, rule_set())
    assert reused  # the first preview after the retier: nothing evaluated from scratch
    # Built at the retier's moment from the values it assigned from: the rules in force move nobody.
    assert all(d["unchanged"] == 5 and d["held"] == 0 for d in first["dimensions"])
    draft = edited(rule_set(), "value", "important", "sum(amount, 365d) >= 5000")
    from_snapshot, reused = shown(app, utility, draft)
    scratch, _ = shown(app, utility, draft, from_scratch=True)
    assert reused and from_snapshot == scratch
    assert {(m["from"], m["to"]): m["customers"] for m in scratch["dimensions"][0]["matrix"]}[("important", "general")]


def test_an_import_on_a_worker_leaves_a_snapshot_of_the_new_data_for_the_first_preview(  # noqa: F811
        app, utility, database_urls, tmp_path, redis_url):
    from rq import Queue, SimpleWorker

    from tests.conftest import make_settings
    from tierwise.jobs.queue import redis_connection
    from tierwise.platform.app import create_app
    from tierwise.tenants.imports.runs import ImportRun, start_import_run
    from tierwise.tenants.activity import rules_moment
    from tierwise.tenants.rules.versions import publish

    with in_tenant(app, utility):
        publish(rule_set(), author="test")
        db.session.commit()
    retier_on_a_worker(database_urls, tmp_path, redis_url, utility)
    upload = tmp_path / "activity.csv"
    upload.write_text("customer,occurred_at,amount,category\nN1,2024-12-10,90000,bill\n")
    rq_app = create_app(settings=make_settings(database_urls, tmp_path, TIERWISE_REDIS_URL=redis_url))
    with in_tenant(rq_app, utility):  # as the upload page does: the import is a job, the warm-up follows it
        run = start_import_run(upload, kind="activity", source_name="activity.csv", created_by="test")
        connection = redis_connection()
        SimpleWorker([Queue("long", connection=connection)], connection=connection).work(burst=True)
        db.session.expire_all()
        assert ImportRun.get(run.id).status == "succeeded"
    with in_tenant(app, utility):
        _, plan = validate(rule_set())
        warm = preview(plan)  # no moment asked for: the most recent snapshot of today's data
        # kept after the import, at the moment its data ends (not the retier's AS_OF): where the rules measure
        assert warm.reused and warm.as_of == rules_moment() != AS_OF
        snapshot.data_changed()
        db.session.commit()
        scratch = preview(plan, as_of=warm.as_of)
    assert not scratch.reused
    answers = [dict(p.as_dict(), seconds=None, reused=None) for p in (warm, scratch)]
    assert answers[0] == answers[1]


def test_a_warm_up_waits_for_the_retier_of_the_version_in_force(app, utility):  # noqa: F811
    from tierwise.tenants.rules.versions import publish
    from tierwise.tenants.rules.warmup import warm

    publish_and_retier(app, utility, rule_set())
    with in_tenant(app, utility):
        publish(edited(rule_set(), "value", "important", "sum(amount, 365d) >= 5000"), author="test")
        db.session.commit()
        assert not warm()  # the new version's own retier will warm: values for the old one would mislead
    retier_again(app, utility)
    with in_tenant(app, utility):
        assert warm()
        assert not warm()  # kept already, for this moment and this data
    assert shown(app, utility, rule_set())[1]
