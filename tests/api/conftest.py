"""Fixtures: the service served by uvicorn on 127.0.0.1 (a thread), on SQLite and on PostgreSQL.

`api` runs a test on both backends: SQLite (a temporary file) and PostgreSQL (the server named by
DRG_TEST_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test; a fresh schema per
test). When PostgreSQL is unreachable that half is skipped with the reason, except in CI (CI=true),
where it fails. `sqlite_api` is for tests whose subject is not the database (JWT checks, limits).

One pool of rule workers serves the whole session (spawning one costs seconds); tests that kill
workers build their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from eligibility.api.server import uvicorn_config
from eligibility.api.users import Role, add_user
from eligibility.api.workers import Evaluator, ProcessEvaluator
from eligibility.app import create_app
from eligibility.audit.database import make_engine
from eligibility.audit.migrate import upgrade
from eligibility.settings import Settings
from tests.api.helpers import ClientKeys
from tests.postgres import postgres_schema
from tests.serving import running


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'api.db'}"
        return
    with postgres_schema("api_test") as url:
        yield url


@pytest.fixture(scope="session")
def keys() -> ClientKeys:
    return ClientKeys()


@pytest.fixture(scope="session")
def issuers_file(tmp_path_factory: pytest.TempPathFactory, keys: ClientKeys) -> Path:
    return keys.write_issuers(tmp_path_factory.mktemp("cds"))


@pytest.fixture(scope="session")
def evaluator() -> Iterator[ProcessEvaluator]:
    pool = ProcessEvaluator(2)
    pool.start()
    yield pool
    pool.close()


@contextmanager
def serve(app: Any, settings: Settings | None = None) -> Iterator[str]:
    """Serve `app` with uvicorn on a free loopback port, in a thread, configured as `drg-eligibility
    serve` does (the request-head limit included); yields the base URL."""
    config = uvicorn_config(
        app, settings or Settings(), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    with running(config) as base:
        yield base


@dataclass
class Api:
    """A running service, its database and tokens for each role."""

    base: str
    engine: Engine
    keys: ClientKeys
    tokens: dict[Role, str]
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base, timeout=60)

    def bearer(self, role: Role = Role.REFERRER) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def operate(
        self, body: bytes, *, role: Role = Role.REFERRER, params: dict[str, str] | None = None, **headers: str
    ) -> httpx.Response:
        sent = {"Content-Type": "application/fhir+json", **self.bearer(role), **headers}
        return self.http.post("/fhir/Patient/$drg-candidacy", content=body, headers=sent, params=params)

    def cds(self, path: str, document: Any, **token: Any) -> httpx.Response:
        headers = {"Content-Type": "application/json", **self.keys.auth(path, base=self.base, **token)}
        return self.http.post(path, json=document, headers=headers)


def make_settings(issuers_file: Path, **overrides: Any) -> Settings:
    return Settings(environment="test", api_cds_issuers=str(issuers_file), **overrides)


@contextmanager
def running_api(
    url: str,
    *,
    keys: ClientKeys,
    settings: Settings,
    evaluator: Evaluator,
    fhir_client: httpx.AsyncClient | None = None,
) -> Iterator[Api]:
    engine = make_engine(url)
    upgrade(engine)
    tokens: dict[Role, str] = {}
    with Session(engine) as session:
        for role in Role:
            tokens[role] = add_user(session, name=f"dr.{role.value}", role=role, actor="test-setup", channel="cli")
        session.commit()
    app = create_app(settings, session_factory=lambda: Session(engine), evaluator=evaluator, fhir_client=fhir_client)
    try:
        with serve(app, settings) as base:
            api = Api(base=base, engine=engine, keys=keys, tokens=tokens)
            try:
                yield api
            finally:
                api.http.close()
    finally:
        engine.dispose()


@pytest.fixture
def api(db_url: str, keys: ClientKeys, issuers_file: Path, evaluator: ProcessEvaluator) -> Iterator[Api]:
    with running_api(db_url, keys=keys, settings=make_settings(issuers_file), evaluator=evaluator) as running:
        yield running


@pytest.fixture
def sqlite_api(tmp_path: Path, keys: ClientKeys, issuers_file: Path, evaluator: ProcessEvaluator) -> Iterator[Api]:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    with running_api(url, keys=keys, settings=make_settings(issuers_file), evaluator=evaluator) as running:
        yield running
