"""A Chinese-speaking user reads the pages in Chinese: codes the system stores (import kinds, run stages,
who started a run, dimension codes, notes Tierwise writes) are shown by their labels, form refusals are said
in Chinese, and labels end in a full-width colon.  English readers see the same pages in English."""
from __future__ import annotations

import io
import uuid

import pytest
import sqlalchemy as sa

from tests.conftest import Browser, csrf_token_from
from tests.model_fixtures import record_model_run, record_model_version
from tests.rule_helpers import in_tenant, retier_again
from tierwise.jobs.schedules import create_schedule
from tierwise.platform.db import db
from tierwise.tenants.customers import Customer
from tierwise.tenants.imports.runner import import_records
from tierwise.tenants.rules.assignments import RetierRun
from tierwise.tenants.rules.versions import current_version


def signed_in(app, world, language: str, who: str = "admin") -> Browser:
    """A user signed in who has picked their language (it is saved on their account)."""
    person = Browser(app.test_client())
    person.login(world, who)
    person.submit(f"/t/{world.slug}/", {"locale": language, "next": f"/t/{world.slug}/"},
                  action=f"/t/{world.slug}/locale")
    return person


def upload(person, world, kind: str, name: str, text: str):
    url = f"/t/{world.slug}/imports/"
    token = csrf_token_from(person.get(url).text)
    return person.client.post(url, content_type="multipart/form-data", data={
        "csrf_token": token, "kind": kind, "file": (io.BytesIO(text.encode("utf-8")), name)})


@pytest.fixture
def bank(app, make_tenant):
    """A bank on its industry template with three customers, tiered once."""
    world = make_tenant("bank")
    with in_tenant(app, world):
        import_records([{"external_id": "P1", "name": "王总", "aum_avg_3m": "7000000"},
                        {"external_id": "M1", "name": "张先生", "aum_avg_3m": "50000"}], kind="customers")
        db.session.commit()
        world.customers = dict(db.session.execute(sa.select(Customer.external_id, Customer.id)).all())
    retier_again(app, world)
    return world


def test_imports_are_listed_by_what_they_hold_and_a_wrong_file_is_refused_in_chinese(app, make_tenant):
    world = make_tenant("bank")
    chinese = signed_in(app, world, "zh_CN")
    assert upload(chinese, world, "customers", "customers.csv", "external_id,name\nC1,王五\n").status_code == 302
    assert upload(chinese, world, "activity", "activity.csv",
                  "customer,occurred_at,amount\nC1,2024-05-01,100\n").status_code == 302
    refused = upload(chinese, world, "activity", "a.pdf", "not a table")
    assert refused.status_code == 400
    assert "只能导入 .csv、.txt 或 .xlsx 文件。" in refused.text and "approved extension" not in refused.text

    imports = chinese.get(f"/t/{world.slug}/imports/").text
    assert "<td>活动记录</td>" in imports and "<td>客户</td>" in imports
    assert "<td>activity</td>" not in imports and "<td>customers</td>" not in imports
    dashboard = chinese.get(f"/t/{world.slug}/dashboard").text
    assert "导入 · 活动记录：activity.csv" in dashboard and "activity: activity.csv" not in dashboard

    english = signed_in(app, world, "en")
    assert "Only .csv, .txt or .xlsx files can be imported." in upload(english, world, "activity", "a.pdf", "x").text
    assert "Import · Activity: activity.csv" in english.get(f"/t/{world.slug}/dashboard").text


def test_model_runs_show_their_stage_and_a_scheduled_run_shows_the_schedule_as_who_started_it(app, make_tenant):
    world = make_tenant("bank")
    schedule = f"schedule:{uuid.uuid4()}"
    with in_tenant(app, world):
        record_model_run(job="score", status="succeeded", stage="done", started_by=schedule)
        record_model_run(job="train", status="running", stage="features as of 2025-04-01, 2024-10-01, 2024-12-31",
                         started_by="demo")  # as runs before the days were sorted stored them
        record_model_run(job="train", status="queued", model="value", stage="waiting for a worker")
        record_model_run(job="score", status="succeeded", stage="done", started_by="cli")
        db.session.commit()

    page = signed_in(app, world, "zh_CN").get(f"/t/{world.slug}/models/").text
    assert "<td>已完成" in page and "计算特征（截至 2024-10-01、2024-12-31、2025-04-01）" in page
    assert "waiting for a worker" in page  # a stage the page does not know is shown as recorded
    assert f'<span title="{schedule}">计划任务</span>' in page and "演示数据" in page and "<td>demo</td>" not in page
    assert "<td>命令行</td>" in page and "<td>cli</td>" not in page
    dashboard = signed_in(app, world, "zh_CN").get(f"/t/{world.slug}/dashboard").text
    assert f'<span title="{schedule}">计划任务</span>' in dashboard

    english = signed_in(app, world, "en").get(f"/t/{world.slug}/models/").text
    assert "<td>done" in english and "features as of 2024-10-01, 2024-12-31, 2025-04-01" in english
    assert f'<span title="{schedule}">Schedule</span>' in english


