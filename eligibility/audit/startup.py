"""What a writer checks before its first append, and the server's checkpoint timer.

At start (the server's lifespan, and the first write session of a CLI process) the trail must be
one this process can continue honestly:

- signed with the configured key: the newest checkpoint names the key fingerprint it was signed
  with; another fingerprint means another key (or the development default by mistake), and the
  writer refuses to start instead of appending links nobody can verify;
- still holding the newest witnessed head, with its checkpoint (guard.check_witnessed_head);
- the witness caught up: checkpoints committed but never published (a crash between the commit and
  the witness write) are published now. With no witness file at all (a trail from before the
  witness existed, or a deleted witness) the writer refuses to start, unless adoption is allowed
  (`audit_witness_adopt`; by default only in development and test): then the database's checkpoints
  are published marked `adopted`, with a loud warning; verify lists adopted heads, and only a copy
  kept elsewhere (the mirror, an auditor's) can vouch for the time before.
"""

from __future__ import annotations

import hmac
import logging

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from eligibility.audit import guard
from eligibility.audit.chain import GENESIS
from eligibility.audit.checkpoints import Checkpoint, Signer, latest_checkpoint, other_key_message
from eligibility.errors import AuditError

__all__ = ["check_trail_at_start"]

log = logging.getLogger("eligibility.audit")


def _checkpoints_after(session: Session, checkpoint_id: int) -> list[Checkpoint]:
    rows = session.execute(
        text(
            "SELECT id, record_seq, chain_hash, created_at, key_id, prev_signature, signature "
            "FROM audit_checkpoint WHERE id > :id ORDER BY id"
        ),
        {"id": checkpoint_id},
    )
    return [Checkpoint(*row) for row in rows]


def check_trail_at_start(engine: Engine, signer: Signer, *, adopt: bool = False) -> int:
    """Refuse (AuditError) a trail this process must not append to; return witness lines published."""
    with Session(engine) as session:
        newest = latest_checkpoint(session)
        if newest is not None and newest.key_id != signer.key_id:
            raise AuditError(f"refusing to start: {other_key_message(newest.key_id, signer.key_id)}")
        witness = signer.witness
        if witness is None:
            return 0
        witnessed = witness.last()
        if witnessed is not None and witnessed.key_id != signer.key_id:
            raise AuditError(
                f"refusing to start: the witness says {other_key_message(witnessed.key_id, signer.key_id)}"
            )
        guard.check_witnessed_head(session, witness, next_checkpoint_id=1 if newest is None else newest.id + 1)
        missing = _checkpoints_after(session, 0 if witnessed is None else witnessed.checkpoint_id)
    prev_signature = GENESIS if witnessed is None else witnessed.signature
    adopted = witnessed is None and bool(missing)
    if adopted and not adopt:
        raise AuditError(
            f"refusing to start: the trail holds {len(missing)} checkpoint(s) but the witness "
            f"{witness.primary.path} is missing (deleted, or never kept): restore it from its copy, or set "
            "DRG_ELIGIBILITY_AUDIT_WITNESS_ADOPT=true once to start a new witness from the database"
        )
    if adopted:
        log.warning(
            "AUDIT WITNESS %s IS MISSING while the trail holds %d checkpoint(s): publishing them as adopted; "
            "if a witness existed before, it was deleted, and only its other copies can show what was cut",
            witness.primary.path,
            len(missing),
        )
    for checkpoint in missing:
        fields = checkpoint.signed_fields()
        if checkpoint.prev_signature != prev_signature or not hmac.compare_digest(
            signer.sign(fields), checkpoint.signature
        ):
            raise AuditError(
                f"refusing to start: checkpoint {checkpoint.id} is not a valid continuation of the witness "
                "(bad signature or link); run `drg-eligibility audit verify`"
            )
        witness.publish(fields, checkpoint.signature, adopted=adopted)
        prev_signature = checkpoint.signature
    if missing and not adopted:
        log.warning("published %d checkpoint(s) the witness had missed (catch-up after a crash)", len(missing))
    return len(missing)
