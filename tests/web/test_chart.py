"""The pain chart: treatment labels never overlap, and the x axis carries dated ticks."""

from __future__ import annotations

import re
from datetime import date

import eligibility.api  # noqa: F401 - the web package is imported through the app (its import order)
from eligibility.web.case import PainPoint, Treatment
from eligibility.web.chart import _LABEL_GAP, pain_chart_svg


def _treatment(day: str, n: int) -> Treatment:
    return Treatment(f"t{n}", "Procedure", date.fromisoformat(day), date.fromisoformat(day), 1, (f"Procedure/{n}",))


def test_labels_of_treatments_on_the_same_days_do_not_overlap() -> None:
    pain = [PainPoint("Observation/1", date(2024, 1, 5), 8), PainPoint("Observation/2", date(2026, 5, 1), 7)]
    days = ["2025-03-01", "2025-03-01", "2025-03-03", "2025-03-08", "2025-09-01"]
    svg = pain_chart_svg(pain, [_treatment(d, i) for i, d in enumerate(days)])
    labels = [(float(x), float(y)) for x, y in re.findall(r'<text class="marker" x="([\d.]+)" y="([\d.]+)"', svg)]
    assert len(labels) == 5
    for i, (x1, y1) in enumerate(labels):
        for x2, y2 in labels[i + 1 :]:
            assert y1 != y2 or abs(x1 - x2) >= _LABEL_GAP, f"labels at {x1},{y1} and {x2},{y2} overlap"


def test_the_x_axis_has_dated_ticks_within_the_range() -> None:
    pain = [PainPoint("Observation/1", date(2024, 11, 20), 8), PainPoint("Observation/2", date(2026, 5, 12), 7)]
    svg = pain_chart_svg(pain, [])
    ticks = re.findall(r'text-anchor="middle">(\d{4}-\d{2})</text>', svg)
    assert ticks == ["2025-01", "2025-04", "2025-07", "2025-10", "2026-01", "2026-04"]
    short = pain_chart_svg(
        [PainPoint("Observation/1", date(2026, 1, 3), 8), PainPoint("Observation/2", date(2026, 3, 1), 7)], []
    )
    assert re.findall(r'text-anchor="middle">(\d{4}-\d{2})</text>', short) == ["2026-02", "2026-03"]
