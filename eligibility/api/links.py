"""Signed, expiring links to a decision, for CDS Hooks cards.

A card link is opened in the clinician's browser, which holds neither our bearer token nor the CDS
client's JWT. The link therefore carries its own proof: an HMAC over (decision id, whom it was issued
to, expiry), with a key derived from the audit key for this one purpose. Opening it is a read of the
decision and is recorded as such, attributed to whom the link was issued.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

__all__ = ["LINK_TTL_S", "LinkSigner"]

# A link is bearer-like (whoever holds it reads the decision): it lives for a working day, not the
# week it used to (issue 12); settings.api_card_link_ttl_s. Access logs never show its query (access_log.py).
LINK_TTL_S = 8 * 3600


@dataclass(frozen=True, slots=True)
class LinkSigner:
    key: bytes
    clock: Callable[[], float] = time.time
    ttl_s: int = LINK_TTL_S

    @classmethod
    def from_secret(cls, secret: str, *, ttl_s: int = LINK_TTL_S) -> LinkSigner:
        return cls(key=hmac.digest(secret.encode("utf-8"), b"drg-eligibility/card-links/v1", "sha256"), ttl_s=ttl_s)

    def _signature(self, decision_id: str, issued_to: str, expires: int) -> str:
        message = f"{decision_id}\n{issued_to}\n{expires}".encode()
        digest = hmac.digest(self.key, message, hashlib.sha256)
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def url(self, base_url: str, decision_id: str, *, issued_to: str) -> str:
        expires = int(self.clock()) + self.ttl_s
        query = urlencode({"for": issued_to, "exp": expires, "sig": self._signature(decision_id, issued_to, expires)})
        return f"{base_url}/decisions/{decision_id}/view?{query}"

    def valid(self, decision_id: str, *, issued_to: str, expires: int, signature: str) -> bool:
        if expires < self.clock():
            return False
        expected = self._signature(decision_id, issued_to, expires).encode("ascii")
        return hmac.compare_digest(expected, signature.encode("utf-8"))  # bytes: a str must be ASCII
