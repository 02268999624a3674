"""Server-side records of browser sessions: opened at login, required on every request, closed at logout.

A signed cookie alone cannot be taken back: logging out only asked the browser to forget it, and a
copied cookie kept working for 8 hours (issue 12). The row holds the SHA-256 of the cookie's nonce
(not the nonce itself, so the table is no credential store). Login and logout are recorded in the
audit trail as access records (purpose `login` / `logout`), in the same transaction as the row.
Session first, keyword-only, the caller commits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from eligibility.api.tables import API_WEB_SESSION
from eligibility.audit import store
from eligibility.audit.clock import utc_now_iso

__all__ = ["OpenSession", "end_session", "is_open", "list_open", "open_session"]

_T = API_WEB_SESSION.c


def _key(nonce: str) -> str:
    return hashlib.sha256(nonce.encode("ascii")).hexdigest()


def open_session(session: Session, *, nonce: str, user_name: str, expires: float, channel: str) -> None:
    session.execute(
        insert(API_WEB_SESSION).values(
            nonce_sha256=_key(nonce), user_name=user_name, created_at=utc_now_iso(), expires=expires
        )
    )
    store.append_access(session, actor=user_name, channel=channel, purpose="login", query={"session": _key(nonce)[:16]})


def is_open(session: Session, *, nonce: str, now: float) -> bool:
    row = session.execute(
        select(_T.nonce_sha256).where(_T.nonce_sha256 == _key(nonce), _T.ended_at.is_(None), _T.expires > now)
    ).first()
    return row is not None


def end_session(session: Session, *, nonce: str, user_name: str, channel: str) -> None:
    session.execute(update(API_WEB_SESSION).where(_T.nonce_sha256 == _key(nonce)).values(ended_at=utc_now_iso()))
    store.append_access(
        session, actor=user_name, channel=channel, purpose="logout", query={"session": _key(nonce)[:16]}
    )


@dataclass(frozen=True, slots=True)
class OpenSession:
    session: str  # the first 16 hex digits of the nonce's SHA-256, as in the audit records
    user_name: str
    created_at: str
    expires: float


def list_open(session: Session, *, now: float) -> list[OpenSession]:
    rows = session.execute(
        select(_T.nonce_sha256, _T.user_name, _T.created_at, _T.expires)
        .where(_T.ended_at.is_(None), _T.expires > now)
        .order_by(_T.created_at)
    )
    return [OpenSession(r.nonce_sha256[:16], r.user_name, r.created_at, float(r.expires)) for r in rows]
