"""ECharts options for the dashboard, built on the server from the same figures the tables show.

Labels are translated here (tier labels from the rule set in the reader's
language, axis names through Babel), so ``static/dashboards.js`` only has to
hand each option to ECharts: it knows nothing of tiers or languages.  Shares
are sent as percentages with one decimal; ``suffixes`` tells the script which
series to show with a ``%`` in the tooltip (ECharts takes a function for that,
and JSON cannot carry one).
"""
from __future__ import annotations

from flask_babel import gettext as _

from tierwise.platform.i18n import localised
from tierwise.platform.numbers import readable_number
from tierwise.tenants.category_labels import category_label
from tierwise.tenants.dashboards import DimensionFlows, Pareto, RiskByTier
from tierwise.tenants.rules.distribution import DimensionDistribution

UNCLASSIFIED_COLOUR = "#9ca3af"
GRID = {"left": 8, "right": 24, "top": 36, "bottom": 8, "containLabel": True}


def _percent(share: float | None) -> float | None:
    return None if share is None else round(100 * share, 1)


def _chart(option: dict, suffixes: dict[int, str] | None = None) -> dict:
    return {"option": {"animation": False, "grid": GRID, "tooltip": {"trigger": "axis"}, **option},
            "suffixes": {str(i): s for i, s in (suffixes or {}).items()}}


def distribution_chart(dimension: DimensionDistribution, locale: str) -> dict:
    """Customers per tier, highest tier on top, with each tier's own colour."""
    bars = [(localised(t.label_en, t.label_zh, locale), t.customers, t.colour) for t in dimension.tiers]
    if dimension.unclassified:
        bars.append((_("Unclassified"), dimension.unclassified, UNCLASSIFIED_COLOUR))
    bars.reverse()  # ECharts draws a category axis from the bottom up
    return _chart({
        "xAxis": {"type": "value", "minInterval": 1},
        "yAxis": {"type": "category", "data": [label for label, _n, _c in bars]},
        "series": [{"type": "bar", "name": _("Customers"),
                    "data": [{"value": n, "itemStyle": {"color": colour}} for _label, n, colour in bars]}]})


def pareto_chart(figures: Pareto) -> dict:
    """The measured Pareto curve beside the diagonal that equal customers would draw."""
    curve = [[point.percent, _percent(point.value_share)] for point in figures.curve]
    return _chart({
        "legend": {"top": 0},
        "xAxis": {"type": "value", "min": 0, "max": 100, "name": _("Customers, highest value first"),
                  "nameLocation": "middle", "nameGap": 28, "axisLabel": {"formatter": "{value}%"}},
        "yAxis": {"type": "value", "min": 0, "max": 100, "axisLabel": {"formatter": "{value}%"}},
        "series": [
            {"type": "line", "name": _("Share of value"), "showSymbol": False, "data": curve, "areaStyle": {}},
            {"type": "line", "name": _("Equal shares"), "showSymbol": False, "data": [[0, 0], [100, 100]],
             "lineStyle": {"type": "dashed", "color": "#b8c1cc"}, "itemStyle": {"color": "#b8c1cc"}}]},
        suffixes={0: "%", 1: "%"})


# Every tier's name under its column, turned when they crowd: ECharts otherwise drops some ("Wealth centre")
EVERY_LABEL = {"interval": 0, "rotate": 20, "hideOverlap": False}


def risk_chart(risk: RiskByTier, locale: str) -> dict:
    """Value at risk per tier (bars, the tier's colour) and the modelled churn rate (line, right axis)."""
    labels = [localised(t.label_en, t.label_zh, locale) if t.tier else _("Unclassified") for t in risk.tiers]
    return _chart({
        "legend": {"top": 0},
        "xAxis": {"type": "category", "data": labels, "axisLabel": EVERY_LABEL},
        "yAxis": [{"type": "value", "name": _("Value at risk")},
                  {"type": "value", "name": _("Churn rate"), "min": 0, "axisLabel": {"formatter": "{value}%"},
                   "splitLine": {"show": False}}],
        "series": [
            {"type": "bar", "name": _("Value at risk"),
             "data": [{"value": None if t.value_at_risk is None else round(t.value_at_risk, 2),
                       "itemStyle": {"color": t.colour}} for t in risk.tiers]},
            {"type": "line", "name": _("Churn rate"), "yAxisIndex": 1,
             "data": [_percent(t.churn_rate) for t in risk.tiers]}]},
        suffixes={1: "%"})


def flow_chart(flows: DimensionFlows, locale: str) -> dict:
    """A from-tier × to-tier heatmap: rows where customers were, columns where they went."""
    labels = {t.code: localised(t.label_en, t.label_zh, locale) for t in flows.tiers}
    targets = [t.code for t in flows.tiers]
    sources = [None, *targets]  # None: no tier before (a new customer or a new dimension)
    # each cell's label said as the table beside it says the count (15,524, not 15524)
    cells = [{"value": [targets.index(f.to_tier), sources.index(f.from_tier), f.customers],
              "label": {"formatter": readable_number(f.customers)}} for f in flows.flows]
    return {"option": {
        "animation": False, "tooltip": {"position": "top"},
        "grid": {"left": 8, "right": 8, "top": 28, "bottom": 84, "containLabel": True},
        # the axes' names beside their ends: "From" above the rows (the axis runs downwards), "To" under the columns
        "xAxis": {"type": "category", "data": [labels[c] for c in targets], "name": _("To"),
                  "nameLocation": "middle", "nameGap": 44, "splitArea": {"show": True}, "axisLabel": EVERY_LABEL},
        "yAxis": {"type": "category", "data": [labels[c] if c else _("No tier before") for c in sources],
                  "name": _("From"), "nameLocation": "start", "nameGap": 8, "inverse": True,
                  "splitArea": {"show": True}},
        "visualMap": {"min": 0, "max": max((f.customers for f in flows.flows), default=1), "calculable": True,
                      "orient": "horizontal", "left": "center", "bottom": 0,
                      "inRange": {"color": ["#eef4fb", "#0b5cad"]}},
        "series": [{"type": "heatmap", "name": _("Customers"), "data": cells, "label": {"show": True}}]},
        "suffixes": {}}


def activity_chart(activity: list, months: int = 12) -> dict:
    """The customer page's last ``months`` months of activity: amount per month, stacked by category."""
    recent = sorted({row.month for row in activity})[-months:]
    categories = sorted({row.category for row in activity if row.month in recent})
    amounts = {(row.month, row.category): round(row.amount, 2) for row in activity}
    series = [{"type": "bar", "stack": "amount", "name": str(category_label(category)) if category else _("Other"),
               "data": [amounts.get((month, category), 0) for month in recent]} for category in categories]
    return _chart({"legend": {"top": 0}, "xAxis": {"type": "category", "data": recent},
                   "yAxis": {"type": "value", "name": _("Amount")}, "series": series})
