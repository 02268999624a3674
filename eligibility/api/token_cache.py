"""API tokens recently found active, so that a busy referrer's calls do not each read the user table.

Every FHIR call used to look its bearer token up in the database, in the thread pool: a session, an
indexed select and two thread hops, about 0.5 ms of the server's CPU per call, and a wait for a free
thread under load. A token found active is trusted again for `recheck_s` (1 s by default) and then
looked up again. That is the bound on revocation: `users revoke` runs in another process and commits
to the database; a call made more than `recheck_s` after that commit is refused. Unknown and revoked
tokens are never remembered (a token issued a moment ago works at once), and only the tokens' SHA-256
is kept, as in the table.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from eligibility.api.users import ApiUser, token_sha256

__all__ = ["TOKEN_RECHECK_S", "TokenCache"]

TOKEN_RECHECK_S = 1.0


class TokenCache:
    """Active users by token digest, each trusted for `recheck_s` after it was read from the table."""

    def __init__(
        self, *, recheck_s: float = TOKEN_RECHECK_S, size: int = 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.recheck_s = recheck_s
        self.size = size
        self._clock = clock
        self._found: OrderedDict[str, tuple[ApiUser, float]] = OrderedDict()

    def get(self, token: str) -> ApiUser | None:
        """The user read for `token` less than `recheck_s` ago, or None (then look it up)."""
        digest = token_sha256(token)
        found = self._found.get(digest)
        if found is None:
            return None
        user, read_at = found
        if self._clock() - read_at >= self.recheck_s:
            del self._found[digest]
            return None
        return user

    def put(self, token: str, user: ApiUser, *, read_at: float) -> None:
        """Remember `user`, read from the table at `read_at` (this cache's clock, taken before the read)."""
        digest = token_sha256(token)
        self._found[digest] = (user, read_at)
        self._found.move_to_end(digest)
        while len(self._found) > self.size:
            self._found.popitem(last=False)

    def now(self) -> float:
        return self._clock()
