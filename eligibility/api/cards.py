"""Which decision a CDS card shows, and to which client it was issued (for feedback)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from eligibility.api.tables import API_CARD
from eligibility.audit.clock import utc_now_iso

__all__ = ["IssuedCard", "find_card", "insert_card"]


@dataclass(frozen=True, slots=True)
class IssuedCard:
    card_uuid: str
    decision_id: str
    service_id: str
    issued_to: str


def insert_card(session: Session, card: IssuedCard) -> None:
    """The card's row, in the caller's transaction: committed with its decision, before the card is
    returned, so feedback on it can always be traced."""
    session.execute(
        insert(API_CARD).values(
            card_uuid=card.card_uuid,
            decision_id=card.decision_id,
            service_id=card.service_id,
            issued_to=card.issued_to,
            created_at=utc_now_iso(),
        )
    )


def find_card(session: Session, card_uuid: str) -> IssuedCard | None:
    row = session.execute(select(API_CARD).where(API_CARD.c.card_uuid == card_uuid)).first()
    if row is None:
        return None
    return IssuedCard(
        card_uuid=row.card_uuid, decision_id=row.decision_id, service_id=row.service_id, issued_to=row.issued_to
    )
