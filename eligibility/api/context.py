"""What every request needs, built once per app at startup and reached through `request.app.state`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from eligibility.api.cds_auth import CdsVerifier
from eligibility.api.links import LinkSigner
from eligibility.api.workers import Evaluator
from eligibility.audit.database import SessionFactory, read_session
from eligibility.settings import Settings

__all__ = ["ApiContext", "base_url", "context_of"]


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

    def read_session(self) -> Session:
        """A session that does not take SQLite's write lock (token lookups, history reads)."""
        return read_session(self.engine)


def context_of(connection: HTTPConnection) -> ApiContext:
    return cast(ApiContext, connection.app.state.api)


def base_url(connection: HTTPConnection) -> str:
    """The service's public root URL without a trailing slash: configured, or as the request reached us."""
    configured = context_of(connection).settings.api_base_url
    return (configured or str(connection.base_url)).rstrip("/")
