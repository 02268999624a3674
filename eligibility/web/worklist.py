"""The specialist's review queue: point-of-care decisions and promoted screening candidates, paged.

Read from the worklist index (eligibility/audit/worklist_table.py), which the append keeps in the same
transaction as the trail: a decision leaves "awaiting review" exactly when a review record names it.
Every filter is a WHERE clause and every page a LIMIT/OFFSET over an index, newest first, so a page
costs the same whether the trail holds a hundred decisions or a 100,000-patient screening run
(benchmarks/worklist_bench.py). The screening runs' own list is in screening.py.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, false, func, select, true
from sqlalchemy.orm import Session

from eligibility.api.auth import Principal
from eligibility.audit.worklist_index import TABLE
from eligibility.decision import OUTCOMES
from fhir_adapters.patient_header import PatientHeader

__all__ = [
    "PAGE_SIZE",
    "REVIEW_STATES",
    "STAGES",
    "Filters",
    "Page",
    "Row",
    "Selection",
    "Worklist",
    "conditions",
    "count",
    "distinct_values",
    "load_worklist",
    "outcome_counts",
    "page_of",
    "page_rows",
    "queue_referrers",
    "row_of",
    "select_page",
]

PAGE_SIZE = 50
STAGES = ("trial", "implant")
ReviewState = Literal["awaiting", "reviewed", "all"]
REVIEW_STATES: tuple[ReviewState, ...] = ("awaiting", "reviewed", "all")
_C = TABLE.c


@dataclass(frozen=True, slots=True)
class Filters:
    outcome: str | None = None
    stage: str | None = None
    referrer: str | None = None
    start: date | None = None  # on the day the trail recorded the decision (UTC), like the compliance report
    end: date | None = None
    state: ReviewState = "awaiting"
    patient: str | None = None  # part of the patient's name or MRN, any case

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.outcome, self.stage, self.referrer, self.start, self.end, self.patient))


@dataclass(frozen=True, slots=True)
class Page:
    number: int  # from 1
    size: int
    total: int  # rows that match, over all pages

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def first_row(self) -> int:
        return self.offset + 1 if self.total else 0

    @property
    def last_row(self) -> int:
        return min(self.offset + self.size, self.total)


def page_of(number: int, total: int, size: int = PAGE_SIZE) -> Page:
    """Page `number`, moved onto the last page when the list has fewer (a bookmark of page 9 of a list
    that has shrunk shows its last page, not an empty one)."""
    last = max(1, -(-total // size))
    return Page(number=min(max(1, number), last), size=size, total=total)


@dataclass(frozen=True, slots=True)
class Row:
    decision_id: str
    recorded_at: str
    referrer: str
    patient_ref: str
    outcome: str
    stage: str
    label_status: str
    reviewed_as: str | None  # the latest review: "accept" or "override → OUTCOME"
    patient: PatientHeader | None = None  # from the stored input, for people (never in the chained metadata)
    run_id: str | None = None  # the screening run, for a screening decision
    promoted_by: str | None = None
    promoted_at: str | None = None
    answered: bool = False  # made from a referrer's answers to an earlier decision's questions ("answered, re-decided")


@dataclass(slots=True)
class Worklist:
    rows: list[Row] = field(default_factory=list)
    outcome_counts: list[tuple[str, int]] = field(default_factory=list)  # every outcome, before the outcome filter
    referrers: list[str] = field(default_factory=list)  # for the referrer filter's choices
    empty: bool = True  # the queue holds no decision at all (before any filter)
    page: Page = field(default_factory=lambda: Page(1, PAGE_SIZE, 0))


def row_of(values: Any) -> Row:
    header_fields = (values.patient_name, values.patient_mrn, values.birth_date, values.sex)
    reviewed_as = None
    if values.reviewed:
        reviewed_as = f"override → {values.review_outcome}" if values.review_action == "override" else "accept"
    return Row(
        decision_id=values.decision_id,
        recorded_at=values.recorded_at,
        referrer=values.actor,
        patient_ref=values.patient_ref or "–",
        outcome=values.outcome,
        stage=values.stage,
        label_status=values.label_status,
        reviewed_as=reviewed_as,
        patient=PatientHeader(*header_fields) if any(header_fields) else None,
        run_id=values.run_id,
        promoted_by=values.promoted_by,
        promoted_at=values.promoted_at,
        answered=bool(values.answered),
    )


def conditions(filters: Filters, *, with_outcome: bool = True) -> list[ColumnElement[bool]]:
    """The WHERE clauses of `filters` (review state included)."""
    where: list[ColumnElement[bool]] = []
    if filters.state != "all":
        where.append(_C.reviewed == (true() if filters.state == "reviewed" else false()))  # `=`: indexable
    if with_outcome and filters.outcome is not None:
        where.append(_C.outcome == filters.outcome)
    if filters.stage is not None:
        where.append(_C.stage == filters.stage)
    if filters.referrer is not None:
        where.append(_C.actor == filters.referrer)
    if filters.start is not None:
        where.append(_C.recorded_at >= filters.start.isoformat())
    if filters.end is not None:  # stored timestamps compare as text: before the next day's first instant
        where.append(_C.recorded_at < (filters.end + timedelta(days=1)).isoformat())
    if filters.patient is not None:
        where.append(_C.search_key.contains(filters.patient.casefold().strip(), autoescape=True))
    return where


def _queue(only_referrer: Principal | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [_C.queued == true()]
    if only_referrer is not None:  # as Principal.submitted: the account's own, since it was created
        where += [_C.actor == only_referrer.name, _C.recorded_at >= only_referrer.since]
    return where


def count(session: Session, where: list[ColumnElement[bool]]) -> int:
    return int(session.execute(select(func.count()).select_from(TABLE).where(*where)).scalar_one())


def outcome_counts(session: Session, where: list[ColumnElement[bool]]) -> list[tuple[str, int]]:
    grouped = select(_C.outcome, func.count()).where(*where).group_by(_C.outcome)
    found: dict[str, int] = {outcome: int(n) for outcome, n in session.execute(grouped)}
    return [(outcome, found.get(outcome, 0)) for outcome in OUTCOMES]


def page_rows(session: Session, where: list[ColumnElement[bool]], page: Page) -> list[Row]:
    # A "deferred join": the page's seqs are found in an index that holds every filtered column and seq,
    # so the rows an OFFSET skips are never read from the table; only the page's 50 rows are.
    seqs = select(_C.seq).where(*where).order_by(_C.seq.desc()).limit(page.size).offset(page.offset)
    statement: Select[Any] = select(TABLE).where(_C.seq.in_(seqs.scalar_subquery())).order_by(_C.seq.desc())
    return [row_of(values) for values in session.execute(statement)]


# A patient search is a substring match, which no B-tree index serves: each query over it reads every
# row in scope. It usually matches few rows, so they are found once (seq and outcome) and the counts
# and the page are taken from them; only a search matching more than this falls back to SQL aggregates.
_FEW_MATCHES = 2000


@dataclass(frozen=True, slots=True)
class Selection:
    rows: list[Row]
    page: Page
    outcome_counts: list[tuple[str, int]]  # before the outcome filter


def select_page(
    session: Session, scope: list[ColumnElement[bool]], filters: Filters, *, page: int, size: int
) -> Selection:
    """Page `page` of the rows in `scope` that `filters` select, with the counts per outcome.

    The number of matching rows is read off the counts per outcome (they differ from it only by the
    outcome filter), so a page costs two queries: the counts and the page's rows."""
    unfiltered = scope + conditions(filters, with_outcome=False)
    if filters.patient is not None:
        hits = session.execute(
            select(_C.seq, _C.outcome).where(*unfiltered).order_by(_C.seq.desc()).limit(_FEW_MATCHES + 1)
        ).all()
        if len(hits) <= _FEW_MATCHES:
            per_outcome = Counter(str(outcome) for _, outcome in hits)
            chosen = [int(seq) for seq, outcome in hits if filters.outcome in (None, outcome)]
            shown = page_of(page, len(chosen), size)
            wanted = chosen[shown.offset : shown.offset + shown.size]
            statement = select(TABLE).where(_C.seq.in_(wanted)).order_by(_C.seq.desc())
            rows = [row_of(values) for values in session.execute(statement)] if wanted else []
            return Selection(rows, shown, [(outcome, per_outcome.get(outcome, 0)) for outcome in OUTCOMES])
    counts = outcome_counts(session, unfiltered)
    matching = dict(counts).get(filters.outcome, 0) if filters.outcome else sum(n for _, n in counts)
    shown = page_of(page, matching, size)
    return Selection(page_rows(session, scope + conditions(filters), shown), shown, counts)