def test_the_tiers_page_names_the_dimensions_a_retier_changed_and_who_started_it(app, bank):
    with in_tenant(app, bank):
        counts = {"up": 1, "down": 0, "new": 0, "held": 0}
        db.session.add(RetierRun(rule_version_id=current_version().id, as_of=current_version().published_at,
                                 status="succeeded", customers=2, changes={"value": counts, "retired_dimension": counts},
                                 started_by="schedule:0b7f6c2e-0000-4000-8000-000000000001"))
        db.session.commit()
    page = signed_in(app, bank, "zh_CN").get(f"/t/{bank.slug}/rules/").text
    recent = page[page.index("最近的重新分级"):]
    assert '<span title="value">财富等级</span>' in recent and '<span title="high_risk">流失风险</span>' in recent
    assert "<code>retired_dimension</code>" in recent  # no longer defined: shown by its code
    assert ">计划任务</span>" in recent


def test_the_version_history_says_the_first_version_is_the_industry_template_in_the_readers_language(app, bank):
    history = signed_in(app, bank, "zh_CN").get(f"/t/{bank.slug}/rules/versions/").text
    assert "<td>行业模板</td>" in history and "industry template" not in history
    assert "<td>industry template</td>" in signed_in(app, bank, "en").get(f"/t/{bank.slug}/rules/versions/").text


def test_the_templates_descriptions_of_dimensions_and_fields_are_read_in_the_readers_language(app, bank):
    with in_tenant(app, bank):
        version = f"/t/{bank.slug}/rules/versions/{current_version().id}"
    fields = f"/t/{bank.slug}/fields/"
    chinese = signed_in(app, bank, "zh_CN")
    assert "默认阈值：近三月日均资产600万" in chinese.get(version).text
    assert "近三个月存款和理财产品的日均余额" in chinese.get(fields).text
    english = signed_in(app, bank, "en")  # the same admin, who now reads English
    assert "Defaults: RMB 6M" in english.get(version).text and "默认阈值" not in english.get(version).text
    assert "Average daily balance of deposits" in english.get(fields).text


def test_labels_end_in_a_full_width_colon_in_chinese(app, bank):
    chinese = signed_in(app, bank, "zh_CN")
    customer = chinese.get(f"/t/{bank.slug}/customers/{bank.customers['P1']}").text
    assert "符合该等级的规则：<span class=\"rule-words\" title=\"aum_avg_3m &gt;= 6000000\">近三月日均资产（人民币） ≥ 6,000,000</span>" in customer
    lists = chinese.get(f"/t/{bank.slug}/lists/").text
    assert "私人银行、财富中心、贵宾理财" in lists and "private_banking" not in lists
    with in_tenant(app, bank):
        schedule_id = create_schedule(action="retier", cron="0 3 * * *", author="test").id
        version_id = record_model_version(make_champion=True).id
        db.session.commit()
    schedule = chinese.get(f"/t/{bank.slug}/schedules/{schedule_id}").text
    assert "任务：<strong>为全部客户重新分级</strong>" in schedule
    version = chinese.get(f"/t/{bank.slug}/models/versions/{version_id}").text
    assert "主要指标：ROC AUC" in version

    english = signed_in(app, bank, "en")
    assert "Its rule matched: <span class=\"rule-words\"" in english.get(
        f"/t/{bank.slug}/customers/{bank.customers['P1']}").text
    assert "Work: <strong>Retier every customer</strong>" in english.get(f"/t/{bank.slug}/schedules/{schedule_id}").text
    assert "Private banking, Wealth centre, VIP counter" in english.get(f"/t/{bank.slug}/lists/").text


