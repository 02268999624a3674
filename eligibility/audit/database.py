"""Engines and sessions for the audit store. Nothing connects at import time.

SQLite (the default, a file in the per-user data folder) and PostgreSQL are configured so that appenders can
serialise on the chain head:

- SQLite: the driver's own transaction handling is switched off and every transaction starts with
  `BEGIN IMMEDIATE`, which takes the database's write lock before the head is read (the documented
  SQLAlchemy recipe). Sessions opened with `read_session()` use a plain deferred `BEGIN` instead, so
  verify and export never block writers. WAL mode lets readers and the writer proceed together;
  `synchronous=FULL` makes a commit durable before the decision it records is released.
- PostgreSQL: the appender takes `LOCK TABLE audit_record IN EXCLUSIVE MODE` (see `lock_chain`),
  which queues concurrent appenders but not readers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session
from sqlmodel import Session as ModelSession

from eligibility.audit.checkpoints import signer_from_settings
from eligibility.audit.migrate import upgrade
from eligibility.audit.startup import check_trail_at_start
from eligibility.errors import AuditError
from eligibility.settings import get_settings

__all__ = [
    "READ_ONLY",
    "SessionFactory",
    "backend_name",
    "checked_at_start",
    "dispose_engines",
    "get_engine",
    "lock_chain",
    "make_engine",
    "read_session",
    "session_factory",
]

READ_ONLY = "drg_audit_read_only"  # execution option: open a deferred (non-locking) SQLite transaction
SQLITE_BUSY_TIMEOUT_S = 60.0

SessionFactory = Callable[[], Session]

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def make_engine(url: str) -> Engine:
    """A new engine for `url`, configured for the audit store (no connection is opened)."""
    sa_url = make_url(url)
    if sa_url.get_backend_name() != "sqlite":
        return create_engine(sa_url, pool_pre_ping=True)
    if sa_url.database and sa_url.database != ":memory:" and not sa_url.database.startswith("file:"):
        Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(sa_url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _sqlite_on_begin)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    read_only = bool(conn.get_execution_options().get(READ_ONLY))
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def get_engine(url: str | None = None, *, migrate: bool = True) -> Engine:
    """The process-wide engine for `url` (default: settings.database_url), schema upgraded to head.

    Refuses to start (AuditError) when the HMAC key is unfit for the environment.
    """
    settings = get_settings()
    signer_from_settings(settings)  # fail before any connection when the key is unfit
    url = url or settings.database_url
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            if migrate:
                upgrade(engine)
            _engines[url] = engine
    return engine


def dispose_engines() -> None:
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _checked.clear()


_checked: set[str] = set()


def checked_at_start(engine: Engine, *, again: bool = False) -> None:
    """Run the start-up checks (startup.py) once per process and trail before the first append
    (`again`: a server starting, which always checks)."""
    key = engine.url.render_as_string(hide_password=False)
    with _engines_lock:
        if key in _checked and not again:
            return
    settings = get_settings()
    adopt = settings.audit_witness_adopt
    if adopt is None:
        adopt = settings.environment in ("development", "test")
    check_trail_at_start(engine, signer_from_settings(settings, database_url=key), adopt=adopt)
    with _engines_lock:
        _checked.add(key)


def session_factory(url: str | None = None) -> SessionFactory:
    """Write sessions on the configured trail; refuses (AuditError) a trail unfit to continue."""
    engine = get_engine(url)
    checked_at_start(engine)

    def open_session() -> Session:
        return ModelSession(engine, expire_on_commit=False)

    return open_session


def read_session(engine: Engine) -> Session:
    """A session for readers: on SQLite it does not take the write lock."""
    return ModelSession(engine, execution_options={READ_ONLY: True})


def backend_name(session: Session) -> str:
    return session.get_bind().dialect.name


def lock_chain(session: Session) -> None:
    """Serialise appenders before the chain head is read, for the rest of the transaction."""
    backend = backend_name(session)
    if backend == "postgresql":
        session.execute(text("LOCK TABLE audit_record IN EXCLUSIVE MODE"))
    elif backend == "sqlite":
        connection = session.connection()
        if not event.contains(connection.engine, "begin", _sqlite_on_begin):
            # Without BEGIN IMMEDIATE two appenders could read the same head; the primary key would
            # stop the second, but as an error instead of a wait.
            raise AuditError("append through an engine from eligibility.audit.database.make_engine")
        if connection.get_execution_options().get(READ_ONLY):
            raise AuditError("cannot append to the audit trail from a read-only session")
        # BEGIN IMMEDIATE (see _sqlite_on_begin) already holds the write lock.
    else:
        raise AuditError(f"unsupported audit database backend: {backend}")
