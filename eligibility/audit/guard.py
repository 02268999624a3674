"""What an appender checks so that it never continues a cut trail, and what it does after commit.

Two guards, both cheap enough to run on every append:

- the witnessed head: before each checkpoint the trail must still hold the newest head the witness
  published (same seq, same chain hash), and the database's checkpoints must reach the witnessed
  one. Otherwise records or checkpoints were deleted, or the database was replaced by an older copy
  (a rollback), and the appender refuses (AuditError): no decision is released on a trail that
  would hide the cut.
- the known head: each process remembers the newest head it committed itself. An append that finds
  the trail shorter than that (or a different record at that seq) refuses at once, between
  checkpoints too: a live server notices five deleted decisions at its next append.

Witness lines and the known head are both updated only after the transaction committed (a
SQLAlchemy `after_commit` hook on every Session), so a rolled-back append leaves no trace in either.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from eligibility.audit.witness import Witness
from eligibility.errors import AuditError

__all__ = [
    "check_known_head",
    "check_witnessed_head",
    "forget_known_heads",
    "queue_head",
    "queue_publication",
]

log = logging.getLogger("eligibility.audit")

_PUBLISH = "drg_audit_witness_pending"
_HEAD = "drg_audit_head_pending"
_known: dict[str, tuple[int, str]] = {}
_known_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class _Publication:
    witness: Witness
    fields: dict[str, Any]
    signature: str


def _trail_key(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=True)


def queue_publication(session: Session, witness: Witness, fields: dict[str, Any], signature: str) -> None:
    """Publish this signed head once the current transaction has committed."""
    session.info.setdefault(_PUBLISH, []).append(_Publication(witness, dict(fields), signature))


def queue_head(session: Session, seq: int, chain_hash: str) -> None:
    """Remember (seq, chain_hash) as this process's newest head once the transaction committed."""
    session.info[_HEAD] = (_trail_key(session), seq, chain_hash)


def check_known_head(session: Session, seq: int, chain_hash: str) -> None:
    """Refuse to append when the trail's head is behind what this process committed itself."""
    with _known_lock:
        known = _known.get(_trail_key(session))
    if known is None:
        return
    known_seq, known_hash = known
    if seq < known_seq or (seq == known_seq and chain_hash != known_hash):
        raise AuditError(
            f"refusing to append: this process committed the audit trail up to seq {known_seq}, but the trail "
            f"now ends at seq {seq}"
            + ("" if seq < known_seq else " with another record")
            + ": records were deleted or the database was replaced; run `drg-eligibility audit verify`"
        )


def forget_known_heads() -> None:
    """For tests that deliberately rebuild a trail in one process."""
    with _known_lock:
        _known.clear()


def check_witnessed_head(session: Session, witness: Witness, *, next_checkpoint_id: int) -> None:
    """Refuse to sign a new head unless the trail still holds the newest witnessed one."""
    witnessed = witness.last()
    if witnessed is None:
        return
    where = f"checkpoint {witnessed.checkpoint_id}, witnessed in {witness.primary.path}"
    row = session.execute(
        text("SELECT chain_hash FROM audit_record WHERE seq = :seq"), {"seq": witnessed.record_seq}
    ).first()
    if row is None:
        head = session.execute(text("SELECT max(seq) FROM audit_record")).scalar()
        raise AuditError(
            f"refusing to append: the witnessed head seq {witnessed.record_seq} ({where}) is gone, the trail ends "
            f"at seq {head or 0}: records were cut or the database was replaced by an older copy"
        )
    if str(row[0]) != witnessed.chain_hash:
        raise AuditError(
            f"refusing to append: record {witnessed.record_seq} no longer has the head hash of {where}: "
            "the trail was rewritten or replaced"
        )
    if next_checkpoint_id <= witnessed.checkpoint_id:
        raise AuditError(
            f"refusing to append: {where} is not in the database (the newest there is "
            f"{next_checkpoint_id - 1}): checkpoints were deleted"
        )


def _after_commit(session: Session) -> None:
    head = session.info.pop(_HEAD, None)
    if head is not None:
        key, seq, chain_hash = head
        with _known_lock:
            known = _known.get(key)
            if known is None or seq >= known[0]:
                _known[key] = (seq, chain_hash)
    publications: list[_Publication] = session.info.pop(_PUBLISH, [])
    for publication in publications:
        # The checkpoint is committed; if its witness line cannot be written the caller must know
        # (AuditError out of commit(): no decision released) and the server catches up at start.
        publication.witness.publish(publication.fields, publication.signature)


def _after_rollback(session: Session) -> None:
    session.info.pop(_HEAD, None)
    dropped = session.info.pop(_PUBLISH, [])
    if dropped:
        log.debug("rolled back %d unpublished checkpoint(s)", len(dropped))


event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_rollback", _after_rollback)
event.listen(Session, "after_soft_rollback", lambda session, _previous: _after_rollback(session))
