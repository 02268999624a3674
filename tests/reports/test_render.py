"""HTML, PDF and CSV of the compliance report: the same numbers as compliance.py, readable without colour."""

from __future__ import annotations

import io
import re
from datetime import date

import pandas as pd
import pytest
import weasyprint  # type: ignore[import-untyped]
from reports_helpers import PERIOD, Built, tamper
from sqlalchemy.orm import Session

from eligibility.audit import store
from eligibility.audit.checkpoints import Signer
from eligibility.audit.database import read_session
from eligibility.audit.verify import verify
from reports.compliance import ComplianceReport, compliance_summary, load_period
from reports.render import (
    _stacked_bars_figure,
    compliance_csv,
    compliance_html,
    compliance_pdf,
    report_charts,
    report_tables,
)

GENERATED = "2026-07-02T08:00:00Z"


def summarise(built: Built, signer: Signer, start: date = PERIOD[0], end: date = PERIOD[1]) -> ComplianceReport:
    with read_session(built.engine) as session:
        return compliance_summary(
            load_period(session, start=start, end=end), verification=verify(session, signer=signer)
        )


@pytest.fixture
def report(sqlite_trail: Built, signer: Signer) -> ComplianceReport:
    return summarise(sqlite_trail, signer)


def test_html_states_the_numbers_the_verification_and_iso_times(report: ComplianceReport) -> None:
    html = compliance_html(report, generated_at=GENERATED, generated_by="auditor@clinic")
    assert "Audit chain verification: PASSED." in html
    assert "Period 2026-06-01 to 2026-06-30" in html
    for label, value in (("Override rate", "37.5 %"), ("Median hours to first review", "16.0")):
        assert re.search(rf'class="value">{re.escape(value)}</span><span class="label">{label}<', html), label
    assert 'class="value">57.6</span>' in html  # p90
    # Every table has a numbered caption; every chart a numbered caption and its numbers as alt text.
    filled = [t for t in report_tables(report) if not t.data.empty]  # an empty table is one numbered line
    assert len(re.findall(r"<caption>Table \d+\. ", html)) == len(filled) == 12
    assert "No questionnaire was answered in this period." in html
    assert len(re.findall(r"<figcaption>Figure \d+\. ", html)) == 4
    assert 'alt="Decisions by outcome — ELIGIBLE_FOR_TRIAL: decisions 2; ' in html
    # Times are ISO 8601 UTC; no other date shapes (such as pandas' "2026-06-01 09:00:00+00:00").
    assert "2026-06-03T16:00:00Z" in html
    assert not re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", html)
    # Self-contained: charts inline, nothing fetched from elsewhere.
    assert html.count('src="data:image/png;base64,') == 4
    assert not re.search(r'(src|href)="(https?:|file:|/)', html)


def _hostile_override(built: Built, *, reviewer: str, reason_code: str) -> None:
    """An override of D5 with what a user typed, written below the service (which refuses reason codes
    outside its vocabulary): a trail may hold any text from before that check, and reports must escape it."""
    with Session(built.engine) as session:
        store.append_review(
            session,
            decision_id=built.trail.decisions["D5"],
            reviewer=reviewer,
            action="override",
            outcome="ELIGIBLE_FOR_TRIAL",
            reason_code=reason_code,
            channel="api",
        )
        session.commit()


def test_html_escapes_what_users_typed(fresh_sqlite: Built, signer: Signer) -> None:
    _hostile_override(fresh_sqlite, reviewer="dr.<b>x</b>", reason_code="<script>alert(1)</script>")
    # The scenario's clock is still patched: the review is recorded at its last step, 2026-07-01 02:00.
    july = summarise(fresh_sqlite, signer, date(2026, 7, 1), date(2026, 7, 1))
    assert july.by_specialist["reviewer"].tolist() == ["dr.<b>x</b>", "dr.kim"]
    html = compliance_html(july, generated_at=GENERATED)
    assert "<script>" not in html and "<b>x</b>" not in html
    assert "dr.&lt;b&gt;x&lt;/b&gt;" in html
    # <wbr> marks where a cell may wrap (after `/`, `_`, `@`); it is markup of ours, not of the text.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html.replace("<wbr>", "")


def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(fresh_sqlite: Built, signer: Signer) -> None:
    _hostile_override(fresh_sqlite, reviewer='=HYPERLINK("http://evil.example","x")', reason_code="+cmd|' /C calc'!A0")
    july = summarise(fresh_sqlite, signer, date(2026, 7, 1), date(2026, 7, 1))
    text = compliance_csv(july)
    cells = {cell for row in pd.read_csv(io.StringIO(text), dtype=str).itertuples(index=False) for cell in row}
    assert """'=HYPERLINK("http://evil.example","x")""" in cells
    assert "'+cmd|' /C calc'!A0" in cells
    assert not any(isinstance(c, str) and c.startswith(("=", "+", "@")) for c in cells)


