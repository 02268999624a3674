"""The witness catches what the database cannot: a cut tail with its checkpoints, a rolled-back copy.

Each attack runs on SQLite and PostgreSQL with the triggers out of the way (`tamper`). The trail: 25
decision records, a checkpoint every 10, so the witness holds the signed heads at seq 10 and 20.
Before the witness, every one of these attacks verified as intact (the first assertion of the tail
cut tests shows it: the database alone still says "ok").
"""

from __future__ import annotations

import shutil
import sqlite3
import stat
from pathlib import Path

import orjson
import pytest
from audit_helpers import TEST_KEY, fake_decision, fill, tamper
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from eligibility.audit import guard, store
from eligibility.audit.checkpoints import Signer
from eligibility.audit.database import read_session
from eligibility.audit.startup import check_trail_at_start
from eligibility.audit.verify import VerifyReport, verify
from eligibility.audit.witness import Witness, read_witness
from eligibility.errors import AuditError


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    return Witness.at(tmp_path / "witness" / "trail.witness.jsonl")


@pytest.fixture
def witnessed(witness: Witness) -> Signer:
    return Signer(key=TEST_KEY, every=10, witness=witness)


@pytest.fixture
def trail(engine: Engine, witnessed: Signer) -> Engine:
    fill(engine, witnessed, 25)
    yield engine
    guard.forget_known_heads()


ORPHANS = (  # an attacker who also removes the inputs the deleted records referenced
    "DELETE FROM audit_input WHERE sha256 NOT IN (SELECT input_sha256 FROM audit_record WHERE input_sha256 IS NOT NULL)"
)


def check(engine: Engine, signer: Signer, witness: Witness | None) -> VerifyReport:
    with read_session(engine) as session:
        return verify(session, signer=signer, witness=None if witness is None else read_witness(witness))


def messages(report: VerifyReport) -> str:
    return "\n".join(problem.message for problem in report.problems)


def append_one(engine: Engine, signer: Signer, n: int = 999) -> None:
    with Session(engine) as session:
        decision, canonical = fake_decision(n)
        store.append_decision(
            session, decision=decision, canonical_input=canonical, actor="tester", channel="test", signer=signer
        )
        session.commit()


