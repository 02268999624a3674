"""The audit tables. All three are append-only: database triggers refuse UPDATE and DELETE.

The schema itself is created by the Alembic migrations in `migrations/`; these models describe it
for queries and inserts, and a test checks that the two agree.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

__all__ = [
    "KINDS",
    "KIND_ACCESS",
    "KIND_DECISION",
    "KIND_PROMOTION",
    "KIND_REJECTION",
    "KIND_REVIEW",
    "AuditCheckpoint",
    "AuditInput",
    "AuditRecord",
]

KIND_DECISION: Final = "decision"  # an evaluation that released a decision
KIND_REJECTION: Final = "rejection"  # a submission refused (bad input, unknown policy, engine failure)
KIND_REVIEW: Final = "review"  # a clinician accepted or overrode a decision
KIND_ACCESS: Final = "access"  # someone read a decision, or queried / exported the trail
KIND_PROMOTION: Final = "promotion"  # a screener put a screening decision in the review queue
KINDS: Final = (KIND_DECISION, KIND_REJECTION, KIND_REVIEW, KIND_ACCESS, KIND_PROMOTION)

# 64-bit sequence numbers, except on SQLite where only INTEGER PRIMARY KEY aliases the rowid
# (and SQLite integers are 64-bit anyway).
SEQ_TYPE: Final = BigInteger().with_variant(Integer(), "sqlite")


class AuditRecord(SQLModel, table=True):
    """One event of the trail. `seq` is assigned by the appender under the chain lock."""

    __tablename__ = "audit_record"
    __table_args__ = (
        UniqueConstraint("record_id", name="uq_audit_record_record_id"),
        ForeignKeyConstraint(["input_sha256"], ["audit_input.sha256"], name="fk_audit_record_input"),
        Index("ix_audit_record_created_at", "created_at"),
        Index("ix_audit_record_decision_id", "decision_id"),
        Index("ix_audit_record_kind_created_at", "kind", "created_at"),
    )

    seq: int = Field(sa_column=Column(SEQ_TYPE, primary_key=True, autoincrement=False))
    record_id: str = Field(max_length=36)
    kind: str = Field(max_length=16)
    created_at: str = Field(max_length=27)
    actor: str = Field(max_length=200)
    channel: str = Field(max_length=32)
    decision_id: str | None = Field(default=None, max_length=64)
    patient_ref: str | None = Field(default=None, max_length=200)
    input_sha256: str | None = Field(default=None, max_length=64)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    content_sha256: str = Field(max_length=64)
    prev_hash: str = Field(max_length=64)
    chain_hash: str = Field(max_length=64)


class AuditInput(SQLModel, table=True):
    """A submitted input, stored once per distinct content (keyed by its SHA-256)."""

    __tablename__ = "audit_input"

    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class AuditCheckpoint(SQLModel, table=True):
    """An HMAC-signed statement "the chain had head `chain_hash` at `record_seq`".

    Checkpoints link to each other through `prev_signature`, so removing one is visible too.
    """

    __tablename__ = "audit_checkpoint"

    id: int = Field(sa_column=Column(SEQ_TYPE, primary_key=True, autoincrement=False))
    record_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    chain_hash: str = Field(max_length=64)
    created_at: str = Field(max_length=27)
    key_id: str = Field(max_length=16)
    prev_signature: str = Field(max_length=64)
    signature: str = Field(max_length=64)
