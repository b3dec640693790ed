"""Tiering rules in the web UI: the distribution, the editor, preview, publish, history and roll back."""
from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from tests.conftest import Browser, csrf_token_from
from tests.rule_helpers import in_tenant, retier_again
from tierwise.platform.cli import cli
from tierwise.platform.db import db
from tierwise.tenants.customers import Customer
from tierwise.tenants.imports.runner import import_records
from tierwise.tenants.rules import versions, yaml_io

# The bank template's value dimension, as the editor numbers its inputs (d0 is "value").
PRIVATE_BANKING_RULE, WEALTH_CENTRE_RULE, VIP_COUNTER_RULE = "d0.t0.rule", "d0.t1.rule", "d0.t2.rule"


class EditorForm(HTMLParser):
    """The rule editor's inputs (name -> value), as a browser would send them."""

    def __init__(self, html: str):
        super().__init__()
        self.values: dict[str, str] = {}
        self._inside = False
        self._textarea: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._inside = attrs.get("id") == "rule-editor"
        elif self._inside and tag == "input" and attrs.get("name") and attrs.get("type") != "submit":
            self.values[attrs["name"]] = attrs.get("value") or ""
        elif self._inside and tag == "textarea":
            self._textarea = attrs["name"]
            self.values[self._textarea] = ""

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._inside = False


@pytest.fixture
def bank(app, make_tenant):
    """A bank on its industry template (version 1): a private-banking, a wealth-centre and a mass customer."""
    world = make_tenant("bank")
    with in_tenant(app, world):
        import_records([{"external_id": "P1", "name": "王总", "aum_avg_3m": "7000000"},
                        {"external_id": "W1", "name": "李女士", "aum_avg_3m": "1500000"},
                        {"external_id": "M1", "name": "张先生", "aum_avg_3m": "50000"}], kind="customers")
        db.session.commit()
        world.customers = dict(db.session.execute(sa.select(Customer.external_id, Customer.id)).all())
    return world


def signed_in(app, world, who="admin") -> Browser:
    person = Browser(app.test_client())
    person.login(world, who)
    return person


def editor(browser, world) -> dict[str, str]:
    page = browser.get(f"/t/{world.slug}/rules/draft")
    assert page.status_code == 200
    return EditorForm(page.text).values


def post_editor(browser, world, values: dict, action: str = "save"):
    return browser.client.post(f"/t/{world.slug}/rules/draft", data={**values, "action": action})


def distribution(browser, world) -> dict[str, int]:
    page = browser.get(f"/t/{world.slug}/rules/")
    assert page.status_code == 200
    return counts_in(page.text)


def counts_in(html: str) -> dict[str, int]:
    """Customers per ``dimension.tier`` on the distribution page, and ``dimension.unclassified``."""
    counts = {tier: int(n) for tier, n in re.findall(r'data-tier="([\w.]+)" data-customers="(\d+)"', html)}
    counts.update({f"{d}.unclassified": int(n) for d, n in re.findall(r'data-unclassified="(\w+):(\d+)"', html)})
    return counts


def draft_definition(app, world) -> dict | None:
    with in_tenant(app, world):
        draft = versions.draft()
        return draft.definition if draft else None


def input_block(html: str, name: str) -> str:
    """The markup of the field holding input ``name``: its label, the input and the error under it."""
    start = html.index(f'<label for="input-{name}">')
    end = html.find('<div class="field', start + 1)
    return html[start:end if end > 0 else None]


