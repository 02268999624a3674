"""The compliance report as HTML, PDF and CSV — formatting only; every number comes from compliance.py.

- HTML: Jinja2 templates in `templates/`, charts drawn with matplotlib and embedded as base64 PNG, so
  the file is self-contained (one file to mail or archive). Charts never rely on colour alone: bars
  carry hatch patterns and their values are written on them; lines carry text labels.
- PDF: the same HTML through WeasyPrint (print CSS in the template: A4, running header, page numbers,
  table headers repeated on each page). WeasyPrint may only load `data:` URLs, so a value that
  slipped into the HTML can never make it read a local file or the network.
- CSV: one tidy file. The first column, `table`, names the table a row belongs to; the other columns
  are the union of all tables' columns (a row fills only its table's). Timestamps are ISO 8601 UTC,
  shares are fractions (0.375, not 37.5 %). Decisions by referrer are written long (referrer,
  outcome, decisions) instead of one column per outcome.
"""

from __future__ import annotations

import base64
import io
import math
import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

import matplotlib
import pandas as pd
import weasyprint  # no type information; see the mypy override in pyproject.toml
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from reports.compliance import ComplianceReport
from reports.durations import duration_text, hours_cell

__all__ = [
    "Chart",
    "ReportTable",
    "compliance_csv",
    "compliance_html",
    "compliance_pdf",
    "format_cell",
    "html_to_pdf",
    "iso",
    "report_charts",
    "report_tables",
    "template_environment",
    "time_to_review_figure",
]

TEMPLATES: Final = Path(__file__).with_name("templates")
_ISO: Final = "%Y-%m-%dT%H:%M:%SZ"
_DPI: Final = 150
_CSV_DECIMALS: Final = 6  # 57.6 rather than 57.60000000000001; shares to a millionth
# Greys and hatches, distinguishable in black-and-white print and for colour-blind readers.
_FILLS: Final = ("#d9d9d9", "#6f6f6f", "#ffffff", "#a6a6a6")
_HATCHES: Final = ("", "xx", "..", "//")
_PERCENT_COLUMNS: Final = frozenset({"share", "override_rate"})
_HOURS_COLUMNS: Final = frozenset(
    {"hours_to_review", "median_hours_to_review", "p90_hours_to_review", "hours_to_answer", "median_hours_to_answer"}
)


# --- cells ---------------------------------------------------------------------------------------


def iso(value: Any) -> str:
    """A timestamp as ISO 8601 UTC to the second (`2026-06-01T09:00:00Z`); '–' when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "–"
    if isinstance(value, str):
        return value
    moment = pd.Timestamp(value)
    if moment.tzinfo is None:
        moment = moment.tz_localize(UTC)
    return moment.tz_convert(UTC).strftime(_ISO)


def format_cell(column: str, value: Any) -> str:
    """How one value reads in the HTML/PDF tables (the CSV keeps raw values)."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, pd.Timestamp | datetime):
        return iso(value)
    if column in _PERCENT_COLUMNS:
        return f"{float(value) * 100:.1f} %"
    if column in _HOURS_COLUMNS:
        return hours_cell(float(value))
    if column == "policy_sha256":
        return f"{str(value)[:16]}…"
    return str(value)


# --- tables --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportTable:
    """One table of the report: its data and how it is captioned and headed."""

    key: str  # the `table` value in the CSV
    caption: str
    data: pd.DataFrame
    headers: dict[str, str]  # column -> header text
    empty: str  # said instead of an empty table

    def header_row(self) -> list[str]:
        return [self.headers.get(column, column) for column in self.data.columns]

    def column_classes(self) -> list[str]:
        """CSS class per column: numbers right-aligned, timestamps kept on one line."""
        classes = []
        for column in self.data.columns:
            dtype = self.data[column].dtype
            if isinstance(dtype, pd.DatetimeTZDtype):
                classes.append("ts")
            elif pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
                classes.append("num")
            else:
                classes.append("")
        return classes

    @property
    def keep_together(self) -> bool:
        """Short tables are not split across pages (long ones repeat their header instead)."""
        return len(self.data) <= 12

    def rows(self) -> list[list[str]]:
        columns = list(self.data.columns)
        return [
            [format_cell(column, value) for column, value in zip(columns, row, strict=True)]
            for row in self.data.itertuples(index=False, name=None)
        ]


