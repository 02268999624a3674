"""Fixtures: every audit test runs on SQLite (a temporary file) and on PostgreSQL.

PostgreSQL is the server named by DRG_TEST_POSTGRES_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/test); each test gets its own schema, dropped afterwards.
When the server is unreachable the PostgreSQL half is skipped with the reason — except in CI
(CI=true), where it fails: a green CI run must have exercised both backends.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from audit_helpers import TEST_KEY
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from eligibility.audit.checkpoints import Signer
from eligibility.audit.database import make_engine, read_session
from eligibility.audit.migrate import upgrade
from tests.postgres import postgres_schema


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no schema yet) on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit.db'}"
        return
    with postgres_schema("audit_test") as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """For the PostgreSQL-only tests (TRUNCATE)."""
    with postgres_schema("audit_test") as url:
        yield url


@pytest.fixture
def bare_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(bare_engine: Engine) -> Engine:
    """An engine on a database migrated to head."""
    upgrade(bare_engine)
    return bare_engine


@pytest.fixture
def signer() -> Signer:
    return Signer(key=TEST_KEY, every=10)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


@pytest.fixture
def reader(engine: Engine) -> Iterator[Session]:
    with read_session(engine) as session:
        yield session
