"""The customer page's tier history as a timeline: every dimension's periods on one shared time axis."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from tests.rule_helpers import retier_again
from tests.test_rules_web import bank, signed_in  # noqa: F401  (the fixture)
from tierwise.tenants.rules.distribution import CustomerTier
from tierwise.tenants.rules.profile import DimensionTiers, Period, TierLabel, lay_out_timeline

UTC = timezone.utc


def current(dimension: str, tier: str, since: datetime) -> CustomerTier:
    return CustomerTier(dimension, tier, tier.upper(), tier, "#123456", "rule", {}, None, since, since, since, 1,
                        None, 0)


def test_periods_of_every_dimension_share_one_axis_from_the_earliest_to_now():
    value = DimensionTiers("value", "Value", "价值", current=current("value", "vip", datetime(2025, 7, 2, tzinfo=UTC)),
                           history=[Period(TierLabel("mass", "Mass", "大众", "#999999"),
                                           datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 7, 2, tzinfo=UTC), 1)])
    risk = DimensionTiers("high_risk", "High risk", "高风险",
                          current=current("high_risk", "critical", datetime(2025, 10, 1, tzinfo=UTC)))
    never = DimensionTiers("lifecycle", "Lifecycle", "生命周期")
    start = lay_out_timeline([value, risk, never], now=datetime(2026, 1, 1, tzinfo=UTC))
    assert start == datetime(2025, 1, 1, tzinfo=UTC)
    assert [(s.tier.code, round(s.left, 1), round(s.width, 1), s.end) for s in value.segments] == [
        ("mass", 0.0, 49.9, datetime(2025, 7, 2, tzinfo=UTC)), ("vip", 49.9, 50.1, None)]
    assert [(s.tier.code, round(s.left, 1), round(s.width, 1)) for s in risk.segments] == [("critical", 74.8, 25.2)]
    assert never.segments == []


def test_a_customer_never_tiered_has_no_timeline():
    assert lay_out_timeline([DimensionTiers("value", "Value", "价值")], now=datetime(2026, 1, 1, tzinfo=UTC)) is None


def test_the_customer_page_draws_a_timeline_row_per_tiered_dimension(app, bank):  # noqa: F811
    retier_again(app, bank)
    page = signed_in(app, bank).get(f"/t/{bank.slug}/customers/{bank.customers['P1']}")
    assert page.status_code == 200
    rows = re.findall(r'data-timeline="(\w+)"', page.text)
    assert rows == ["value", "high_risk", "opinion_risk"]
    segment = page.text[page.text.index('data-timeline="value"'):page.text.index('data-timeline="high_risk"')]
    assert "Private banking" in segment and "left: 0.000%; width: 100.000%" in segment