_HEADERS: Final = {
    "outcome": "Outcome",
    "stage": "Stage",
    "referrer": "Referrer",
    "decisions": "Decisions",
    "share": "Share",
    "policy_id": "Policy",
    "policy_version": "Version",
    "policy_sha256": "Policy SHA-256",
    "reviewer": "Specialist",
    "reviews": "Reviews",
    "accepts": "Accepted",
    "overrides": "Overridden",
    "override_rate": "Override rate",
    "median_hours_to_review": "Median hours to review",
    "reason_code": "Reason",
    "recorded_outcome": "Recorded outcome",
    "decision_id": "Decision",
    "action": "Action",
    "decided_at": "Decided (UTC)",
    "reviewed_at": "Reviewed (UTC)",
    "hours_to_review": "Hours",
    "supersedes": "Supersedes",
    "answered_by": "Answered by",
    "outcome_before": "Outcome before",
    "outcome_after": "Outcome after",
    "requested_at": "Requested (UTC)",
    "answered_at": "Answered (UTC)",
    "hours_to_answer": "Hours to answer",
    "criterion": "Criterion",
    "not_met": "not_met",
    "unknown": "unknown",
    "description": "Data requested",
    "resource_type": "FHIR resource",
    "actor": "Who",
    "patient_ref": "Patient",
    "patient": "Patient",
    "channel": "Channel",
    "purposes": "Purpose",
    "reads": "Reads",
    "first_read": "First read (UTC)",
    "last_read": "Last read (UTC)",
    "purpose": "Purpose",
    "queries": "Queries",
    "last_query": "Last (UTC)",
    "error_code": "Error code",
    "error_type": "Error",
    "rejections": "Rejections",
}


def report_tables(report: ComplianceReport) -> list[ReportTable]:
    """The report's tables in reading order — the same list for HTML, PDF and CSV."""
    specs: Sequence[tuple[str, str, pd.DataFrame, str]] = (
        ("decisions_by_outcome", "Decisions by outcome", report.by_outcome, "No decisions in this period."),
        ("decisions_by_stage", "Decisions by stage", report.by_stage, "No decisions in this period."),
        (
            "decisions_by_referrer",
            "Decisions by referrer (the actor who submitted the evaluation) and outcome",
            report.by_referrer,
            "No decisions in this period.",
        ),
        (
            "decisions_by_policy",
            "Decisions by policy version (a version with two hashes would show as two rows)",
            report.by_policy,
            "No decisions in this period.",
        ),
        (
            "reviews_by_specialist",
            "Reviews by specialist: accepted, overridden, override rate, median hours to first review",
            report.by_specialist,
            "No reviews in this period.",
        ),
        (
            "override_reasons",
            "Override reasons by specialist, with the recorded and the overriding outcome",
            report.override_reasons,
            "No overrides in this period.",
        ),
        (
            "time_to_review",
            "Time to first review, per decision first reviewed in this period",
            report.time_to_review,
            "No first reviews in this period.",
        ),
        (
            "blocking_criteria",
            "Criteria recorded not_met or unknown, by number of decisions",
            report.blocking_criteria,
            "No criterion was not_met or unknown in this period.",
        ),
        (
            "data_requested",
            "Data most often requested to settle an unknown criterion",
            report.data_requested,
            "No data was requested in this period.",
        ),
        (
            "completed_by_questionnaire",
            "Decisions re-made from the referrer's answers (questionnaire): outcome before and after, hours from "
            "the data request to the answer",
            report.answered if report.answered is not None else pd.DataFrame(),
            "No questionnaire was answered in this period.",
        ),
        (
            "decision_reads",
            "Who read which decisions (access records naming a decision)",
            report.readers,
            "Nobody read a decision in this period.",
        ),
        (
            "trail_queries",
            "Queries of the audit trail (exports, logs, reports)",
            report.trail_queries,
            "No queries of the trail in this period.",
        ),
        (
            "rejections",
            "Rejected submissions by error",
            report.rejections,
            "No submission was rejected in this period.",
        ),
    )
    return [ReportTable(key, caption, data, dict(_HEADERS), empty) for key, caption, data, empty in specs]


