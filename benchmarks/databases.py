"""The databases a benchmark fills: a SQLite file in a temporary folder, or a throw-away schema on the
PostgreSQL server the tests use (DRG_TEST_POSTGRES_URL). One copy for audit_bench and worklist_bench."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

__all__ = ["POSTGRES_URL", "postgres_shown", "postgres_url", "postgres_version", "sqlite_url"]

POSTGRES_URL = os.environ.get("DRG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_shown() -> str:
    """The server's URL as a message may show it (no password)."""
    return make_url(POSTGRES_URL).render_as_string()


@contextmanager
def sqlite_url(prefix: str) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix=f"{prefix}-") as directory:
        yield f"sqlite:///{Path(directory) / 'audit.db'}"


@contextmanager
def postgres_url(prefix: str) -> Iterator[str]:
    """A schema of its own, dropped afterwards, so a run never meets the tests' tables."""
    schema = f"{prefix.replace('-', '_')}_{os.getpid()}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (
            make_url(POSTGRES_URL)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def postgres_version() -> str | None:
    """The server's version, or None when it cannot be reached (the benchmark then skips it)."""
    engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar_one())
    except sqlalchemy.exc.OperationalError:
        return None
    finally:
        engine.dispose()
