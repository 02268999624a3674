"""Browser sessions: a signed cookie that refers to an API token, and the CSRF token bound to it.

A browser cannot send our bearer token by itself, and a token pasted into a page must never sit in a
cookie where a script or a copied cookie jar could read it back. The cookie therefore holds the
token's SHA-256 (what `api_user` stores, useless as a credential), a random session nonce and an
expiry, signed with an HMAC key derived from the audit key for this one purpose. Every request looks
the user up again by that hash, so revoking the token (`drg-eligibility users revoke`) ends every
browser session at once.

CSRF: each form carries HMAC(key, "csrf" + nonce). A forged cross-site POST has neither the cookie
(SameSite=Strict) nor the nonce-bound token. Before login there is no session, so the login form
uses a signed double-submit token: a random value in its own cookie, and in the form
HMAC(key, "login-csrf" + that value). A bare match of cookie and form (what someone able to plant a
cookie could produce) is not enough (issue 12).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from eligibility.api.auth import Principal
from eligibility.api.tables import API_USER
from eligibility.api.users import Role

__all__ = ["LOGIN_COOKIE", "SESSION_COOKIE", "SESSION_TTL_S", "SessionCookie", "SessionSigner", "user_by_sha256"]

SESSION_COOKIE = "drg_session"
LOGIN_COOKIE = "drg_login_csrf"
SESSION_TTL_S = 8 * 3600  # one clinic day; after that the token is pasted again


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class SessionCookie:
    token_sha256: str
    nonce: str
    expires: int


@dataclass(frozen=True, slots=True)
class SessionSigner:
    key: bytes
    clock: Callable[[], float] = time.time

    @classmethod
    def from_secret(cls, secret: str) -> SessionSigner:
        # A key of its own: a card-link signature or a chain hash can never pass as a session.
        return cls(key=hmac.digest(secret.encode("utf-8"), b"drg-eligibility/web-session/v1", "sha256"))

    def _mac(self, message: bytes) -> str:
        return _b64(hmac.digest(self.key, message, hashlib.sha256))

    def issue(self, token_sha256: str) -> tuple[str, SessionCookie]:
        session = SessionCookie(token_sha256, secrets.token_urlsafe(16), int(self.clock()) + SESSION_TTL_S)
        body = _b64(orjson.dumps({"h": session.token_sha256, "n": session.nonce, "e": session.expires}))
        return f"v1.{body}.{self._mac(body.encode('ascii'))}", session

    def read(self, value: str | None) -> SessionCookie | None:
        """The session a cookie names, or None when it is missing, forged, malformed or expired."""
        if not value:
            return None
        parts = value.split(".")
        if len(parts) != 3 or parts[0] != "v1":
            return None
        body, mac = parts[1], parts[2]
        if not hmac.compare_digest(self._mac(body.encode("ascii", "replace")).encode(), mac.encode("utf-8")):
            return None
        try:
            data = orjson.loads(_unb64(body))
            session = SessionCookie(str(data["h"]), str(data["n"]), int(data["e"]))
        except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            return None
        return session if session.expires > self.clock() else None

    def csrf_token(self, session: SessionCookie) -> str:
        return self._mac(b"csrf\n" + session.nonce.encode("ascii"))

    def login_csrf(self, cookie_nonce: str) -> str:
        return self._mac(b"login-csrf\n" + cookie_nonce.encode("utf-8"))

    def login_csrf_valid(self, cookie_nonce: str, presented: str) -> bool:
        if not cookie_nonce:
            return False
        return hmac.compare_digest(self.login_csrf(cookie_nonce).encode(), presented.encode("utf-8"))

    def csrf_valid(self, session: SessionCookie, presented: str) -> bool:
        return hmac.compare_digest(self.csrf_token(session).encode(), presented.encode("utf-8"))


def user_by_sha256(session: Session, token_sha256: str) -> Principal | None:
    """The active user whose token has this hash (the cookie's reference), or None once revoked."""
    c = API_USER.c
    row = session.execute(
        select(c.name, c.role, c.created_at).where(c.token_sha256 == token_sha256, c.revoked_at.is_(None))
    ).first()
    return None if row is None else Principal(name=row.name, role=Role(row.role), since=row.created_at)
