"""A CDS client JWT cannot be replayed after a restart or against another worker (issue 12, item 9).

The seen `jti`s were kept in memory: a restarted server accepted a captured token again within its
lifetime. Now they are rows of the database, until the token expires. SQLite and PostgreSQL, real
uvicorn servers one after the other on the same database.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

from eligibility.api.seen_tokens import SeenTokens
from eligibility.api.workers import ProcessEvaluator
from eligibility.app import create_app
from eligibility.audit.database import make_engine
from eligibility.audit.migrate import upgrade
from fhir_adapters.cds_hooks import SERVICE_ID
from tests.api.conftest import make_settings, serve
from tests.api.helpers import ClientKeys

PATH = f"/cds-services/{SERVICE_ID}"
PUBLIC = "http://drg.example.test"  # both servers answer for the same public URL (the JWT audience)
BODY = {"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "p"}}


def test_a_token_used_once_is_refused_by_a_restarted_server(
    db_url: str, keys: ClientKeys, issuers_file: Path, evaluator: ProcessEvaluator
) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    settings = make_settings(issuers_file, api_base_url=PUBLIC)
    token = keys.auth(PATH, base=PUBLIC)
    answers = []
    try:
        for _ in range(2):  # the first server, then a new one: nothing in memory carries over
            app = create_app(settings, session_factory=lambda: Session(engine), evaluator=evaluator)
            with serve(app, settings) as base:
                answers.append(httpx.post(base + PATH, json=BODY, headers=token, timeout=60))
    finally:
        engine.dispose()
    assert answers[0].status_code != 401, answers[0].text  # accepted (the data it asks for is another matter)
    assert answers[1].status_code == 401 and "already used (replay)" in answers[1].text


def test_seen_tokens_are_shared_and_expire(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    try:
        worker_a, worker_b = SeenTokens(lambda: Session(engine)), SeenTokens(lambda: Session(engine))
        now = time.time()
        assert worker_a.first_use("https://ehr", "j1", expires=now + 60, now=now)
        assert not worker_b.first_use("https://ehr", "j1", expires=now + 60, now=now)  # another worker
        assert worker_b.first_use("https://other-ehr", "j1", expires=now + 60, now=now)  # per issuer
        later = now + 3600  # long after expiry (and the leeway) the row is gone; exp itself refuses the token
        assert worker_a.first_use("https://ehr", "j2", expires=later + 60, now=later)
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT count(*) FROM api_cds_seen_token").scalar_one()
        assert rows == 1
    finally:
        engine.dispose()


def test_the_seen_token_insert_waits_for_the_audit_write_lock(db_url: str) -> None:
    """On SQLite the insert is a write like an audit append: behind the same lock, never colliding in
    SQLite's busy handler (which sleeps in steps of up to 100 ms)."""
    engine = make_engine(db_url)
    upgrade(engine)
    lock = threading.Lock()
    seen = SeenTokens(lambda: Session(engine), write_lock=lock)
    done = threading.Event()
    try:
        with lock:  # an audit append in progress
            now = time.time()
            worker = threading.Thread(
                target=lambda: (seen.first_use("https://ehr", "j", expires=now + 60, now=now), done.set())
            )
            worker.start()
            assert not done.wait(0.3)
        assert done.wait(10)
        worker.join()
    finally:
        engine.dispose()