def _headline_rows(report: ComplianceReport) -> list[tuple[str, str, Any]]:
    """(metric key, label, raw value) of the headline block."""
    h = report.headline
    return [
        ("decisions", "Decisions", h.decisions),
        ("rejections", "Rejected submissions", h.rejections),
        ("reviews", "Reviews", h.reviews),
        ("accepts", "Accepted", h.accepts),
        ("overrides", "Overridden", h.overrides),
        ("override_rate", "Override rate", h.override_rate),
        ("reviewed_decisions", "Decisions reviewed (of this period's)", h.reviewed_decisions),
        ("awaiting_review", "Decisions awaiting review at the period's end", h.awaiting_review),
        ("screening_only", "Screening decisions not promoted to review", h.screening_only),
        ("median_hours_to_review", "Median hours to first review", h.median_hours_to_review),
        ("p90_hours_to_review", "90th percentile hours to first review", h.p90_hours_to_review),
        ("decision_reads", "Reads of decisions", h.decision_reads),
        ("readers", "People who read decisions", h.readers),
        ("trail_queries", "Queries of the audit trail", h.trail_queries),
        ("answered", "Decisions re-made from questionnaire answers", h.answered),
        ("completed_by_questionnaire", "Decisions completed by questionnaire", h.completed_by_questionnaire),
        ("median_hours_to_answer", "Median hours from data request to answer", h.median_hours_to_answer),
    ]


def _verification_rows(report: ComplianceReport) -> list[tuple[str, Any]]:
    v = report.verification
    return [
        ("ok", v.ok),
        ("records", v.records),
        ("checkpoints", v.checkpoints),
        ("head_seq", v.head_seq),
        ("head_hash", v.head_hash),
        ("unsealed_records", v.unsealed),
        ("problems", v.problems),
        ("first_bad_seq", v.first_bad_seq),
        ("first_bad_record_id", v.first_bad_record_id),
        ("first_problem", v.first_problem),
    ]


# --- charts --------------------------------------------------------------------------------------


