"""The specialist's worklist: recorded decisions, newest first, filtered, with counts per outcome.

Read straight from the audit trail (decision and review records), so the queue can never disagree
with the trail: a decision leaves "awaiting review" exactly when a review record names it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from sqlalchemy.orm import Session

from eligibility.audit import store
from eligibility.audit.models import KIND_DECISION, KIND_REVIEW
from eligibility.decision import OUTCOMES

__all__ = ["REVIEW_STATES", "STAGES", "Filters", "Row", "Worklist", "load_worklist"]

STAGES = ("trial", "implant")
ReviewState = Literal["awaiting", "reviewed", "all"]
REVIEW_STATES: tuple[ReviewState, ...] = ("awaiting", "reviewed", "all")


@dataclass(frozen=True, slots=True)
class Filters:
    outcome: str | None = None
    stage: str | None = None
    referrer: str | None = None
    start: date | None = None  # on the day the trail recorded the decision (UTC), like the compliance report
    end: date | None = None
    state: ReviewState = "awaiting"

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.outcome, self.stage, self.referrer, self.start, self.end))


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


@dataclass(slots=True)
class Worklist:
    rows: list[Row] = field(default_factory=list)
    outcome_counts: list[tuple[str, int]] = field(default_factory=list)  # every outcome, before the outcome filter
    referrers: list[str] = field(default_factory=list)  # for the referrer filter's choices
    total: int = 0  # visible decisions before any filter


def _review_text(payload: dict[str, object]) -> str:
    if payload.get("action") == "override":
        return f"override → {payload.get('outcome')}"
    return "accept"


def _matches(row: Row, filters: Filters, *, with_outcome: bool) -> bool:
    day = date.fromisoformat(row.recorded_at[:10])
    if filters.state == "awaiting" and row.reviewed_as is not None:
        return False
    if filters.state == "reviewed" and row.reviewed_as is None:
        return False
    return not (
        (with_outcome and filters.outcome is not None and row.outcome != filters.outcome)
        or (filters.stage is not None and row.stage != filters.stage)
        or (filters.referrer is not None and row.referrer != filters.referrer)
        or (filters.start is not None and day < filters.start)
        or (filters.end is not None and day > filters.end)
    )


def load_worklist(session: Session, filters: Filters, *, only_referrer: str | None = None) -> Worklist:
    """The decisions `filters` select; `only_referrer` limits them to one submitter's (a referrer's view)."""
    latest_review: dict[str, str] = {}
    decisions: list[store.StoredRecord] = []
    for record in store.iter_records(session, kinds=[KIND_DECISION, KIND_REVIEW]):
        if record.decision_id is None:
            continue
        if record.kind == KIND_REVIEW:
            latest_review[record.decision_id] = _review_text(record.data())
        elif only_referrer is None or record.actor == only_referrer:
            decisions.append(record)
    all_rows = []
    for record in decisions:
        decision = record.data()["decision"]
        all_rows.append(
            Row(
                decision_id=str(record.decision_id),
                recorded_at=record.created_at,
                referrer=record.actor,
                patient_ref=record.patient_ref or "–",
                outcome=decision["outcome"],
                stage=decision["stage"],
                label_status=decision["label_status"],
                reviewed_as=latest_review.get(str(record.decision_id)),
            )
        )
    all_rows.reverse()  # newest first: chain order is recording order
    # The counts ignore the outcome filter so that they tell the user what each choice would show.
    counts = Counter(row.outcome for row in all_rows if _matches(row, filters, with_outcome=False))
    return Worklist(
        rows=[row for row in all_rows if _matches(row, filters, with_outcome=True)],
        outcome_counts=[(outcome, counts.get(outcome, 0)) for outcome in OUTCOMES],
        referrers=sorted({row.referrer for row in all_rows}),
        total=len(all_rows),
    )
