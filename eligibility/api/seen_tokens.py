"""The replay check of CDS client JWTs, in the database: shared by all workers, kept over restarts.

`first_use` inserts (sha256 of iss and jti, exp) and reports whether the row was new; the primary
key makes two concurrent uses of one token resolve to one winner on SQLite and PostgreSQL alike.
Rows whose token expired (plus the clock-skew leeway) are deleted on the way. Called from the
synchronous `cds_client` dependency, i.e. in the thread pool, never on the event loop.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from eligibility.api.tables import API_CDS_SEEN_TOKEN
from eligibility.audit.database import SessionFactory, backend_name

__all__ = ["SeenTokens"]


class SeenTokens:
    def __init__(self, factory: SessionFactory, *, leeway_s: float = 30.0) -> None:
        self._factory = factory
        self._leeway_s = leeway_s

    def first_use(self, iss: str, jti: str, *, expires: float, now: float) -> bool:
        key = hashlib.sha256(f"{iss}\n{jti}".encode()).hexdigest()
        with self._factory() as session:
            session.execute(delete(API_CDS_SEEN_TOKEN).where(API_CDS_SEEN_TOKEN.c.expires < now - self._leeway_s))
            insert = postgresql.insert if backend_name(session) == "postgresql" else sqlite.insert
            statement = insert(API_CDS_SEEN_TOKEN).values(token_key=key, expires=float(expires))
            # RETURNING, not rowcount: psycopg reported 1 for a conflicting (ignored) insert here.
            returning = statement.on_conflict_do_nothing(index_elements=["token_key"]).returning(
                API_CDS_SEEN_TOKEN.c.token_key
            )
            inserted = session.execute(returning).first() is not None
            session.commit()
        return inserted