def test_bar_charts_use_hatches_and_written_values_not_colour_alone(report: ComplianceReport) -> None:
    figure = _stacked_bars_figure(
        ["dr.kim", "dr.lopez"], [("accepted", [3.0, 2.0]), ("overridden", [1.0, 2.0])], xlabel="reviews"
    )
    axes = figure.axes[0]
    hatches = {container.get_label(): container[0].get_hatch() for container in axes.containers}
    assert hatches["accepted"] != hatches["overridden"]
    assert hatches["overridden"]  # the second series is patterned, the first plain
    texts = sorted(t.get_text().strip() for t in axes.texts)
    assert texts == ["1", "2", "2", "3", "4", "4"]  # each segment's value and each bar's total
    assert [t.get_text() for t in axes.get_legend().get_texts()] == ["accepted", "overridden"]
    assert set(report_charts(report)) == {"outcomes", "specialists", "time_to_review", "blocking"}


def test_pdf_is_a_pdf_with_pages(report: ComplianceReport) -> None:
    pdf = compliance_pdf(report, generated_at=GENERATED)
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    pages = weasyprint.HTML(string=compliance_html(report, generated_at=GENERATED)).render().pages
    assert 2 <= len(pages) <= 8


def test_csv_carries_the_same_numbers_as_the_report(report: ComplianceReport) -> None:
    data = pd.read_csv(io.StringIO(compliance_csv(report)), dtype={"value": "str"})
    assert data.columns[0] == "table"
    metrics = data[data["table"] == "headline"].set_index("metric")["value"]
    assert metrics["decisions"] == "12"
    assert float(metrics["override_rate"]) == report.headline.override_rate
    assert float(metrics["p90_hours_to_review"]) == pytest.approx(report.headline.p90_hours_to_review)
    verification = data[data["table"] == "verification"].set_index("metric")["value"]
    assert verification["ok"] == "True" and pd.isna(verification["first_bad_seq"])
    # Each table comes back row for row (the referrer table long: one row per referrer and outcome).
    for table in report_tables(report):
        part = data[data["table"] == table.key]
        if table.key == "decisions_by_referrer":
            wide = part.pivot(index="referrer", columns="outcome", values="decisions")
            expected = table.data.set_index("referrer").drop(columns="decisions")
            assert wide.loc[expected.index, expected.columns].astype(int).equals(expected.astype(int))
            continue
        assert len(part) == len(table.data), table.key
        if table.data.empty:  # no rows, so none of its columns in the CSV
            continue
        for column in table.data.columns:
            values = table.data[column]
            if isinstance(values.dtype, pd.DatetimeTZDtype):
                assert part[column].tolist() == values.dt.strftime("%Y-%m-%dT%H:%M:%SZ").tolist(), column
            elif pd.api.types.is_numeric_dtype(values.dtype):
                expected = pytest.approx(values.to_numpy(dtype=float), abs=1e-6, nan_ok=True)  # CSV keeps 6 decimals
                assert part[column].to_numpy() == expected, column
            else:
                assert part[column].astype(str).tolist() == values.astype(str).tolist(), column


def test_failed_verification_is_the_first_thing_said(fresh_sqlite: Built, signer: Signer) -> None:
    seq = fresh_sqlite.trail.seqs["V5"]
    tamper(fresh_sqlite.engine, f"UPDATE audit_record SET actor = 'dr.mallory' WHERE seq = {seq}")
    report = summarise(fresh_sqlite, signer)
    html = compliance_html(report, generated_at=GENERATED)
    assert "Audit chain verification: FAILED." in html
    assert f"First bad record: seq {seq}" in html
    assert html.index("FAILED") < html.index("<h2>Headline</h2>")
    data = pd.read_csv(io.StringIO(compliance_csv(report)), dtype={"value": "str"})
    verification = data[data["table"] == "verification"].set_index("metric")["value"]
    assert (verification["ok"], verification["first_bad_seq"]) == ("False", str(seq))


def test_empty_period_renders_in_every_format(sqlite_trail: Built, signer: Signer) -> None:
    empty = summarise(sqlite_trail, signer, date(2025, 1, 1), date(2025, 1, 31))
    html = compliance_html(empty, generated_at=GENERATED)
    assert "No decisions in this period." in html and "<figure>" not in html
    assert compliance_pdf(empty, generated_at=GENERATED).startswith(b"%PDF-")
    data = pd.read_csv(io.StringIO(compliance_csv(empty)), dtype={"value": "str"})
    assert set(data["table"]) == {"period", "headline", "verification"}
