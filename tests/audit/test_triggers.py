"""The database itself refuses to change or remove audit rows."""

from __future__ import annotations

import pytest
from audit_helpers import fill
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from eligibility.audit.checkpoints import Signer
from eligibility.audit.database import make_engine
from eligibility.audit.migrate import upgrade
from eligibility.audit.store import count_records

REFUSED = [
    "UPDATE audit_record SET payload = '{}' WHERE seq = 1",
    "UPDATE audit_record SET seq = seq + 100",
    "DELETE FROM audit_record WHERE seq = 1",
    "DELETE FROM audit_record",
    "UPDATE audit_input SET body = body",
    "DELETE FROM audit_input",
    "UPDATE audit_checkpoint SET chain_hash = chain_hash",
    "DELETE FROM audit_checkpoint",
]


@pytest.fixture
def filled(engine: Engine, signer: Signer) -> Engine:
    fill(engine, signer, 12, batch=4)
    return engine


@pytest.mark.parametrize("statement", REFUSED)
def test_update_and_delete_are_refused(filled: Engine, statement: str) -> None:
    with pytest.raises(IntegrityError, match="append-only"), filled.begin() as connection:
        connection.execute(text(statement))
    with Session(filled) as session:
        assert count_records(session) == 12


@pytest.mark.postgres
@pytest.mark.parametrize("tables", ["audit_record", "audit_checkpoint", "audit_record, audit_input, audit_checkpoint"])
def test_truncate_is_refused_on_postgresql(postgres_url: str, signer: Signer, tables: str) -> None:
    engine = make_engine(postgres_url)
    try:
        upgrade(engine)
        fill(engine, signer, 12, batch=4)
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables}"))
        with Session(engine) as session:
            assert count_records(session) == 12
    finally:
        engine.dispose()
