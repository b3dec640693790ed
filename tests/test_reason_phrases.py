"""A reason's aggregates and rankings are said in words, in the reader's language, with codes by their labels;
an expression no phrase covers is shown as the rule wrote it."""
from __future__ import annotations

import pytest
from flask_babel import force_locale

from tierwise.tenants.rules.reasons import reason_lines


class Field:
    def __init__(self, en: str, zh: str) -> None:
        self.en, self.zh = en, zh

    def label(self, locale: str) -> str:
        return self.zh if locale.startswith("zh") else self.en


REGISTRY = {"aum_avg_3m": Field("3-month avg daily balance", "近三月日均资产")}
REASON = {
    'count(complaints, 365d, channel in ["regulator_hotline", "news_media"])': 1,
    "count(complaints, 90d, resolved_at is null and severity >= 4)": 0,
    "days_since_last(activity)": 37.4583,
    "percentile(aum_avg_3m)": 0.5,
    "top_share(sum(amount, 365d), 0.8)": True,
    "trend(amount, 90d, 1y)": -0.25,
    "aum_avg_3m * 2 > 5": True,
}
SAID = {
    "en": ["Number of complaints, last 365 days (channel: Regulator hotline, News media) = 1",
           "Number of complaints, last 90 days (unresolved, severity ≥ 4) = 0",
           "Days since the last activity = 37",
           "3-month avg daily balance: percentile among customers = 50.0%",
           "Among the customers making the top 80% of total amount, last 365 days = yes",
           "Change in amount, last 90 days against the same 90 days 1 year earlier = -25.0%"],
    "zh_Hans_CN": ["近365天投诉次数（渠道：监管热线、新闻媒体） = 1",
                   "近90天投诉次数（未解决、严重程度 ≥ 4） = 0",
                   "距上次活动天数 = 37",
                   "近三月日均资产在全部客户中的百分位 = 50.0%",
                   "属于近365天金额合计排名前80%的客户 = 是",
                   "近90天金额较1年前同期的变化 = -25.0%"],
}


@pytest.mark.parametrize("locale", sorted(SAID))
def test_aggregates_and_rankings_are_said_in_words_in_the_readers_language(app, locale):
    with app.test_request_context(), force_locale(locale):
        lines = reason_lines(REASON, REGISTRY, locale)
    said = [line.text() for line in lines]
    for expected in SAID[locale]:
        assert expected in said
    arithmetic = next(line for line in lines if line.expression == "aum_avg_3m * 2 > 5")
    assert not arithmetic.labelled and arithmetic.caption == "aum_avg_3m * 2 > 5"  # no phrase: as written
    assert all(line.labelled for line in lines if line is not arithmetic)


def test_a_count_of_days_is_said_in_whole_days_and_the_stored_reason_keeps_its_value(app):
    stored = {"days_since_last(activity)": 37.9583, "days_since_last(interactions, channel == \"branch\")": 0.2,
              "avg(amount, 90d)": 37.4583}  # 37.96 days: 37 whole days gone by, as a rule `< 38` decides
    with app.test_request_context(), force_locale("en"):
        said = {line.expression: line.value for line in reason_lines(stored, REGISTRY, "en")}
    assert said == {"days_since_last(activity)": "37", "days_since_last(interactions, channel == \"branch\")": "0",
                    "avg(amount, 90d)": "37.46"}  # an amount keeps its decimals
    assert stored["days_since_last(activity)"] == 37.9583


RULES = {
    'facility_type in ["hospital", "mine"] or outage_consequence >= 5': {
        "en": "Facility type: Hospital, Mine or Outage consequence ≥ 5", "zh_Hans_CN": "设施类型：医院、矿山 或 停电后果 ≥ 5"},
    "churn_probability >= 0.6 or (aum_avg_3m >= 200000 and trend(amount, 90d) <= -0.5)": {
        "en": "Churn probability ≥ 60% or (3-month avg daily balance ≥ 200,000 and Change in amount, last 90 days "
              "against the 90 days before ≤ -50%)",
        "zh_Hans_CN": "流失概率 ≥ 60% 或 (近三月日均资产 ≥ 200,000 且 近90天金额较前90天的变化 ≤ -50%)"},
    'tier("value") == "a"': {"en": 'tier("value") == "a"', "zh_Hans_CN": 'tier("value") == "a"'},
    "outage_consequence >= 0.1 * (churn_probability + 2)": {  # arithmetic with the signs people write
        "en": "Outage consequence ≥ 0.1 × (Churn probability + 2)", "zh_Hans_CN": "停电后果 ≥ 0.1 × (流失概率 + 2)"},
    "outage_consequence >= -(churn_probability + 2)": {  # not "−Churn probability + 2", another rule
        "en": "Outage consequence ≥ −(Churn probability + 2)", "zh_Hans_CN": "停电后果 ≥ −(流失概率 + 2)"},
}


@pytest.mark.parametrize("locale", ["en", "zh_Hans_CN"])
def test_a_whole_rule_reads_in_words_and_a_part_without_words_as_written(app, locale):
    from tierwise.tenants.rules.phrases import rule_in_words

    labels = {"facility_type": Field("Facility type", "设施类型"), "outage_consequence": Field("Outage consequence", "停电后果"),
              "churn_probability": Field("Churn probability", "流失概率"), **REGISTRY}
    with app.test_request_context(), force_locale(locale):
        for rule, said in RULES.items():
            assert rule_in_words(rule, lambda name: labels[name].label(locale) if name in labels else name) == said[locale]


@pytest.mark.parametrize("locale", sorted(SAID))
def test_a_churn_reason_names_days_since_the_last_activity_as_a_tier_reason_does(app, locale):
    """One thing, one name: the model's recency feature and the rules' days_since_last(activity) read alike."""
    from tierwise.models.features import FeatureSpec

    stored = {"days_since_last(activity)": 3.0, "days_since_last(complaints)": 9.0}
    with app.test_request_context(), force_locale(locale):
        captions = {line.expression: line.caption for line in reason_lines(stored, REGISTRY, locale)}
    assert captions["days_since_last(activity)"] == FeatureSpec().label("recency_days", locale)
    assert captions["days_since_last(complaints)"] == FeatureSpec().label("days_since_complaint", locale)