def test_form_refusals_on_the_password_and_rule_upload_pages_are_said_in_chinese(app, bank):
    chinese = signed_in(app, bank, "zh_CN")
    mismatch = chinese.submit(f"/t/{bank.slug}/password", {
        "current_password": "x", "new_password": "a-brand-new-secret", "confirm": "another-new-secret"})
    assert "两次输入的新密码不一致。" in mismatch.text and "Field must be equal to" not in mismatch.text

    def upload_rules(name: str, content: bytes):
        token = csrf_token_from(chinese.get(f"/t/{bank.slug}/rules/draft").text)
        return chinese.client.post(f"/t/{bank.slug}/rules/draft/upload", content_type="multipart/form-data",
                                   data={"csrf_token": token, "file": (io.BytesIO(content), name)})

    assert "只能上传 .yaml 或 .yml 文件。" in upload_rules("rules.txt", b"dimensions: []").text
    not_utf8 = upload_rules("rules.yaml", "名称: 规则".encode("gbk"))
    assert not_utf8.status_code == 400 and "文件必须是 UTF-8 文本" in not_utf8.text


def test_no_list_of_scores_or_changes_shares_a_name_with_a_dimension_of_an_industry_template():
    """An RM who reads a list named 流失风险 beside a column named 流失风险 cannot tell them apart.  (The
    lists of one dimension's tiers, such as high_risk, are named after those tiers on purpose.)"""
    from tierwise.tenants.lists.catalog import BUILT_IN
    from tierwise.tenants.rules.templates import TEMPLATES

    dimensions = {label for t in TEMPLATES.values() for d in t["dimensions"] for label in (d["label_en"], d["label_zh"])}
    for name in ("vip_at_risk", "at_risk", "newly_high_risk", "value_down"):
        assert {BUILT_IN[name].label_en, BUILT_IN[name].label_zh}.isdisjoint(dimensions), name


def test_lists_in_the_rule_editor_and_the_version_history_are_joined_as_chinese_lists_them(app, bank):
    chinese = signed_in(app, bank, "zh_CN")
    editor = chinese.get(f"/t/{bank.slug}/rules/draft").text
    assert '个人或机构<span class="muted">（individual、organisation）</span>' in editor  # full-width, no space
    assert "<code>value</code>、<code>high_risk</code>" in editor  # tier("…")'s dimensions
    with in_tenant(app, bank):
        definition = current_version().definition
        first = f"/t/{bank.slug}/rules/versions/{current_version().id}"
    definition["dimensions"][0]["tiers"][1]["rule"] = "count(complains, 90d) >= 1"
    checked = chinese.client.post(f"/t/{bank.slug}/rules/draft/check", json=definition,
                                  headers={"X-CSRFToken": csrf_token_from(editor)})
    assert "此处应为数据来源（activity、interactions、complaints）" in checked.json["message"]
    assert "首个版本，包含维度 财富等级、流失风险" in chinese.get(first).text

    english = signed_in(app, bank, "en")
    assert 'Individual or organisation <span class="muted">(individual, organisation)</span>' in english.get(
        f"/t/{bank.slug}/rules/draft").text
    assert "First version, with the dimensions Wealth tier, Attrition risk" in english.get(first).text


def test_a_list_in_an_audit_records_details_is_joined_as_the_readers_language_lists_it(app, bank):
    from flask_babel import force_locale

    from tierwise.platform.web.labels import plain_details

    details = {"ignored_columns": ["备注", "memo"]}
    with app.test_request_context(), in_tenant(app, bank):
        with force_locale("zh_CN"):
            assert [text for _key, text in plain_details(details)] == ["备注、memo"]
        with force_locale("en"):
            assert [text for _key, text in plain_details(details)] == ["备注, memo"]


def test_the_rule_help_fields_and_version_diffs_list_values_as_chinese_lists_them(app, bank):
    from flask_babel import force_locale

    from tierwise.platform.web.rules_versions import diff_value

    chinese = signed_in(app, bank, "zh_CN")
    editor = chinese.get(f"/t/{bank.slug}/rules/draft").text
    assert "channel（" in editor and "channel (" not in editor  # a filter column's values, full-width
    fields = chinese.get(f"/t/{bank.slug}/fields/").text
    assert '</code>、' in fields and '</code>, ' not in fields  # a category field's values
    with app.test_request_context():
        with force_locale("zh_CN"):
            assert diff_value({"evaluations": 2, "margin": 0.1}) == "evaluations：2、margin：0.1"
            assert diff_value(["a", "b"]) == "a、b"
        with force_locale("en"):
            assert diff_value({"evaluations": 2, "margin": 0.1}) == "evaluations: 2, margin: 0.1"


def test_the_home_page_says_the_organisations_slug_in_full_width_parentheses(app, bank):
    chinese = signed_in(app, bank, "zh_CN").get(f"/t/{bank.slug}/").text
    assert f'<span class="muted">（{bank.slug}）</span>' in chinese and f"({bank.slug})" not in chinese
