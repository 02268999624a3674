"""Promoting a screening decision to the review queue: its own audit record, with who and when.

A screening run's decisions are not in the specialist's review queue (a 200-patient run put 213
decisions "awaiting review"); a screener who finds a candidate promotes it. The promotion is a
record of the trail (kind "promotion", linked to the decision), so the queue's membership is as
tamper-evident as the decision itself; the worklist index follows it in the same transaction.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from eligibility.audit import store
from eligibility.audit.checkpoints import Signer
from eligibility.audit.models import KIND_PROMOTION
from eligibility.audit.worklist_index import run_of
from eligibility.errors import InputError

__all__ = ["PROMOTE_ACTION", "append_promotion"]

PROMOTE_ACTION = "promote-to-review"


def append_promotion(
    session: Session,
    *,
    decision_id: str,
    promoter: str,
    channel: str,
    note: str = "",
    signer: Signer | None = None,
) -> store.StoredRecord:
    """Put a screening decision in the review queue. Refused for a point-of-care decision (it is there
    already) and for one promoted before. Does not commit."""
    history = store.decision_history(session, decision_id)
    decision = next((record for record in history if record.kind == "decision"), None)
    if decision is None:
        raise InputError(f"no decision {decision_id!r} in the audit trail", location="decision_id")
    run_id = run_of(decision.channel, decision.created_at, decision.data())
    if run_id is None:
        raise InputError(
            f"decision {decision_id} was submitted at the point of care ({decision.channel}); it is in the "
            "review queue already",
            location="decision_id",
        )
    earlier = next((record for record in history if record.kind == KIND_PROMOTION), None)
    if earlier is not None:
        raise InputError(
            f"decision {decision_id} was promoted to review by {earlier.actor} at {earlier.created_at}",
            location="decision_id",
        )
    record = store.NewRecord(
        kind=KIND_PROMOTION,
        actor=promoter,
        channel=channel,
        decision_id=decision_id,
        patient_ref=decision.patient_ref,
        payload={"action": PROMOTE_ACTION, "run": run_id, "note": note[:2000]},
    )
    return store.append_records(session, [record], signer=signer)[0]
