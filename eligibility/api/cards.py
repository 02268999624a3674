"""Which decision a CDS card shows, and to which client it was issued (for feedback)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from eligibility.api.tables import API_CARD
from eligibility.audit.clock import utc_now_iso
from eligibility.audit.database import SessionFactory
from eligibility.errors import AuditError

__all__ = ["IssuedCard", "find_card", "remember_card"]


@dataclass(frozen=True, slots=True)
class IssuedCard:
    card_uuid: str
    decision_id: str
    service_id: str
    issued_to: str


def remember_card(factory: SessionFactory, card: IssuedCard) -> None:
    """Committed before the card is returned, so feedback on it can always be traced."""
    try:
        with factory() as session:
            session.execute(
                insert(API_CARD).values(
                    card_uuid=card.card_uuid,
                    decision_id=card.decision_id,
                    service_id=card.service_id,
                    issued_to=card.issued_to,
                    created_at=utc_now_iso(),
                )
            )
            session.commit()
    except SQLAlchemyError as exc:
        raise AuditError(f"the card for decision {card.decision_id} could not be stored: {exc}") from exc


def find_card(session: Session, card_uuid: str) -> IssuedCard | None:
    row = session.execute(select(API_CARD).where(API_CARD.c.card_uuid == card_uuid)).first()
    if row is None:
        return None
    return IssuedCard(
        card_uuid=row.card_uuid, decision_id=row.decision_id, service_id=row.service_id, issued_to=row.issued_to
    )
