"""The pain-score chart as inline SVG: no image request, scales with the page, readable without colour.

Scores are drawn as a line with square markers, treatments as dashed vertical lines numbered like the
treatment table under the chart (the table is the text alternative; the SVG also carries a summary in
<title>/<desc>). Markers differ by shape and dash, not by colour alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

from eligibility.web.case import PainPoint, Treatment

__all__ = ["pain_chart_svg"]

_W, _H = 720, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 16, 28, 36


def _x(day: date, first: date, last: date) -> float:
    span = max((last - first).days, 1)
    return _LEFT + (day - first).days / span * (_W - _LEFT - _RIGHT)


def _y(value: float) -> float:
    return _TOP + (10 - value) / 10 * (_H - _TOP - _BOTTOM)


def pain_chart_svg(pain: Sequence[PainPoint], treatments: Sequence[Treatment], *, threshold: float = 5) -> str:
    """The chart; empty string when there is no score to draw (the page says so in words instead)."""
    if not pain:
        return ""
    days = [p.day for p in pain] + [t.first for t in treatments]
    first, last = min(days), max(days)
    summary = (
        f"{len(pain)} pain scores from {pain[0].day} to {pain[-1].day}, "
        f"latest {pain[-1].value:g}/10; {len(treatments)} treatments marked."
    )
    out = [
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" aria-labelledby="chart-title chart-desc" '
        'xmlns="http://www.w3.org/2000/svg">',
        '<title id="chart-title">Pain scores over time (0-10) with treatments</title>',
        f'<desc id="chart-desc">{escape(summary)}</desc>',
    ]
    for tick in (0, 2, 4, 6, 8, 10):  # horizontal grid with the scale on the left
        y = _y(tick)
        out.append(f'<line class="grid" x1="{_LEFT}" y1="{y:.1f}" x2="{_W - _RIGHT}" y2="{y:.1f}"/>')
        out.append(f'<text class="tick" x="{_LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    y = _y(threshold)
    out.append(f'<line class="threshold" x1="{_LEFT}" y1="{y:.1f}" x2="{_W - _RIGHT}" y2="{y:.1f}"/>')
    out.append(f'<text class="tick" x="{_W - _RIGHT}" y="{y - 4:.1f}" text-anchor="end">threshold {threshold:g}</text>')
    for number, treatment in enumerate(treatments, start=1):
        x = _x(treatment.first, first, last)
        out.append(f'<line class="treatment" x1="{x:.1f}" y1="{_TOP - 6}" x2="{x:.1f}" y2="{_H - _BOTTOM}"/>')
        out.append(f'<text class="marker" x="{x:.1f}" y="{_TOP - 10}" text-anchor="middle">T{number}</text>')
    points = " ".join(f"{_x(p.day, first, last):.1f},{_y(p.value):.1f}" for p in pain)
    out.append(f'<polyline class="score-line" points="{points}"/>')
    for point in pain:
        x, y = _x(point.day, first, last), _y(point.value)
        out.append(f'<rect class="score" x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8"/>')
    out.append(f'<text class="tick" x="{_LEFT}" y="{_H - 10}">{first}</text>')
    out.append(f'<text class="tick" x="{_W - _RIGHT}" y="{_H - 10}" text-anchor="end">{last}</text>')
    out.append("</svg>")
    return "".join(out)
