"""evaluate_and_record: nothing is released before it is recorded; rejections are recorded too."""

from __future__ import annotations

import pytest
from audit_helpers import AS_OF, bundle, factory_for
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from eligibility import service
from eligibility.audit import store
from eligibility.audit.chain import sha256_hex
from eligibility.audit.checkpoints import signer_from_settings
from eligibility.audit.database import make_engine, read_session
from eligibility.audit.verify import verify
from eligibility.errors import AuditError, InputError, NotJSONError, PatientCountError, PolicyError
from eligibility.settings import get_settings


def records(engine: Engine) -> list[store.StoredRecord]:
    with read_session(engine) as session:
        return list(store.iter_records(session))


def test_decision_is_committed_before_it_is_returned(engine: Engine) -> None:
    raw = bundle("crps-foot-eligible")
    decision = service.evaluate_and_record(
        raw, as_of=AS_OF, actor="dr.smith", channel="api", session_factory=factory_for(engine)
    )
    assert decision.outcome == "ELIGIBLE_FOR_TRIAL"
    # Read back through a fresh connection: the record is durable, not pending in some session.
    fresh = make_engine(engine.url.render_as_string(hide_password=False))
    with read_session(fresh) as session:
        record, stored, canonical = store.load_decision(session, decision.decision_id)
    fresh.dispose()
    assert stored == decision
    assert (record.actor, record.channel, record.kind) == ("dr.smith", "api", "decision")
    assert record.patient_ref == decision.patient.reference
    assert sha256_hex(canonical) == decision.input_sha256 == record.input_sha256
    assert record.data()["decision"]["rules_fired"] == decision.rules_fired != []


def test_same_input_twice_same_content_one_stored_input(engine: Engine) -> None:
    raw = bundle("crps-foot-eligible")
    first, second = (
        service.evaluate_and_record(raw, as_of=AS_OF, actor="a", channel="cli", session_factory=factory_for(engine))
        for _ in range(2)
    )
    assert first.decision_id != second.decision_id
    assert first.clinical_content() == second.clinical_content()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM audit_input")).scalar_one() == 1


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b'{"resourceType": "Bundle", "type": "collection", "entry": [', NotJSONError),
        (b'{"resourceType": "Bundle", "type": "collection", "entry": []}', PatientCountError),
    ],
)
def test_bad_input_is_recorded_then_raised(engine: Engine, raw: bytes, error: type[InputError]) -> None:
    with pytest.raises(error) as raised:
        service.evaluate_and_record(
            raw, as_of=AS_OF, actor="dr.smith", channel="api", session_factory=factory_for(engine)
        )
    [record] = records(engine)
    assert record.kind == "rejection" and record.decision_id is None
    recorded = record.data()["error"]
    assert recorded["type"] == error.__name__
    assert recorded["message"] == raised.value.message
    assert recorded["location"] == raised.value.location
    assert record.data()["as_of"] == AS_OF.isoformat()
    assert record.input_sha256 == sha256_hex(raw)
    with read_session(engine) as session:
        assert store.get_input(session, sha256_hex(raw)) == raw


def test_unknown_policy_is_recorded_then_raised(engine: Engine) -> None:
    with pytest.raises(PolicyError):
        service.evaluate_and_record(
            bundle("crps-foot-eligible"),
            as_of=AS_OF,
            actor="a",
            channel="api",
            policy="drg-clinic@9.9.9",
            session_factory=factory_for(engine),
        )
    [record] = records(engine)
    assert (record.kind, record.data()["policy"], record.data()["error"]["type"]) == (
        "rejection",
        "drg-clinic@9.9.9",
        "PolicyError",
    )


def test_no_decision_is_released_when_the_trail_cannot_record(bare_engine: Engine) -> None:
    # bare_engine has no audit tables: the append fails.
    with pytest.raises(AuditError, match="could not record decision") as raised:
        service.evaluate_and_record(
            bundle("crps-foot-eligible"),
            as_of=AS_OF,
            actor="a",
            channel="api",
            session_factory=factory_for(bare_engine),
        )
    assert raised.value.__cause__ is not None


