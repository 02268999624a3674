"""The worklist index: one row per recorded decision, so that every list pages in the database.

Derived, never a source of truth: each row is computed from the decision record, the latest review
record, the promotion record and the stored input (the patient header), and `worklist_index.rebuild`
can drop and recompute all of it. It is filled in the same transaction as the append, so it cannot
disagree with the trail it was committed with. It is not part of the hash chain and not covered by
the append-only triggers: a review updates its decision's row.

The patient's name and MRN live here (for display and search), never in the chained metadata; the
table is read only through the web lists, which apply the same role checks as the case page.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import BigInteger, Boolean, Column, Index, Text
from sqlmodel import Field, SQLModel

from eligibility.audit.models import SEQ_TYPE

__all__ = ["BATCH_CHANNEL", "MAX_HEADER_CHARS", "WorklistEntry"]

BATCH_CHANNEL: Final = "batch"  # decisions of a screening run; every other channel is point of care
MAX_HEADER_CHARS: Final = 200  # a name or MRN longer than this is cut for the list (the case page shows it whole)


class WorklistEntry(SQLModel, table=True):
    """A decision as the lists show it. `seq` is the decision record's sequence number."""

    __tablename__ = "audit_worklist"
    __table_args__ = (
        Index("ix_audit_worklist_decision_id", "decision_id"),
        # The review queue, newest first: by review state, and by outcome within it.
        Index("ix_audit_worklist_queue", "queued", "reviewed", "seq"),
        Index("ix_audit_worklist_queue_outcome", "queued", "reviewed", "outcome", "seq"),
        Index("ix_audit_worklist_queue_all", "queued", "seq"),
        # A screening run's decisions, newest first, and by outcome (also its counts).
        Index("ix_audit_worklist_run", "run_id", "outcome", "seq"),
        Index("ix_audit_worklist_run_seq", "run_id", "seq"),
        Index("ix_audit_worklist_run_promoted", "run_id", "promoted_at"),  # a run's promoted count
        # A referrer's own decisions, and the referrer choices (a skip scan over the names).
        Index("ix_audit_worklist_actor", "queued", "actor", "seq"),
    )

    seq: int = Field(sa_column=Column(SEQ_TYPE, primary_key=True, autoincrement=False))
    decision_id: str = Field(max_length=64)
    recorded_at: str = Field(max_length=27)
    actor: str = Field(max_length=200)
    channel: str = Field(max_length=32)
    run_id: str | None = Field(default=None, max_length=64)  # the screening run; None at the point of care
    patient_ref: str | None = Field(default=None, max_length=200)
    patient_name: str | None = Field(default=None, max_length=MAX_HEADER_CHARS)
    patient_mrn: str | None = Field(default=None, max_length=MAX_HEADER_CHARS)
    birth_date: str | None = Field(default=None, max_length=32)
    sex: str | None = Field(default=None, max_length=32)
    search_key: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # name and MRN, casefolded
    outcome: str = Field(max_length=32)
    stage: str = Field(max_length=16)
    label_status: str = Field(max_length=32)
    queued: bool = Field(sa_column=Column(Boolean, nullable=False))  # in the review queue
    promoted_at: str | None = Field(default=None, max_length=27)
    promoted_by: str | None = Field(default=None, max_length=200)
    reviewed: bool = Field(sa_column=Column(Boolean, nullable=False))
    review_action: str | None = Field(default=None, max_length=16)  # the latest review's
    review_outcome: str | None = Field(default=None, max_length=32)
    reviewed_at: str | None = Field(default=None, max_length=27)
    reviewed_by: str | None = Field(default=None, max_length=200)
    review_seq: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # made from a referrer's answers to an earlier decision's questions (the worklist's "answered, re-decided")
    answered: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
