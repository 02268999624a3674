"""The real PostgreSQL the audit-store tests run on (besides SQLite), shared by every test package.

Unreachable: skipped locally with how to start one; a failure under CI=true, which must test both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get("DRG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
HOW_TO_START = (
    "start one with `docker run -d -e POSTGRES_HOST_AUTH_METHOD=trust -p 5432:5432 postgres:15` "
    "(or `apt-get install postgresql` and trust auth for 127.0.0.1), or set DRG_TEST_POSTGRES_URL"
)


@cache
def postgres_unavailable() -> str | None:
    engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        return f"PostgreSQL at {make_url(POSTGRES_URL).render_as_string()} unreachable ({type(exc).__name__})"
    finally:
        engine.dispose()
    return None


def require_postgres() -> None:
    reason = postgres_unavailable()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true requires both backends: {HOW_TO_START}")
    pytest.skip(f"{reason}; {HOW_TO_START}")


def postgres_schema_url(schema: str) -> str:
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@contextmanager
def postgres_schema(prefix: str = "test") -> Iterator[str]:
    """A URL whose search_path is a fresh schema `<prefix>_<random>`, dropped on exit (skip or CI failure
    when PostgreSQL cannot be reached, as require_postgres)."""
    require_postgres()
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield postgres_schema_url(schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
