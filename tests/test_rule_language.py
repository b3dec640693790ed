"""The rule language rejects what it cannot use, at the right position, before anything is saved."""
from __future__ import annotations

import pytest

from tierwise.errors import ValidationError
from tierwise.tenants.rules.definition import RuleSetDefinition, compile_definition
from tierwise.tenants.rules.syntax import RuleError, parse, unparse
from tierwise.tenants.rules.templates import TEMPLATES

FIELDS = {"facility_type": "category", "outage_consequence": "integer", "aum_avg_3m": "number",
          "illegal_use": "boolean", "opened_on": "date", "sales_rep": "text"}
CATEGORIES = {"facility_type": ("hospital", "mine", "school", "other")}


def definition(rule: str, *, value_measure: str = "sum(amount, 365d)") -> dict:
    return {"value_measure": value_measure, "dimensions": [
        {"code": "value", "tiers": [{"code": "vip", "rule": rule}, {"code": "mass", "fallback": True}]},
        {"code": "high_risk", "tiers": [{"code": "high", "rule": "outage_consequence >= 4"},
                                        {"code": "normal", "fallback": True}]},
        {"code": "opinion_risk", "tiers": [{"code": "alert", "rule": "count(complaints, 90d) >= 2"},
                                           {"code": "calm", "fallback": True}]}]}


def compile_rule(rule: str):
    return compile_definition(RuleSetDefinition.from_dict(definition(rule)), FIELDS, CATEGORIES)


def rejected(rule: str) -> RuleError:
    with pytest.raises(RuleError) as caught:
        compile_rule(rule)
    assert caught.value.field == "value.vip.rule"
    return caught.value


@pytest.mark.parametrize("rule", [
    'facility_type in ["hospital", "mine"] and outage_consequence >= 4',
    "aum_avg_3m between 1000000 and 6000000 and not illegal_use",
    'count(complaints, 90d, channel in ["social_media", "news_media", "regulator_hotline"]) >= 2',
    "count(complaints, 365d, resolved_at is null and severity >= 4) >= 1",
    "sum(amount, 90d) / sum(amount, 1y) > 0.4",
    "trend(amount, 90d) <= -0.3 or days_since_last(activity) > 60",
    "percentile(sum(amount, 12m)) >= 0.9",
    "top_share(sum(amount, 365d, category == \"bill\"), 0.8)",
    "churn_probability >= 0.6 or predicted_value is not null",
    "days_since(opened_on) < 90 and party_type == \"organisation\"",
    "coalesce(aum_avg_3m, 0) - abs(-5) > 10 and sales_rep != \"代表A\"",
    'tier("high_risk") == "high"',
])
def test_the_documented_constructs_compile(rule):
    plan = compile_rule(rule)
    assert plan.dimensions[-1].spec.code in {"value", "high_risk", "opinion_risk"}


@pytest.mark.parametrize("rule, column, message", [
    ("aum_avg_3m = 5", 12, "use '=='"),
    ("aum_avg_3m >= ", 14, "ends too early"),  # rules are stored stripped
    ("sum(amount, 90x) > 1", 13, "not a duration"),
    ('facility_type == "hospital', 18, "no closing quote"),
    ("aum_avg_3m > 1 and and illegal_use", 20, "unexpected 'and'"),
    ("aum_avg_3m > 1 illegal_use", 16, "missing 'and' / 'or'"),
    ("(aum_avg_3m > 1", 16, "expected ')'"),
])
def test_syntax_errors_point_at_the_position(rule, column, message):
    error = rejected(rule)
    assert error.position + 1 == column and message in error.message
    assert error.pointer().splitlines()[1] == " " * (column - 1) + "^"


