"""Fixtures of the report tests: the hand-counted trail of reports_helpers on SQLite and PostgreSQL.

SQLite is a temporary file and needs nothing. PostgreSQL is the server named by DRG_TEST_POSTGRES_URL
(default postgresql+psycopg://postgres@127.0.0.1:5432/test), one fresh schema per test, dropped after;
unreachable -> skipped with the reason, except with CI=true, where it fails (as in tests/audit).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from reports_helpers import Built, build_trail, patched_clock
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from eligibility.audit.checkpoints import Signer
from eligibility.audit.database import dispose_engines, make_engine
from eligibility.audit.migrate import upgrade
from eligibility.settings import get_settings
from tests.postgres import POSTGRES_URL, require_postgres

TEST_KEY = "report-tests-key-0123456789abcdef0123"
CHECKPOINT_EVERY = 5


def _settings_env(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("DRG_ELIGIBILITY_DATABASE_URL", url)
    monkeypatch.setenv("DRG_ELIGIBILITY_AUDIT_HMAC_KEY", TEST_KEY)
    monkeypatch.setenv("DRG_ELIGIBILITY_CHECKPOINT_EVERY", str(CHECKPOINT_EVERY))
    monkeypatch.setenv("DRG_ELIGIBILITY_ACTOR", "auditor@clinic")
    get_settings.cache_clear()


def _build(url: str, monkeypatch: pytest.MonkeyPatch) -> Built:
    _settings_env(monkeypatch, url)
    engine = make_engine(url)
    upgrade(engine)
    with patched_clock(monkeypatch) as clock:
        trail = build_trail(engine, clock)
    return Built(url, engine, trail)


@pytest.fixture(scope="module")
def shared_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """One trail per test module, for the tests that only read it (settings stay patched)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        built = _build(f"sqlite:///{tmp_path_factory.mktemp('reports') / 'audit.db'}", monkeypatch)
        yield built
        built.engine.dispose()
        dispose_engines()
    get_settings.cache_clear()


@pytest.fixture
def sqlite_trail(shared_sqlite: Built, monkeypatch: pytest.MonkeyPatch) -> Built:
    """The shared trail, with this test's settings pointing at it."""
    _settings_env(monkeypatch, shared_sqlite.url)
    return shared_sqlite


@pytest.fixture
def fresh_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Built]:
    """A trail of its own, for tests that tamper with it or append to it."""
    built = _build(f"sqlite:///{tmp_path / 'audit.db'}", monkeypatch)
    yield built
    built.engine.dispose()
    dispose_engines()
    get_settings.cache_clear()


@pytest.fixture
def fresh_postgres(monkeypatch: pytest.MonkeyPatch) -> Iterator[Built]:
    require_postgres()
    schema = f"report_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        built = _build(url.render_as_string(hide_password=False), monkeypatch)
        yield built
        built.engine.dispose()
        dispose_engines()
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        get_settings.cache_clear()


@pytest.fixture
def signer() -> Signer:
    """The signer the trail was written with (the same key and interval as `_settings_env`)."""
    return Signer(key=TEST_KEY.encode(), every=CHECKPOINT_EVERY)
