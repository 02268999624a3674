"""Appending and reading: sequence, links, checkpoints, the record kinds and their validation."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from audit_helpers import fake_decision, fill
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session

from eligibility.audit import store
from eligibility.audit.chain import GENESIS, sha256_hex
from eligibility.audit.checkpoints import Signer, latest_checkpoint
from eligibility.audit.database import make_engine, read_session
from eligibility.audit.migrate import upgrade
from eligibility.audit.models import AuditInput
from eligibility.errors import AuditError, InputError, NotJSONError


def rows(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def test_records_form_a_contiguous_linked_chain(engine: Engine, signer: Signer) -> None:
    fill(engine, signer, 7, batch=3)
    chain = rows(engine, "SELECT seq, prev_hash, chain_hash FROM audit_record ORDER BY seq")
    assert [seq for seq, _, _ in chain] == list(range(1, 8))
    assert chain[0][1] == GENESIS
    assert all(chain[i][1] == chain[i - 1][2] for i in range(1, 7))
    with Session(engine) as session:
        assert store.head(session) == (7, chain[-1][2])


def test_checkpoint_signed_each_time_the_chain_crosses_a_multiple(engine: Engine) -> None:
    signer = Signer(key=b"x" * 32, every=10)
    fill(engine, signer, 9)
    assert rows(engine, "SELECT count(*) FROM audit_checkpoint") == [(0,)]
    fill(engine, signer, 1, start=9)  # seq 10
    fill(engine, signer, 25, batch=25, start=10)  # seq 11..35 crosses 20 and 30: one checkpoint at 35
    assert rows(engine, "SELECT id, record_seq FROM audit_checkpoint ORDER BY id") == [(1, 10), (2, 35)]
    with Session(engine) as session:
        latest = latest_checkpoint(session)
        assert latest is not None
        assert latest.chain_hash == store.head(session)[1]
        assert latest.token() == f"35:{latest.chain_hash}"


def test_decision_round_trips_with_its_input_stored_once(engine: Engine, signer: Signer) -> None:
    decision, canonical = fake_decision(1)
    again = decision.model_copy(update={"decision_id": "second-evaluation"})
    with Session(engine) as session:
        store.append_decision(
            session, decision=decision, canonical_input=canonical, actor="dr.a", channel="api", signer=signer
        )
        store.append_decision(
            session, decision=again, canonical_input=canonical, actor="dr.a", channel="api", signer=signer
        )
        session.commit()
    with Session(engine) as session:
        record, loaded, body = store.load_decision(session, decision.decision_id)
        assert loaded == decision
        assert body == canonical
        assert record.input_sha256 == sha256_hex(canonical) == decision.input_sha256
        assert (record.kind, record.actor, record.channel, record.patient_ref) == (
            "decision",
            "dr.a",
            "api",
            "Patient/p1",
        )
        assert record.data()["decision"]["rules_fired"] == ["adult.met"]
        assert session.execute(select(func.count()).select_from(AuditInput)).scalar_one() == 1


def test_decision_must_name_the_input_it_is_stored_with(engine: Engine, signer: Signer) -> None:
    decision, _ = fake_decision(1)
    with Session(engine) as session, pytest.raises(AuditError, match="names input"):
        store.append_decision(
            session, decision=decision, canonical_input=b"{}", actor="a", channel="api", signer=signer
        )


def test_rejection_keeps_the_error_and_the_exact_bytes(engine: Engine, signer: Signer) -> None:
    raw = b'{"resourceType": "Bundle", oops'
    error = NotJSONError("not JSON: expecting property name", location="line 1 column 29")
    with Session(engine) as session:
        record = store.append_rejection(session, error=error, raw=raw, actor="batch", channel="cli", signer=signer)
        session.commit()
    with Session(engine) as session:
        assert record.decision_id is None
        assert record.data()["error"] == {
            "type": "NotJSONError",
            "code": "structure",
            "message": "not JSON: expecting property name",
            "location": "line 1 column 29",
        }
        assert store.get_input(session, sha256_hex(raw)) == raw


def test_reviews_and_reads_link_to_the_decision(engine: Engine, signer: Signer) -> None:
    decision, canonical = fake_decision(3, outcome="NEEDS_REVIEW")
    with Session(engine) as session:
        store.append_decision(
            session, decision=decision, canonical_input=canonical, actor="api", channel="api", signer=signer
        )
        store.append_access(
            session, actor="dr.b", channel="api", purpose="read", decision_id=decision.decision_id, signer=signer
        )
        store.append_review(
            session,
            decision_id=decision.decision_id,
            reviewer="dr.b",
            action="override",
            reason_code="clinical-judgement",
            comment="pacemaker is MRI-conditional; cardiology cleared",
            outcome="ELIGIBLE_FOR_TRIAL",
            channel="api",
            signer=signer,
        )
        store.append_review(
            session,
            decision_id=decision.decision_id,
            reviewer="dr.c",
            action="accept",
            reason_code="agree",
            channel="api",
            signer=signer,
        )
        session.commit()
    with Session(engine) as session:
        history = store.decision_history(session, decision.decision_id)
    assert [r.kind for r in history] == ["decision", "access", "review", "review"]
    assert {r.patient_ref for r in history} == {"Patient/p3"}
    override = history[2].data()
    assert override["outcome"] == "ELIGIBLE_FOR_TRIAL"
    assert override["recorded_outcome"] == "NEEDS_REVIEW"
    assert history[3].data()["outcome"] == "NEEDS_REVIEW"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"action": "override", "outcome": None}, "needs an outcome"),
        ({"action": "override", "outcome": "NEEDS_REVIEW"}, "already has outcome"),
        ({"action": "accept", "outcome": "NOT_ELIGIBLE"}, "keeps the recorded outcome"),
        ({"action": "accept", "reason_code": " "}, "needs a reason code"),
        ({"action": "approve"}, "must be one of"),
        ({"action": "accept", "decision_id": "nope"}, "no decision 'nope'"),
    ],
)
def test_bad_reviews_are_refused(engine: Engine, signer: Signer, kwargs: dict[str, object], message: str) -> None:
    decision, canonical = fake_decision(4, outcome="NEEDS_REVIEW")
    with Session(engine) as session:
        store.append_decision(
            session, decision=decision, canonical_input=canonical, actor="api", channel="api", signer=signer
        )
        arguments: dict[str, object] = {
            "decision_id": decision.decision_id,
            "reviewer": "dr.d",
            "reason_code": "agree",
            "channel": "api",
            "signer": signer,
        }
        arguments.update(kwargs)
        with pytest.raises(InputError, match=message):
            store.append_review(session, **arguments)  # type: ignore[arg-type]


def test_access_to_an_unknown_decision_is_refused(engine: Engine, signer: Signer) -> None:
    with Session(engine) as session, pytest.raises(InputError, match="no decision"):
        store.append_access(session, actor="x", channel="api", purpose="read", decision_id="missing", signer=signer)


@pytest.mark.parametrize(("actor", "channel"), [("", "api"), ("a", ""), ("a" * 201, "api"), ("a", "c" * 33)])
def test_every_record_names_who_and_through_what(engine: Engine, signer: Signer, actor: str, channel: str) -> None:
    decision, canonical = fake_decision()
    with Session(engine) as session, pytest.raises(AuditError, match=r"needs an? (actor|channel)"):
        store.append_decision(
            session, decision=decision, canonical_input=canonical, actor=actor, channel=channel, signer=signer
        )


def test_readers_cannot_append_on_sqlite(tmp_path: Path, signer: Signer) -> None:
    # Read sessions only differ on SQLite, where they open a deferred (non-locking) transaction.
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    upgrade(engine)
    decision, canonical = fake_decision()
    with read_session(engine) as session, pytest.raises(AuditError, match="read-only"):
        store.append_decision(
            session, decision=decision, canonical_input=canonical, actor="a", channel="t", signer=signer
        )
    engine.dispose()


def test_sqlite_engines_without_the_locking_setup_are_refused(tmp_path: Path, signer: Signer) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    upgrade(make_engine(url))
    plain = create_engine(url)  # no BEGIN IMMEDIATE: concurrent appenders would not queue
    decision, canonical = fake_decision()
    with Session(plain) as session, pytest.raises(AuditError, match="make_engine"):
        store.append_decision(
            session, decision=decision, canonical_input=canonical, actor="a", channel="t", signer=signer
        )
    plain.dispose()


def test_iter_records_filters_by_time_and_kind(engine: Engine, signer: Signer) -> None:
    fill(engine, signer, 3)
    with Session(engine) as session:
        store.append_access(
            session, actor="auditor", channel="cli", purpose="export", query={"from": None}, signer=signer
        )
        session.commit()
    with Session(engine) as session:
        everything = list(store.iter_records(session))
        middle = everything[1].created_at
        assert [r.seq for r in store.iter_records(session, start=middle)] == [2, 3, 4]
        assert [r.seq for r in store.iter_records(session, end=middle)] == [1]
        assert [r.seq for r in store.iter_records(session, kinds=["access"])] == [4]
        assert store.count_records(session) == 4


def test_a_rejection_stores_bounded_fields_with_the_hash_and_length_of_what_was_cut(
    session: Session, signer: Signer
) -> None:
    huge = "m" * 1_000_000
    error = InputError(huge, location="l" * 50_000)
    stored = store.append_rejection(
        session, error=error, raw=b"", actor="anonymous@10.0.0.1", channel="cds-hooks", signer=signer
    )
    session.commit()
    described = stored.data()["error"]
    assert described["message"].endswith(
        f"… [cut: 1000000 characters, sha256 {hashlib.sha256(huge.encode()).hexdigest()}]"
    )
    assert len(described["message"]) < 4200 and len(described["location"]) < 500
    assert len(stored.payload) < 5000  # was over 1 MB
