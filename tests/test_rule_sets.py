"""Rule set lifecycle: templates, drafts, preview, publish, roll back, YAML in and out, ranking."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.rule_helpers import AS_OF, in_tenant, publish_and_retier, retier_again, tiers
from tierwise.errors import ConflictError
from tierwise.platform.audit import AuditEvent
from tierwise.platform.cli import cli
from tierwise.platform.db import db
from tierwise.tenants.imports.runner import import_records
from tierwise.tenants.rules import versions, yaml_io
from tierwise.tenants.rules.definition import RuleSetDefinition
from tierwise.tenants.rules.preview import preview
from tierwise.tenants.rules.syntax import RuleError
from tierwise.tenants.rules.templates import template_for


def abc(share_a: float, share_b: float = 0.99) -> dict:
    return {"dimensions": [
        {"code": "value", "tiers": [{"code": "a", "rule": f"top_share(sum(amount, 365d), {share_a})"},
                                    {"code": "b", "rule": f"top_share(sum(amount, 365d), {share_b})"},
                                    {"code": "c", "fallback": True}]},
        {"code": "high_risk", "tiers": [{"code": "high", "rule": "dso_days >= 120"},
                                        {"code": "normal", "fallback": True}]},
        {"code": "opinion_risk", "tiers": [{"code": "high", "rule": "quality_incidents >= 2"},
                                           {"code": "none", "fallback": True}]}]}


@pytest.fixture
def distributor(app, make_tenant):
    """Five pharmacy accounts whose year adds up to 100: 50, 30, 10, 10 (a tie) and 0."""
    world = make_tenant("pharma_distributor")
    with in_tenant(app, world):
        import_records([{"external_id": f"P{i}", "name": f"药店{i}", "dso_days": str(dso)}
                        for i, dso in enumerate([30, 150, 60, 90, 200], start=1)], kind="customers")
        import_records([{"customer": f"P{i}", "occurred_at": "2024-06-01", "amount": str(amount)}
                        for i, amount in enumerate([50, 30, 10, 10], start=1)], kind="activity")
        db.session.commit()
    return world


def value_tiers(app, world) -> dict[str, str]:
    return {customer: tier for (customer, dimension), tier in tiers(app, world).items() if dimension == "value"}


@pytest.mark.parametrize("share, expected_a", [
    (0.5, {"P1"}),                    # 50 alone reaches half
    (0.8, {"P1", "P2"}),              # exactly 80: no one more
    (0.85, {"P1", "P2", "P3"}),       # the tie at 10 is broken by external id: P3 before P4
    (1.0, {"P1", "P2", "P3", "P4"}),  # all of the value, but not the account with none
])
def test_top_share_picks_exactly_the_customers_making_the_share(app, distributor, share, expected_a):
    publish_and_retier(app, distributor, abc(share))
    assigned = value_tiers(app, distributor)
    assert {c for c, tier in assigned.items() if tier == "a"} == expected_a
    assert assigned["P5"] == "c"


def test_a_new_tenant_starts_with_its_industry_template_as_version_1(app, distributor):
    with in_tenant(app, distributor):
        current = versions.current_version()
        assert current.number == 1 and current.definition == RuleSetDefinition.from_dict(
            template_for("pharma_distributor")).to_dict()


def test_preview_shows_counts_matrix_value_share_and_movers_without_writing(app, distributor):
    publish_and_retier(app, distributor, abc(0.5))
    with in_tenant(app, distributor):
        _, plan = versions.validate(abc(0.8))
        result = preview(plan, as_of=AS_OF)
        db.session.rollback()
    value = next(d for d in result.dimensions if d.dimension == "value")
    counts = {t.tier: t.customers for t in value.tiers}
    assert counts == {"a": 2, "b": 2, "c": 1} and value.unclassified == 0
    assert value.matrix["b"]["a"] == 1 and value.matrix["a"]["a"] == 1  # P2 moves up from b to a
    assert [s.external_id for s in value.moving_up] == ["P2"] and value.moving_up[0].from_tier == "b"
    assert value.moving_up[0].reason["top_share(sum(amount, 365d), 0.8)"] in (True, 1)
    share = {t.tier: round(t.value_share, 2) for t in value.tiers}
    assert share == {"a": 0.8, "b": 0.2, "c": 0.0}
    assert value_tiers(app, distributor)["P2"] == "b"  # nothing was written


def test_published_versions_are_kept_and_rolling_back_publishes_the_old_rules_again(app, distributor):
    publish_and_retier(app, distributor, abc(0.5))
    publish_and_retier(app, distributor, abc(0.8))
    with in_tenant(app, distributor):
        restored = versions.roll_back(2, author="test")
        db.session.commit()
        assert restored.number == 4 and restored.restored_from == 2
        assert restored.definition == versions.version_by_number(2).definition
        assert [v.number for v in versions.published_versions()] == [4, 3, 2, 1]
        with pytest.raises(ConflictError, match="already in force"):
            versions.roll_back(4, author="test")
        with pytest.raises(ConflictError, match="identical to version 4"):
            versions.publish(abc(0.5), author="test")
        events = [e.details for e in db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "rules.published").order_by(AuditEvent.occurred_at))]
    diff = events[2]["diff"]
    assert {"change": "rule", "dimension": "value", "tier": "a", "before": "top_share(sum(amount, 365d), 0.5)",
            "after": "top_share(sum(amount, 365d), 0.8)"} in diff
    assert events[3]["restored_from"] == 2


def test_a_draft_is_saved_validated_and_published_as_the_next_version(app, distributor):
    with in_tenant(app, distributor):
        draft = versions.save_draft(abc(0.6), author="test")
        db.session.commit()
        assert draft.is_draft and versions.current_version().number == 1
        again = versions.save_draft(abc(0.7), author="test")
        assert again.id == draft.id  # one draft per tenant, edited in place
        published = versions.publish_draft(author="test")
        db.session.commit()
        assert published.number == 2 and versions.draft() is None


def test_an_invalid_rule_set_is_refused_and_nothing_is_stored(app, distributor):
    broken = abc(0.8)
    broken["dimensions"][1]["tiers"][0]["rule"] = "dso_dayz >= 120"
    with in_tenant(app, distributor):
        with pytest.raises(RuleError) as caught:
            versions.publish(broken, author="test")
        assert "did you mean 'dso_days'" in str(caught.value) and "high_risk.high.rule" in str(caught.value)
        db.session.rollback()
        assert versions.current_version().number == 1 and versions.draft() is None


def test_rules_check_names_every_bad_rule_with_its_caret(app, distributor, runner, tmp_path):
    exported = runner.invoke(cli, ["rules", "export", "--tenant", distributor.slug])
    data = yaml_io.load(exported.output)
    data["dimensions"][0]["tiers"][0]["rule"] = "top_shar(sum(amount, 365d), 0.7)"
    data["dimensions"][1]["tiers"][0]["rule"] = "dso_days >= "
    path = tmp_path / "rules.yaml"
    path.write_text(yaml_io.dump(data), encoding="utf-8")
    checked = runner.invoke(cli, ["rules", "check", "--tenant", distributor.slug, str(path)])
    assert checked.exit_code != 0
    assert "top_shar" in checked.output and "dso_days >=" in checked.output  # both, not one per attempt
    assert checked.output.count("^") == 2


def test_yaml_export_and_apply_round_trip_through_the_cli(app, distributor, runner, tmp_path):
    exported = runner.invoke(cli, ["rules", "export", "--tenant", distributor.slug])
    assert exported.exit_code == 0, exported.output
    data = yaml_io.load(exported.output)
    assert data == RuleSetDefinition.from_dict(template_for("pharma_distributor")).to_dict()
    assert "ABC分类" in exported.output  # labels stay readable
    data["dimensions"][0]["tiers"][0]["rule"] = "top_share(sum(amount, 365d), 0.7)"
    path = tmp_path / "rules.yaml"
    path.write_text(yaml_io.dump(data), encoding="utf-8")
    checked = runner.invoke(cli, ["rules", "check", "--tenant", distributor.slug, str(path)])
    assert checked.exit_code == 0 and "OK: 3 dimensions, 6 rules" in checked.output
    applied = runner.invoke(cli, ["rules", "apply", "--tenant", distributor.slug, str(path)])
    assert applied.exit_code == 0 and "Published version 2" in applied.output
    retiered = runner.invoke(cli, ["retier", "--tenant", distributor.slug])
    assert retiered.exit_code == 0 and "Retiered 5 customers" in retiered.output
    assert "on the data as of 2024-06-01 00:00 UTC+8" in retiered.output  # where its data ends, not today
    assert "value: 0 up, 0 down, 5 new" in retiered.output and "No new data since the previous retier" not in retiered.output
    repeated = runner.invoke(cli, ["retier", "--tenant", distributor.slug])  # nothing imported meanwhile
    assert "No new data since the previous retier: customers already held by hysteresis were not counted" in repeated.output
    listed = runner.invoke(cli, ["rules", "versions", "--tenant", distributor.slug])
    assert listed.output.split()[0] == "2" and listed.output.split()[3] == "UTC"  # "2  2026-12-07 03:10 UTC  cli"
    again = runner.invoke(cli, ["rules", "apply", "--tenant", distributor.slug, str(path)])  # a script re-applying
    assert again.exit_code == 0 and "Unchanged: the rule set is identical to version 2" in again.output
    assert runner.invoke(cli, ["rules", "versions", "--tenant", distributor.slug]).output.split()[0] == "2"


@pytest.mark.parametrize("encoding", ["utf-16", "gb18030", "utf-8-sig"])
def test_a_rules_file_saved_in_another_encoding_is_read_as_an_import_is(app, distributor, runner, tmp_path, encoding):
    """PowerShell writes ``tierwise rules export > rules.yaml`` as UTF-16; Chinese editors save GBK."""
    exported = runner.invoke(cli, ["rules", "export", "--tenant", distributor.slug]).output
    path = tmp_path / "rules.yaml"
    path.write_bytes(exported.encode(encoding))
    checked = runner.invoke(cli, ["rules", "check", "--tenant", distributor.slug, str(path)])
    assert checked.exit_code == 0 and "OK: 3 dimensions" in checked.output, checked.output
    assert yaml_io.read(path) == yaml_io.load(exported)  # ABC分类 and every label as written


def test_a_rules_file_in_no_text_encoding_is_refused_in_words_and_nothing_changes(app, distributor, runner, tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_bytes(b"\xff\xfe\x00\xd8")  # a UTF-16 mark, then half a character
    result = runner.invoke(cli, ["rules", "apply", "--tenant", distributor.slug, str(path)])
    assert result.exit_code == 2 and "Error: PATH: the file is neither UTF-8, UTF-16 nor GBK/GB18030 text" in result.output
    assert runner.invoke(cli, ["rules", "versions", "--tenant", distributor.slug]).output.split()[0] == "1"


def test_the_cli_shows_where_a_rule_is_wrong(app, distributor, runner, tmp_path):
    data = abc(0.8)
    data["dimensions"][0]["tiers"][1]["rule"] = "top_share(sum(amount, 365d) 0.9)"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml_io.dump(data), encoding="utf-8")
    result = runner.invoke(cli, ["rules", "apply", "--tenant", distributor.slug, str(path)])
    assert result.exit_code == 2  # what the file holds is refused, as a file that is not YAML is: naming PATH
    assert "Error: PATH: field 'value.b.rule', column 29: expected ',' or ')'" in result.output
    assert "top_share(sum(amount, 365d) 0.9)\n" + " " * 28 + "^" in result.output
    path.write_text("dimensions: [unclosed", encoding="utf-8")
    result = runner.invoke(cli, ["rules", "apply", "--tenant", distributor.slug, str(path)])
    assert result.exit_code == 2 and "Error: PATH: line 1" in result.output and "not valid YAML" in result.output


def test_cli_preview_of_the_draft(app, distributor, runner, tmp_path):
    publish_and_retier(app, distributor, abc(0.8))  # A: P1 and P2; the draft's A is P1 alone
    path = tmp_path / "draft.yaml"
    path.write_text(yaml_io.dump(abc(0.5)), encoding="utf-8")
    assert runner.invoke(cli, ["rules", "apply", "--draft", "--tenant", distributor.slug, str(path)]).exit_code == 0
    result = runner.invoke(cli, ["rules", "preview", "--tenant", distributor.slug])
    assert result.exit_code == 0, result.output
    assert "5 customers" in result.output and "0 unclassified" in result.output
    movers = [line for line in result.output.splitlines() if " -> " in line]
    assert movers and not any("{" in line for line in movers), result.output  # reasons in words, not a dict
    assert any("Total amount, last 365 days" in line for line in movers), result.output
    assert "value: 0 up, 1 down, 0 new, 4 unchanged" in result.output  # P2 leaves A, as the page counts it
    assert [line.split() for line in movers if "Total" not in line] == [["a", "->", "b", "1"]]  # the matrix


def test_preview_shows_where_the_next_retier_puts_customers_and_how_many_hysteresis_holds(app, distributor):
    publish_and_retier(app, distributor, abc(0.5))
    held = abc(0.8)
    held["dimensions"][0]["hysteresis"] = {"evaluations": 3}
    with in_tenant(app, distributor):
        _, plan = versions.validate(held)
        result = preview(plan, as_of=AS_OF)
        db.session.rollback()
    value = next(d for d in result.dimensions if d.dimension == "value")
    assert value.held == 1 and "a" not in value.matrix["b"]  # P2 qualifies for A; the next retier holds it in B
    assert all(sample.external_id != "P2" for sample in value.moving_up)  # so it is not shown moving yet


def test_the_cli_can_start_a_retier_in_the_background(app, distributor, runner):
    result = runner.invoke(cli, ["retier", "--tenant", distributor.slug, "--background"])
    assert result.exit_code == 0, result.output
    assert "finished (it ran in this process" in result.output  # without Redis the job runs at once, in-process


def test_the_rule_set_in_force_is_read_per_tenant_and_follows_every_publish(app, make_tenant):
    """Lists read a parsed rule set kept in the process: a publish must show at once, and never in another tenant."""
    first, second = make_tenant("pharma_distributor"), make_tenant("pharma_distributor")
    with in_tenant(app, first):
        versions.publish(abc(0.8), author="test")
        db.session.commit()
        assert [t.rule for t in versions.definition_in_force().dimensions[0].tiers][0] == \
            "top_share(sum(amount, 365d), 0.8)"
        versions.publish(abc(0.5), author="test")
        db.session.commit()
        assert [t.rule for t in versions.definition_in_force().dimensions[0].tiers][0] == \
            "top_share(sum(amount, 365d), 0.5)"
    with in_tenant(app, second):  # still the template its industry started with
        assert versions.definition_in_force() == versions.current_version().parsed()
        assert versions.definition_in_force() != RuleSetDefinition.from_dict(abc(0.5))


@pytest.mark.parametrize("industry", ["bank", "power_utility", "pharma_distributor", "other"])
def test_the_templates_chinese_is_punctuated_as_chinese_is_written(industry):
    """Full-width （）、，；： in every Chinese label and description, as the pages and the exported YAML show them."""
    import re

    def chinese(value, key=""):
        if isinstance(value, dict):
            for name, item in value.items():
                yield from chinese(item, name)
        elif isinstance(value, list):
            for item in value:
                yield from chinese(item, key)
        elif key.endswith("_zh") and value:
            yield value

    texts = list(chinese(template_for(industry)))
    assert texts and all(not re.search(r"[(),;:]", text) for text in texts), texts


@pytest.mark.parametrize("module", ["tierwise/tenants/rules/templates.py", "tierwise/tenants/field_templates.py",
                                    "tierwise/models/features.py"])
def test_the_chinese_a_tenant_starts_with_is_punctuated_full_width(module):
    """Field labels and descriptions, feature labels, templates: every Chinese text written in the code."""
    import ast
    import re
    from pathlib import Path

    tree = ast.parse((Path(__file__).resolve().parents[1] / module).read_text(encoding="utf-8"))
    chinese = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
               and re.search(r"[\u4e00-\u9fff]", node.value) and "\n" not in node.value]  # not a docstring
    assert chinese and [text for text in chinese if re.search(r"[(),;:]", text)] == []


def test_the_bank_template_watches_customers_going_quiet_not_those_already_gone(app, make_tenant):
    """Attrition risk is for customers who can still be kept: 60 to 89 quiet days is a warning; after 90 a
    customer has left by the churn model's own definition, and is not listed (the list filled with them)."""
    from datetime import timedelta

    bank = make_tenant("bank")
    quiet = {"B1": 10, "B2": 70, "B3": 200, "W1": 20, "W2": 120}  # days since the last deposit, at AS_OF
    wealthy = {"W1", "W2"}  # whose deposits stopped: money moving out, and then gone
    with in_tenant(app, bank):
        import_records([{"external_id": code, "name": code, "aum_avg_3m": "900000" if code in wealthy else "50000"}
                        for code in quiet], kind="customers")
        import_records([{"customer": code, "occurred_at": (AS_OF - timedelta(days=days + back)).date().isoformat(),
                         "amount": "5000" if back else "1000"}  # deposits falling by four fifths
                        for code, days in quiet.items() for back in (0, 100)], kind="activity")
        db.session.commit()
    retier_again(app, bank, AS_OF)  # the template, version 1
    attrition = {customer: tier for (customer, dimension), tier in tiers(app, bank).items()
                 if dimension == "high_risk"}
    assert attrition == {"B1": "normal", "B2": "watch", "B3": "normal", "W1": "high", "W2": "normal"}