def _chart_style() -> AbstractContextManager[None]:
    return matplotlib.rc_context(
        {
            "font.family": "DejaVu Sans",
            "font.size": 8.5,
            "hatch.linewidth": 0.7,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight", facecolor="white")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(rows: int) -> tuple[Figure, Axes]:
    # Figure, not pyplot: no global figure registry, nothing to close, safe in a server process.
    figure = Figure(figsize=(7.0, 0.8 + 0.27 * max(rows, 1)), layout="constrained")
    return figure, figure.add_subplot()


def _stacked_bars(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, xlabel: str) -> str:
    with _chart_style():  # also around savefig: hatch line widths are read when drawing
        return _png(_stacked_bars_figure(labels, series, xlabel=xlabel))


def _stacked_bars_figure(
    labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, xlabel: str
) -> Figure:
    """Horizontal stacked bars, first label on top, total written at the end of each bar; with several
    series each segment has its own hatch and, if wide enough, its value written on it."""
    with _chart_style():
        figure, axes = _figure(len(labels))
        positions = list(range(len(labels)))[::-1]
        left = [0.0] * len(labels)
        total = max((sum(values) for values in zip(*(v for _, v in series), strict=True)), default=0.0)
        for index, (name, values) in enumerate(series):
            bars = axes.barh(
                positions,
                values,
                left=left,
                height=0.62,
                label=name,
                color=_FILLS[index % len(_FILLS)],
                hatch=_HATCHES[index % len(_HATCHES)],
                edgecolor="black",
                linewidth=0.6,
            )
            if len(series) > 1:
                for bar, value in zip(bars, values, strict=True):
                    if value and value >= total * 0.06:
                        axes.annotate(
                            f"{value:g}",
                            (bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height() / 2),
                            ha="center",
                            va="center",
                            fontsize=8,
                            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"},
                        )
            left = [a + b for a, b in zip(left, values, strict=True)]
        for position, end in zip(positions, left, strict=True):
            axes.annotate(f" {end:g}", (end, position), ha="left", va="center", fontsize=8, fontweight="bold")
        axes.set_yticks(positions, labels)
        axes.set_xlabel(xlabel)
        axes.set_xlim(0, max(total, 1) * 1.12)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        if len(series) > 1:
            # Above the plot, so it never hides a bar or its total.
            axes.legend(loc="lower left", bbox_to_anchor=(0, 1.01), ncols=len(series), frameon=False, fontsize=8)
        return figure


def _time_to_review_chart(report: ComplianceReport) -> str:
    with _chart_style():
        return _png(time_to_review_figure(report))


def time_to_review_figure(report: ComplianceReport) -> Figure:
    """Each first review as a marker on an hours axis, one row per specialist; median and p90 lines
    labelled in words, the p90 label raised a line when the two would overlap (close values)."""
    data = report.time_to_review
    reviewers = sorted(set(data["reviewer"]))
    markers = ("o", "s", "^", "D", "v", "P", "X")
    with _chart_style():
        figure, axes = _figure(len(reviewers) + 1)
        for index, reviewer in enumerate(reviewers):
            hours = data.loc[data["reviewer"] == reviewer, "hours_to_review"]
            axes.scatter(
                hours,
                [len(reviewers) - index] * len(hours),
                marker=markers[index % len(markers)],
                facecolors="white" if index % 2 else "#555555",
                edgecolors="black",
                s=36,
                zorder=3,
            )
        labels = []
        for value, name, style in (
            (report.headline.median_hours_to_review, "median", "--"),
            (report.headline.p90_hours_to_review, "p90", ":"),
        ):
            if value is not None:
                axes.axvline(value, color="black", linestyle=style, linewidth=1)
                labels.append(
                    axes.annotate(
                        f"{name} {duration_text(value)}",
                        (value, 1.0),
                        xycoords=("data", "axes fraction"),
                        ha="left",
                        va="bottom",
                        fontsize=8,
                        xytext=(3, 2),
                        textcoords="offset points",
                        annotation_clip=False,
                    )
                )
        axes.set_yticks(range(len(reviewers), 0, -1), reviewers)
        axes.set_ylim(0.4, len(reviewers) + 0.6)
        axes.set_xlim(left=0)
        axes.set_xlabel("hours from decision to first review")
        axes.grid(axis="x", linestyle="-", linewidth=0.3, color="#bbbbbb")
        if len(labels) == 2:
            _raise_if_overlapping(figure, labels[0], labels[1])
        return figure


def _raise_if_overlapping(figure: Figure, lower: Any, upper: Any) -> None:
    """Lay the figure out, and move `upper` one text line up when its box meets `lower`'s."""
    renderer = FigureCanvasAgg(figure).get_renderer()  # type: ignore[no-untyped-call]
    figure.draw_without_rendering()
    if lower.get_window_extent(renderer).overlaps(upper.get_window_extent(renderer)):
        upper.set_position((3, 13))


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    src: str  # data: URL
    alt: str  # the chart's numbers in words, for screen readers and for a reader without the image


def _describe(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]) -> str:
    parts = []
    for index, label in enumerate(labels):
        values = ", ".join(f"{name} {values[index]:g}" for name, values in series)
        parts.append(f"{label}: {values}")
    return "; ".join(parts)


def report_charts(report: ComplianceReport) -> dict[str, Chart]:
    """The report's charts (PNG data URLs with their numbers in words), keyed by name; a chart with
    nothing to show is left out."""
    charts: dict[str, Chart] = {}
    outcomes = report.by_outcome
    if not outcomes.empty:
        labels = list(outcomes["outcome"])
        series = [("decisions", [float(v) for v in outcomes["decisions"]])]
        charts["outcomes"] = Chart(
            "Decisions by outcome", _stacked_bars(labels, series, xlabel="decisions"), _describe(labels, series)
        )
    specialists = report.by_specialist
    if not specialists.empty:
        labels = list(specialists["reviewer"])
        series = [
            ("accepted", [float(v) for v in specialists["accepts"]]),
            ("overridden", [float(v) for v in specialists["overrides"]]),
        ]
        charts["specialists"] = Chart(
            "Reviews by specialist: accepted (plain) and overridden (cross-hatched)",
            _stacked_bars(labels, series, xlabel="reviews"),
            _describe(labels, series),
        )
    if not report.time_to_review.empty:
        h = report.headline
        charts["time_to_review"] = Chart(
            "Hours from decision to first review, by specialist (dashed: median, dotted: 90th percentile)",
            _time_to_review_chart(report),
            f"{len(report.time_to_review)} first reviews; median {duration_text(h.median_hours_to_review or 0)}, "
            f"90th percentile {duration_text(h.p90_hours_to_review or 0)}",
        )
    blocking = report.blocking_criteria
    if not blocking.empty:
        labels = list(blocking["criterion"])
        series = [
            ("not_met", [float(v) for v in blocking["not_met"]]),
            ("unknown", [float(v) for v in blocking["unknown"]]),
        ]
        charts["blocking"] = Chart(
            "Criteria not_met (plain) or unknown (cross-hatched), by decisions",
            _stacked_bars(labels, series, xlabel="decisions"),
            _describe(labels, series),
        )
    return charts


# --- documents -----------------------------------------------------------------------------------


def template_environment() -> Environment:
    """The Jinja2 environment of every report template (autoescaped, undefined names fail)."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True
    )
    environment.filters["iso"] = iso
    environment.filters["as_date"] = date.fromisoformat
    environment.filters["breakable"] = breakable
    return environment


_BREAK_AFTER: Final = re.compile(r"([_@/])")


def breakable(text: object) -> Markup:
    """Escaped text that may wrap after `_`, `@` and `/` (`psychological_<wbr>evaluation`,
    `app@<wbr>https:/<wbr>/<wbr>ehr…`) in narrow columns, so that names wrap there rather than mid-word,
    without putting an invisible character into what a reader copies."""
    return Markup(_BREAK_AFTER.sub(r"\1<wbr>", str(escape(str(text)))))


def _now() -> str:
    return datetime.now(UTC).strftime(_ISO)


def compliance_html(report: ComplianceReport, *, generated_at: str | None = None, generated_by: str = "") -> str:
    """The report as one self-contained HTML page (charts inline)."""
    return (
        template_environment()
        .get_template("compliance.html.j2")
        .render(
            report=report,
            headline=[(label, format_cell(key, value)) for key, label, value in _headline_rows(report)],
            tables={table.key: table for table in report_tables(report)},
            charts=report_charts(report),
            generated_at=generated_at or _now(),
            generated_by=generated_by,
        )
    )


_FETCHER: Final = weasyprint.URLFetcher(allowed_protocols=["data"])


def html_to_pdf(html: str) -> bytes:
    """Render report HTML to PDF with WeasyPrint (print media, tagged PDF for screen readers)."""
    pdf: bytes = weasyprint.HTML(string=html, url_fetcher=_FETCHER, media_type="print").write_pdf(pdf_tags=True)
    return pdf


def compliance_pdf(report: ComplianceReport, *, generated_at: str | None = None, generated_by: str = "") -> bytes:
    return html_to_pdf(compliance_html(report, generated_at=generated_at, generated_by=generated_by))


def _csv_frame(table: ReportTable) -> pd.DataFrame:
    data = table.data
    if table.key == "decisions_by_referrer":
        outcomes = [c for c in data.columns if c not in {"referrer", "decisions"}]
        data = data.drop(columns="decisions").melt(
            id_vars=["referrer"], value_vars=outcomes, var_name="outcome", value_name="decisions"
        )
        data = data.astype({"decisions": "int64"}).sort_values("referrer", kind="stable")
    data = data.copy()
    for column in data.columns:
        dtype = data[column].dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            data[column] = data[column].dt.strftime(_ISO)
        elif pd.api.types.is_integer_dtype(dtype):
            data[column] = data[column].astype("Int64")  # stays integer where other tables leave it empty
        elif pd.api.types.is_float_dtype(dtype):
            data[column] = data[column].round(_CSV_DECIMALS)
    data.insert(0, "table", table.key)
    return data


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: object) -> object:
    """A text cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a leading
    apostrophe; numbers written as text are left as they are (issue 12: user names and reason codes
    reach this CSV)."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every text cell made inert for spreadsheets (see `_csv_cell`)."""
    safe = frame.copy()
    for column in safe.columns:
        dtype = safe[column].dtype
        if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):  # pandas 3: `str`
            safe[column] = safe[column].map(_csv_cell)
    return safe


