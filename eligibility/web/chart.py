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

_W, _H = 720, 280
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 16, 52, 36
_LABEL_ROWS = (_TOP - 10, _TOP - 24, _TOP - 38)  # treatment labels stack upwards when they would touch
_LABEL_GAP = 24  # px between the centres of two labels on one row ("T10" is about 20 px wide)
_MONTH_STEPS = (1, 2, 3, 6, 12, 24, 60)  # x-axis tick spacing in months: the first giving <= 7 ticks


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
    xs = [_x(t.first, first, last) for t in treatments]
    for number, (x, (row, label_x)) in enumerate(zip(xs, _label_places(xs), strict=True), start=1):
        label_y = _LABEL_ROWS[row]
        out.append(f'<line class="treatment" x1="{x:.1f}" y1="{label_y + 4}" x2="{x:.1f}" y2="{_H - _BOTTOM}"/>')
        out.append(f'<text class="marker" x="{label_x:.1f}" y="{label_y}" text-anchor="middle">T{number}</text>')
    points = " ".join(f"{_x(p.day, first, last):.1f},{_y(p.value):.1f}" for p in pain)
    out.append(f'<polyline class="score-line" points="{points}"/>')
    for point in pain:
        x, y = _x(point.day, first, last), _y(point.value)
        out.append(f'<rect class="score" x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8"/>')
    for month in _month_ticks(first, last):  # dated x axis
        x = _x(month, first, last)
        out.append(f'<line class="grid" x1="{x:.1f}" y1="{_H - _BOTTOM}" x2="{x:.1f}" y2="{_H - _BOTTOM + 5}"/>')
        out.append(f'<text class="tick" x="{x:.1f}" y="{_H - 12}" text-anchor="middle">{month:%Y-%m}</text>')
    out.append("</svg>")
    return "".join(out)


def _label_places(xs: Sequence[float]) -> list[tuple[int, float]]:
    """(row, x) of each label: the lowest row where it keeps _LABEL_GAP from the last label placed there;
    when every row is taken that close, the row whose last label is leftmost, the label moved right."""
    last_on_row: list[float | None] = [None] * len(_LABEL_ROWS)
    places = []
    for x in xs:
        free = [r for r, last in enumerate(last_on_row) if last is None or abs(x - last) >= _LABEL_GAP]
        if free:
            row, label_x = free[0], x
        else:
            row = min(range(len(_LABEL_ROWS)), key=lambda r: last_on_row[r] or 0.0)
            label_x = (last_on_row[row] or 0.0) + _LABEL_GAP
        last_on_row[row] = label_x
        places.append((row, label_x))
    return places


def _month_ticks(first: date, last: date) -> list[date]:
    """First days of months from `first` to `last`, every 1, 2, 3, 6… months so that there are at most 7."""
    months = (last.year - first.year) * 12 + last.month - first.month
    step = next((s for s in _MONTH_STEPS if months // s + 1 <= 7), _MONTH_STEPS[-1])
    ticks = []
    year, month = first.year, first.month
    if first.day > 1:  # the first whole month inside the range
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    while (year, month) <= (last.year, last.month):
        if ((year * 12 + month - 1) % step) == 0 or step == 1:
            ticks.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return ticks
