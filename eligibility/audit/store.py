"""Appending to and reading from the audit trail. Session first, keyword-only, never commits.

The caller owns the transaction: `eligibility.service` appends a decision and commits before it
releases the decision; a batch appends many records and commits once. Every append takes the chain
lock, reads the head, computes the new records' hashes in one pass in Python and inserts them with
one executemany, then signs a checkpoint when one is due (see checkpoints.maybe_checkpoint). An
append refuses (AuditError) when the head it reads is behind what this process committed itself, or
when the trail no longer holds the newest witnessed head (guard.py; one indexed lookup and a 4 KB
read of the witness's end per append).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from sqlalchemy import Select, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from eligibility.audit import guard
from eligibility.audit.bounds import MAX_LOCATION_CHARS, MAX_MESSAGE_CHARS, MAX_NAME_CHARS, bounded
from eligibility.audit.chain import GENESIS, canonical_json, chain_link, content_sha256, sha256_hex
from eligibility.audit.checkpoints import Checkpoint, Signer, maybe_checkpoint, signer_from_settings, write_checkpoint
from eligibility.audit.clock import utc_now_iso
from eligibility.audit.database import backend_name, lock_chain
from eligibility.audit.models import (
    KIND_ACCESS,
    KIND_DECISION,
    KIND_REJECTION,
    KIND_REVIEW,
    KINDS,
    AuditCheckpoint,
    AuditInput,
    AuditRecord,
)
from eligibility.audit.record import RECORD_FIELDS, NewRecord, StoredRecord
from eligibility.audit.worklist_index import RUN_KEY, index_appended
from eligibility.decision import OUTCOMES, Decision
from eligibility.errors import AuditError, EligibilityError, InputError
from eligibility.settings import get_settings
from fhir_adapters.patient_header import PatientHeader

__all__ = [
    "REVIEW_ACTIONS",
    "NewRecord",
    "PendingAppend",
    "StoredRecord",
    "append_access",
    "append_decision",
    "append_records",
    "append_rejection",
    "append_review",
    "count_records",
    "decision_history",
    "get_decision_record",
    "get_input",
    "head",
    "iter_records",
    "load_decision",
    "seal_head",
]

REVIEW_ACTIONS = ("accept", "override")
_MAX_ACTOR = 200
_MAX_CHANNEL = 32


_RECORD_TABLE = AuditRecord.__table__  # type: ignore[attr-defined]
_INPUT_TABLE = AuditInput.__table__  # type: ignore[attr-defined]
_CHECKPOINT_TABLE = AuditCheckpoint.__table__  # type: ignore[attr-defined]


def _record_select() -> Select[Any]:
    return select(*(_RECORD_TABLE.c[name] for name in RECORD_FIELDS))


def _check_identity(actor: str, channel: str) -> None:
    if not actor or len(actor) > _MAX_ACTOR:
        raise AuditError(f"an audit record needs an actor of 1-{_MAX_ACTOR} characters, got {actor!r}")
    if not channel or len(channel) > _MAX_CHANNEL:
        raise AuditError(f"an audit record needs a channel of 1-{_MAX_CHANNEL} characters, got {channel!r}")


def head(session: Session) -> tuple[int, str]:
    """(seq, chain_hash) of the newest record; (0, GENESIS) for an empty trail."""
    seq = _RECORD_TABLE.c.seq
    row = session.execute(select(seq, _RECORD_TABLE.c.chain_hash).order_by(seq.desc()).limit(1)).first()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


def _store_inputs(session: Session, bodies: Iterable[bytes]) -> dict[str, bytes]:
    """Store the inputs; returns them by SHA-256 (the worklist index reads the patient header from them)."""
    rows: dict[str, dict[str, Any]] = {}
    for body in bodies:
        digest = sha256_hex(body)
        rows.setdefault(digest, {"sha256": digest, "size": len(body), "body": body})
    if not rows:
        return {}
    # Stored once per content: re-submitting the same record adds no bytes, and never updates.
    dialect_insert = postgresql.insert if backend_name(session) == "postgresql" else sqlite.insert
    statement = dialect_insert(_INPUT_TABLE).on_conflict_do_nothing(index_elements=["sha256"])
    session.execute(statement, params=list(rows.values()))
    return {digest: row["body"] for digest, row in rows.items()}


def append_records(
    session: Session,
    records: Sequence[NewRecord],
    *,
    inputs: Iterable[bytes] = (),
    signer: Signer | None = None,
    headers: Mapping[str, PatientHeader] | None = None,
) -> list[StoredRecord]:
    """Append `records` (and store `inputs`) as the next links of the chain. Does not commit.

    `headers` (patient header per input SHA-256) spares the worklist index a parse of inputs whose
    patient the caller has read already; it never enters the chain."""
    for record in records:
        if record.kind not in KINDS:
            raise AuditError(f"unknown audit record kind {record.kind!r}")
        _check_identity(record.actor, record.channel)
    signer = signer or default_signer(session)
    lock_chain(session)
    first_seq, prev_hash = head(session)
    guard.check_known_head(session, first_seq, prev_hash)
    if signer.witness is not None:
        guard.check_witnessed_head(session, signer.witness, next_checkpoint_id=_next_checkpoint_id(session))
    bodies = _store_inputs(session, inputs)
    created_at = utc_now_iso()
    chain_key = signer.chain_key
    rows: list[dict[str, Any]] = []
    seq = first_seq
    for record in records:
        seq += 1
        row: dict[str, Any] = {
            "seq": seq,
            "record_id": record.record_id,
            "kind": record.kind,
            "created_at": created_at,
            "actor": record.actor,
            "channel": record.channel,
            "decision_id": record.decision_id,
            "patient_ref": record.patient_ref,
            "input_sha256": record.input_sha256,
            "payload": canonical_json(dict(record.payload)).decode("utf-8"),
        }
        row["content_sha256"] = content_sha256(row)
        row["prev_hash"] = prev_hash
        prev_hash = row["chain_hash"] = chain_link(chain_key, prev_hash, row["content_sha256"])
        rows.append(row)
    if rows:
        session.execute(insert(_RECORD_TABLE), params=rows)
        # The derived worklist index, in the same transaction: it cannot disagree with the trail.
        index_appended(session, rows, [record.payload for record in records], bodies, headers)
        guard.queue_head(session, seq, prev_hash)
        maybe_checkpoint(
            session,
            prev_seq=first_seq,
            new_seq=seq,
            chain_hash=prev_hash,
            created_at=created_at,
            signer=signer,
        )
    return [StoredRecord(**row) for row in rows]


def _next_checkpoint_id(session: Session) -> int:
    return int(session.execute(select(func.coalesce(func.max(_CHECKPOINT_TABLE.c.id), 0))).scalar_one()) + 1


def default_signer(session: Session) -> Signer:
    """The configured signer, publishing to the witness of the trail this session writes to."""
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    return signer_from_settings(get_settings(), database_url=url)


def seal_head(session: Session, *, signer: Signer | None = None) -> Checkpoint | None:
    """Sign the current head now (on demand, or on the server's timer); None for an empty trail.

    Takes the chain lock; the caller commits (the witness line is written after the commit).
    """
    signer = signer or default_signer(session)
    lock_chain(session)
    seq, chain_hash = head(session)
    if seq == 0:
        return None
    guard.check_known_head(session, seq, chain_hash)
    return write_checkpoint(session, record_seq=seq, chain_hash=chain_hash, created_at=utc_now_iso(), signer=signer)


# --- the record kinds -------------------------------------------------------------------------


def _decision_record(
    decision: Decision,
    canonical_input: bytes,
    *,
    actor: str,
    channel: str,
    record: Mapping[str, object] | None = None,
    run_id: str | None = None,
    context: Mapping[str, object] | None = None,
) -> NewRecord:
    input_sha256 = sha256_hex(canonical_input)
    if decision.input_sha256 != input_sha256:
        raise AuditError(
            f"decision {decision.decision_id} names input {decision.input_sha256}, "
            f"but the input given hashes to {input_sha256}"
        )
    return NewRecord(
        kind=KIND_DECISION,
        actor=actor,
        channel=channel,
        decision_id=decision.decision_id,
        patient_ref=decision.patient.reference,
        input_sha256=input_sha256,
        # `context`: where the decision came from beyond its input (a superseding decision's `answers`).
        payload={
            "decision": decision.to_json_dict() if record is None else record,
            **({RUN_KEY: run_id} if run_id is not None else {}),  # the screening run it belongs to
            **(context or {}),
        },
    )


def _rejection_record(
    error: BaseException, raw: bytes, *, actor: str, channel: str, as_of: date | None, policy: str | None
) -> NewRecord:
    # Every free-text field is bounded (bounds.py): a stranger's refused call cannot grow the trail.
    if isinstance(error, EligibilityError):
        code, message, location = error.code, error.message, error.location
    else:
        code, message, location = "exception", str(error), None
    described = {
        "type": bounded(type(error).__name__, MAX_NAME_CHARS),
        "code": bounded(code, MAX_NAME_CHARS),
        "message": bounded(message, MAX_MESSAGE_CHARS),
        "location": bounded(location, MAX_LOCATION_CHARS),
    }
    policy = bounded(policy, MAX_NAME_CHARS)
    return NewRecord(
        kind=KIND_REJECTION,
        actor=actor,
        channel=channel,
        input_sha256=sha256_hex(raw),
        payload={
            "error": described,
            "as_of": None if as_of is None else as_of.isoformat(),
            "policy": policy,
        },
    )


@dataclass(slots=True)
class PendingAppend:
    """Decisions and rejections gathered for one append (one transaction for a whole batch)."""

    records: list[NewRecord] = field(default_factory=list)
    inputs: list[bytes] = field(default_factory=list)
    headers: dict[str, PatientHeader] = field(default_factory=dict)  # by input SHA-256 (worklist index)

    def add_decision(
        self,
        decision: Decision,
        canonical_input: bytes,
        *,
        actor: str,
        channel: str,
        record: Mapping[str, object] | None = None,  # decision.to_json_dict(), when the caller has it already
        run_id: str | None = None,  # the screening run (batch)
        context: Mapping[str, object] | None = None,
        patient: PatientHeader | None = None,  # read with the record, if it was (None: read it from the input)
    ) -> None:
        new = _decision_record(
            decision, canonical_input, actor=actor, channel=channel, record=record, run_id=run_id, context=context
        )
        self.records.append(new)
        self.inputs.append(canonical_input)
        if patient is not None and new.input_sha256 is not None:
            self.headers[new.input_sha256] = patient

    def add_rejection(
        self,
        error: BaseException,
        raw: bytes,
        *,
        actor: str,
        channel: str,
        as_of: date | None = None,
        policy: str | None = None,
    ) -> None:
        self.records.append(_rejection_record(error, raw, actor=actor, channel=channel, as_of=as_of, policy=policy))
        self.inputs.append(raw)

    def append_to(self, session: Session, *, signer: Signer | None = None) -> list[StoredRecord]:
        return append_records(session, self.records, inputs=self.inputs, signer=signer, headers=self.headers)


def append_decision(
    session: Session,
    *,
    decision: Decision,
    canonical_input: bytes,
    actor: str,
    channel: str,
    signer: Signer | None = None,
) -> StoredRecord:
    """The decision record (spec §5, rules fired included) with its canonical input."""
    pending = PendingAppend()
    pending.add_decision(decision, canonical_input, actor=actor, channel=channel)
    return pending.append_to(session, signer=signer)[0]


def append_rejection(
    session: Session,
    *,
    error: BaseException,
    raw: bytes,
    actor: str,
    channel: str,
    as_of: date | None = None,
    policy: str | None = None,
    signer: Signer | None = None,
) -> StoredRecord:
    """A refused submission: the error (message, location) and the exact bytes received."""
    pending = PendingAppend()
    pending.add_rejection(error, raw, actor=actor, channel=channel, as_of=as_of, policy=policy)
    return pending.append_to(session, signer=signer)[0]


def _decision_or_fail(session: Session, decision_id: str) -> StoredRecord:
    record = get_decision_record(session, decision_id)
    if record is None:
        raise InputError(f"no decision {decision_id!r} in the audit trail", location="decision_id")
    return record


def append_review(
    session: Session,
    *,
    decision_id: str,
    reviewer: str,
    action: Literal["accept", "override"],
    reason_code: str,
    comment: str = "",
    outcome: str | None = None,
    channel: str,
    signer: Signer | None = None,
) -> StoredRecord:
    """A clinician's acceptance or override of a decision, with the reason, linked to it."""
    if action not in REVIEW_ACTIONS:
        raise InputError(f"review action must be one of {REVIEW_ACTIONS}, got {action!r}", location="action")
    if not reason_code.strip():
        raise InputError("a review needs a reason code", location="reason_code")
    decision = _decision_or_fail(session, decision_id)
    recorded_outcome = decision.data()["decision"]["outcome"]
    if action == "override":
        if outcome not in OUTCOMES:
            raise InputError(f"an override needs an outcome, one of {', '.join(OUTCOMES)}", location="outcome")
        if outcome == recorded_outcome:
            raise InputError(f"the decision already has outcome {outcome}; accept it instead", location="outcome")
    elif outcome is not None:
        raise InputError("an acceptance keeps the recorded outcome; do not pass one", location="outcome")
    payload = {
        "action": action,
        "reason_code": reason_code.strip(),
        "comment": comment,
        "recorded_outcome": recorded_outcome,
        "outcome": outcome if action == "override" else recorded_outcome,
    }
    record = NewRecord(
        kind=KIND_REVIEW,
        actor=reviewer,
        channel=channel,
        decision_id=decision_id,
        patient_ref=decision.patient_ref,
        payload=payload,
    )
    return append_records(session, [record], signer=signer)[0]


def append_access(
    session: Session,
    *,
    actor: str,
    channel: str,
    purpose: str,
    decision_id: str | None = None,
    query: Mapping[str, Any] | None = None,
    signer: Signer | None = None,
) -> StoredRecord:
    """Someone read a decision (`decision_id`) or queried the trail (`query`) for `purpose`."""
    patient_ref = None
    if decision_id is not None:
        patient_ref = _decision_or_fail(session, decision_id).patient_ref
    record = NewRecord(
        kind=KIND_ACCESS,
        actor=actor,
        channel=channel,
        decision_id=decision_id,
        patient_ref=patient_ref,
        payload={"purpose": purpose, "query": dict(query) if query is not None else None},
    )
    return append_records(session, [record], signer=signer)[0]


# --- reading -----------------------------------------------------------------------------------


def _stored(row: Any) -> StoredRecord:
    return StoredRecord(*row)


def get_decision_record(session: Session, decision_id: str) -> StoredRecord | None:
    statement = (
        _record_select()
        .where(_RECORD_TABLE.c.decision_id == decision_id, _RECORD_TABLE.c.kind == KIND_DECISION)
        .order_by(_RECORD_TABLE.c.seq)
        .limit(1)
    )
    row = session.execute(statement).first()
    return None if row is None else _stored(row)


def get_input(session: Session, sha256: str) -> bytes:
    """The stored input with this hash, checked against it."""
    body = session.execute(select(_INPUT_TABLE.c.body).where(_INPUT_TABLE.c.sha256 == sha256)).scalar_one_or_none()
    if body is None:
        raise AuditError(f"input {sha256} is missing from the audit store")
    body = bytes(body)
    if sha256_hex(body) != sha256:
        raise AuditError(f"input {sha256} does not match its hash: the stored bytes were altered")
    return body


def load_decision(session: Session, decision_id: str) -> tuple[StoredRecord, Decision, bytes]:
    """A recorded decision, read back as a `Decision`, with the canonical input it was made from."""
    record = _decision_or_fail(session, decision_id)
    decision = Decision.model_validate(record.data()["decision"])
    if record.input_sha256 is None:
        raise AuditError(f"decision {decision_id} has no stored input")
    return record, decision, get_input(session, record.input_sha256)


def decision_history(session: Session, decision_id: str) -> list[StoredRecord]:
    """The decision record and every review and access linked to it, in chain order."""
    statement = _record_select().where(_RECORD_TABLE.c.decision_id == decision_id).order_by(_RECORD_TABLE.c.seq)
    return [_stored(row) for row in session.execute(statement)]


def iter_records(
    session: Session,
    *,
    start: str | None = None,
    end: str | None = None,
    kinds: Sequence[str] | None = None,
    batch: int = 2000,
) -> Iterator[StoredRecord]:
    """Records with start <= created_at < end (stored-timestamp strings), in chain order, streamed."""
    statement = _record_select().order_by(_RECORD_TABLE.c.seq)
    if start is not None:
        statement = statement.where(_RECORD_TABLE.c.created_at >= start)
    if end is not None:
        statement = statement.where(_RECORD_TABLE.c.created_at < end)
    if kinds is not None:
        statement = statement.where(_RECORD_TABLE.c.kind.in_(list(kinds)))
    for row in session.execute(statement, execution_options={"yield_per": batch}):
        yield _stored(row)


def count_records(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(_RECORD_TABLE)).scalar_one())