def distinct_values(name: str, column: Any, where: list[ColumnElement[bool]]) -> Any:
    """A CTE of the distinct non-null values of `column` under `where`, by a "skip scan": one index
    probe per value (the next value above the last), instead of reading every row as SELECT DISTINCT
    would (100,000 rows for a handful of names). Needs an index whose leading columns are `where`'s
    equalities and then `column`."""
    first = select(func.min(column)).where(*where).scalar_subquery()
    walk = select(first.label("value")).cte(name, recursive=True)
    following = select(func.min(column)).where(*where, column > walk.c.value).scalar_subquery()
    return walk.union_all(select(following).where(walk.c.value.is_not(None)))


def queue_referrers(session: Session) -> list[str]:
    """Who submitted decisions in the review queue, for the filter's choices (over (queued, actor))."""
    walk = distinct_values("referrers", _C.actor, [_C.queued == true()])
    found = session.execute(select(walk.c.value).where(walk.c.value.is_not(None))).scalars().all()
    return [str(actor) for actor in found]


def load_worklist(
    session: Session, filters: Filters, *, page: int = 1, only_referrer: Principal | None = None, size: int = PAGE_SIZE
) -> Worklist:
    """Page `page` of the review queue that `filters` select; `only_referrer` limits it to one
    submitter's decisions (a referrer's view)."""
    scope = _queue(only_referrer)
    selection = select_page(session, scope, filters, page=page, size=size)
    # Only when nothing matches does the page need to know whether the queue is empty altogether.
    empty = selection.page.total == 0 and session.execute(select(_C.seq).where(*scope).limit(1)).first() is None
    return Worklist(
        rows=selection.rows,
        # The counts ignore the outcome filter so that they tell the user what each choice would show.
        outcome_counts=selection.outcome_counts,
        referrers=[only_referrer.name] if only_referrer is not None else queue_referrers(session),
        empty=empty,
        page=selection.page,
    )