def test_the_pharma_template_never_calls_an_account_with_nothing_overdue_a_high_credit_risk(app, make_tenant):
    world = make_tenant("pharma_distributor")
    with in_tenant(app, world):
        import_records([{"external_id": "P1", "name": "停业药店", "dso_days": "30", "overdue_receivables": "0",
                         "revenue_12m": "0"},
                        {"external_id": "P2", "name": "拖欠药房", "dso_days": "30", "overdue_receivables": "5000",
                         "revenue_12m": "20000"}], kind="customers")
        db.session.commit()
    retier_again(app, world)
    assigned = tiers(app, world)
    assert assigned[("P1", "high_risk")] == "normal" and assigned[("P2", "high_risk")] == "high"


def test_the_pharma_template_judges_days_sales_outstanding_against_each_accounts_payment_terms(app, make_tenant):
    """A tertiary hospital on 180-day terms paying in 170 days is on time; a pharmacy on 30-day terms at 130 is not."""
    world = make_tenant("pharma_distributor")
    accounts = {"H1": ("市第一人民医院", "170", "180"), "H2": ("县医院", "215", "180"),
                "P1": ("拖欠药房", "130", "30"), "P2": ("连锁药房", "95", "60"), "P3": ("无账期药房", "125", "")}
    with in_tenant(app, world):
        import_records([{"external_id": code, "name": name, "dso_days": dso, "payment_terms_days": terms,
                         "overdue_receivables": "0", "revenue_12m": "100000"}
                        for code, (name, dso, terms) in accounts.items()], kind="customers")
        db.session.commit()
    retier_again(app, world)
    credit = {code: tier for (code, dimension), tier in tiers(app, world).items() if dimension == "high_risk"}
    assert credit == {"H1": "normal", "H2": "watch", "P1": "high", "P2": "watch", "P3": "high"}  # P3: 120 days flat


def test_retier_lists_the_dimensions_in_the_rule_sets_order_as_the_preview_does(app, distributor, runner, tmp_path):
    """The run's counts are stored as JSON, whose keys PostgreSQL orders by length: the CLI said value, high_risk,
    opinion_risk whatever order the rule set gives them."""
    data = yaml_io.load(runner.invoke(cli, ["rules", "export", "--tenant", distributor.slug]).output)
    data["dimensions"] = [data["dimensions"][2], data["dimensions"][0], data["dimensions"][1]]
    order = [d["code"] for d in data["dimensions"]]
    assert order != sorted(order, key=len)
    path = tmp_path / "rules.yaml"
    path.write_text(yaml_io.dump(data), encoding="utf-8")
    assert runner.invoke(cli, ["rules", "apply", "--tenant", distributor.slug, str(path)]).exit_code == 0
    retiered = runner.invoke(cli, ["retier", "--tenant", distributor.slug])
    assert retiered.exit_code == 0, retiered.output
    said = [line.split(":")[0].strip() for line in retiered.output.splitlines() if line.startswith("  ") and " up," in line]
    assert said == order, retiered.output
