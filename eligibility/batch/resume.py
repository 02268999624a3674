"""What an earlier run over the same `--out` already did, so that a rerun does each patient once.

The outputs are the state: a patient is done when its decision is in `<out>` or its rejection in
`<out>.rejected.ndjson` (unreadable lines are done by their place in the export). A journal left by an
interrupted chunk is settled first: if the audit trail holds the chunk's records, its lines are
appended (the audit records must not be written twice); if not, the chunk is simply done again.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from eligibility.audit import store
from eligibility.audit.database import SessionFactory
from eligibility.audit.database import session_factory as default_session_factory
from eligibility.audit.models import KIND_REJECTION
from eligibility.errors import InputError

from .output import JOURNAL_END, CommitCheck, OutputFiles, journal_path, rejected_path

__all__ = ["Done", "audit_has_chunk", "read_done", "recover_journal"]


@dataclass(slots=True)
class Done:
    keys: set[str] = field(default_factory=set)  # "Patient/<id>", or "<file> line <n>" for export lines
    decided: int = 0
    rejected: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    labels: Counter[str] = field(default_factory=Counter)
    # Distinct active medications the policy could not identify (spec §7), by (system, code, text),
    # with how many patients carry each.
    unrecognised: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    as_of: str | None = None
    policy: str | None = None  # id@version

    def add_decision(self, record: dict[str, Any]) -> None:
        self.keys.add(record["patient"]["reference"])
        self.decided += 1
        self.outcomes[record["outcome"]] += 1
        self.labels[record["label_status"]] += 1
        medications = {
            (u.get("system") or "", u.get("code") or "", u.get("text") or "")
            for u in record.get("unrecognised", ())
            if str(u.get("reference", "")).startswith("Medication")
        }
        self.unrecognised.update(medications)
        self._run_of(record["as_of"], f"{record['policy']['id']}@{record['policy']['version']}")

    def add_rejection(self, record: dict[str, Any]) -> None:
        patient = record.get("patient")
        self.keys.add(patient["reference"] if patient else record["source"])
        self.rejected += 1
        self._run_of(record["as_of"], record["policy"])

    def _run_of(self, as_of: str, policy: str) -> None:
        if self.as_of is None:
            self.as_of, self.policy = as_of, policy


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    records = []
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                records.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise InputError(
                    f"{path.name} line {number} is not a complete record ({exc.msg}); the output was changed "
                    "outside a batch run - use a new --out",
                    location=f"{path} line {number}",
                ) from exc
    return records


def read_done(out: Path) -> Done:
    done = Done()
    for record in _records(out):
        done.add_decision(record)
    for record in _records(rejected_path(out)):
        done.add_rejection(record)
    return done


def audit_has_chunk(check: CommitCheck, session_factory: SessionFactory | None) -> bool:
    """Whether the audit trail holds the records of the chunk `check` describes (one transaction:
    all of them or none)."""
    open_session = session_factory or default_session_factory()
    with open_session() as session:
        try:
            if check.decision_id is not None:
                return store.get_decision_record(session, check.decision_id) is not None
            return any(
                record.input_sha256 == check.rejection_sha256
                and record.actor == check.actor
                and record.channel == check.channel
                for record in store.iter_records(session, start=check.started_at, kinds=[KIND_REJECTION])
            )
        finally:
            session.rollback()


def _truncate(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size > size:
        with open(path, "r+b") as handle:
            handle.truncate(size)
            os.fsync(handle.fileno())


def recover_journal(out: Path, session_factory: SessionFactory | None) -> str | None:
    """Settle a journal left by an interrupted chunk; says what was done (None: there was none)."""
    path = journal_path(out)
    if not path.exists():
        return None
    lines = path.read_bytes().split(b"\n")
    try:
        header = orjson.loads(lines[0])
    except orjson.JSONDecodeError:
        path.unlink()  # torn while being written: the commit, which comes after, cannot have happened
        return "an interrupted chunk was discarded (its journal was incomplete); it is evaluated again"
    _truncate(out, header["decisions_size"])
    _truncate(rejected_path(out), header["rejected_size"])
    complete = JOURNAL_END in lines
    if not complete or not audit_has_chunk(CommitCheck(**header["check"]), session_factory):
        path.unlink()
        return "an interrupted chunk was not in the audit trail; it is evaluated again"
    body = lines[1 : lines.index(JOURNAL_END)]
    decisions = [line[1:] for line in body if line.startswith(b"d")]
    rejected = [line[1:] for line in body if line.startswith(b"r")]
    outputs = OutputFiles(out)
    try:
        outputs.append(decisions, rejected)
    finally:
        outputs.close()
    path.unlink()
    return f"an interrupted chunk was already in the audit trail; its {len(body)} output lines were written"
