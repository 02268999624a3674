"""Verify catches every kind of tampering, with the triggers out of the way, and names the record.

The trail in each test: 25 decision records, a checkpoint every 10 (signed heads at seq 10 and 20).
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest
from audit_helpers import TEST_KEY, fill, tamper
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from eligibility.audit import store
from eligibility.audit.chain import canonical_json, content_sha256, sha256_hex
from eligibility.audit.checkpoints import Signer, latest_checkpoint
from eligibility.audit.database import make_engine, read_session
from eligibility.audit.migrate import upgrade
from eligibility.audit.verify import VerifyReport, parse_anchor, verify


@pytest.fixture
def trail(engine: Engine, signer: Signer) -> Engine:
    fill(engine, signer, 25, batch=1)
    return engine


def check(engine: Engine, signer: Signer, anchors: tuple[str, ...] = ()) -> VerifyReport:
    with read_session(engine) as session:
        return verify(session, signer=signer, anchors=[parse_anchor(a) for a in anchors])


def record(engine: Engine, seq: int) -> dict[str, object]:
    with engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM audit_record WHERE seq = :s"), {"s": seq}).one()
        return dict(row._mapping)


def test_an_untouched_trail_verifies(trail: Engine, signer: Signer) -> None:
    report = check(trail, signer)
    assert report.ok, report.problems
    assert (report.records, report.checkpoints, report.inputs) == (25, 2, 25)
    assert (report.head_seq, report.last_checkpoint_seq, report.unsealed) == (25, 20, 5)


def test_edited_payload(trail: Engine, signer: Signer) -> None:
    tamper(trail, "UPDATE audit_record SET payload = replace(payload, 'NEEDS_REVIEW', 'NOT_ELIGIBLE') WHERE seq = 7")
    report = check(trail, signer)
    assert not report.ok
    assert report.first_problem is not None
    assert report.first_problem.seq == 7
    assert "altered" in report.first_problem.message
    assert len(report.problems) == 1


def test_edited_payload_with_recomputed_plain_hashes(trail: Engine, signer: Signer) -> None:
    # The attacker knows the scheme but not the key: recomputes content and (unkeyed) chain hashes.
    row = record(trail, 7)
    row["actor"] = "someone-else"
    forged_content = content_sha256(row)
    forged_chain = sha256_hex(f"{row['prev_hash']}{forged_content}".encode())
    tamper(
        trail,
        "UPDATE audit_record SET actor = 'someone-else', content_sha256 = :c, chain_hash = :h WHERE seq = 7",
        "UPDATE audit_record SET prev_hash = :h WHERE seq = 8",
        params={"c": forged_content, "h": forged_chain},
    )
    report = check(trail, signer)
    assert report.first_problem is not None and report.first_problem.seq == 7
    assert "not made with the audit key" in report.first_problem.message


def test_deleted_record(trail: Engine, signer: Signer) -> None:
    tamper(trail, "DELETE FROM audit_record WHERE seq = 13")
    report = check(trail, signer)
    assert report.first_problem is not None and report.first_problem.seq == 14
    assert "13..13 are missing" in report.first_problem.message


def test_deleted_and_renumbered(trail: Engine, signer: Signer) -> None:
    tamper(
        trail,
        "DELETE FROM audit_record WHERE seq = 13",
        "UPDATE audit_record SET seq = -(seq - 1) WHERE seq > 13",
        "UPDATE audit_record SET seq = -seq WHERE seq < 0",
    )
    report = check(trail, signer)
    assert report.first_problem is not None and report.first_problem.seq == 13
    assert any("checkpoint" in p.message for p in report.problems)  # the head signed at 20 moved


def test_inserted_forged_record(trail: Engine, signer: Signer) -> None:
    last = record(trail, 25)
    forged: dict[str, object] = {
        "seq": 26,
        "record_id": str(uuid.uuid4()),
        "kind": "review",
        "created_at": last["created_at"],
        "actor": "dr.nobody",
        "channel": "api",
        "decision_id": last["decision_id"],
        "patient_ref": last["patient_ref"],
        "input_sha256": None,
        "payload": canonical_json({"action": "accept", "reason_code": "agree"}).decode(),
    }
    forged["content_sha256"] = content_sha256(forged)
    forged["prev_hash"] = last["chain_hash"]
    forged["chain_hash"] = hashlib.sha256(f"{last['chain_hash']}{forged['content_sha256']}".encode()).hexdigest()
    columns = ", ".join(forged)
    tamper(trail, f"INSERT INTO audit_record ({columns}) VALUES ({', '.join(':' + c for c in forged)})", params=forged)
    report = check(trail, signer)
    assert report.first_problem is not None and report.first_problem.seq == 26
    assert "forged" in report.first_problem.message


def test_inserted_in_the_middle(trail: Engine, signer: Signer) -> None:
    tamper(
        trail,
        "UPDATE audit_record SET seq = -(seq + 1) WHERE seq >= 5",
        "UPDATE audit_record SET seq = -seq WHERE seq < 0",
        "INSERT INTO audit_record (seq, record_id, kind, created_at, actor, channel, payload, content_sha256,"
        " prev_hash, chain_hash) SELECT 5, 'forged', kind, created_at, actor, channel, payload, content_sha256,"
        " chain_hash, chain_hash FROM audit_record WHERE seq = 4",
    )
    report = check(trail, signer)
    assert report.first_problem is not None and report.first_problem.seq == 5
    assert not report.ok


def test_reordered_records(trail: Engine, signer: Signer) -> None:
    tamper(
        trail,
        "UPDATE audit_record SET seq = -1 WHERE seq = 16",
        "UPDATE audit_record SET seq = 16 WHERE seq = 17",
        "UPDATE audit_record SET seq = 17 WHERE seq = -1",
    )
    report = check(trail, signer)
    assert report.first_problem is not None and report.first_problem.seq == 16
    assert {p.seq for p in report.problems} == {16, 17, 18}  # 18 no longer links to what precedes it


def test_truncated_tail_is_caught_by_the_checkpoint(trail: Engine, signer: Signer) -> None:
    tamper(trail, "DELETE FROM audit_record WHERE seq > 15")
    report = check(trail, signer)
    assert report.first_problem is not None and report.first_problem.seq == 16
    assert "16..20 were deleted" in report.first_problem.message
    assert "checkpoint 2" in report.first_problem.message


def test_truncated_unsealed_tail_is_caught_by_an_auditor_anchor(trail: Engine, signer: Signer) -> None:
    with Session(trail) as session:
        head_seq, head_hash = store.head(session)
    tamper(  # after the last checkpoint (20), and careful to remove the inputs left behind
        trail,
        "DELETE FROM audit_record WHERE seq > 22",
        "DELETE FROM audit_input WHERE sha256 NOT IN (SELECT input_sha256 FROM audit_record)",
    )
    assert check(trail, signer).ok  # the chain up to 22 is intact and nothing signed 23..25 ...
    report = check(trail, signer, anchors=(f"{head_seq}:{head_hash}",))  # ... but the auditor kept 25
    assert report.first_problem is not None and report.first_problem.seq == 23


def test_forged_checkpoint(trail: Engine, signer: Signer) -> None:
    with Session(trail) as session:
        latest = latest_checkpoint(session)
        assert latest is not None
    tamper(
        trail,
        "INSERT INTO audit_checkpoint (id, record_seq, chain_hash, created_at, key_id, prev_signature, signature)"
        " VALUES (3, 25, :h, :t, :k, :p, :s)",
        params={
            "h": record(trail, 25)["chain_hash"],
            "t": latest.created_at,
            "k": latest.key_id,
            "p": latest.signature,
            "s": "f" * 64,
        },
    )
    report = check(trail, signer)
    assert [p.message for p in report.problems] == [
        "checkpoint 3 (seq 25) has an invalid signature: it was forged or edited"
    ]


def test_edited_checkpoint(trail: Engine, signer: Signer) -> None:
    tamper(trail, "UPDATE audit_checkpoint SET record_seq = 11 WHERE id = 1")
    assert any("invalid signature" in p.message for p in check(trail, signer).problems)


def test_deleted_checkpoint(trail: Engine, signer: Signer) -> None:
    tamper(trail, "DELETE FROM audit_checkpoint WHERE id = 1")
    messages = [p.message for p in check(trail, signer).problems]
    assert "checkpoint 1 is missing (found 2 next)" in messages


def test_verifying_with_another_key_says_so_once_with_both_fingerprints(trail: Engine, signer: Signer) -> None:
    other = Signer(key=b"not-the-key-" * 4, every=10)
    report = check(trail, other)
    assert not report.ok
    [problem] = report.problems  # not 25 "forged" records and 2 "invalid" checkpoints
    assert problem.message == (
        f"this trail was signed with another key (fingerprint {signer.key_id}); the configured "
        f"DRG_ELIGIBILITY_AUDIT_HMAC_KEY has fingerprint {other.key_id}"
    )
    assert report.other_key == signer.key_id


def test_another_key_on_a_trail_without_checkpoints_is_named_at_record_1(engine: Engine) -> None:
    fill(engine, Signer(key=TEST_KEY, every=0), 30)
    [problem] = check(engine, Signer(key=b"not-the-key-" * 4, every=0)).problems
    assert "record 1 is not chained with the configured key" in problem.message


def test_edited_input(trail: Engine, signer: Signer) -> None:
    row = record(trail, 9)
    tamper(trail, "UPDATE audit_input SET body = :b WHERE sha256 = :k", params={"b": b"{}", "k": row["input_sha256"]})
    report = check(trail, signer)
    assert report.first_problem is not None and report.first_problem.seq == 9
    assert "was altered" in report.first_problem.message


def test_deleted_input(trail: Engine, signer: Signer) -> None:
    row = record(trail, 9)
    tamper(trail, "DELETE FROM audit_input WHERE sha256 = :k", params={"k": row["input_sha256"]})
    report = check(trail, signer)
    assert report.first_problem is not None and report.first_problem.seq == 9
    assert "missing (deleted)" in report.first_problem.message


def test_inserted_input(trail: Engine, signer: Signer) -> None:
    body = b"planted"
    tamper(
        trail,
        "INSERT INTO audit_input (sha256, size, body) VALUES (:k, :n, :b)",
        params={"k": sha256_hex(body), "n": len(body), "b": body},
    )
    assert any("referenced by no record" in p.message for p in check(trail, signer).problems)


def test_raw_edit_of_the_sqlite_file(tmp_path: Path, signer: Signer) -> None:
    """Bytes changed in the database file itself: no SQL, no triggers involved."""
    path = tmp_path / "audit.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    fill(engine, signer, 5)
    engine.dispose()  # checkpoints the WAL into the main file
    data = path.read_bytes()
    # One per payload (the worklist index holds the outcome too, but it is derived, not evidence).
    assert data.count(b'"outcome":"NEEDS_REVIEW"') == 5
    at = data.index(b'"outcome":"NEEDS_REVIEW"') + len(b'"outcome":"')
    path.write_bytes(data[:at] + b"NOT_ELIGIBLE" + data[at + len(b"NEEDS_REVIEW") :])
    engine = make_engine(f"sqlite:///{path}")
    with read_session(engine) as session:
        report = verify(session, signer=signer)
    engine.dispose()
    assert not report.ok
    assert report.first_problem is not None and "altered" in report.first_problem.message


def test_parse_anchor_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="SEQ:CHAIN_HASH"):
        parse_anchor("25-abc")
    assert parse_anchor(f"25:{'A' * 64}").chain_hash == "a" * 64


def test_key_constant_is_long_enough() -> None:
    assert len(TEST_KEY) >= 32
