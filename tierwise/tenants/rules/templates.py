"""Industry rule sets every new tenant starts from (published as version 1, then theirs to edit).

The thresholds are defaults, not advice: they are written here, shown in the
editor and exported with the rule set so a tenant can see and change each one.
Where a template ranks customers it uses ``percentile`` or ``top_share`` rather
than fixed amounts, because those adapt to the size of the tenant's customers.

- Power utility: value level (percentile of the year's bills) is primary;
  high-risk follows the facility and the consequence of an outage, independent
  of usage (a low-usage hospital is critical); opinion risk from public-channel,
  repeated or unresolved complaints; arrears and illegal use are a separate
  compliance dimension, never high-risk; a value trend dimension; every value
  tier ends in a catch-all so small businesses are classified too.
- Bank: private banking / wealth centre / VIP counter / mass by 3-month average
  daily balance, card spend or loan balance, plus a potential tier from the
  value model once one exists; opinion risk from regulator and media complaints.
- Pharma distributor: ABC by cumulative revenue share (80 / 15 / 5), credit risk
  from DSO and overdue receivables, opinion risk from complaints and quality
  incidents.
"""
from __future__ import annotations

PUBLIC = '["social_media", "news_media", "regulator_hotline"]'

GREY, RED, ORANGE, AMBER, GREEN, BLUE, PURPLE, TEAL = (
    "#6b7280", "#dc2626", "#ea580c", "#ca8a04", "#16a34a", "#2563eb", "#7c3aed", "#0891b2")


def _tier(code: str, en: str, zh: str, colour: str, rule: str | None = None) -> dict:
    tier = {"code": code, "label_en": en, "label_zh": zh, "colour": colour}
    if rule is None:
        tier["fallback"] = True
    else:
        tier["rule"] = rule
    return tier


def _dimension(code: str, en: str, zh: str, tiers: list[dict], description: tuple[str, str] = ("", ""),
               hysteresis: dict | None = None) -> dict:
    """``description`` is (English, Chinese), as the labels are: a tenant's readers see theirs."""
    dimension = {"code": code, "label_en": en, "label_zh": zh, "description": description[0],
                 "description_zh": description[1], "tiers": tiers}
    if hysteresis:
        dimension["hysteresis"] = hysteresis
    return dimension


def _opinion(high: str, watch: str) -> dict:
    return _dimension("opinion_risk", "Public-opinion risk", "舆情风险", [
        _tier("high", "High", "高", RED, high),
        _tier("watch", "Watch", "关注", AMBER, watch),
        _tier("none", "None", "无", GREY)],
        ("Complaints through public channels (social media, news media, regulator hotline), "
         "repeated or unresolved complaints.",
         "通过公开渠道（社交媒体、新闻媒体、监管热线）的投诉，以及重复或未解决的投诉。"))


POWER_UTILITY = {"value_measure": "sum(amount, 365d)", "dimensions": [
    _dimension("value", "Value", "价值等级", [
        _tier("key", "Key account", "重点客户", PURPLE, "percentile(sum(amount, 365d)) >= 0.95"),
        _tier("important", "Important", "重要客户", BLUE, "percentile(sum(amount, 365d)) >= 0.75"),
        _tier("standard", "Standard", "普通客户", TEAL, "percentile(sum(amount, 365d)) >= 0.3"),
        _tier("basic", "Small business / basic", "一般及小微客户", GREY)],
        ("Level of the last 12 months' bills within the tenant; the last tier catches everyone else.",
         "近12个月电费在全部客户中的水平；最后一档兜底其余所有客户。"),
        {"evaluations": 2}),
    _dimension("high_risk", "High-risk", "高危客户", [
        _tier("critical", "Critical", "特级", RED,
              'facility_type in ["hospital", "military", "mine", "hazardous_chemicals"] or outage_consequence >= 5'),
        _tier("elevated", "Elevated", "重要", ORANGE,
              'facility_type in ["government", "transport_hub", "data_centre", "school", "large_venue"] '
              "or outage_consequence >= 3"),
        _tier("standard", "Standard", "一般", GREY)],
        ("How serious an outage would be, whatever the account's value or usage.",
         "停电后果的严重程度，与客户的价值或用电量无关。")),
    _opinion(f"count(complaints, 180d, channel in {PUBLIC}) >= 2 "
             "or count(complaints, 90d, resolved_at is null and severity >= 4) >= 1",
             f"count(complaints, 180d, channel in {PUBLIC}) >= 1 or count(complaints, 90d) >= 3"),
    _dimension("compliance", "Compliance flags", "合规标记", [
        _tier("illegal_use", "Illegal use", "违约窃电", RED, "illegal_use == true"),
        _tier("arrears", "In arrears", "欠费", AMBER, "arrears_days >= 30 and arrears_amount > 0"),
        _tier("clear", "Clear", "正常", GREY)],
        ("Arrears and illegal use: compliance, not high-risk.", "欠费和违约窃电属于合规问题，不属于高危。")),
    _dimension("value_trend", "Value trend", "价值趋势", [
        _tier("rising", "Rising", "上升", GREEN, "trend(amount, 90d, 1y) >= 0.15"),
        _tier("falling", "Falling", "下降", ORANGE, "trend(amount, 90d, 1y) <= -0.15"),
        _tier("stable", "Stable", "平稳", GREY)],
        ("The last 90 days' bills against the same 90 days a year earlier (bills are seasonal).",
         "近90天电费与一年前同期90天相比（电费有季节性）。"),
        {"margin": 0.2}),
]}

