"""The FastAPI application: `create_app()` builds it; nothing connects or starts until it is served.

At startup (lifespan) the database is opened and migrated, the trail is checked (key fingerprint,
witnessed head; see eligibility/audit/startup.py: the server refuses to start on a trail it must not
continue), the rule workers are started and the trusted CDS issuers are loaded; a timer seals the
head every `checkpoint_interval_s`; at shutdown they are closed again. Tests inject a session factory,
an evaluator (e.g. a pool running a test hook) or an HTTP client for the CDS client's FHIR server.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from eligibility.api import handlers
from eligibility.api.cds_auth import CdsConfigError, CdsVerifier, load_issuers
from eligibility.api.context import ApiContext
from eligibility.api.links import LinkSigner
from eligibility.api.recording import write_refusal_summaries
from eligibility.api.refusals import RefusalLimiter
from eligibility.api.routes_answers import router as answers_router
from eligibility.api.routes_cds import router as cds_router
from eligibility.api.routes_decisions import router as decisions_router
from eligibility.api.routes_fhir import router as fhir_router
from eligibility.api.schemas import component_schemas
from eligibility.api.seen_tokens import SeenTokens
from eligibility.api.workers import Evaluator, ProcessEvaluator
from eligibility.audit import store
from eligibility.audit.checkpoints import latest_checkpoint
from eligibility.audit.database import SessionFactory, checked_at_start
from eligibility.audit.database import session_factory as default_session_factory
from eligibility.settings import Settings, get_settings
from eligibility.version import ENGINE_VERSION
from eligibility.web import install as install_web

__all__ = ["create_app"]

log = logging.getLogger("eligibility.api")

_DESCRIPTION = """DRG stimulation candidacy for referring physicians' systems.

* FHIR R4: `POST /fhir/Patient/$drg-candidacy` (API token), `GET /fhir/GuidanceResponse/{id}`, `GET /fhir/metadata`.
* CDS Hooks 2.0: `GET /cds-services`, `POST /cds-services/{id}`, `POST /cds-services/{id}/feedback`
  (a JWT signed by the CDS client).

Errors are FHIR OperationOutcomes. Every call that carries a submission is in the audit trail before it
is answered. Decision support only: the treating clinician decides.
"""


def _software_version() -> str:
    try:
        return version("drg-eligibility")
    except PackageNotFoundError:
        return ENGINE_VERSION


def _engine_of(factory: SessionFactory) -> Engine:
    with factory() as session:
        bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def require_base_url(settings: Settings) -> None:
    """Outside development and test the public URL must be configured: without it the CDS JWT
    audience and the card links follow the request's Host header, which the caller chooses."""
    if settings.environment not in ("development", "test") and not settings.api_base_url:
        raise CdsConfigError(
            f"refusing to start in environment {settings.environment!r}: set DRG_ELIGIBILITY_API_BASE_URL "
            "(the JWT audience and links would otherwise follow the Host header)"
        )


async def _seal_periodically(factory: SessionFactory, interval_s: float) -> None:
    """Sign the head every `interval_s` when records arrived since the last checkpoint, so a quiet
    server's last decisions reach the witness without waiting for the next append."""
    if interval_s <= 0:
        return
    while True:
        await asyncio.sleep(interval_s)
        try:
            await run_in_threadpool(_seal_if_unsealed, factory)
        except Exception:  # logged; the next append refuses by itself if the trail was cut
            log.exception("the periodic audit checkpoint failed")


def _seal_if_unsealed(factory: SessionFactory) -> None:
    with factory() as session:
        newest = latest_checkpoint(session)
        seq, _ = store.head(session)
        if seq > (0 if newest is None else newest.record_seq):
            store.seal_head(session)
            session.commit()
        else:
            session.rollback()


def create_app(
    settings: Settings | None = None,
    *,
    session_factory: SessionFactory | None = None,
    evaluator: Evaluator | None = None,
    fhir_client: httpx.AsyncClient | None = None,
) -> FastAPI:
    chosen = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        require_base_url(chosen)
        factory = session_factory
        if factory is None:  # the configured database, migrated to head
            factory = await run_in_threadpool(default_session_factory, chosen.database_url)
        engine = await run_in_threadpool(_engine_of, factory)
        await run_in_threadpool(partial(checked_at_start, engine, again=True))
        write_lock = threading.Lock()  # every write to the database from this process, one at a time
        cds = CdsVerifier(
            load_issuers(chosen.api_cds_issuers),
            max_age_s=chosen.api_cds_max_token_age_s,
            # seen jtis in the database: no replay after a restart; inserted behind the audit write lock
            replay=SeenTokens(factory, write_lock=write_lock),
        )
        pool = evaluator
        if pool is None:
            own = ProcessEvaluator(
                chosen.api_workers, timeout_s=chosen.api_evaluation_timeout_s, read_all=chosen.read_all
            )
            await run_in_threadpool(own.start)  # workers ready before the first request
            pool = own
        http = fhir_client or httpx.AsyncClient(timeout=chosen.api_fhir_fetch_timeout_s, follow_redirects=False)
        app.state.api = ApiContext(
            settings=chosen,
            session_factory=factory,
            engine=engine,
            evaluator=pool,
            cds=cds,
            links=LinkSigner.from_secret(chosen.audit_hmac_key, ttl_s=chosen.api_card_link_ttl_s),
            http=http,
            software_version=_software_version(),
            refusals=RefusalLimiter(burst=chosen.api_refusals_burst, window_s=chosen.api_refusals_window_s),
            write_lock=write_lock,
        )
        if evaluator is None:
            # Out of the cyclic collector's reach: what is alive now (routes, models, SQLAlchemy) lives as
            # long as the process, and full collections walked it on every few calls. Measured in the
            # server process, CDS patient-view with the 200-entry chart: GC 1.10 -> 0.23 ms per call.
            gc.collect()
            gc.freeze()
        sealer = asyncio.create_task(_seal_periodically(factory, chosen.checkpoint_interval_s))
        try:
            yield
        finally:
            sealer.cancel()
            try:
                await write_refusal_summaries(app.state.api, app.state.api.refusals.drain())
            except Exception:  # shutting down: say so, the trail itself stays consistent
                log.exception("could not record the summary of throttled refused calls")
            if fhir_client is None:
                await http.aclose()
            if evaluator is None:
                await run_in_threadpool(pool.close)

    app = FastAPI(
        title="DRG eligibility service",
        version=_software_version(),
        description=_DESCRIPTION,
        lifespan=lifespan,
    )
    handlers.install(app)
    app.include_router(fhir_router)
    app.include_router(answers_router)
    app.include_router(cds_router)
    app.include_router(decisions_router)
    install_web(app)  # the browser pages under /ui (HTML, not in the OpenAPI document)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(component_schemas())
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