def test_admin_edits_a_rule_previews_publishes_and_retiers_and_the_distribution_shows_the_new_tiers(app, bank):
    admin = signed_in(app, bank)
    retier_again(app, bank)
    assert distribution(admin, bank)["value.private_banking"] == 1
    form = editor(admin, bank)
    assert form[PRIVATE_BANKING_RULE] == "aum_avg_3m >= 6000000"
    form[PRIVATE_BANKING_RULE] = "aum_avg_3m >= 1000000"
    saved = post_editor(admin, bank, form, action="preview")
    assert saved.status_code == 302 and saved.location.endswith("/rules/draft/preview")
    assert draft_definition(app, bank)["dimensions"][0]["tiers"][0]["rule"] == "aum_avg_3m >= 1000000"

    preview = admin.get(f"/t/{bank.slug}/rules/draft/preview")
    assert preview.status_code == 200
    counts = preview.text.split('id="preview-value"')[1].split("</p>")[0]
    assert "Up: 1</span>" in counts and "Down: 0</span>" in counts and "New: 0</span>" in counts  # W1 moves up
    moving_up = preview.text[preview.text.index("Moving up"):preview.text.index("Moving down")]
    assert f'/t/{bank.slug}/customers/{bank.customers["W1"]}' in moving_up and "李女士" in moving_up
    assert "aum_avg_3m" in moving_up  # the reason: the value the rule looked at
    assert 'class="number diagonal' in preview.text
    assert distribution(admin, bank)["value.private_banking"] == 1  # a preview changes nothing
    again = admin.get(f"/t/{bank.slug}/rules/draft/preview").text  # the first one's values are reused
    assert "Only what the draft changes was evaluated anew" in again and "李女士" in again
    assert "Only what the draft changes" not in preview.text

    published = admin.submit(f"/t/{bank.slug}/rules/draft", {}, action=f"/t/{bank.slug}/rules/draft/publish")
    assert published.status_code == 302 and published.location.endswith(f"/t/{bank.slug}/rules/")
    page = admin.get(f"/t/{bank.slug}/rules/")
    assert "Version 2 is published" in page.text and "Version 2 has not been applied yet" in page.text
    assert draft_definition(app, bank) is None

    retiered = admin.submit(f"/t/{bank.slug}/rules/", {}, action=f"/t/{bank.slug}/rules/retier")
    assert retiered.status_code == 302
    page = admin.get(f"/t/{bank.slug}/rules/").text
    assert "Retier finished: 3 customers evaluated on the data as of " in page and "has not been applied yet" not in page
    runs = page[page.index("Recent retiers"):]
    assert 'data-testid="run-as-of">' in runs  # the moment its windows ended, beside when it started
    first_run = runs[:runs.index("</tr>", runs.index("run-as-of"))]
    assert first_run.index('title="value"') < first_run.index('title="high_risk"') < first_run.index(
        'title="opinion_risk"')  # in the rule set's order, as the other pages list dimensions, not by code
    counts = counts_in(page)
    assert counts["value.private_banking"] == 2 and counts["value.wealth_centre"] == 0
    assert counts["value.unclassified"] == counts["high_risk.unclassified"] == counts["opinion_risk.unclassified"] == 0


