"""What every request needs, built once per app at startup and reached through `request.app.state`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar, cast

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from eligibility.api.cds_auth import CdsVerifier
from eligibility.api.group_commit import DecisionWriter
from eligibility.api.links import LinkSigner
from eligibility.api.refusals import RefusalLimiter
from eligibility.api.token_cache import TokenCache
from eligibility.api.workers import Evaluator
from eligibility.audit.database import SessionFactory, read_session
from eligibility.settings import Settings

__all__ = ["ApiContext", "base_url", "context_of"]

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(slots=True)
class ApiContext:
    settings: Settings
    session_factory: SessionFactory  # write sessions (audit appends, user changes)
    engine: Engine
    evaluator: Evaluator
    cds: CdsVerifier
    links: LinkSigner
    http: httpx.AsyncClient  # for CDS clients' FHIR servers
    software_version: str
    # Audit writes queue here, one at a time per process. Colliding SQLite writers would instead
    # sleep in SQLite's busy handler, in growing steps up to 100 ms: measured with 8 concurrent
    # writers, p95 82 ms and p99 234 ms without the lock, 19 ms and 30 ms with it.
    write_lock: threading.Lock = field(default_factory=threading.Lock)
    # Refused unauthenticated calls recorded per client address (api/refusals.py).
    refusals: RefusalLimiter = field(default_factory=lambda: RefusalLimiter(burst=20, window_s=60.0))
    # API tokens found active, trusted for at most TOKEN_RECHECK_S (the bound on revocation).
    tokens: TokenCache = field(default_factory=TokenCache)
    # Decisions and their rejections, recorded in groups behind write_lock (api/group_commit.py).
    decisions: DecisionWriter = field(init=False)

    def __post_init__(self) -> None:
        self.decisions = DecisionWriter(self.session_factory, self.write_lock)

    def read_session(self) -> Session:
        """A session that does not take SQLite's write lock (token lookups, history reads)."""
        return read_session(self.engine)

    async def write(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run an audit write in the thread pool, holding the write lock."""

        def locked() -> T:
            with self.write_lock:
                return fn(*args, **kwargs)

        return await run_in_threadpool(locked)


def context_of(connection: HTTPConnection) -> ApiContext:
    return cast(ApiContext, connection.app.state.api)


def base_url(connection: HTTPConnection) -> str:
    """The service's public root URL without a trailing slash: configured, or as the request reached us."""
    configured = context_of(connection).settings.api_base_url
    return (configured or str(connection.base_url)).rstrip("/")
