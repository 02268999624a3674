"""Run the audit schema's Alembic migrations from code, without an alembic.ini.

The version is kept in its own table (`audit_alembic_version`) so the audit schema can share a
database with other components' migrations. Upgrades run in one transaction that first takes a lock
(SQLite: `BEGIN IMMEDIATE`; PostgreSQL: an advisory lock), so two processes starting on a fresh
database do not both try to create the tables.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

__all__ = ["MIGRATIONS_DIR", "VERSION_TABLE", "current_revision", "downgrade", "head_revision", "upgrade"]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "audit_alembic_version"
_PG_MIGRATION_LOCK = 0x6472_6761_7564_6974  # "drgaudit": one migration at a time per server


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no audit migrations found in {MIGRATIONS_DIR}")
    return head


def _current(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return _current(connection)


def _locked_begin(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})


def upgrade(engine: Engine, revision: str = "head") -> None:
    target = head_revision() if revision == "head" else revision
    with engine.begin() as connection:
        _locked_begin(connection)
        if _current(connection) == target:
            return
        command.upgrade(_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        _locked_begin(connection)
        command.downgrade(_config(connection), revision)