@pytest.mark.parametrize("rule, column, message", [
    ('facility_typ == "hospital"', 1, "unknown field 'facility_typ' (did you mean 'facility_type'"),
    ('facility_type == "hospitl"', 18, "'hospitl' is not a value of facility_type (did you mean 'hospital'?)"),
    ('aum_avg_3m > "lots"', 12, "cannot compare aum_avg_3m with \"lots\""),
    ("aum_avg_3m", 1, "must be true or false"),
    ("illegal_use + 1 > 0", 1, "needs a number"),
    ("sum(amont, 90d) > 1", 5, "did you mean 'amount'"),
    ("count(complaint, 90d) > 1", 7, "did you mean 'complaints'"),
    ('count(complaints, 90d, chanel == "web") > 0', 24, "no column 'chanel' (did you mean 'channel'"),
    ('count(complaints, 90d, channel == "wechat") > 0', 35, "'wechat' is not a value of channel"),
    ("sum(amount) > 0", 1, "takes a measure, a window"),
    ("summ(amount, 90d) > 0", 1, "unknown function 'summ' (did you mean 'sum'"),
    ("percentile(percentile(aum_avg_3m)) > 0.5", 12, "cannot rank another ranking"),
    ("top_share(aum_avg_3m, 80) ", 23, "at most 1"),
    ('tier("valeu") == "vip"', 6, "unknown dimension 'valeu' (did you mean 'value'"),
    ('tier("high_risk") == "hgih"', 22, "'hgih' is not a value of tier(\"high_risk\") (did you mean 'high'"),
    ("aum_avg_3m == null", 15, "use 'is null'"),
    ("activity > 3", 1, "count it"),
    ("days_since(aum_avg_3m) > 3", 12, "needs a date field"),
])
def test_meaning_errors_name_the_problem_and_close_matches(rule, column, message):
    error = rejected(rule)
    assert message in error.message and error.position + 1 == column, (error.message, error.position)


def test_a_dimension_cannot_use_its_own_tier_and_cycles_are_refused():
    own = definition('tier("value") == "vip"')
    with pytest.raises(ValidationError, match="its own tier"):
        compile_definition(RuleSetDefinition.from_dict(own), FIELDS, CATEGORIES)
    cycle = definition('tier("high_risk") == "high"')
    cycle["dimensions"][1]["tiers"][0]["rule"] = 'tier("value") == "vip"'
    with pytest.raises(ValidationError, match="cycle: value -> high_risk -> value|cycle: high_risk -> value"):
        compile_definition(RuleSetDefinition.from_dict(cycle), FIELDS, CATEGORIES)


@pytest.mark.parametrize("change, field, message", [
    (lambda d: d["dimensions"].pop(2), "dimensions", "missing: opinion_risk"),
    (lambda d: d["dimensions"][0]["tiers"].pop(0), "value.tiers", "at least one tier with a rule"),
    (lambda d: d["dimensions"][0]["tiers"][-1].update(rule="aum_avg_3m > 0"), "value.mass.rule", "fallback"),
    (lambda d: d["dimensions"][0]["tiers"][0].pop("rule"), "value.vip.rule", "needs a rule"),
    (lambda d: d["dimensions"][0]["tiers"][0].update(colour="red"), "value.vip.colour", "#rrggbb"),
    (lambda d: d["dimensions"][0].update(hysteresis={"evaluations": 0}), "value.hysteresis.evaluations", "1 to"),
    (lambda d: d["dimensions"][0].update(hysteresis={"margin": 0.9}), "value.hysteresis.margin", "fraction"),
    (lambda d: d["dimensions"][0].update(tierz=[]), "dimensions[0].tierz", "did you mean 'tiers'"),
    (lambda d: d["dimensions"][1].update(code="value"), "value", "defined twice"),
    (lambda d: d["dimensions"][0]["tiers"][1].update(code="vip"), "value.vip", "appears twice"),
    (lambda d: d["dimensions"][0].update(code="Value!"), "dimensions[0].code", "lowercase"),
])
def test_structural_errors_name_the_path(change, field, message):
    data = definition("aum_avg_3m > 0")
    change(data)
    with pytest.raises(ValidationError) as caught:
        compile_definition(RuleSetDefinition.from_dict(data), FIELDS, CATEGORIES)
    assert caught.value.field == field and message in caught.value.message


