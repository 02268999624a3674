"""Shared helpers of the audit tests: synthetic decisions, bulk filling, tampering, a spawn worker."""

from __future__ import annotations

import hashlib
import multiprocessing.queues
import multiprocessing.synchronize
import sqlite3
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from eligibility.audit import store
from eligibility.audit.checkpoints import Signer
from eligibility.audit.database import make_engine
from eligibility.decision import Criterion, Decision, PatientRef, PolicyRef

TEST_KEY = b"audit-tests-key-0123456789abcdef0123"
AUDIT_TABLES = ("audit_record", "audit_input", "audit_checkpoint")


def fake_decision(n: int = 0, *, outcome: str = "NEEDS_REVIEW", patient: str | None = None) -> tuple[Decision, bytes]:
    """A well-formed decision record and the canonical input it names (no engine involved)."""
    canonical = orjson.dumps(
        {"entry": [{"resource": {"id": f"p{n}", "resourceType": "Patient"}}], "resourceType": "Bundle"},
        option=orjson.OPT_SORT_KEYS,
    )
    decision = Decision.model_validate(
        {
            "decision_id": str(uuid.uuid4()),
            "evaluated_at": "2026-06-01T09:00:00.000000Z",
            "as_of": "2026-06-01",
            "patient": PatientRef(reference=patient or f"Patient/p{n}"),
            "policy": PolicyRef(id="drg-clinic", version="1.0.0", sha256="0" * 64),
            "engine_version": "test",
            "input_sha256": hashlib.sha256(canonical).hexdigest(),
            "stage": "trial",
            "outcome": outcome,
            "label_status": "OFF_LABEL",
            "criteria": [Criterion(id="adult", status="met", reason="aged 40", rule_id="adult.met")],
            "actions": [],
            "rules_fired": ["adult.met"],
            "summary": "synthetic decision for audit tests",
        }
    )
    return decision, canonical


def named_decision(
    n: int, *, name: str, mrn: str, outcome: str = "NEEDS_REVIEW", stage: str = "trial"
) -> tuple[Decision, bytes]:
    """`fake_decision` whose input's Patient has a name, an MRN, a birth date and a sex (the worklist's header)."""
    patient = {
        "birthDate": "1971-03-14",
        "gender": "female",
        "id": f"p{n}",
        "identifier": [{"system": "urn:oid:1.2.36.146.595.217.0.1", "type": {"coding": [
            {"code": "MR", "system": "http://terminology.hl7.org/CodeSystem/v2-0203"}]}, "value": mrn}],
        "name": [{"family": name.split()[-1], "given": name.split()[:-1]}],
        "resourceType": "Patient",
    }  # fmt: skip
    canonical = orjson.dumps({"entry": [{"resource": patient}], "resourceType": "Bundle"}, option=orjson.OPT_SORT_KEYS)
    decision, _ = fake_decision(n, outcome=outcome)
    update = {"input_sha256": hashlib.sha256(canonical).hexdigest(), "stage": stage}
    return decision.model_copy(update=update), canonical


def fill(engine: Engine, signer: Signer, count: int, *, batch: int = 1, start: int = 0) -> list[str]:
    """Append `count` decision records, `batch` per transaction; return their decision ids."""
    ids: list[str] = []
    for offset in range(0, count, batch):
        with Session(engine) as session:
            pending = store.PendingAppend()
            for n in range(start + offset, start + min(offset + batch, count)):
                decision, canonical = fake_decision(n)
                pending.add_decision(decision, canonical, actor="tester", channel="test")
                ids.append(decision.decision_id)
            pending.append_to(session, signer=signer)
            session.commit()
    return ids


def tamper(engine: Engine, *statements: str, params: dict[str, Any] | None = None) -> None:
    """Run SQL as an attacker who got round the append-only triggers and the foreign keys.

    PostgreSQL: a superuser's `session_replication_role = replica`. SQLite: the `sqlite3` module on
    the database file, dropping the triggers first (foreign keys are off by default there).
    """
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            for statement in statements:
                connection.execute(text(statement), params or {})
        return
    assert engine.url.database
    raw = sqlite3.connect(engine.url.database)
    try:
        for table in AUDIT_TABLES:
            for event in ("update", "delete"):
                raw.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
        for statement in statements:
            raw.execute(statement, params or {})
        raw.commit()
    finally:
        raw.close()


def append_worker(
    url: str,
    key: bytes,
    every: int,
    count: int,
    batch: int,
    label: str,
    start: multiprocessing.synchronize.Barrier,
    spans: multiprocessing.queues.Queue[tuple[str, float, float]],
) -> None:
    """Spawned process body: wait until every worker is ready, then append, with a short pause between
    transactions as requests arriving would have (without it SQLite's busy handler, which is not
    fair, may let one process take every turn)."""
    engine = make_engine(url)
    signer = Signer(key=key, every=every)
    start.wait(timeout=120)  # a barrier: nobody starts before all have imported and connected
    began = time.time()
    try:
        for offset in range(0, count, batch):
            with Session(engine) as session:
                pending = store.PendingAppend()
                for n in range(offset, min(offset + batch, count)):
                    decision, canonical = fake_decision(n, patient=f"Patient/{label}-{n}")
                    pending.add_decision(decision, canonical, actor=label, channel="test")
                pending.append_to(session, signer=signer)
                session.commit()
            time.sleep(0.002)
        spans.put((label, began, time.time()))
    finally:
        engine.dispose()


FIXTURES = Path(__file__).with_name("fixtures")
AS_OF = date(2026, 6, 1)


def bundle(name: str) -> bytes:
    """One of the FHIR bundles in fixtures/ (see its README), as submitted bytes."""
    return (FIXTURES / f"{name}.json").read_bytes()


def factory_for(engine: Engine) -> Callable[[], Session]:
    def open_session() -> Session:
        return Session(engine, expire_on_commit=False)

    return open_session
