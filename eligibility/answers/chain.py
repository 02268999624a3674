"""Where a decision stands in the questionnaire chain, for the case page and the evidence pack.

A decision made from a referrer's answers names the one it supersedes (its audit record's `answers`); the
page shows what changed per criterion (the what-if comparison, eligibility/audit/whatif.py). A decision whose
questions were answered names its successor (the "answered" access record).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from eligibility.answers.flow import successor_of
from eligibility.audit import store
from eligibility.audit.whatif import CriterionChange, compare_criteria
from eligibility.decision import Decision

__all__ = ["Supersession", "supersession"]


@dataclass(frozen=True, slots=True)
class Supersession:
    """Where a decision stands in the questionnaire chain."""

    provenance: dict[str, Any] | None  # this decision was made from answers: who, when, which response
    previous: Decision | None  # the decision it supersedes
    changes: list[CriterionChange]  # per criterion, previous -> this
    successor: str | None  # the decision made from answers to this one's questions


def supersession(session: Session, record: store.StoredRecord, decision: Decision) -> Supersession:
    provenance = record.data().get("answers")
    previous = None
    changes: list[CriterionChange] = []
    if isinstance(provenance, dict):
        _, previous, _ = store.load_decision(session, str(provenance["supersedes"]))
        changes = compare_criteria(previous, decision)
    return Supersession(
        provenance if isinstance(provenance, dict) else None,
        previous,
        changes,
        successor_of(session, decision.decision_id),
    )
