"""Walk the whole trail and prove it intact, or name the first record that is not.

Checks, in one streaming pass over the records in `seq` order:

- sequence: seq runs 1, 2, 3… without gaps (a gap is a deleted record);
- content: `content_sha256` matches the record's canonical content (an edited record);
- link: `prev_hash` equals the previous record's `chain_hash` (a record deleted, inserted or moved);
- chain: `chain_hash` is the keyed hash of `prev_hash` and the content hash (a record forged or
  rehashed without the key fails here);
- checkpoints: each is signed with the configured key, links to the one before, and the record at its
  `record_seq` still has the head hash it signed (catches a rewritten stretch whose hashes were
  recomputed) — and that record still exists (catches a truncated tail);
- inputs: every stored input matches its SHA-256 and is referenced by a record, and every referenced
  input is present;
- anchors: heads an auditor kept (`seq:hash`) are still in the chain;
- the witness (witness.py): every head it published is still in the chain with the same hash and
  its checkpoint is still in the database, and each line carries a valid signature. This is what
  catches a tail cut together with the checkpoints that signed it, or a database replaced by an
  older copy. Without a witness to compare with, verify fails unless told `--no-witness`.

First of all the key: when the newest checkpoint (or witnessed head) names another key fingerprint
than the configured key's, verify says so in one problem and stops, instead of calling every record
forged.

None of this relies on the triggers: it detects edits made with the triggers disabled, or with a
raw editor on the SQLite file.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from eligibility.audit.chain import GENESIS, chain_link, content_sha256, sha256_hex
from eligibility.audit.checkpoints import Checkpoint, Signer, other_key_message
from eligibility.audit.models import AuditInput, AuditRecord
from eligibility.audit.record import RECORD_FIELDS
from eligibility.audit.witness import WitnessLine, WitnessReading

__all__ = ["Anchor", "Problem", "VerifyReport", "parse_anchor", "verify"]

_RECORD_TABLE = AuditRecord.__table__  # type: ignore[attr-defined]
_INPUT_TABLE = AuditInput.__table__  # type: ignore[attr-defined]
_STREAM_BATCH = 5000


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int | None  # the first record concerned, when there is one
    record_id: str | None
    message: str
    area: str = "checkpoints"  # where a problem without a record lies: checkpoints, witness, key, inputs


@dataclass(frozen=True, slots=True)
class Anchor:
    seq: int
    chain_hash: str


@dataclass(slots=True)
class VerifyReport:
    records: int = 0
    checkpoints: int = 0
    inputs: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    last_checkpoint_seq: int = 0
    elapsed_s: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    witness_paths: list[str] = field(default_factory=list)  # empty: verified without a witness
    witnessed_heads: int = 0
    witnessed_seq: int = 0  # the newest head the witness holds
    other_key: str | None = None  # the trail's key fingerprint, when it is not the configured key
    stopped_at_key: bool = False  # the key is not the trail's: nothing else was checked

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        ordered = sorted(self.problems, key=lambda p: (p.seq is None, p.seq or 0))
        return ordered[0] if ordered else None

    @property
    def unsealed(self) -> int:
        """Records after the newest checkpoint: chained, but not yet covered by a signature."""
        return max(self.head_seq - self.last_checkpoint_seq, 0)


def parse_anchor(token: str) -> Anchor:
    seq_text, _, chain_hash = token.partition(":")
    if not seq_text.isdigit() or len(chain_hash) != 64:
        raise ValueError(f"an anchor is SEQ:CHAIN_HASH as printed by `audit head`, got {token!r}")
    return Anchor(int(seq_text), chain_hash.lower())


def _load_checkpoints(session: Session, signer: Signer, report: VerifyReport) -> dict[int, Checkpoint]:
    rows = session.execute(
        text(
            "SELECT id, record_seq, chain_hash, created_at, key_id, prev_signature, signature "
            "FROM audit_checkpoint ORDER BY id"
        )
    )
    by_seq: dict[int, Checkpoint] = {}
    prev_signature, prev_seq, expected_id = GENESIS, 0, 1
    for row in rows:
        checkpoint = Checkpoint(*row)
        report.checkpoints += 1
        label = f"checkpoint {checkpoint.id} (seq {checkpoint.record_seq})"
        if checkpoint.id != expected_id:
            report.problems.append(
                Problem(None, None, f"checkpoint {expected_id} is missing (found {checkpoint.id} next)")
            )
        if checkpoint.key_id != signer.key_id:
            report.problems.append(
                Problem(None, None, f"{label} was signed with key {checkpoint.key_id}, not the configured key")
            )
        elif not hmac.compare_digest(signer.sign(checkpoint.signed_fields()), checkpoint.signature):
            report.problems.append(Problem(None, None, f"{label} has an invalid signature: it was forged or edited"))
        if checkpoint.prev_signature != prev_signature:
            report.problems.append(
                Problem(
                    None,
                    None,
                    f"{label} does not link to the checkpoint before it (one was removed or edited)",
                )
            )
        if checkpoint.record_seq <= prev_seq:
            report.problems.append(Problem(None, None, f"{label} does not advance past seq {prev_seq}"))
        by_seq[checkpoint.record_seq] = checkpoint
        report.last_checkpoint_seq = max(report.last_checkpoint_seq, checkpoint.record_seq)
        prev_signature, prev_seq, expected_id = checkpoint.signature, checkpoint.record_seq, checkpoint.id + 1
    return by_seq


def _walk_records(
    session: Session,
    chain_key: bytes,
    report: VerifyReport,
    checkpoints: dict[int, Checkpoint],
    anchors: dict[int, Anchor],
    witnessed: dict[int, list[WitnessLine]],
) -> dict[str, tuple[int, str]]:
    """Check every record; return {input sha256: (seq, record_id) of its first referencing record}."""
    columns = [_RECORD_TABLE.c[name] for name in RECORD_FIELDS]
    statement = select(*columns).order_by(_RECORD_TABLE.c.seq)
    referenced: dict[str, tuple[int, str]] = {}
    prev_chain, expected_seq, last_good_checkpoint = GENESIS, 1, 0
    matched: set[int] = set()
    problems = report.problems
    for row in session.execute(statement, execution_options={"yield_per": _STREAM_BATCH}):
        record = row._mapping
        seq, record_id = int(record["seq"]), str(record["record_id"])
        report.records += 1
        if seq != expected_seq:
            missing = f"records {expected_seq}..{seq - 1} are missing" if seq > expected_seq else "out of order"
            problems.append(Problem(seq, record_id, f"seq {seq} follows seq {expected_seq - 1}: {missing}"))
        if content_sha256(record) != record["content_sha256"]:
            problems.append(Problem(seq, record_id, f"record {seq} was altered: its content hash does not match"))
        if record["prev_hash"] != prev_chain:
            problems.append(
                Problem(
                    seq,
                    record_id,
                    f"record {seq} does not link to record {seq - 1}: "
                    "a record was deleted, inserted or moved before it",
                )
            )
        if not hmac.compare_digest(
            chain_link(chain_key, record["prev_hash"], record["content_sha256"]), record["chain_hash"]
        ):
            problems.append(
                Problem(
                    seq,
                    record_id,
                    f"record {seq} has a chain hash not made with the audit key: it was forged or rehashed",
                )
            )
        checkpoint = checkpoints.get(seq)
        if checkpoint is not None:
            matched.add(seq)
            if not hmac.compare_digest(checkpoint.chain_hash, record["chain_hash"]):
                problems.append(
                    Problem(
                        seq,
                        record_id,
                        f"records {last_good_checkpoint + 1}..{seq} were rewritten: checkpoint "
                        f"{checkpoint.id} signed a different head at seq {seq}",
                    )
                )
            last_good_checkpoint = seq
        anchor = anchors.get(seq)
        if anchor is not None and anchor.chain_hash != record["chain_hash"]:
            problems.append(Problem(seq, record_id, f"record {seq} no longer has the head hash the auditor kept"))
        for line in witnessed.get(seq, ()):
            if not hmac.compare_digest(line.chain_hash, record["chain_hash"]):
                problems.append(
                    Problem(
                        seq,
                        record_id,
                        f"record {seq} no longer has the head hash the witness holds (checkpoint "
                        f"{line.checkpoint_id}): the trail up to it was rewritten or replaced",
                    )
                )
        if record["input_sha256"] is not None:
            referenced.setdefault(record["input_sha256"], (seq, record_id))
        prev_chain, expected_seq = record["chain_hash"], seq + 1
    report.head_seq, report.head_hash = expected_seq - 1, prev_chain
    for seq_covered, checkpoint in checkpoints.items():
        if seq_covered > report.head_seq:
            problems.append(
                Problem(
                    report.head_seq + 1,
                    None,
                    f"records {report.head_seq + 1}..{seq_covered} were deleted: checkpoint {checkpoint.id} "
                    f"signed seq {seq_covered} but the chain ends at seq {report.head_seq}",
                )
            )
        elif seq_covered not in matched:
            problems.append(
                Problem(
                    seq_covered,
                    None,
                    f"record {seq_covered}, signed by checkpoint {checkpoint.id}, is missing",
                )
            )
    for anchor in anchors.values():
        if anchor.seq > report.head_seq:
            problems.append(Problem(report.head_seq + 1, None, f"the auditor's head at seq {anchor.seq} is gone"))
    beyond = [line for seq, lines in witnessed.items() if seq > report.head_seq for line in lines]
    if beyond:
        newest = max(beyond, key=lambda line: line.record_seq)
        problems.append(
            Problem(
                report.head_seq + 1,
                None,
                f"records {report.head_seq + 1}..{newest.record_seq} are missing: the witness holds the head "
                f"seq {newest.record_seq} (checkpoint {newest.checkpoint_id}) but the trail ends at seq "
                f"{report.head_seq} (tail cut, or the database replaced by an older copy)",
            )
        )
    return referenced


def _check_witness(
    signer: Signer, reading: WitnessReading, checkpoints: dict[int, Checkpoint], report: VerifyReport
) -> dict[int, list[WitnessLine]]:
    """Signatures of the witnessed heads, and their checkpoints still in the database."""
    report.witness_paths = [str(path) for path in reading.paths]
    report.notes.extend(reading.notes)
    report.problems.extend(Problem(None, None, message, "witness") for message in reading.problems)
    by_id = {checkpoint.id: checkpoint for checkpoint in checkpoints.values()}
    by_seq: dict[int, list[WitnessLine]] = {}
    for line in reading.heads:
        report.witnessed_heads += 1
        label = f"witnessed checkpoint {line.checkpoint_id} (seq {line.record_seq})"
        if line.key_id != signer.key_id or not hmac.compare_digest(signer.sign(line.signed_fields()), line.signature):
            report.problems.append(
                Problem(
                    None,
                    None,
                    f"{label} is not signed with the audit key: the witness line was planted or edited",
                    "witness",
                )
            )
            continue
        report.witnessed_seq = max(report.witnessed_seq, line.record_seq)
        by_seq.setdefault(line.record_seq, []).append(line)
        stored = by_id.get(line.checkpoint_id)
        if stored is None:
            report.problems.append(Problem(None, None, f"{label} is missing from the database: it was deleted"))
        elif stored.signature != line.signature:
            report.problems.append(
                Problem(None, None, f"{label} differs from checkpoint {stored.id} in the database: one was replaced")
            )
    return by_seq


def _first_record_chains(session: Session, chain_key: bytes) -> bool:
    """True when record 1 is absent, altered (reported by the walk) or chained with this key."""
    row = session.execute(select(_RECORD_TABLE).where(_RECORD_TABLE.c.seq == 1)).first()
    if row is None:
        return True
    record = row._mapping
    if content_sha256(record) != record["content_sha256"] or record["prev_hash"] != GENESIS:
        return True
    return hmac.compare_digest(chain_link(chain_key, GENESIS, record["content_sha256"]), record["chain_hash"])


def _trail_key_id(checkpoints: dict[int, Checkpoint], reading: WitnessReading | None) -> str | None:
    """The key fingerprint the trail says it was signed with: its newest checkpoint's, or the witness's."""
    if checkpoints:
        return max(checkpoints.values(), key=lambda checkpoint: checkpoint.id).key_id
    if reading is not None and reading.heads:
        return reading.heads[-1].key_id
    return None


def _check_inputs(session: Session, report: VerifyReport, referenced: dict[str, tuple[int, str]]) -> None:
    seen: set[str] = set()
    statement = select(_INPUT_TABLE.c.sha256, _INPUT_TABLE.c.size, _INPUT_TABLE.c.body)
    for key, size, body in session.execute(statement, execution_options={"yield_per": 500}):
        report.inputs += 1
        seen.add(key)
        data = bytes(body)
        owner = referenced.get(key)
        where_seq, where_id = owner if owner is not None else (None, None)
        if sha256_hex(data) != key or size != len(data):
            report.problems.append(Problem(where_seq, where_id, f"stored input {key} was altered"))
        if owner is None:
            report.problems.append(
                Problem(
                    None, None, f"stored input {key} is referenced by no record (planted, or its record was deleted)"
                )
            )
    for key, (seq, record_id) in referenced.items():
        if key not in seen:
            report.problems.append(Problem(seq, record_id, f"input {key} of record {seq} is missing (deleted)"))


def verify(
    session: Session,
    *,
    signer: Signer,
    anchors: Sequence[Anchor] = (),
    witness: WitnessReading | None = None,
) -> VerifyReport:
    """Check the trail; `witness=None` checks the database alone (the caller says so to the user)."""
    started = time.perf_counter()
    report = VerifyReport()
    checkpoints = _load_checkpoints(session, signer, report)
    trail_key = _trail_key_id(checkpoints, witness)
    wrong_key = None
    if trail_key is not None and trail_key != signer.key_id:
        report.other_key = trail_key
        wrong_key = other_key_message(trail_key, signer.key_id)
    elif trail_key is None and not _first_record_chains(session, signer.chain_key):
        wrong_key = (
            "record 1 is not chained with the configured key: this trail was signed with another key "
            "(it has no checkpoint naming the key's fingerprint), or record 1 was forged"
        )
    if wrong_key is not None:
        # One clear problem instead of every checkpoint and record reported as forged.
        report.stopped_at_key = True
        report.problems = [Problem(None, None, wrong_key, "key")]
        report.elapsed_s = time.perf_counter() - started
        return report
    witnessed = {} if witness is None else _check_witness(signer, witness, checkpoints, report)
    referenced = _walk_records(session, signer.chain_key, report, checkpoints, {a.seq: a for a in anchors}, witnessed)
    _check_inputs(session, report, referenced)
    report.elapsed_s = time.perf_counter() - started
    return report