def test_commit_failure_releases_nothing(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_commit(self: Session) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(Session, "commit", failing_commit)
    with pytest.raises(AuditError, match="disk I/O error"):
        service.evaluate_and_record(
            bundle("crps-foot-eligible"), as_of=AS_OF, actor="a", channel="api", session_factory=factory_for(engine)
        )
    monkeypatch.undo()
    assert records(engine) == []


def test_a_rejection_that_cannot_be_recorded_is_an_audit_error(bare_engine: Engine) -> None:
    with pytest.raises(AuditError, match="could not record the rejection") as raised:
        service.evaluate_and_record(
            b"not json", as_of=AS_OF, actor="a", channel="api", session_factory=factory_for(bare_engine)
        )
    assert isinstance(raised.value.__cause__, SQLAlchemyError)  # no such table


def test_batch_is_recorded_in_one_transaction(engine: Engine) -> None:
    raws = [bundle("crps-foot-eligible"), b"garbage", bundle("pain-duration-five-months")]
    results = service.evaluate_batch(
        raws, as_of=AS_OF, actor="screening", channel="batch", session_factory=factory_for(engine)
    )
    assert [type(r).__name__ for r in results] == ["Decision", "NotJSONError", "Decision"]
    stored = records(engine)
    assert [r.kind for r in stored] == ["decision", "rejection", "decision"]
    assert len({r.created_at for r in stored}) == 1  # one append, one transaction


def test_batch_write_failure_releases_none(bare_engine: Engine) -> None:
    results = [service.evaluate_one(bundle("crps-foot-eligible"), as_of=AS_OF)]
    with pytest.raises(AuditError):
        service.record_batch(results, actor="screening", channel="batch", session_factory=factory_for(bare_engine))


def test_reviews_and_reads_go_through_the_service(engine: Engine) -> None:
    factory = factory_for(engine)
    decision = service.evaluate_and_record(
        bundle("esi-no-outcome"), as_of=AS_OF, actor="api", channel="api", session_factory=factory
    )
    assert decision.outcome == "INSUFFICIENT_INFORMATION"
    read = service.read_decision(decision.decision_id, actor="dr.jones", channel="api", session_factory=factory)
    assert read == decision
    review = service.record_review(
        decision.decision_id,
        reviewer="dr.jones",
        action="override",
        reason_code="outcome-documented-elsewhere",
        comment="ESI failure documented in the referral letter",
        outcome="ELIGIBLE_FOR_TRIAL",
        channel="api",
        session_factory=factory,
    )
    assert review.data()["outcome"] == "ELIGIBLE_FOR_TRIAL"
    with pytest.raises(InputError):
        service.read_decision("unknown", actor="dr.jones", channel="api", session_factory=factory)
    with read_session(engine) as session:
        assert [r.kind for r in store.decision_history(session, decision.decision_id)] == [
            "decision",
            "access",
            "review",
        ]
        assert verify(session, signer=signer_from_settings(get_settings())).ok


def test_a_write_joined_to_a_batch_commits_with_it_or_not_at_all(engine: Engine) -> None:
    results = [service.evaluate_one(bundle("crps-foot-eligible"), as_of=AS_OF)]
    seen: list[int] = []

    def failing(session: Session) -> None:
        seen.append(len(list(store.iter_records(session))))  # the decision is written, not yet committed
        session.execute(text("select * from no_such_table"))

    with pytest.raises(AuditError):
        service.record_batch(
            results, actor="cds", channel="cds-hooks", session_factory=factory_for(engine), also=failing
        )
    assert seen == [1] and records(engine) == []  # rolled back together
    service.record_batch(
        results, actor="cds", channel="cds-hooks", session_factory=factory_for(engine), also=seen.append
    )
    assert [r.kind for r in records(engine)] == ["decision"] and isinstance(seen[1], Session)