BANK = {"value_measure": "aum_avg_3m", "dimensions": [
    _dimension("value", "Wealth tier", "财富等级", [
        _tier("private_banking", "Private banking", "私人银行", PURPLE, "aum_avg_3m >= 6000000"),
        _tier("wealth_centre", "Wealth centre", "财富中心", BLUE, "aum_avg_3m >= 1000000"),
        _tier("vip_counter", "VIP counter", "贵宾理财", TEAL,
              "aum_avg_3m >= 200000 or card_spend_12m >= 200000 or loan_balance >= 1000000"),
        _tier("potential", "Potential", "潜力客户", GREEN, "predicted_value >= 200000"),
        _tier("mass", "Mass", "大众客户", GREY)],
        ("Defaults: RMB 6M / 1M / 200k of 3-month average daily balance; potential from the value model.",
         "默认阈值：近三月日均资产600万 / 100万 / 20万元；潜力客户来自价值模型。"),
        {"margin": 0.05}),
    _dimension("high_risk", "Attrition risk", "流失风险", [
        _tier("high", "High", "高", RED,
              "churn_probability >= 0.6 or (aum_avg_3m >= 200000 and trend(amount, 90d) <= -0.5 "
              "and days_since_last(activity) < 90)"),
        _tier("watch", "Watch", "关注", AMBER,
              "churn_probability >= 0.3 or (days_since_last(activity) >= 60 and days_since_last(activity) < 90)"),
        _tier("normal", "Not flagged", "未预警", GREY)],
        ("Valuable customers moving money out, a high churn score once the churn model exists, or customers "
         "going quiet (60 to 89 days without activity). After 90 quiet days a customer has left by the churn "
         "model's definition: no longer a risk to act on here.",
         "资金外流的高价值客户、流失模型建成后流失概率高的客户，或渐趋沉寂的客户（60至89天无交易）。"
         "连续90天无交易的客户按流失模型的定义已经流失，不再列为此处的风险。")),
    _opinion('count(complaints, 365d, channel in ["regulator_hotline", "news_media"]) >= 1',
             'count(complaints, 90d) >= 2 or count(complaints, 180d, channel == "social_media") >= 1'),
]}

PHARMA_DISTRIBUTOR = {"value_measure": "sum(amount, 365d)", "dimensions": [
    _dimension("value", "ABC class", "ABC分类", [
        _tier("a", "A", "A类", PURPLE, "top_share(sum(amount, 365d), 0.8)"),
        _tier("b", "B", "B类", BLUE, "top_share(sum(amount, 365d), 0.95)"),
        _tier("c", "C", "C类", GREY)],
        ("Customers making the first 80% of the year's revenue are A, the next 15% B, the rest C.",
         "贡献全年收入前80%的客户为A类，其后15%为B类，其余为C类。"),
        {"evaluations": 2}),
    _dimension("high_risk", "Credit risk", "信用风险", [
        # Nothing overdue is never high, whatever the revenue: 0 >= 0.1 x 0 made lapsed accounts high (QA).
        # DSO counts against the account's payment terms where they are known: a tertiary hospital on
        # 180-day terms paying in 170 days is on time, a pharmacy on 30-day terms at 120 days is not.
        _tier("high", "High", "高", RED,
              "dso_days >= payment_terms_days + 60 or (payment_terms_days is null and dso_days >= 120) "
              "or (overdue_receivables > 0 and overdue_receivables >= 0.1 * revenue_12m)"),
        _tier("watch", "Watch", "关注", AMBER,
              "dso_days >= payment_terms_days + 30 or (payment_terms_days is null and dso_days >= 90) "
              "or overdue_receivables > 0"),
        _tier("normal", "Normal", "正常", GREY)],
        ("Days sales outstanding past the account's payment terms (60 days past them is high, 30 to watch; "
         "without known terms, 120 and 90 days) and overdue receivables.",
         "应收账款周转天数（DSO）超出账期的天数（超出60天为高，超出30天为关注；账期未知时按120天和90天）"
         "及逾期应收款。")),
    _opinion(f"quality_incidents >= 2 or count(complaints, 180d, channel in {PUBLIC}) >= 1",
             "quality_incidents >= 1 or count(complaints, 90d) >= 2"),
]}

OTHER = {"value_measure": "sum(amount, 365d)", "dimensions": [
    _dimension("value", "Value", "价值等级", [
        _tier("a", "A", "A类", PURPLE, "top_share(sum(amount, 365d), 0.8)"),
        _tier("b", "B", "B类", BLUE, "top_share(sum(amount, 365d), 0.95)"),
        _tier("c", "C", "C类", GREY)]),
    _dimension("high_risk", "High-risk", "高风险", [
        _tier("high", "High", "高", RED, "churn_probability >= 0.6"),
        _tier("normal", "Normal", "正常", GREY)]),
    _opinion(f"count(complaints, 180d, channel in {PUBLIC}) >= 1",
             "count(complaints, 90d) >= 2"),
]}

TEMPLATES = {"power_utility": POWER_UTILITY, "bank": BANK, "pharma_distributor": PHARMA_DISTRIBUTOR, "other": OTHER}


def template_for(industry: str) -> dict:
    return TEMPLATES.get(industry, OTHER)
