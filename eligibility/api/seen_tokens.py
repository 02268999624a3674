"""The replay check of CDS client JWTs, in the database: shared by all workers, kept over restarts.

`first_use` inserts (sha256 of iss and jti, exp) and reports whether the row was new; the primary
key makes two concurrent uses of one token resolve to one winner on SQLite and PostgreSQL alike.
Rows whose token expired (plus the clock-skew leeway) are deleted on the way, at most every
`prune_every_s` (a delete over the whole table on every call grew with the traffic of the last minutes).
Called from the synchronous `cds_client` dependency, i.e. in the thread pool, never on the event loop,
holding the process's audit write lock when given one: on SQLite this insert is a write like an audit
append, and two writers colliding sleep in SQLite's busy handler in steps of up to 100 ms (the CDS
Hooks p99 was 540 ms at 8 clients).
"""

from __future__ import annotations

import hashlib
import threading
from contextlib import nullcontext

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from eligibility.api.tables import API_CDS_SEEN_TOKEN
from eligibility.audit.database import SessionFactory, backend_name

__all__ = ["SeenTokens"]


class SeenTokens:
    def __init__(
        self,
        factory: SessionFactory,
        *,
        leeway_s: float = 30.0,
        write_lock: threading.Lock | None = None,
        prune_every_s: float = 10.0,
    ) -> None:
        self._factory = factory
        self._leeway_s = leeway_s
        self._write_lock = write_lock
        self._prune_every_s = prune_every_s
        self._pruned_at = float("-inf")

    def first_use(self, iss: str, jti: str, *, expires: float, now: float) -> bool:
        key = hashlib.sha256(f"{iss}\n{jti}".encode()).hexdigest()
        with self._write_lock or nullcontext(), self._factory() as session:
            if now - self._pruned_at >= self._prune_every_s:  # expired rows are never needed again
                session.execute(delete(API_CDS_SEEN_TOKEN).where(API_CDS_SEEN_TOKEN.c.expires < now - self._leeway_s))
                self._pruned_at = now
            insert = postgresql.insert if backend_name(session) == "postgresql" else sqlite.insert
            statement = insert(API_CDS_SEEN_TOKEN).values(token_key=key, expires=float(expires))
            # RETURNING, not rowcount: psycopg reported 1 for a conflicting (ignored) insert here.
            returning = statement.on_conflict_do_nothing(index_elements=["token_key"]).returning(
                API_CDS_SEEN_TOKEN.c.token_key
            )
            inserted = session.execute(returning).first() is not None
            session.commit()
        return inserted