def compliance_csv(report: ComplianceReport) -> str:
    """The report as one tidy CSV (see the module docstring for its shape); text cells are escaped
    against spreadsheet formula injection."""
    metric = _metric_frame(
        [
            ("period", "start", report.start.isoformat()),
            ("period", "end", report.end.isoformat()),
            *[("headline", key, value) for key, _, value in _headline_rows(report)],
            *[("verification", key, value) for key, value in _verification_rows(report)],
        ]
    )
    frames = [metric, *(_csv_frame(table) for table in report_tables(report))]
    combined = pd.concat([frame for frame in frames if not frame.empty], ignore_index=True, sort=False)
    return csv_safe(combined).to_csv(index=False, lineterminator="\n")


def _metric_text(value: Any) -> str:
    if value is None:
        return ""
    return repr(round(value, _CSV_DECIMALS)) if isinstance(value, float) else str(value)


def _metric_frame(rows: list[tuple[str, str, Any]]) -> pd.DataFrame:
    # Values of mixed types share one column, so they are written as text: 0.375 and True read back as
    # written, and a missing value (no reviews, no bad record) is an empty field.
    return pd.DataFrame(
        {
            "table": [table for table, _, _ in rows],
            "metric": [key for _, key, _ in rows],
            "value": [_metric_text(value) for _, _, value in rows],
        }
    )