def test_each_checkpoint_is_published_as_one_signed_line_private_and_durable(
    trail: Engine, witness: Witness, witnessed: Signer
) -> None:
    lines = witness.primary.path.read_bytes().splitlines()
    assert [orjson.loads(line)["record_seq"] for line in lines] == [10, 20]
    assert stat.S_IMODE(witness.primary.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(witness.primary.path.parent.stat().st_mode) == 0o700
    report = check(trail, witnessed, witness)
    assert report.ok, report.problems
    assert (report.witnessed_heads, report.witnessed_seq) == (2, 20)


def test_a_rolled_back_append_publishes_nothing(engine: Engine, witness: Witness, witnessed: Signer) -> None:
    fill(engine, witnessed, 9)
    with Session(engine) as session:
        decision, canonical = fake_decision(9)
        store.append_decision(
            session, decision=decision, canonical_input=canonical, actor="t", channel="test", signer=witnessed
        )
        session.rollback()  # the checkpoint at seq 10 was signed inside the transaction, then undone
    assert not witness.primary.exists()
    fill(engine, witnessed, 1, start=9)
    assert len(witness.primary.path.read_bytes().splitlines()) == 1
    guard.forget_known_heads()


def test_tail_cut_together_with_its_checkpoints(trail: Engine, witness: Witness, witnessed: Signer) -> None:
    tamper(trail, "DELETE FROM audit_record WHERE seq >= 15", "DELETE FROM audit_checkpoint WHERE id >= 2", ORPHANS)
    assert check(trail, witnessed, None).ok  # the database alone cannot see it
    report = check(trail, witnessed, witness)
    assert not report.ok
    assert report.first_problem is not None and report.first_problem.seq == 15
    found = messages(report)
    assert "records 15..20 are missing: the witness holds the head seq 20 (checkpoint 2)" in found
    assert "witnessed checkpoint 2 (seq 20) is missing from the database" in found


def test_everything_deleted(trail: Engine, witness: Witness, witnessed: Signer) -> None:
    tamper(trail, "DELETE FROM audit_record", "DELETE FROM audit_checkpoint", "DELETE FROM audit_input")
    assert check(trail, witnessed, None).ok
    report = check(trail, witnessed, witness)
    assert "records 1..20 are missing" in messages(report)


def test_tail_cut_leaving_the_checkpoints(trail: Engine, witness: Witness, witnessed: Signer) -> None:
    tamper(trail, "DELETE FROM audit_record WHERE seq >= 15")
    report = check(trail, witnessed, witness)
    assert "records 15..20 are missing: the witness holds the head seq 20" in messages(report)


def test_database_replaced_by_an_older_copy(
    engine: Engine, witness: Witness, witnessed: Signer, tmp_path: Path
) -> None:
    fill(engine, witnessed, 12)
    if engine.dialect.name == "sqlite":
        assert engine.url.database
        source, backup = sqlite3.connect(engine.url.database), sqlite3.connect(tmp_path / "backup.db")
        source.backup(backup)  # what a nightly backup holds
        source.close()
        backup.close()
        fill(engine, witnessed, 13, start=12)
        engine.dispose()
        for suffix in ("-wal", "-shm"):
            Path(engine.url.database + suffix).unlink(missing_ok=True)
        shutil.copy(tmp_path / "backup.db", engine.url.database)
    else:  # what restoring a dump taken at seq 12 leaves
        fill(engine, witnessed, 13, start=12)
        tamper(
            engine,
            "DELETE FROM audit_record WHERE seq > 12",
            "DELETE FROM audit_checkpoint WHERE record_seq > 12",
            ORPHANS,
        )
    report = check(engine, witnessed, witness)
    assert "records 13..20 are missing: the witness holds the head seq 20" in messages(report)
    guard.forget_known_heads()  # a restarted server: only the witness remembers
    with pytest.raises(AuditError, match=r"witnessed head seq 20 .* is gone, the trail ends at seq 12"):
        check_trail_at_start(engine, witnessed)
    with pytest.raises(AuditError, match="refusing to append"):
        fill(engine, witnessed, 1, start=100)  # every append checks the witnessed head
    with read_session(engine) as session:
        assert store.head(session)[0] == 12


def test_a_live_appender_refuses_at_once_after_records_it_wrote_are_deleted(trail: Engine, witnessed: Signer) -> None:
    tamper(trail, "DELETE FROM audit_record WHERE seq >= 21")  # unsealed records: no checkpoint signed them
    with pytest.raises(AuditError, match="committed the audit trail up to seq 25, but the trail now ends at seq 20"):
        append_one(trail, witnessed)


def test_a_deleted_witness_is_reported_not_ignored(trail: Engine, witness: Witness, witnessed: Signer) -> None:
    witness.primary.path.unlink()
    report = check(trail, witnessed, witness)
    assert not report.ok
    assert f"no witness at {witness.primary.path}" in messages(report)


def test_a_planted_witness_line_is_recognised(trail: Engine, witness: Witness, witnessed: Signer) -> None:
    forged = Signer(key=b"someone-else-key-0123456789abcdef", every=10)
    fields = {"id": 3, "record_seq": 30, "chain_hash": "a" * 64, "created_at": "2026-01-01T00:00:00.000000Z"}
    fields |= {"key_id": witnessed.key_id, "prev_signature": "b" * 64}
    witness.publish(fields, forged.sign(fields))
    report = check(trail, witnessed, witness)
    assert "witnessed checkpoint 3 (seq 30) is not signed with the audit key" in messages(report)


def test_a_mirror_survives_the_loss_of_the_primary(engine: Engine, tmp_path: Path) -> None:
    both = Witness.at(tmp_path / "w1" / "w.jsonl", tmp_path / "w2" / "w.jsonl")
    signer = Signer(key=TEST_KEY, every=10, witness=both)
    fill(engine, signer, 20)
    tamper(engine, "DELETE FROM audit_record WHERE seq > 5", "DELETE FROM audit_checkpoint")
    assert both.primary.path.read_bytes() == both.copies[1].path.read_bytes()
    both.primary.path.unlink()
    report = check(engine, signer, Witness.at(both.copies[1].path))
    assert "records 6..20 are missing" in messages(report)
    guard.forget_known_heads()


def test_start_up_publishes_checkpoints_the_witness_missed(engine: Engine, witness: Witness, witnessed: Signer) -> None:
    fill(engine, witnessed, 20)
    fill(engine, Signer(key=TEST_KEY, every=10), 10, start=20)  # checkpoint 3 committed, its line lost
    assert check_trail_at_start(engine, witnessed) == 1
    report = check(engine, witnessed, witness)
    assert report.ok and report.witnessed_seq == 30 and not report.notes
    guard.forget_known_heads()


def test_a_trail_from_before_the_witness_is_adopted_and_says_so(
    engine: Engine, witness: Witness, witnessed: Signer
) -> None:
    fill(engine, Signer(key=TEST_KEY, every=10), 20)
    with pytest.raises(AuditError, match=r"the trail holds 2 checkpoint.* but the witness .* is missing"):
        check_trail_at_start(engine, witnessed)  # production: a deleted witness is not silently replaced
    assert check_trail_at_start(engine, witnessed, adopt=True) == 2
    report = check(engine, witnessed, witness)
    assert report.ok and report.witnessed_seq == 20
    assert "published at start-up from the database's own checkpoints" in report.notes[0]
    guard.forget_known_heads()


def test_start_up_refuses_a_trail_signed_with_another_key(trail: Engine, witness: Witness) -> None:
    other = Signer(key=b"another-key-0123456789abcdef-0123", every=10, witness=witness)
    with pytest.raises(AuditError, match="this trail was signed with another key"):
        check_trail_at_start(trail, other)


def test_first_append_and_then_every_interval_sign_a_checkpoint(engine: Engine, witness: Witness) -> None:
    timed = Signer(key=TEST_KEY, every=0, interval_s=3600, witness=witness)
    fill(engine, timed, 3)
    assert [orjson.loads(line)["record_seq"] for line in witness.primary.path.read_bytes().splitlines()] == [1]
    fill(engine, Signer(key=TEST_KEY, every=0, interval_s=0.000001, witness=witness), 2, start=3)
    assert [orjson.loads(line)["record_seq"] for line in witness.primary.path.read_bytes().splitlines()] == [1, 4, 5]
    guard.forget_known_heads()


def test_a_torn_last_line_is_ignored_and_completed(trail: Engine, witness: Witness, witnessed: Signer) -> None:
    with witness.primary.path.open("ab") as handle:
        handle.write(b'{"v":1,"checkpoint":3,"rec')  # a crash inside the write
    last = witness.last()
    assert last is not None and last.record_seq == 20
    fill(trail, witnessed, 10, start=25)
    report = check(trail, witnessed, witness)
    assert report.ok, report.problems
    assert report.witnessed_seq == 30
