"""Alembic migrations: from an empty database and from the previous revision, on both backends."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from audit_helpers import fake_decision
from sqlalchemy import Engine, MetaData, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from eligibility.audit import models, store
from eligibility.audit.checkpoints import Signer
from eligibility.audit.migrate import VERSION_TABLE, current_revision, downgrade, head_revision, upgrade
from eligibility.audit.verify import verify
from eligibility.audit.worklist_table import WorklistEntry

AUDIT_TABLES = {"audit_record", "audit_input", "audit_checkpoint"}


def triggers(engine: Engine) -> set[str]:
    query = (
        "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"
        if engine.dialect.name == "postgresql"
        else "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    )
    with engine.connect() as connection:
        return {row[0] for row in connection.execute(text(query))}


def test_upgrade_from_empty_database_creates_the_whole_schema(bare_engine: Engine) -> None:
    assert current_revision(bare_engine) is None
    upgrade(bare_engine)
    assert current_revision(bare_engine) == head_revision()
    assert AUDIT_TABLES | {VERSION_TABLE} <= set(inspect(bare_engine).get_table_names())
    # Two per table: UPDATE/DELETE (row) and TRUNCATE (statement) on PostgreSQL; UPDATE and DELETE on SQLite.
    assert len(triggers(bare_engine)) == 6


def test_upgrade_is_idempotent(bare_engine: Engine) -> None:
    upgrade(bare_engine)
    upgrade(bare_engine)
    assert current_revision(bare_engine) == head_revision()


def old_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store as it was before 0103: appends without the worklist index (the table is not there yet)."""
    monkeypatch.setattr(store, "index_appended", lambda *args: None)


def test_upgrade_from_previous_revision_keeps_the_chain(bare_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    old_store(monkeypatch)
    upgrade(bare_engine, "0001")
    assert "audit_checkpoint" not in inspect(bare_engine).get_table_names()
    assert triggers(bare_engine) == set()
    # Records written by a 0001-era store (no checkpoints yet) ...
    old_signer = Signer(key=b"k" * 32, every=0)
    with Session(bare_engine) as session:
        for n in range(5):
            decision, canonical = fake_decision(n)
            store.append_decision(
                session, decision=decision, canonical_input=canonical, actor="a", channel="t", signer=old_signer
            )
        session.commit()

    monkeypatch.undo()
    upgrade(bare_engine)

    assert current_revision(bare_engine) == head_revision()
    with Session(bare_engine) as session:
        report = verify(session, signer=old_signer)
        assert report.ok, report.problems
        assert (report.records, report.unsealed) == (5, 5)
    # ... are now protected by the triggers 0002 added.
    with pytest.raises(IntegrityError), bare_engine.begin() as connection:
        connection.execute(text("UPDATE audit_record SET actor = 'mallory'"))


def test_downgrade_to_base_and_upgrade_again(bare_engine: Engine) -> None:
    upgrade(bare_engine)
    downgrade(bare_engine, "base")
    assert not AUDIT_TABLES & set(inspect(bare_engine).get_table_names())
    upgrade(bare_engine)
    assert set(inspect(bare_engine).get_table_names()) >= AUDIT_TABLES


def test_models_describe_the_migrated_schema(engine: Engine) -> None:
    mine = MetaData()
    for model in (models.AuditInput, models.AuditRecord, models.AuditCheckpoint, WorklistEntry):
        model.__table__.to_metadata(mine)  # type: ignore[attr-defined]
    described = AUDIT_TABLES | {"audit_worklist"}
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_name": lambda name, kind, _p: kind != "table" or name in described},
        )
        assert compare_metadata(context, mine) == []
