"""The model pages and the customer page's scores, as admins, analysts and RMs meet them.

An admin reads how good each champion is (metrics beside the baselines, which
is better, curves, calibration, importance, drift) in English or Chinese,
trains, scores and overrides the champion with a reason; an analyst reads the
same pages but changes nothing; an RM sees scores only on their customers' pages.
"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.conftest import Browser, csrf_token_from
from tests.model_fixtures import fast_training, record_model_run, record_model_version, trained_world
from tests.rule_helpers import in_tenant
from tierwise.models.registry import ModelVersion, champion
from tierwise.models.runs import ModelRun
from tierwise.models.scores import CustomerScore
from tierwise.platform.audit import AuditEvent
from tierwise.platform.db import db
from tierwise.tenants.customers import Customer
from tierwise.tenants.imports.runner import import_records

ENGLISH, CHINESE = {"Accept-Language": "en"}, {"Accept-Language": "zh-CN"}


@pytest.fixture(scope="module")
def bank(app):
    """A bank with two years of history, churn and value champions and every customer scored (once per module)."""
    return trained_world(app)


@pytest.fixture
def recorded(app, make_tenant):
    """A tenant whose churn model has a champion (version 1) and a challenger (version 2), both recorded."""
    world = make_tenant("bank")
    with in_tenant(app, world):
        world.versions = {v.number: v.id for v in (record_model_version(make_champion=True), record_model_version())}
        db.session.commit()
    return world


def signed_in(app, world, who="admin") -> Browser:
    person = Browser(app.test_client())
    person.login(world, who)
    return person


def models_page(person, world, headers=ENGLISH):
    page = person.get(f"/t/{world.slug}/models/", headers=headers)
    assert page.status_code == 200, page.text[:500]
    return page.text


def post(person, world, path: str, data: dict | None = None, headers=ENGLISH):
    token = csrf_token_from(person.get(f"/t/{world.slug}/models/", headers=headers).text)
    return person.client.post(f"/t/{world.slug}/models{path}", data={"csrf_token": token, **(data or {})},
                              headers=headers, follow_redirects=True)


def top_feature(app, world, locale: str) -> str:
    """The label of the churn champion's most important feature.

    Read from the version, not assumed: the parameter search stops at its time budget,
    so on a busy machine it may pick another model, which ranks the features differently.
    """
    from tierwise.platform.score_explanations import labelled_importance

    with in_tenant(app, world):
        return labelled_importance(champion("churn"), locale, 1)[0]["label"]


def test_the_overview_shows_each_champion_beside_its_baselines_with_curves_and_importance(app, bank):
    page = models_page(signed_in(app, bank), bank)
    for text in ("Churn model", "Value model", "ROC AUC", "PR AUC", "Brier score", "RMSE", "Spearman rank correlation",
                 "Logistic regression", "Recency rule", "Last period carried forward", "Calibration",
                 "Feature importance", top_feature(app, bank, "en"), "Version history", "Training cutoffs",
                 "A later cutoff", "for training", "for validation"):
        assert text in page, text
    assert re.search(r"The model (beats|does not beat|and) Logistic regression( are level)?: ROC AUC", page)
    assert re.search(r"The model (beats|does not beat|and) Last period carried forward( are level)?: RMSE", page)
    with in_tenant(app, bank):  # each baseline keeps how noisy the model's lead over it is
        assert all(champion(model).metrics[baseline]["model_difference_se"] > 0
                   for model, baseline in (("churn", "logistic_regression"), ("churn", "recency_rule"),
                                           ("value", "last_period_carried_forward")))
    assert page.count('<svg class="curve"') == 3  # ROC and gain for churn, gain for value
    assert page.count("<polyline") >= 3 + 2 + 1 + 2  # a line per predictor, plus each chart's random diagonal
    assert 'class="number best"' in page
    assert "http-equiv=\"refresh\"" not in page  # nothing is running


def test_the_overview_reads_in_chinese_with_feature_labels_from_the_version(app, bank):
    page = models_page(signed_in(app, bank), bank, headers=CHINESE)
    chinese, english = top_feature(app, bank, "zh_Hans_CN"), top_feature(app, bank, "en")
    for text in ("模型", chinese, "特征重要性", "逻辑回归", "最近交易规则", "流失模型", "与基线对比"):
        assert text in page, text
    assert chinese != english and english not in page


def test_an_analyst_reads_the_models_but_cannot_train_score_or_promote(app, bank):
    analyst = signed_in(app, bank, "analyst")
    page = models_page(analyst, bank)
    assert "ROC AUC" in page and "Train churn model" not in page and "Score now" not in page
    with in_tenant(app, bank):
        version_id = champion("churn").id
    detail = analyst.get(f"/t/{bank.slug}/models/versions/{version_id}")
    assert detail.status_code == 200 and "Make champion" not in detail.text
    token = csrf_token_from(page)
    for path, data in (("/train", {"model": "churn"}), ("/score", {}),
                       (f"/versions/{version_id}/promote", {"reason": "I like it"})):
        assert analyst.client.post(f"/t/{bank.slug}/models{path}", data={"csrf_token": token, **data}).status_code \
            == 403, path
    assert 'href="/t/%s/models/"' % bank.slug in page  # the navigation link


def test_a_relationship_manager_has_no_model_pages(app, bank):
    rm = signed_in(app, bank, "rm1")
    assert rm.get(f"/t/{bank.slug}/models/").status_code == 403
    assert "/models/" not in rm.get(f"/t/{bank.slug}/").text


def test_a_version_page_shows_its_evidence_and_search(app, bank):
    with in_tenant(app, bank):
        version_id = champion("value").id
    page = signed_in(app, bank).get(f"/t/{bank.slug}/models/versions/{version_id}", headers=ENGLISH)
    assert page.status_code == 200
    for text in ("Value model", "Champion", "RMSE", "Total predicted", "actual", "Parameter search", "Gain curve"):
        assert text in page.text, text
    assert "Make champion" not in page.text  # it already is
    assert "365 days after each cutoff, taken as 12 calendar months" in page.text
    search = page.text[page.text.index("Parameter search"):]
    search = search[:search.index("</table>")]
    assert re.search(r"\d{1,3}(,\d{3})+ ± \d{1,3}(,\d{3})*", search)  # each candidate's RMSE with its standard error, as amounts read
    assert search.count("✓") == 1  # the one chosen


def test_making_a_version_champion_needs_a_reason_and_is_audited(app, recorded):
    admin = signed_in(app, recorded)
    challenger = recorded.versions[2]
    form = admin.get(f"/t/{recorded.slug}/models/versions/{challenger}")
    assert "Make champion" in form.text
    action = f"/t/{recorded.slug}/models/versions/{challenger}/promote"
    refused = admin.client.post(action, data={"csrf_token": csrf_token_from(form.text), "reason": "  "})
    assert refused.status_code == 400
    assert "say why this version should be champion" in refused.text
    with in_tenant(app, recorded):
        assert champion("churn").number == 1
    done = admin.client.post(action, data={"csrf_token": csrf_token_from(form.text),
                                           "reason": "validated by the risk team"}, follow_redirects=True)
    assert done.status_code == 200
    assert "version 2 is now the champion" in done.text
    with in_tenant(app, recorded):
        now = champion("churn")
        assert now.number == 2 and "validated by the risk team" in now.promotion_note
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "model.override")).one()
        assert event.details["reason"] == "validated by the risk team"
    again = admin.client.post(action, data={"csrf_token": csrf_token_from(form.text), "reason": "twice"})
    assert again.status_code == 400 and "already the champion" in again.text


def test_another_tenants_version_is_not_found(app, recorded, make_tenant):
    stranger = make_tenant("bank")
    admin = signed_in(app, stranger)
    assert admin.get(f"/t/{stranger.slug}/models/versions/{recorded.versions[1]}").status_code == 404


def test_training_that_fails_says_why_and_is_recorded(app, make_tenant):
    empty = make_tenant("bank")
    page = post(signed_in(app, empty), empty, "/train", {"model": "churn", "horizon_days": "60"})
    assert "The run failed" in page.text and "no activity" in page.text
    assert page.text.count("no activity") == 1, page.text  # said once, in the run's row, not again in the flash
    with in_tenant(app, empty):
        run = db.session.scalars(sa.select(ModelRun)).one()
        assert (run.job, run.model, run.status, run.horizon_days) == ("train", "churn", "failed", 60)
        assert run.started_by == empty.email("admin")


def test_a_second_training_while_one_is_queued_is_refused_and_the_page_refreshes(app, make_tenant):
    busy = make_tenant("bank")
    with in_tenant(app, busy):
        record_model_run(job="train", status="queued", model="churn", stage="waiting")
        db.session.commit()
    admin = signed_in(app, busy)
    page = models_page(admin, busy)
    assert '<meta http-equiv="refresh" content="5">' in page and "<progress" in page
    refused = post(admin, busy, "/train", {"model": "churn"})
    assert "Churn model: a training is already queued" in refused.text
    bad = post(admin, busy, "/train", {"model": "churn", "horizon_days": "0"})
    assert "The horizon must be a whole number of days from 1 to 3650." in bad.text
    with in_tenant(app, busy):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ModelRun)) == 1


def test_the_train_button_trains_in_process_and_the_run_is_listed(app, bank):
    admin = signed_in(app, bank)
    with fast_training():
        page = post(admin, bank, "/train", {"model": "value", "horizon_days": "180"})
    assert "Training finished: version 2" in page.text
    # not beaten: another horizon than the champion's, which the notice says rather than "did not beat"
    assert "version 2 is not the champion" in page.text and "so they cannot be compared" in page.text
    with in_tenant(app, bank):
        run = db.session.scalars(sa.select(ModelRun).where(ModelRun.job == "train")).one()
        assert (run.model, run.status, run.started_by) == ("value", "succeeded", bank.email("admin"))
        version = ModelVersion.get(run.version_id)
        assert (version.model, version.number, version.horizon_days) == ("value", 2, 180)
        run_id = run.id
    assert f'data-run="{run_id}" data-status="succeeded"' in page.text
    assert 'data-version="2"' in page.text  # in the history


def test_score_now_rescores_and_shows_drift_per_feature(app, bank):
    page = post(signed_in(app, bank), bank, "/score")
    assert "Scoring finished: 400 customers scored." in page.text
    drift = page.text.split('id="drift"')[1]
    assert "The score itself" in drift and "Days since the last activity" in drift and "PSI" in drift
    assert 'data-feature="__score__"' in drift


def test_the_customer_page_shows_scores_and_reasons_in_the_readers_language(app, bank):
    with in_tenant(app, bank):
        customer_id = db.session.scalars(sa.select(CustomerScore.customer_id).order_by(
            CustomerScore.churn_probability.desc().nulls_last())).first()
    admin = signed_in(app, bank)
    english = admin.get(f"/t/{bank.slug}/customers/{customer_id}", headers=ENGLISH).text
    scores = english.split('id="scores"')[1].split("</section>")[0]
    assert "Churn probability" in scores and "Predicted value" in scores and "%" in scores
    assert scores.count("<tr data-feature=") == 10  # five reasons for each model
    assert "raises" in scores
    horizons = re.findall(r"Over the next ([^;]+); model version", scores)  # 90 and 365 days: calendar months
    assert horizons == ["3 months", "12 months"], horizons
    chinese = admin.get(f"/t/{bank.slug}/customers/{customer_id}", headers=CHINESE).text
    scores = chinese.split('id="scores"')[1].split("</section>")[0]
    assert "流失概率" in scores and "提高" in scores
    assert re.search(r"近\d+天|距上次|投诉", scores)


def test_a_lapsed_customers_page_says_why_it_has_no_churn_probability(app, bank):
    with in_tenant(app, bank):
        customer_id = db.session.scalars(sa.select(CustomerScore.customer_id)
                                         .where(CustomerScore.churn_probability.is_(None))).first()
    assert customer_id is not None  # the synthetic bank has customers who left long ago
    page = signed_in(app, bank).get(f"/t/{bank.slug}/customers/{customer_id}", headers=ENGLISH).text
    scores = page.split('id="scores"')[1].split("</section>")[0]
    assert "the churn model judges only customers active in that time" in scores
    assert "No champion model" not in scores and scores.count("<tr data-feature=") == 5  # the value's reasons


def test_a_customer_recorded_as_gone_is_told_why_it_has_no_churn_probability(app, bank):
    from datetime import date

    from tierwise.tenants.customers import Customer

    with in_tenant(app, bank):
        customer_id = db.session.scalars(sa.select(CustomerScore.customer_id)
                                         .where(CustomerScore.churn_probability.is_(None))).first()
        customer = db.session.scalar(sa.select(Customer).where(Customer.id == customer_id))
        customer.churn_label, customer.label_observed_on = True, date(2025, 3, 1)
        db.session.commit()
    try:
        page = signed_in(app, bank).get(f"/t/{bank.slug}/customers/{customer_id}", headers=ENGLISH).text
        scores = page.split('id="scores"')[1].split("</section>")[0]
        assert "Recorded as having left on 2025-03-01" in scores and "data-lapsed" not in scores
    finally:
        with in_tenant(app, bank):
            customer = db.session.scalar(sa.select(Customer).where(Customer.id == customer_id))
            customer.churn_label = customer.label_observed_on = None
            db.session.commit()


def test_a_categorical_reason_shows_the_categorys_label(app, bank):
    with in_tenant(app, bank):
        score = db.session.scalars(sa.select(CustomerScore)
                                   .order_by(CustomerScore.churn_probability.desc().nulls_last())).first()
        score.churn_reasons = [["occupation", 0.5, "executive"], *score.churn_reasons[1:]]
        db.session.commit()
        customer_id = score.customer_id
    admin = signed_in(app, bank)
    english = admin.get(f"/t/{bank.slug}/customers/{customer_id}", headers=ENGLISH).text.split('id="scores"')[1]
    chinese = admin.get(f"/t/{bank.slug}/customers/{customer_id}", headers=CHINESE).text.split('id="scores"')[1]
    assert '<td class="number">Executive</td>' in english and ">executive<" not in english
    assert '<td class="number">企业高管</td>' in chinese, chinese[:3000]


def test_a_reason_on_the_party_type_names_the_type_as_the_profile_does(app, bank):
    """An organisation's profile says 机构 (Organisation): a model reason on its party type says the same,
    not the stored code "organisation" in the middle of a Chinese page."""
    with in_tenant(app, bank):
        score = db.session.scalars(sa.select(CustomerScore)
                                   .order_by(CustomerScore.churn_probability.desc().nulls_last())).first()
        kept = score.value_reasons
        score.value_reasons = [["party_type", -0.2, "organisation"], *kept[1:]]
        db.session.commit()
        customer_id = score.customer_id
    try:
        admin = signed_in(app, bank)
        english = admin.get(f"/t/{bank.slug}/customers/{customer_id}", headers=ENGLISH).text.split('id="scores"')[1]
        chinese = admin.get(f"/t/{bank.slug}/customers/{customer_id}", headers=CHINESE).text.split('id="scores"')[1]
        assert '<td class="number">Organisation</td>' in english and ">organisation<" not in english
        assert '<td class="number">机构</td>' in chinese and ">organisation<" not in chinese
    finally:
        with in_tenant(app, bank):
            score = db.session.scalar(sa.select(CustomerScore).where(CustomerScore.customer_id == customer_id))
            score.value_reasons = kept
            db.session.commit()


def test_a_customer_not_scored_yet_says_so(app, make_tenant):
    world = make_tenant("bank")
    with in_tenant(app, world):
        import_records([{"external_id": "N1", "name": "新客户"}], kind="customers")
        db.session.commit()
        customer_id = db.session.scalar(sa.select(Customer.id))
    page = signed_in(app, world).get(f"/t/{world.slug}/customers/{customer_id}", headers=ENGLISH)
    assert "Not scored yet" in page.text


def test_a_gap_to_a_baseline_within_the_noise_of_the_validation_set_is_called_level(app):
    from types import SimpleNamespace

    from tierwise.platform.web.model_report import verdicts

    version = SimpleNamespace(model="churn", metrics={
        "model": {"roc_auc": 0.942},
        "logistic_regression": {"roc_auc": 0.948, "model_difference_se": 0.005},  # 1.2 errors behind: noise
        "recency_rule": {"roc_auc": 0.800, "model_difference_se": 0.010}})  # 14 errors ahead: a real lead
    with app.test_request_context():
        behind, ahead = verdicts(version)
    assert (behind.beats, behind.level, behind.margin) == (False, True, "0.010")
    assert (ahead.beats, ahead.level) == (True, False)
    version.metrics["recency_rule"]["roc_auc"] = 0.94996  # reads as 0.950 too: said with the digits that differ
    version.metrics["model"]["roc_auc"] = 0.95012
    with app.test_request_context():
        assert (verdicts(version)[1].ours, verdicts(version)[1].theirs) == ("0.95012", "0.94996")
    with app.test_request_context():
        from flask import render_template_string

        said = render_template_string('{% from "models/_report.html" import metrics %}{{ metrics(r) }}',
                                      r=SimpleNamespace(verdicts=verdicts(version), columns=[], rows=[]))
    assert "The model and Logistic regression are level: ROC AUC 0.950 against 0.948." in said
    assert "(±0.010)" in said and "does not beat Logistic regression" not in said  # neither a win nor a defeat
    version.metrics["logistic_regression"].pop("model_difference_se")  # a version trained before it was measured
    with app.test_request_context():
        assert not verdicts(version)[0].level


def test_a_value_model_judged_on_less_than_a_period_of_data_is_also_held_to_the_run_rate(app):
    """Carried forward sums the part of a year the data holds: beating it alone says little, and the page says so."""
    from types import SimpleNamespace

    from flask import render_template_string

    from tierwise.platform.web.model_report import verdicts

    version = SimpleNamespace(model="value", metrics={
        "model": {"rmse": 458_000.0},
        "last_period_carried_forward": {"rmse": 1_112_000.0, "model_difference_se": 99_000.0},
        "run_rate": {"rmse": 500_000.0, "model_difference_se": 45_000.0}})
    with app.test_request_context():
        carried, run_rate = verdicts(version)
        said = render_template_string('{% from "models/_report.html" import metrics %}{{ metrics(r) }}',
                                      r=SimpleNamespace(verdicts=[carried, run_rate], columns=[], rows=[],
                                                        partial_period=True))
    assert (carried.beats, carried.level) == (True, False) and (run_rate.baseline, run_rate.level) == (
        "Last year's run rate", True)
    assert "The model and Last year&#39;s run rate are level: RMSE 458,000 against 500,000." in said
    assert "Last period carried forward sums only the part the data holds" in said


def test_a_refused_training_reads_in_each_readers_language_wherever_it_is_read(app, client, tenant_a, issue_token):
    """Started in Chinese on a tenant with no activity; read later in English on the API, the models page and the
    dashboard, as an import run is."""
    token = {"Authorization": f"Bearer {issue_token(tenant_a)}"}
    started = client.post("/api/v1/models/train", json={"model": "churn"},
                          headers={**token, "Accept-Language": "zh-CN"})
    assert started.status_code == 201 and started.json["status"] == "failed", started.json
    assert started.json["message"] == "本机构尚无活动记录：请先导入活动记录再训练"
    english = client.get(started.headers["Location"], headers={**token, "Accept-Language": "en"}).json
    assert english["message"] == "this tenant has no activity yet: import some before training"
    assert "kept" not in english["summary"]  # what the run keeps to say it again is its own
    person = signed_in(app, tenant_a)
    for page in (f"/t/{tenant_a.slug}/models/", f"/t/{tenant_a.slug}/dashboard"):
        text = person.get(page, headers=ENGLISH).text
        assert "this tenant has no activity yet" in text and "本机构尚无活动记录" not in text, page


def test_the_data_window_is_read_in_days_on_the_tenants_clock_training_cutoffs_in_order(app, make_tenant):
    """Data that ends at 02:30 on 15 November in Shanghai ends on the 15th, as the dashboard says, not on UTC's 14th."""
    from tierwise.platform.tenant import Tenant

    world = make_tenant("bank")
    late = "T18:30:00+00:00"  # 02:30 the next morning at UTC+8
    with in_tenant(app, world):
        assert db.session.get(Tenant, world.tenant_id).timezone == "Asia/Shanghai"
        version = record_model_version(make_champion=True)
        version.data_window = version.data_window | {
            "data_start": "2024-01-01" + late, "data_end": "2026-11-14" + late,
            "validation_cutoff": "2026-08-14" + late,
            "training_cutoffs": ["2026-05-14" + late, "2026-02-14" + late]}  # newest first, as training may list them
        version_id = version.id
        db.session.commit()
    person = signed_in(app, world)
    for path in ("/models/", f"/models/versions/{version_id}"):
        english = person.get(f"/t/{world.slug}{path}", headers=ENGLISH).text
        assert "2024-01-02 – 2026-11-15" in english and "Cutoff 2026-08-15." in english, path
        assert "<dd>2026-02-15, 2026-05-15</dd>" in english, path
        chinese = person.get(f"/t/{world.slug}{path}", headers=CHINESE).text
        assert "<dd>2026-02-15、2026-05-15</dd>" in chinese, path
        assert "2026-11-14" not in english + chinese and "2026-08-14" not in english + chinese, path


def test_who_trained_a_version_follows_when_with_the_readers_comma(app, make_tenant):
    world = make_tenant("bank")
    with in_tenant(app, world):
        record_model_version(make_champion=True).trained_by = "demo"
        db.session.commit()
    person = signed_in(app, world)
    assert re.search(r"UTC\+8, Demo data</dd>", models_page(person, world))
    chinese = models_page(person, world, CHINESE)
    assert re.search(r"UTC\+8，演示数据</dd>", chinese) and "UTC+8, 演示数据" not in chinese
