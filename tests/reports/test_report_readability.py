"""Issue 11, the compliance PDF read by a person: Table 7 names the patient, review times under an hour
show minutes, the median and p90 labels of Figure 3 never overlap, and cells wrap between words.

Checked on the text (the HTML before rendering, and the PDF's own text through pdftotext), never on pixels.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Annotation
from reports_helpers import PERIOD, Built

from eligibility.audit.checkpoints import Signer
from eligibility.audit.database import read_session
from eligibility.audit.verify import verify
from reports.compliance import ComplianceReport, compliance_summary, load_period
from reports.durations import duration_text, hours_cell
from reports.patients import with_patients
from reports.render import compliance_html, compliance_pdf, format_cell, time_to_review_figure

GENERATED = "2026-07-02T08:00:00Z"


def _report(built: Built, signer: Signer, *, named: bool) -> ComplianceReport:
    with read_session(built.engine) as session:
        report = compliance_summary(
            load_period(session, start=PERIOD[0], end=PERIOD[1]), verification=verify(session, signer=signer)
        )
        return with_patients(session, report) if named else report


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler's pdftotext is not installed")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def _minutes(report: ComplianceReport) -> ComplianceReport:
    """The scenario's first reviews made quick: 25 min, 35 min and 50 min after their decisions."""
    table = report.time_to_review.head(3).copy()
    table["hours_to_review"] = [25 / 60, 35 / 60, 50 / 60]
    headline = replace(report.headline, median_hours_to_review=35 / 60, p90_hours_to_review=47 / 60)
    return replace(report, time_to_review=table, headline=headline)


def test_table_7_names_each_patient_in_the_html_and_the_pdf(
    sqlite_trail: Built, signer: Signer, tmp_path: Path
) -> None:
    named = _report(sqlite_trail, signer, named=True)
    assert list(named.time_to_review.columns[:2]) == ["decision_id", "patient"]
    assert set(named.time_to_review["patient"]) >= {
        "Maria Okafor · MRN\u00a0MRN-8820333 · born\u00a01971-03-14",
        "Robert King · MRN\u00a0MRN-6146716 · born\u00a01949-11-11",
    }
    html = compliance_html(named, generated_at=GENERATED)
    table_7 = html[html.index("Table 7. ") : html.index("</table>", html.index("Table 7. "))]
    assert "<th scope=\"col\">Patient</th>" in table_7 and "Maria Okafor" in table_7
    text = _pdf_text(compliance_pdf(named, generated_at=GENERATED), tmp_path)
    section = text[text.index("Table 7. ") : text.index("3. What blocks candidates")]
    assert "Maria Okafor" in section and "Robert King" in section
    # Without with_patients (the report as a referrer would never get it), no name is read or shown.
    assert "Maria Okafor" not in compliance_html(_report(sqlite_trail, signer, named=False), generated_at=GENERATED)


def test_review_times_under_an_hour_are_minutes_in_cells_headline_and_chart_text(
    sqlite_trail: Built, signer: Signer
) -> None:
    assert (duration_text(25 / 60), duration_text(16.0), hours_cell(0.5), hours_cell(2.0)) == (
        "25 min",
        "16.0 h",
        "30 min",
        "2.0",
    )
    assert format_cell("hours_to_review", 0.25) == "15 min"
    html = compliance_html(_minutes(_report(sqlite_trail, signer, named=False)), generated_at=GENERATED)
    assert 'class="value">35 min</span><span class="label">Median hours to first review<' in html
    assert 'class="value">47 min</span>' in html  # p90
    assert "<td class=\"num\">25 min</td>" in html and "0.4</td>" not in html
    assert "median 35 min, 90th percentile 47 min" in html  # the chart's numbers in words


def _label_boxes(report: ComplianceReport) -> list[object]:
    figure = time_to_review_figure(report)
    renderer = FigureCanvasAgg(figure).get_renderer()  # type: ignore[no-untyped-call]
    figure.draw_without_rendering()
    labels = [t for t in figure.axes[0].texts if isinstance(t, Annotation)]
    assert sorted(t.get_text().split()[0] for t in labels) == ["median", "p90"]
    return [t.get_window_extent(renderer) for t in labels]


@pytest.mark.parametrize(("median", "p90"), [(16.0, 16.4), (2.0, 2.9), (0.5, 0.55), (16.0, 57.6)])
def test_the_median_and_p90_labels_never_overlap(
    sqlite_trail: Built, signer: Signer, median: float, p90: float
) -> None:
    report = _report(sqlite_trail, signer, named=False)
    report = replace(
        report, headline=replace(report.headline, median_hours_to_review=median, p90_hours_to_review=p90)
    )
    first, second = _label_boxes(report)
    assert not first.overlaps(second), (first, second)  # type: ignore[attr-defined]


def test_cells_wrap_between_words_not_inside_them(sqlite_trail: Built, signer: Signer, tmp_path: Path) -> None:
    """'override' came out as 'overrid' / 'e' in Table 7's narrow Action column."""
    report = _report(sqlite_trail, signer, named=True)
    text = _pdf_text(compliance_pdf(report, generated_at=GENERATED), tmp_path)
    words = set(text.split())
    assert "override" in words and "overrid" not in words
    assert "clinical-judgement" in words and "outcome-documented-elsewhere" in words
    for name in ("Okafor", "Larsen", "Harris", "King", "Roth"):
        assert name in words, name
    assert not [w for w in words if w in {"Oka", "fo", "Lar", "Har"}]
    # Decision ids show their first 8 characters (the CLI and the web app take them); the CSV keeps them whole.
    first_id = str(report.time_to_review["decision_id"].iloc[0])
    assert first_id[:8] in words and first_id not in text
    assert isinstance(report.time_to_review, pd.DataFrame)
