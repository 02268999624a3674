"""Recomputing the worklist index from the trail (`audit reindex`), and checking it (`audit verify`).

The index is derived: whatever happened to it (a restore from an older backup of the table, a bug,
a hand edit), the trail says what it must hold. `expected_rows` walks the decision, review and
promotion records in chain order with the same derivation functions as the append path
(worklist_index.py), and reads each patient header from the stored input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.orm import Session

from eligibility.audit import store
from eligibility.audit.database import lock_chain
from eligibility.audit.models import KIND_DECISION, KIND_PROMOTION, KIND_REVIEW
from eligibility.audit.worklist_index import TABLE, decision_row, header_of, promotion_values, review_values
from eligibility.errors import AuditError
from fhir_adapters.patient_header import PatientHeader

__all__ = ["IndexCheck", "check_index", "expected_rows", "rebuild_index", "write_rows"]

_INSERT_BATCH = 5000
_MAX_PROBLEMS = 20


def expected_rows(session: Session) -> list[dict[str, Any]]:
    """The index rows the trail implies, in chain order."""
    rows: dict[int, dict[str, Any]] = {}
    seqs_of: dict[str, list[int]] = {}
    headers: dict[str, PatientHeader | None] = {}  # inputs are stored once per content: read each once
    for record in store.iter_records(session, kinds=[KIND_DECISION, KIND_REVIEW, KIND_PROMOTION]):
        if record.decision_id is None:
            continue
        payload = record.data()
        if record.kind == KIND_DECISION:
            sha = record.input_sha256 or ""
            if sha not in headers:
                try:
                    headers[sha] = header_of(store.get_input(session, sha)) if sha else None
                except AuditError:
                    headers[sha] = None  # missing or altered: `audit verify` reports the input itself
            rows[record.seq] = decision_row(
                seq=record.seq,
                created_at=record.created_at,
                actor=record.actor,
                channel=record.channel,
                decision_id=record.decision_id,
                patient_ref=record.patient_ref,
                payload=payload,
                header=headers[sha],
            )
            seqs_of.setdefault(record.decision_id, []).append(record.seq)
        elif record.kind == KIND_REVIEW:
            values = review_values(seq=record.seq, created_at=record.created_at, actor=record.actor, payload=payload)
            for seq in seqs_of.get(record.decision_id, []):
                rows[seq].update(values)
        else:
            for seq in seqs_of.get(record.decision_id, []):
                if rows[seq]["promoted_at"] is None:
                    rows[seq].update(promotion_values(created_at=record.created_at, actor=record.actor))
    return list(rows.values())


def write_rows(connection: Session | Connection, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _INSERT_BATCH):
        connection.execute(insert(TABLE), rows[start : start + _INSERT_BATCH])


def rebuild_index(session: Session) -> int:
    """Replace the whole index by what the trail implies; returns the number of rows. Takes the chain
    lock (no append can interleave); the caller commits."""
    lock_chain(session)
    rows = expected_rows(session)
    session.execute(delete(TABLE))
    write_rows(session, rows)
    return len(rows)


@dataclass(slots=True)
class IndexCheck:
    rows: int = 0
    problems: list[str] = field(default_factory=list)
    more: int = 0  # problems beyond the ones listed

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(problem)
        else:
            self.more += 1


def check_index(session: Session) -> IndexCheck:
    """Compare the index with what the trail implies, row by row (names no patient in a problem)."""
    wanted = {row["seq"]: row for row in expected_rows(session)}
    columns = list(TABLE.c)
    have = {row["seq"]: dict(row) for row in session.execute(select(*columns)).mappings()}
    check = IndexCheck(rows=len(have))
    for seq in sorted(wanted.keys() - have.keys()):
        check.add(f"decision record {seq} ({wanted[seq]['decision_id']}) is missing from the worklist index")
    for seq in sorted(have.keys() - wanted.keys()):
        check.add(f"worklist index row {seq} names no decision record of the trail")
    for seq in sorted(wanted.keys() & have.keys()):
        differing = sorted(name for name, value in wanted[seq].items() if have[seq][name] != value)
        if differing:
            check.add(f"worklist index row {seq} ({wanted[seq]['decision_id']}) differs in {', '.join(differing)}")
    return check
