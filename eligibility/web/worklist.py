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

from eligibility.api.auth import Principal
from eligibility.audit import store
from eligibility.audit.models import KIND_DECISION, KIND_REVIEW
from eligibility.decision import OUTCOMES
from eligibility.errors import AuditError
from fhir_adapters.patient_header import PatientHeader, patient_header

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
    patient: str | None = None  # part of the patient's name or MRN, any case

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.outcome, self.stage, self.referrer, self.start, self.end, self.patient))


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
    patient: PatientHeader | None = None  # from the stored input, for people (never stored apart)
    answered: bool = False  # made from a referrer's answers to an earlier decision's questions ("answered, re-decided")


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
        or (filters.patient is not None and not _patient_matches(row.patient, filters.patient))
    )


def _patient_matches(header: PatientHeader | None, wanted: str) -> bool:
    if header is None:
        return False
    needle = wanted.casefold().strip()
    return any(needle in (field or "").casefold() for field in (header.name, header.mrn))


# Headers by input SHA-256: an input never changes, so the cache is always right; bounded so that a long
# trail does not hold every patient in memory.
_HEADERS: dict[str, PatientHeader | None] = {}
_HEADERS_MAX = 50_000


def _header(session: Session, input_sha256: str | None) -> PatientHeader | None:
    if input_sha256 is None:
        return None
    if input_sha256 not in _HEADERS:
        if len(_HEADERS) >= _HEADERS_MAX:
            _HEADERS.clear()
        try:
            body = store.get_input(session, input_sha256)
        except AuditError:
            return None  # a missing or altered input: the case page and `audit verify` say so; the list goes on
        _HEADERS[input_sha256] = patient_header(body)
    return _HEADERS[input_sha256]


def load_worklist(session: Session, filters: Filters, *, only_referrer: Principal | None = None) -> Worklist:
    """The decisions `filters` select; `only_referrer` limits them to one submitter's (a referrer's view)."""
    latest_review: dict[str, str] = {}
    decisions: list[store.StoredRecord] = []
    for record in store.iter_records(session, kinds=[KIND_DECISION, KIND_REVIEW]):
        if record.decision_id is None:
            continue
        if record.kind == KIND_REVIEW:
            latest_review[record.decision_id] = _review_text(record.data())
        elif only_referrer is None or only_referrer.submitted(record.actor, record.created_at):
            decisions.append(record)
    all_rows = []
    for record in decisions:
        data = record.data()
        decision = data["decision"]
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
                patient=_header(session, record.input_sha256),
                answered="answers" in data,
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
