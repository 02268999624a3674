"""The screening list: batch runs (who, when, counts per outcome), each run's decisions paged, and a CSV.

Screening results are not the review queue's business: a run of 200 patients put 213 decisions
"awaiting review" there (issue 11). They are listed here by run, with the candidates named (the
patient header from the stored input), and a screener promotes the ones a specialist should see
(eligibility/audit/promotion.py). Every list is a query over the worklist index, paged in the database.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eligibility.audit.worklist_index import TABLE
from eligibility.decision import OUTCOMES
from eligibility.web.worklist import PAGE_SIZE, Filters, Page, Row, distinct_values, page_of, row_of, select_page

__all__ = ["CSV_COLUMNS", "Run", "RunPage", "Runs", "load_run", "load_runs", "run_csv_lines", "run_exists"]

_C = TABLE.c
RUN_PAGE_SIZE: Final = 20


@dataclass(frozen=True, slots=True)
class Run:
    run_id: str
    started_at: str  # the first chunk's recording time
    finished_at: str  # the last chunk's
    actor: str
    decisions: int
    promoted: int
    outcome_counts: list[tuple[str, int]]


@dataclass(slots=True)
class Runs:
    runs: list[Run] = field(default_factory=list)
    page: Page = field(default_factory=lambda: Page(1, RUN_PAGE_SIZE, 0))


@dataclass(slots=True)
class RunPage:
    run: Run
    rows: list[Row]
    page: Page
    outcome_counts: list[tuple[str, int]]  # under the patient filter, before the outcome filter


def _newest_runs(session: Session, *, limit: int, offset: int) -> list[tuple[str, int, int]]:
    """(run, first seq, last seq), newest run first: the runs by a skip scan over (run_id, seq), each
    run's first and last seq by two index probes, so no run's rows are read."""
    runs = distinct_values("runs", _C.run_id, [])
    run_id = runs.c.value
    first_seq = select(func.min(_C.seq)).where(_C.run_id == run_id).scalar_subquery()
    last_seq = select(func.max(_C.seq)).where(_C.run_id == run_id).scalar_subquery()
    bounds = (
        select(run_id, first_seq, last_seq)
        .where(run_id.is_not(None))
        .order_by(last_seq.desc())
        .limit(limit)
        .offset(offset)
    )
    return [(str(run), int(first), int(last)) for run, first, last in session.execute(bounds)]


def _one_run(session: Session, run_id: str) -> list[tuple[str, int, int]]:
    first, last = session.execute(select(func.min(_C.seq), func.max(_C.seq)).where(_C.run_id == run_id)).one()
    return [] if first is None else [(run_id, int(first), int(last))]


def _summaries(
    session: Session,
    found: list[tuple[str, int, int]],
    *,
    counted: dict[str, dict[str, int]] | None = None,  # the counts per outcome, when the caller has them
) -> list[Run]:
    """The runs' summaries, from indexes rather than the runs' rows: the counts per outcome from
    (run_id, outcome, seq), the promoted count from (run_id, promoted_at), when and who from the
    first and last rows, looked up by seq."""
    if not found:
        return []
    ids = [run_id for run_id, _, _ in found]
    by_outcome: dict[str, dict[str, int]] = {run_id: {} for run_id in ids}
    if counted is not None:
        by_outcome.update(counted)
    else:
        grouped = select(_C.run_id, _C.outcome, func.count()).where(_C.run_id.in_(ids))
        for run_id, outcome, n in session.execute(grouped.group_by(_C.run_id, _C.outcome)):
            by_outcome[run_id][outcome] = int(n)
    promoted_rows = (
        select(_C.run_id, func.count())
        .where(_C.run_id.in_(ids), _C.promoted_at.is_not(None))
        .group_by(_C.run_id)
    )
    promoted: dict[str, int] = {str(run_id): int(n) for run_id, n in session.execute(promoted_rows)}
    ends = select(_C.seq, _C.recorded_at, _C.actor).where(_C.seq.in_([s for _, a, b in found for s in (a, b)]))
    at = {int(seq): (str(recorded_at), str(actor)) for seq, recorded_at, actor in session.execute(ends)}
    return [
        Run(
            run_id=run_id,
            started_at=at[first][0],
            finished_at=at[last][0],
            actor=at[first][1],
            decisions=sum(by_outcome[run_id].values()),
            promoted=promoted.get(run_id, 0),
            outcome_counts=[(outcome, by_outcome[run_id].get(outcome, 0)) for outcome in OUTCOMES],
        )
        for run_id, first, last in found
    ]


def run_exists(session: Session, run_id: str) -> bool:
    return session.execute(select(_C.seq).where(_C.run_id == run_id).limit(1)).first() is not None


def load_runs(session: Session, *, page: int = 1, size: int = RUN_PAGE_SIZE) -> Runs:
    """Page `page` of the screening runs, newest first."""
    walk = distinct_values("runs", _C.run_id, [])
    total = int(session.execute(select(func.count()).select_from(walk).where(walk.c.value.is_not(None))).scalar_one())
    shown = page_of(page, total, size)
    return Runs(runs=_summaries(session, _newest_runs(session, limit=shown.size, offset=shown.offset)), page=shown)


def load_run(
    session: Session, run_id: str, filters: Filters, *, page: int = 1, size: int = PAGE_SIZE
) -> RunPage | None:
    """Page `page` of one run's decisions that `filters` select (review state ignored); None: no such run."""
    filters = Filters(outcome=filters.outcome, stage=filters.stage, patient=filters.patient, state="all")
    selection = select_page(session, [_C.run_id == run_id], filters, page=page, size=size)
    # Without a patient or stage filter the page's counts are the run's: not counted a second time.
    whole_run = filters.patient is None and filters.stage is None
    counted = {run_id: dict(selection.outcome_counts)} if whole_run else None
    found = _summaries(session, _one_run(session, run_id), counted=counted)
    if not found:
        return None
    return RunPage(run=found[0], rows=selection.rows, page=selection.page, outcome_counts=selection.outcome_counts)


# --- CSV -----------------------------------------------------------------------------------------

CSV_COLUMNS: Final = (
    "decision_id", "recorded_at", "patient_ref", "patient_name", "mrn", "birth_date", "sex",
    "outcome", "stage", "label_status", "promoted_by", "promoted_at", "review",
)  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: str | None) -> str:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe (as reports/render.py's
    CSV does); a name or MRN comes from the submitted record, so it is untrusted text."""
    text = value or ""
    if text.startswith(_FORMULA_START):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()


def run_csv_lines(session: Session, run_id: str, *, batch: int = 2000) -> Iterator[str]:
    """Every decision of the run as CSV lines (header first), oldest first, streamed from the index."""
    yield _csv_line(list(CSV_COLUMNS))
    statement = select(TABLE).where(_C.run_id == run_id).order_by(_C.seq)
    for values in session.execute(statement, execution_options={"yield_per": batch}):
        row = row_of(values)
        header = row.patient
        cells: list[Any] = [
            row.decision_id, row.recorded_at, row.patient_ref,
            header.name if header else None, header.mrn if header else None,
            header.birth_date if header else None, header.sex if header else None,
            row.outcome, row.stage, row.label_status, row.promoted_by, row.promoted_at, row.reviewed_as,
        ]  # fmt: skip
        yield _csv_line([_inert(cell) for cell in cells])
