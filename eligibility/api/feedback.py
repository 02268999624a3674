"""CDS Hooks feedback recorded as reviews of the decision a card showed.

    accepted    -> review "accept", reason "cds-accepted", the accepted suggestion uuids in the comment
    overridden  -> review "override", reason = overrideReason.reason.code (or "cds-overridden"), the
                   user's comment; the outcome is the one the client names in
                   extension["drg-eligibility.outcome"], else NEEDS_REVIEW: a clinician set the
                   recommendation aside, so the case is flagged for a specialist.

A review must change the outcome, so dismissing a card of a decision that already NEEDS_REVIEW is
recorded as an access record (purpose "cds-feedback") with the same details. A client may give
feedback only on cards it was issued.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request

from eligibility.api.cards import IssuedCard, find_card
from eligibility.api.cds_auth import CdsClient
from eligibility.api.context import context_of
from eligibility.api.errors import NotFoundError, PermissionDeniedError
from eligibility.api.recording import channel_of
from eligibility.api.schemas import Feedback, FeedbackRequest
from eligibility.audit import store
from eligibility.decision import OUTCOMES
from eligibility.errors import AuditError, InputError
from eligibility.review_reasons import check_reason
from eligibility.service import record_review

__all__ = ["OUTCOME_EXTENSION", "record_feedback"]

OUTCOME_EXTENSION = "drg-eligibility.outcome"
_FLAGGED = "NEEDS_REVIEW"


def _cards(request: Request, client: CdsClient, service_id: str, feedback: FeedbackRequest) -> list[IssuedCard]:
    with context_of(request).read_session() as session:
        found = [find_card(session, item.card) for item in feedback.feedback]
    cards: list[IssuedCard] = []
    for index, card in enumerate(found):
        where = f"feedback[{index}].card"
        if card is None or card.service_id != service_id:
            raise NotFoundError(f"no card {feedback.feedback[index].card!r} was issued by {service_id}", location=where)
        if card.issued_to != client.actor:
            raise PermissionDeniedError(
                "feedback is accepted only from the client the card was issued to", location=where
            )
        cards.append(card)
    return cards


def _named_outcome(item: Feedback, index: int) -> str | None:
    extension = getattr(item, "extension", None)
    outcome = extension.get(OUTCOME_EXTENSION) if isinstance(extension, dict) else None
    if outcome is not None and outcome not in OUTCOMES:
        raise InputError(
            f"{outcome!r} is not an outcome ({', '.join(OUTCOMES)})", location=f"feedback[{index}].extension"
        )
    return outcome


def _recorded_outcome(request: Request, decision_id: str) -> str:
    with context_of(request).read_session() as session:
        record = store.get_decision_record(session, decision_id)
    if record is None:
        raise NotFoundError(f"no decision {decision_id!r}", location="card")
    return str(record.data()["decision"]["outcome"])


def _one(request: Request, client: CdsClient, card: IssuedCard, item: Feedback, index: int) -> dict[str, Any]:
    if item.outcome == "accepted":
        accepted = ", ".join(s.id for s in item.acceptedSuggestions) or "none"
        action, code, comment, outcome = "accept", "cds-accepted", f"suggestions: {accepted}", None
    else:
        reason = item.overrideReason
        action, code = "override", reason.reason.code if reason and reason.reason else "cds-overridden"
        comment = (reason.userComment if reason else None) or ""
        if check_reason(code) is not None:  # a code of the EHR's own: kept in the comment, not as our reason
            comment, code = f"EHR reason {code}: {comment}".rstrip(": "), "cds-overridden"
        outcome = _named_outcome(item, index) or _FLAGGED
        if outcome == _recorded_outcome(request, card.decision_id):
            return _dismissal(request, client, card, code, comment)
    ctx = context_of(request)
    with ctx.write_lock:
        record = record_review(
            card.decision_id,
            reviewer=client.actor,
            action="accept" if action == "accept" else "override",
            reason_code=code,
            comment=comment,
            outcome=outcome,
            channel=channel_of(request),
            session_factory=ctx.session_factory,
        )
    return {"card": card.card_uuid, "decision": card.decision_id, "recorded": action, "seq": record.seq}


def _dismissal(request: Request, client: CdsClient, card: IssuedCard, code: str, comment: str) -> dict[str, Any]:
    query = {"card": card.card_uuid, "outcome": "overridden", "reason_code": code, "comment": comment}
    ctx = context_of(request)
    try:
        with ctx.write_lock, ctx.session_factory() as session:
            record = store.append_access(
                session,
                actor=client.actor,
                channel=channel_of(request),
                purpose="cds-feedback",
                decision_id=card.decision_id,
                query=query,
            )
            session.commit()
    except SQLAlchemyError as exc:
        raise AuditError(f"the audit trail could not record feedback on {card.decision_id}: {exc}") from exc
    return {"card": card.card_uuid, "decision": card.decision_id, "recorded": "dismissal", "seq": record.seq}


def record_feedback(
    request: Request, client: CdsClient, service_id: str, feedback: FeedbackRequest
) -> list[dict[str, Any]]:
    """Record every item, each committed before the next (call in the thread pool)."""
    cards = _cards(request, client, service_id, feedback)
    recorded = [
        _one(request, client, card, item, i)
        for i, (card, item) in enumerate(zip(cards, feedback.feedback, strict=True))
    ]
    request.state.audited = True
    return recorded
