"""API users and their bearer tokens. Session first, keyword-only, never commits (like the audit store).

A token is shown once, when it is issued; the table keeps only its SHA-256. Tokens are 256 random
bits, so a fast hash is enough: there is nothing to brute-force, and every request can afford it.
The table is not append-only (a token can be revoked), but every change appends an `access` record
with purpose "admin" to the audit trail in the same transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from eligibility.api.roles import Role
from eligibility.api.tables import API_USER
from eligibility.audit import store
from eligibility.audit.clock import utc_now_iso
from eligibility.errors import InputError

__all__ = [
    "TOKEN_PREFIX",
    "ApiUser",
    "Role",
    "active_user",
    "add_user",
    "find_by_token",
    "list_users",
    "revoke_user",
    "token_sha256",
]

TOKEN_PREFIX = "drg_"  # lets secret scanners and humans recognise a leaked token
_MAX_NAME = 200  # the audit trail's actor column


@dataclass(frozen=True, slots=True)
class ApiUser:
    name: str
    role: Role
    created_at: str
    revoked_at: str | None


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _user(row: Any) -> ApiUser:
    return ApiUser(name=row.name, role=Role(row.role), created_at=row.created_at, revoked_at=row.revoked_at)


def _active(session: Session, name: str) -> Any:
    c = API_USER.c
    return session.execute(select(API_USER).where(c.name == name, c.revoked_at.is_(None))).first()


def add_user(session: Session, *, name: str, role: Role, actor: str, channel: str) -> str:
    """Issue a token for a new user; returns the token, which is stored nowhere."""
    name = name.strip()
    if not name or len(name) > _MAX_NAME or not name.isprintable():
        raise InputError(f"a user name needs 1-{_MAX_NAME} printable characters, got {name!r}", location="name")
    if _active(session, name) is not None:
        raise InputError(f"user {name!r} already has an active token; revoke it first", location="name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    store.append_access(
        session, actor=actor, channel=channel, purpose="admin", query={"action": "user-add", "user": name, "role": role}
    )
    session.execute(
        insert(API_USER).values(name=name, role=role.value, token_sha256=token_sha256(token), created_at=utc_now_iso())
    )
    return token


def revoke_user(session: Session, *, name: str, actor: str, channel: str) -> ApiUser:
    row = _active(session, name)
    if row is None:
        raise InputError(f"no active user {name!r}", location="name")
    store.append_access(
        session, actor=actor, channel=channel, purpose="admin", query={"action": "user-revoke", "user": name}
    )
    revoked_at = utc_now_iso()
    session.execute(update(API_USER).where(API_USER.c.id == row.id).values(revoked_at=revoked_at))
    return ApiUser(name=row.name, role=Role(row.role), created_at=row.created_at, revoked_at=revoked_at)


def active_user(session: Session, name: str) -> ApiUser | None:
    """The active (not revoked) user of that name, or None."""
    row = _active(session, name)
    return None if row is None else _user(row)


def list_users(session: Session, *, include_revoked: bool = False) -> list[ApiUser]:
    statement = select(API_USER).order_by(API_USER.c.name, API_USER.c.id)
    if not include_revoked:
        statement = statement.where(API_USER.c.revoked_at.is_(None))
    return [_user(row) for row in session.execute(statement)]


def find_by_token(session: Session, token: str) -> ApiUser | None:
    """The active user holding `token`, or None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    digest = token_sha256(token)
    row = session.execute(select(API_USER).where(API_USER.c.token_sha256 == digest)).first()
    if row is None or row.revoked_at is not None:
        return None
    return _user(row)