@pytest.mark.parametrize("change, said", [
    (lambda d: d["dimensions"][0].update(tierz=[]), "unknown key 'tierz' in dimensions[0] (did you mean 'tiers'?)"),
    (lambda d: d["dimensions"][0]["tiers"][1].update(code="vip"), "tier 'vip' appears twice in dimension 'value'"),
])
def test_an_error_about_a_key_or_code_says_once_where_it_is(change, said):
    """Such a message names the key or tier itself, so no "field 'value.vip':" is said before it; it says
    where that key or tier is, which the path around it would otherwise have told."""
    data = definition("aum_avg_3m > 0")
    change(data)
    with pytest.raises(ValidationError) as caught:
        RuleSetDefinition.from_dict(data)
    assert str(caught.value).startswith(said), str(caught.value)


def test_hysteresis_margin_relaxes_bounds_towards_staying_and_never_the_filter():
    data = definition('aum_avg_3m >= 1000 and not (outage_consequence > 2) and count(complaints, 90d, severity >= 4) < 3')
    data["dimensions"][0]["hysteresis"] = {"margin": 0.1}
    rule = compile_definition(RuleSetDefinition.from_dict(data), FIELDS, CATEGORIES).dimensions[0].rules[0]
    strict = str(rule.strict.compile(compile_kwargs={"literal_binds": True}))
    relaxed = str(rule.relaxed.compile(compile_kwargs={"literal_binds": True}))
    assert ">= 1000" in strict and ">= 900" in relaxed
    assert "<= 2.0" in strict and "<= 2.2" in relaxed  # under 'not': staying means the bound moves up
    assert "< 3" in strict and "< 3.3" in relaxed
    assert "a_2 < 3.0" in strict and "a_2 < 3.3" in relaxed  # the aggregate (and its filter) is shared


@pytest.mark.parametrize("industry", sorted(TEMPLATES))
def test_every_industry_template_compiles_against_its_field_template(industry):
    from tierwise.tenants.field_templates import TEMPLATES as FIELD_TEMPLATES

    fields = {f.name: f.field_type for f in FIELD_TEMPLATES[industry]}
    categories = {f.name: tuple(f.categories) for f in FIELD_TEMPLATES[industry] if f.categories}
    plan = compile_definition(RuleSetDefinition.from_dict(TEMPLATES[industry]), fields, categories)
    assert {"value", "high_risk", "opinion_risk"} <= {d.spec.code for d in plan.dimensions}


def test_unparse_gives_back_an_equivalent_rule():
    for text in ['a >= 1 and not (b in ["x", "y"]) or c is not null', "sum(amount, 90d, category == \"bill\") > -3"]:
        assert unparse(parse(unparse(parse(text)))) == unparse(parse(text))


def test_trend_compares_with_the_window_before_or_a_stated_lag():
    plan = compile_rule('trend(amount, 90d) > 0 and trend(amount, 90d, 1y, category == "bill") > 0')
    windows = {(a.window.text(), a.offset.text() if a.offset else None)
               for a in plan.compiler.aggregates.values() if a.measure == "amount"}
    assert windows == {("90d", None), ("90d", "90d"), ("90d", "1y"), ("365d", None)}  # and the value measure
    value = next(d for d in plan.dimensions if d.spec.code == "value")
    assert [a.label for a in value.rules[0].atoms] == ["trend(amount, 90d)", 'trend(amount, 90d, 1y, category == "bill")']


def test_a_deeply_nested_rule_is_refused_with_a_message_not_a_crash():
    for rule in ("(" * 150 + "outage_consequence >= 1" + ")" * 150,
                 "aum_avg_3m" + " + 1" * 490 + " >= 1"):
        assert "nested too deeply" in rejected(rule).message


def test_a_date_in_a_filter_must_be_a_date():
    assert "is not a date" in rejected('count(complaints, 90d, resolved_at >= "June") > 0').message
    compile_rule('count(complaints, 365d, resolved_at >= "2024-06-01") >= 1')
