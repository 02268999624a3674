"""The evidence pack: one decision with everything needed to trust it, as HTML or PDF.

    html = evidence_pack_html(session, decision_id)
    pdf = evidence_pack_pdf(session, decision_id)

Its first page says who the patient is (name, MRN, birth date, sex, from the stored input) and the
outcome that stands: the engine's, and beside it the outcome after the latest review. It holds the
decision (outcome, stage, label, policy id/version/hash, engine version, input hash), every
criterion with its status, reason, evidence and data requests, the actions, the reviews, the reads, and
the chain proof of the decision record: its seq and hashes recomputed here, the nearest signed
checkpoint at or after it, and whether the trail verifies up to that checkpoint.

Producing a pack is a read of the decision: callers record it with `store.append_access` and commit
*before* calling these functions (as `eligibility.commands.report` does), so the pack lists its own read.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from eligibility.answers.attribution import attributed
from eligibility.answers.chain import Supersession, supersession
from eligibility.audit import store
from eligibility.audit.chain import chain_link, content_sha256
from eligibility.audit.checkpoints import Checkpoint, Signer, signer_from_settings
from eligibility.audit.models import KIND_ACCESS, KIND_DECISION, KIND_REVIEW, AuditCheckpoint
from eligibility.audit.verify import Problem, verify
from eligibility.decision import Decision, Evidence
from eligibility.errors import AuditError, InputError
from eligibility.settings import get_settings
from fhir_adapters.patient_header import PatientHeader
from reports.patients import header_of
from reports.render import html_to_pdf, iso, template_environment

__all__ = [
    "ChainProof",
    "EvidencePack",
    "evidence_pack_html",
    "evidence_pack_pdf",
    "load_evidence_pack",
    "render_evidence_pack",
]

_CHECKPOINT_TABLE = AuditCheckpoint.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class ChainProof:
    """Why the decision record can be trusted, or where that fails."""

    record: store.StoredRecord
    content_ok: bool  # the stored content still hashes to content_sha256
    link_ok: bool  # chain_hash is the keyed link of prev_hash and content_sha256
    checkpoint: Checkpoint | None  # the first signed checkpoint at or after the record
    checkpoint_signature_ok: bool | None  # None when no checkpoint covers the record yet
    verified_through: int  # the checkpoint's seq, or the head's when none covers the record
    problems: list[Problem]  # verification problems at or before verified_through, or not tied to a record
    trail_problems: int  # problems anywhere in the trail

    @property
    def ok(self) -> bool:
        return self.content_ok and self.link_ok and self.checkpoint_signature_ok is not False and not self.problems


@dataclass(frozen=True, slots=True)
class EvidencePack:
    decision: Decision
    record: store.StoredRecord
    reviews: list[store.StoredRecord]
    reads: list[store.StoredRecord]
    input_status: str  # whether the stored input still matches the decision's input_sha256
    proof: ChainProof
    chain: Supersession | None = None  # old decision -> answers -> new decision, when answers are involved
    patient: PatientHeader | None = None  # from the stored input; a pack is made for a role that reads it

    @property
    def after_review(self) -> dict[str, Any] | None:
        """The latest review (its payload, with `at` and `reviewer`): the outcome that now stands."""
        if not self.reviews:
            return None
        latest = self.reviews[-1]
        return {**latest.data(), "at": latest.created_at, "reviewer": latest.actor}


def _covering_checkpoint(session: Session, seq: int) -> Checkpoint | None:
    table = _CHECKPOINT_TABLE
    names = ("id", "record_seq", "chain_hash", "created_at", "key_id", "prev_signature", "signature")
    statement = (
        select(*[table.c[name] for name in names])
        .where(table.c.record_seq >= seq)
        .order_by(table.c.record_seq)
        .limit(1)
    )
    row = session.execute(statement).first()
    return None if row is None else Checkpoint(*row)


def _proof(session: Session, record: store.StoredRecord, signer: Signer) -> ChainProof:
    checkpoint = _covering_checkpoint(session, record.seq)
    signature_ok = None
    if checkpoint is not None:
        signature_ok = checkpoint.key_id == signer.key_id and hmac.compare_digest(
            signer.sign(checkpoint.signed_fields()), checkpoint.signature
        )
    # The whole walk, then only the problems that bear on this record: everything up to the checkpoint
    # that seals it (an edit there would change the head it signed) and problems tied to no record
    # (forged or missing checkpoints), which could hide one.
    report = verify(session, signer=signer)
    through = checkpoint.record_seq if checkpoint is not None else report.head_seq
    relevant = [p for p in report.problems if p.seq is None or p.seq <= through]
    return ChainProof(
        record=record,
        content_ok=content_sha256(record.as_json()) == record.content_sha256,
        link_ok=hmac.compare_digest(
            chain_link(signer.chain_key, record.prev_hash, record.content_sha256), record.chain_hash
        ),
        checkpoint=checkpoint,
        checkpoint_signature_ok=signature_ok,
        verified_through=through,
        problems=sorted(relevant, key=lambda p: (p.seq is None, p.seq or 0)),
        trail_problems=len(report.problems),
    )


def _input_status(session: Session, record: store.StoredRecord) -> str:
    if record.input_sha256 is None:
        return "no input recorded"
    try:
        store.get_input(session, record.input_sha256)
    except AuditError as exc:
        return f"FAILED: {exc.message}"
    return "stored input matches its SHA-256"


def load_evidence_pack(session: Session, decision_id: str, *, signer: Signer | None = None) -> EvidencePack:
    """Everything the pack shows; InputError when the trail holds no such decision."""
    history = store.decision_history(session, decision_id)
    decisions = [r for r in history if r.kind == KIND_DECISION]
    if not decisions:
        raise InputError(f"no decision {decision_id!r} in the audit trail", location="decision_id")
    record = decisions[0]
    decision = Decision.model_validate(record.data()["decision"])
    chain = supersession(session, record, decision)
    return EvidencePack(
        decision=attributed(decision, chain.provenance),  # evidence from answers says who reported it
        chain=chain,
        record=record,
        reviews=[r for r in history if r.kind == KIND_REVIEW],
        reads=[r for r in history if r.kind == KIND_ACCESS],
        input_status=_input_status(session, record),
        proof=_proof(session, record, signer or signer_from_settings(get_settings())),
        patient=header_of(session, decision_id),
    )


def _evidence_text(evidence: list[Evidence]) -> list[str]:
    lines = []
    for item in evidence:
        text = item.reference
        if item.date:
            text += f" ({item.date})"
        if item.value:
            text += f" = {item.value}"
        if item.note:
            text += f"; {item.note}"
        lines.append(text)
    return lines


def _context(pack: EvidencePack, generated_at: str, generated_by: str) -> dict[str, Any]:
    return {
        "pack": pack,
        "d": pack.decision,
        "proof": pack.proof,
        "evidence_text": _evidence_text,
        "reviews": [(r, r.data()) for r in pack.reviews],
        "reads": [(r, r.data()) for r in pack.reads],
        "chain": pack.chain,
        "generated_at": generated_at,
        "generated_by": generated_by,
    }


def render_evidence_pack(pack: EvidencePack, *, generated_at: str | None = None, generated_by: str = "") -> str:
    moment = generated_at or iso(datetime.now(UTC))
    return template_environment().get_template("evidence_pack.html.j2").render(_context(pack, moment, generated_by))


def evidence_pack_html(
    session: Session,
    decision_id: str,
    *,
    signer: Signer | None = None,
    generated_at: str | None = None,
    generated_by: str = "",
) -> str:
    """The evidence pack of `decision_id` as one self-contained HTML page."""
    pack = load_evidence_pack(session, decision_id, signer=signer)
    return render_evidence_pack(pack, generated_at=generated_at, generated_by=generated_by)


def evidence_pack_pdf(
    session: Session,
    decision_id: str,
    *,
    signer: Signer | None = None,
    generated_at: str | None = None,
    generated_by: str = "",
) -> bytes:
    """The evidence pack of `decision_id` as PDF (the same HTML, printed)."""
    return html_to_pdf(
        evidence_pack_html(session, decision_id, signer=signer, generated_at=generated_at, generated_by=generated_by)
    )
