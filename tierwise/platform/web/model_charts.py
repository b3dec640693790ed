"""ROC and gain curves drawn as inline SVG on the server: no chart library, no CDN, no JavaScript.

Both curves live in the unit square (rates and shares), so one small plotter
serves them: a grid at every 25%, the diagonal a random ranking would follow,
one polyline per predictor and a legend in HTML (so it wraps and translates
like the rest of the page).  Predictors differ by dash pattern as well as
colour, so the chart still reads in greyscale.
"""
from __future__ import annotations

from itertools import cycle

from markupsafe import Markup, escape

WIDTH, HEIGHT = 360, 280
LEFT, BOTTOM, TOP, RIGHT = 46, 40, 12, 14
STYLES = (("#0b5cad", ""), ("#d97706", "6 4"), ("#6b7785", "2 3"), ("#7c3aed", "8 3 2 3"))
RANDOM_STYLE = ("#b8c1cc", "3 3")
TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)


def _x(share: float) -> float:
    return round(LEFT + share * (WIDTH - LEFT - RIGHT), 1)


def _y(share: float) -> float:
    return round(HEIGHT - BOTTOM - share * (HEIGHT - BOTTOM - TOP), 1)


def _dashes(dash: str) -> str:
    return f' stroke-dasharray="{dash}"' if dash else ""


def _line(points, colour: str, dash: str, width: float = 2) -> str:
    path = " ".join(f"{_x(x)},{_y(y)}" for x, y in points)
    return f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="{width}"{_dashes(dash)}/>'


def _axes(x_label: str, y_label: str) -> list[str]:
    parts = []
    for tick in TICKS:
        parts.append(f'<line x1="{_x(0)}" y1="{_y(tick)}" x2="{_x(1)}" y2="{_y(tick)}" stroke="#eef1f4"/>')
        parts.append(f'<line x1="{_x(tick)}" y1="{_y(0)}" x2="{_x(tick)}" y2="{_y(1)}" stroke="#eef1f4"/>')
        parts.append(f'<text x="{_x(0) - 6}" y="{_y(tick) + 4}" text-anchor="end">{tick:.0%}</text>')
        parts.append(f'<text x="{_x(tick)}" y="{_y(0) + 16}" text-anchor="middle">{tick:.0%}</text>')
    parts.append(f'<rect x="{_x(0)}" y="{_y(1)}" width="{_x(1) - _x(0)}" height="{_y(0) - _y(1)}" '
                 'fill="none" stroke="#c3ccd6"/>')
    parts.append(f'<text x="{(_x(0) + _x(1)) / 2}" y="{HEIGHT - 6}" text-anchor="middle">{escape(x_label)}</text>')
    parts.append(f'<text x="12" y="{(_y(0) + _y(1)) / 2}" text-anchor="middle" '
                 f'transform="rotate(-90 12 {(_y(0) + _y(1)) / 2})">{escape(y_label)}</text>')
    return parts


def _legend(entries: list[tuple[str, str, str]]) -> str:
    items = "".join(f'<li><svg width="28" height="10" aria-hidden="true"><line x1="0" y1="5" x2="28" y2="5" '
                    f'stroke="{colour}" stroke-width="2"{_dashes(dash)}/></svg> {escape(label)}</li>'
                    for label, colour, dash in entries)
    return f'<ul class="legend">{items}</ul>'


def curve_chart(series: list[tuple[str, list]], *, title: str, x_label: str, y_label: str,
                random_label: str) -> Markup:
    """An SVG figure of ``series`` [(label, [[x, y], ...]), ...] in the unit square, with its legend."""
    parts = _axes(x_label, y_label)
    parts.append(_line([(0, 0), (1, 1)], *RANDOM_STYLE, width=1.5))
    legend = []
    for (label, points), (colour, dash) in zip(series, cycle(STYLES)):
        if points:
            parts.append(_line(points, colour, dash))
            legend.append((label, colour, dash))
    legend.append((random_label, *RANDOM_STYLE))
    svg = (f'<svg class="curve" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{"".join(parts)}</svg>')
    return Markup(f'<figure class="chart">{svg}<figcaption>{_legend(legend)}</figcaption></figure>')