def test_the_preview_page_the_cli_and_the_api_count_customers_the_margin_keeps_as_held(app, bank, runner,
                                                                                      issue_token):
    """VIP counter raised from 200k to 300k under the template's 5% margin (285k to stay): V1 (290k) stays in it,
    held, as the retier will store it; V2 (250k) leaves."""
    with in_tenant(app, bank):
        import_records([{"external_id": "V1", "name": "赵先生", "aum_avg_3m": "290000"},
                        {"external_id": "V2", "name": "钱女士", "aum_avg_3m": "250000"}], kind="customers")
        db.session.commit()
    retier_again(app, bank)
    admin = signed_in(app, bank)
    form = editor(admin, bank)
    form[VIP_COUNTER_RULE] = form[VIP_COUNTER_RULE].replace("aum_avg_3m >= 200000", "aum_avg_3m >= 300000")
    assert post_editor(admin, bank, form, action="preview").status_code == 302
    page = admin.get(f"/t/{bank.slug}/rules/draft/preview").text
    counts = page.split('id="preview-value"')[1].split("</p>")[0]
    assert "Held by hysteresis: 1</span>" in counts and "Down: 1</span>" in counts

    shown = runner.invoke(cli, ["rules", "preview", "--tenant", bank.slug])
    assert shown.exit_code == 0, shown.output
    assert "value: 0 up, 1 down, 0 new, 4 unchanged, 1 held by hysteresis" in shown.output

    answer = app.test_client().post("/api/v1/rule-set/preview",
                                    headers={"Authorization": f"Bearer {issue_token(bank)}"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert next(d for d in answer.json["dimensions"] if d["dimension"] == "value")["held"] == 1


def test_a_rule_naming_an_unknown_field_is_shown_at_its_input_with_a_close_match_and_nothing_is_saved(app, bank):
    admin = signed_in(app, bank)
    form = editor(admin, bank)
    form[WEALTH_CENTRE_RULE] = "aum_avg_3 >= 1000000"
    response = post_editor(admin, bank, form)
    assert response.status_code == 400
    block = input_block(response.text, WEALTH_CENTRE_RULE)
    assert 'aria-invalid="true"' in block
    assert "unknown field &#39;aum_avg_3&#39; (did you mean &#39;aum_avg_3m&#39;" in block
    assert '<pre class="pointer">aum_avg_3 &gt;= 1000000\n^</pre>' in block
    assert 'aria-invalid' not in input_block(response.text, PRIVATE_BANKING_RULE)
    assert EditorForm(response.text).values[WEALTH_CENTRE_RULE] == "aum_avg_3 >= 1000000"  # what was typed stays
    assert draft_definition(app, bank) is None
    summary = response.text.split('class="flash error" role="alert">')[1].split("</div>")[0]
    assert "Wealth tier › Wealth centre › Rule</a>" in summary  # named as the admin sees it, not by its path
    chinese = admin.client.post(f"/t/{bank.slug}/rules/draft", data={**form, "action": "save"},
                                headers={"Accept-Language": "zh-CN"}).text
    assert "财富等级 › 财富中心 › 规则</a>：" in chinese


def test_every_bad_rule_is_shown_at_its_input_and_listed_in_the_summary(app, bank):
    admin = signed_in(app, bank)
    form = editor(admin, bank)
    form[PRIVATE_BANKING_RULE] = "aum_avg_3m >= "
    form[WEALTH_CENTRE_RULE] = "aum_avg_3 >= 1000000"
    response = post_editor(admin, bank, form)
    assert response.status_code == 400
    assert "unknown field &#39;aum_avg_3&#39;" in input_block(response.text, WEALTH_CENTRE_RULE)
    assert 'aria-invalid="true"' in input_block(response.text, PRIVATE_BANKING_RULE)
    summary = response.text.split('class="flash error" role="alert">')[1].split("</div>")[0]
    assert "Problems found: 2." in summary and summary.count("<li>") == 2
    assert "Wealth tier › Private banking › Rule</a>" in summary and "Wealth tier › Wealth centre › Rule</a>" in summary
    assert draft_definition(app, bank) is None


def test_a_bad_hysteresis_setting_does_not_hide_the_bad_rules(app, bank):
    admin = signed_in(app, bank)
    form = editor(admin, bank)
    form[PRIVATE_BANKING_RULE] = "aum_avg_3m >= "
    form[WEALTH_CENTRE_RULE] = "aum_avg_3 >= 1000000"
    form["d0.margin"] = "abc"
    response = post_editor(admin, bank, form)
    assert response.status_code == 400
    summary = response.text.split('class="flash error" role="alert">')[1].split("</div>")[0]
    assert "Problems found: 3." in summary and "Wealth tier › Hysteresis › Margin</a>" in summary
    assert "unknown field &#39;aum_avg_3&#39;" in input_block(response.text, WEALTH_CENTRE_RULE)
    assert draft_definition(app, bank) is None


@pytest.mark.parametrize("name, value, message", [
    ("d0.t1.colour", "#12345", "a colour is written #rrggbb"),
    ("d0.evaluations", "two", "must be a whole number from 1 to 12"),
    ("d0.t1.code", "Wealth", "a code must start with a lowercase letter"),
    ("value_measure", "sum(amount, 365)", "expected a window"),
])
def test_a_structural_error_is_shown_at_the_input_it_names(app, bank, name, value, message):
    admin = signed_in(app, bank)
    form = editor(admin, bank)
    form[name] = value
    response = post_editor(admin, bank, form)
    assert response.status_code == 400
    assert message in input_block(response.text, name)
    assert draft_definition(app, bank) is None


@pytest.mark.parametrize("name, value, place", [("d0.evaluations", "two", "Hysteresis › Evaluations in a row"),
                                                ("d0.margin", "0.9", "Hysteresis › Margin"),
                                                ("d0.t1.code", "Wealth Centre!", "Wealth centre › Code")])
def test_the_error_summary_tells_the_two_hysteresis_settings_apart(app, bank, name, value, place):
    admin = signed_in(app, bank)
    form = editor(admin, bank)
    form[name] = value
    summary = post_editor(admin, bank, form).text.split('class="flash error" role="alert">')[1].split("</div>")[0]
    assert f"Wealth tier › {place}</a>" in summary


def test_the_check_endpoint_points_at_the_problem_in_the_rule(app, bank):
    admin = signed_in(app, bank)
    csrf = csrf_token_from(admin.get(f"/t/{bank.slug}/rules/draft").text)
    with in_tenant(app, bank):
        definition = versions.current_version().definition
    rule = "aum_avg_3m >= 100 and cards_spend_12m > 1"
    definition["dimensions"][0]["tiers"][1]["rule"] = rule
    url = f"/t/{bank.slug}/rules/draft/check"
    result = admin.client.post(url, json=definition, headers={"X-CSRFToken": csrf})
    assert result.status_code == 200
    assert result.json["ok"] is False
    assert result.json["field"] == "value.wealth_centre.rule" and result.json["input"] == WEALTH_CENTRE_RULE
    assert result.json["position"] == rule.index("cards_spend_12m")
    assert "did you mean 'card_spend_12m'" in result.json["message"]
    definition["dimensions"][0]["tiers"][1]["rule"] = "card_spend_12m > 1"
    assert admin.client.post(url, json=definition, headers={"X-CSRFToken": csrf}).json == {"ok": True}
    assert admin.client.post(url, json=definition).status_code == 400  # no CSRF token
    definition["dimensions"][0]["tiers"][1]["code"] = ["wealth_centre"]  # not a code at all: said, not a 500
    checked = admin.client.post(url, json=definition, headers={"X-CSRFToken": csrf})
    assert checked.status_code == 200 and checked.json["ok"] is False and "code" in checked.json["field"]
    assert draft_definition(app, bank) is None


def test_tiers_and_dimensions_are_added_and_removed_in_the_form_and_saved_only_on_save(app, bank):
    admin = signed_in(app, bank)
    form = editor(admin, bank)
    with_tier = post_editor(admin, bank, form, action="add_tier:2")  # opinion risk: high, watch, none
    assert with_tier.status_code == 200 and "Not saved yet" in with_tier.text
    values = EditorForm(with_tier.text).values
    assert values["d2.t2.code"] == "tier_1" and values["d2.t3.code"] == "none"  # before the fallback
    assert draft_definition(app, bank) is None

    refused = post_editor(admin, bank, values, action="remove_dimension:0")
    assert refused.status_code == 400 and "built-in dimensions" in refused.text

    values = EditorForm(post_editor(admin, bank, values, action="add_dimension").text).values
    values.update({"d3.code": "lifecycle", "d3.label_en": "Attention", "d3.label_zh": "关注",
                   "d3.t0.rule": 'tier("value") == "private_banking"', "d2.t2.rule": "count(complaints, 30d) >= 5"})
    values = EditorForm(post_editor(admin, bank, values, action="move_tier_up:2.2").text).values
    assert values["d2.t1.code"] == "tier_1" and values["d2.t2.code"] == "watch"
    assert post_editor(admin, bank, values).status_code == 302
    saved = draft_definition(app, bank)
    assert [d["code"] for d in saved["dimensions"]] == ["value", "high_risk", "opinion_risk", "lifecycle"]
    assert [t["code"] for t in saved["dimensions"][2]["tiers"]] == ["high", "tier_1", "watch", "none"]

    values = EditorForm(post_editor(admin, bank, values, action="remove_dimension:3").text).values
    assert "d3.code" not in values


def test_the_draft_goes_out_and_comes_back_as_yaml_with_the_same_validation(app, bank):
    admin = signed_in(app, bank)
    exported = admin.get(f"/t/{bank.slug}/rules/draft/yaml")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    definition = yaml_io.load(exported.text)
    assert definition["dimensions"][0]["tiers"][0]["label_zh"] == "私人银行"

    definition["dimensions"][0]["tiers"][0]["rule"] = "aum_avg_3m >= 5000000 and nope > 1"
    upload = f"/t/{bank.slug}/rules/draft/upload"
    refused = admin.submit(f"/t/{bank.slug}/rules/draft", {"file": (io.BytesIO(yaml_io.dump(definition).encode()),
                                                                    "rules.yaml")}, action=upload)
    assert refused.status_code == 400 and "value.private_banking.rule: unknown field &#39;nope&#39;" in refused.text
    assert draft_definition(app, bank) is None

    definition["dimensions"][0]["tiers"][0]["rule"] = "aum_avg_3m >= 5000000"
    accepted = admin.submit(f"/t/{bank.slug}/rules/draft", {"file": (io.BytesIO(yaml_io.dump(definition).encode()),
                                                                     "rules.yaml")}, action=upload)
    assert accepted.status_code == 302
    assert draft_definition(app, bank)["dimensions"][0]["tiers"][0]["rule"] == "aum_avg_3m >= 5000000"
    assert "aum_avg_3m >= 5000000" in admin.get(f"/t/{bank.slug}/rules/draft/yaml").text

    discarded = admin.submit(f"/t/{bank.slug}/rules/draft", {}, action=f"/t/{bank.slug}/rules/draft/discard")
    assert discarded.status_code == 302 and draft_definition(app, bank) is None


@pytest.mark.parametrize("who", ["rm1", "analyst"])
def test_rms_and_analysts_cannot_edit_publish_roll_back_or_retier(app, bank, who):
    person = signed_in(app, bank, who)
    with in_tenant(app, bank):
        version_id = versions.current_version().id
    csrf = csrf_token_from(person.get(f"/t/{bank.slug}/rules/").text)
    assert person.get(f"/t/{bank.slug}/rules/").status_code == 200  # everyone sees the tiers
    assert person.get(f"/t/{bank.slug}/rules/draft").status_code == 403
    assert person.get(f"/t/{bank.slug}/rules/draft/preview").status_code == 403
    assert person.get(f"/t/{bank.slug}/rules/draft/yaml").status_code == 403
    for path in ("/rules/draft", "/rules/draft/publish", "/rules/draft/discard", "/rules/draft/upload",
                 "/rules/retier", f"/rules/versions/{version_id}/roll-back"):
        assert person.client.post(f"/t/{bank.slug}{path}", data={"csrf_token": csrf}).status_code == 403, path
    assert person.client.post(f"/t/{bank.slug}/rules/draft/check", json={},
                              headers={"X-CSRFToken": csrf}).status_code == 403
    page = person.get(f"/t/{bank.slug}/rules/").text
    assert "Retier now" not in page and "Edit rules" not in page
    with in_tenant(app, bank):
        assert versions.current_version().number == 1 and versions.draft() is None


def test_analysts_read_the_version_history_and_rms_do_not(app, bank):
    analyst = signed_in(app, bank, "analyst")
    with in_tenant(app, bank):
        version_id = versions.current_version().id
    listing = analyst.get(f"/t/{bank.slug}/rules/versions/")
    assert listing.status_code == 200 and "industry template" in listing.text
    page = analyst.get(f"/t/{bank.slug}/rules/versions/{version_id}")
    assert page.status_code == 200 and "aum_avg_3m &gt;= 6000000" in page.text
    assert "Roll back to this version" not in page.text
    rm = signed_in(app, bank, "rm1")
    assert rm.get(f"/t/{bank.slug}/rules/versions/").status_code == 403
    assert rm.get(f"/t/{bank.slug}/rules/versions/{version_id}").status_code == 403


def test_admin_rolls_back_from_the_version_page_and_sees_what_changed(app, bank):
    with in_tenant(app, bank):
        first = versions.current_version()
        first_id, original = first.id, first.definition
        changed = yaml_io.load(yaml_io.dump(original))
        changed["dimensions"][0]["tiers"][0]["rule"] = "aum_avg_3m >= 8000000"
        versions.publish(changed, author="test", note="stricter private banking")
        db.session.commit()
    admin = signed_in(app, bank)
    second = admin.get(f"/t/{bank.slug}/rules/versions/").text
    second_id = re.search(r'/rules/versions/([0-9a-f-]{36})">Version 2<', second).group(1)
    diff = admin.get(f"/t/{bank.slug}/rules/versions/{second_id}").text
    assert "Wealth tier › Private banking: rule changed" in diff  # the tenant's names, not the codes
    chinese = admin.get(f"/t/{bank.slug}/rules/versions/{second_id}", headers={"Accept-Language": "zh-CN"}).text
    assert "财富等级 › 私人银行" in chinese
    assert "aum_avg_3m &gt;= 6000000" in diff and "aum_avg_3m &gt;= 8000000" in diff

    page = admin.get(f"/t/{bank.slug}/rules/versions/{first_id}")
    assert "Roll back to this version" in page.text
    response = admin.client.post(f"/t/{bank.slug}/rules/versions/{first_id}/roll-back",
                                 data={"csrf_token": csrf_token_from(page.text)})
    assert response.status_code == 302
    restored = admin.get(response.location)
    assert "Version 3 is published with the rules of version 1" in restored.text
    with in_tenant(app, bank):
        current = versions.current_version()
        assert current.number == 3 and current.restored_from == 1 and current.definition == original
    history = admin.get(f"/t/{bank.slug}/rules/versions/", headers={"Accept-Language": "zh-CN"}).text
    assert "回滚到版本 1" in history and "roll back to version" not in history  # the note Tierwise wrote, translated


def test_the_draft_has_no_version_page_and_publishing_it_unchanged_is_refused(app, bank):
    admin = signed_in(app, bank)
    assert post_editor(admin, bank, editor(admin, bank)).status_code == 302  # saved as it is in force
    with in_tenant(app, bank):
        draft_id = versions.draft().id
    assert admin.get(f"/t/{bank.slug}/rules/versions/{draft_id}").status_code == 404
    refused = admin.submit(f"/t/{bank.slug}/rules/draft", {}, action=f"/t/{bank.slug}/rules/draft/publish")
    assert refused.status_code == 302
    assert "identical to version 1" in admin.get(refused.location).text
    with in_tenant(app, bank):
        assert versions.current_version().number == 1


def test_another_tenants_version_is_not_found(app, bank, make_tenant):
    other = make_tenant("power_utility")
    with in_tenant(app, other):
        theirs = versions.current_version().id
    admin = signed_in(app, bank)
    csrf = csrf_token_from(admin.get(f"/t/{bank.slug}/rules/").text)
    assert admin.get(f"/t/{bank.slug}/rules/versions/{theirs}").status_code == 404
    assert admin.client.post(f"/t/{bank.slug}/rules/versions/{theirs}/roll-back",
                             data={"csrf_token": csrf}).status_code == 404
    with in_tenant(app, other):
        assert versions.current_version().number == 1


def test_the_customer_page_shows_each_tier_with_its_rule_and_the_values_it_looked_at(app, bank):
    retier_again(app, bank)
    admin = signed_in(app, bank)
    page = admin.get(f"/t/{bank.slug}/customers/{bank.customers['P1']}")
    assert page.status_code == 200
    value = page.text[page.text.index('data-dimension="value"'):page.text.index('data-dimension="high_risk"')]
    assert "Private banking" in value and "Its rule matched" in value
    assert "<span class=\"rule-words\" title=\"aum_avg_3m &gt;= 6000000\">3-month avg daily balance (RMB) ≥ 6,000,000</span>" in value
    assert '<span title="aum_avg_3m">3-month avg daily balance (RMB)</span> = 7,000,000' in value  # the field's label
    assert "Tier history" in page.text
    chinese = admin.get(f"/t/{bank.slug}/customers/{bank.customers['M1']}", headers={"Accept-Language": "zh-CN"})
    assert "大众客户" in chinese.text


def test_customers_imported_after_the_last_retier_show_as_unclassified_until_the_next(app, bank):
    retier_again(app, bank)
    with in_tenant(app, bank):
        import_records([{"external_id": "N1", "name": "新客户", "aum_avg_3m": "10"}], kind="customers")
        db.session.commit()
    admin = signed_in(app, bank)
    assert distribution(admin, bank)["value.unclassified"] == 1
    page = admin.get(f"/t/{bank.slug}/rules/").text
    assert "1 customers have no tier in this dimension" in page and "imported since the last retier" in page
    assert "added after the last retier" not in page  # the dimension itself is not new
    admin.submit(f"/t/{bank.slug}/rules/", {}, action=f"/t/{bank.slug}/rules/retier")
    assert distribution(admin, bank)["value.unclassified"] == 0
    assert distribution(admin, bank)["value.mass"] == 2


def test_a_dimension_published_after_the_last_retier_is_said_to_be_new_not_imported(app, bank):
    retier_again(app, bank)
    with in_tenant(app, bank):
        grown = yaml_io.load(yaml_io.dump(versions.current_version().definition))
        grown["dimensions"].append({"code": "lifecycle", "label_en": "Lifecycle", "label_zh": "生命周期", "tiers": [
            {"code": "new", "label_en": "New", "label_zh": "新客户", "rule": "days_since_last(activity) <= 30"},
            {"code": "existing", "label_en": "Existing", "label_zh": "存量", "fallback": True}]})
        versions.publish(grown, author="test")
        db.session.commit()
    page = signed_in(app, bank).get(f"/t/{bank.slug}/rules/").text
    lifecycle = page.split('id="dimension-lifecycle"')[1].split("</section>")[0]
    assert "added after the last retier" in lifecycle and "imported since" not in lifecycle


def test_the_customer_page_says_when_hysteresis_holds_a_customer_in_its_tier(app, bank):
    with in_tenant(app, bank):
        steady = yaml_io.load(yaml_io.dump(versions.current_version().definition))
        steady["dimensions"][0]["hysteresis"] = {"evaluations": 2}
        versions.publish(steady, author="test")
        db.session.commit()
    retier_again(app, bank)
    with in_tenant(app, bank):
        import_records([{"external_id": "P1", "name": "王总", "aum_avg_3m": "1200000"}], kind="customers")
        db.session.commit()
    retier_again(app, bank)
    page = signed_in(app, bank).get(f"/t/{bank.slug}/customers/{bank.customers['P1']}").text
    value = page[page.index('data-dimension="value"'):page.index('data-dimension="high_risk"')]
    assert "Private banking" in value and "Held by hysteresis" in value
    assert "Moving to Wealth centre: 1 of 2 evaluations in a row so far." in value


def test_an_rm_sees_the_tiers_of_their_book_and_admins_the_whole_tenant_with_its_retiers(app, bank):
    retier_again(app, bank)
    with in_tenant(app, bank):
        db.session.get(Customer, (bank.tenant_id, bank.customers["P1"])).rm_user_id = bank.users["rm1"].id
        db.session.commit()
    rm, admin = signed_in(app, bank, "rm1"), signed_in(app, bank)
    assert sum(n for tier, n in distribution(rm, bank).items() if tier.startswith("value.")) == 1
    assert sum(n for tier, n in distribution(admin, bank).items() if tier.startswith("value.")) == 3
    rm_page, admin_page = rm.get(f"/t/{bank.slug}/rules/").text, admin.get(f"/t/{bank.slug}/rules/").text
    assert 'data-testid="book-scope"' in rm_page and "Recent retiers" not in rm_page
    assert 'data-testid="book-scope"' not in admin_page and "Recent retiers" in admin_page


def test_the_editors_example_rule_uses_one_of_the_tenants_own_fields(app, make_tenant, browser):
    from tierwise.tenants.field_templates import POWER_UTILITY

    world = make_tenant("power_utility")
    browser.login(world)
    page = browser.get(f"/t/{world.slug}/rules/draft", headers={"Accept-Language": "en"}).text
    example = page.split("A rule is a condition, e.g. ")[1].split(". Compare")[0]
    assert "aum_avg_3m" not in example  # a bank's field: a utility has none
    assert example.split(" ")[0] in {f.name for f in POWER_UTILITY if f.field_type in ("number", "integer")}
