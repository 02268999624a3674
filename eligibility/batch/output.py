"""The run's outputs and the journal that lets an interrupted run resume exactly once.

`<out>` holds one decision record (spec §5) per line; `<out>.rejected.ndjson` one line per patient
(or unreadable export line) that produced no decision, with the error and where it is in the export.

Per chunk the order is: the chunk's output lines go to `<out>.journal` (fsync), the audit trail commits
the chunk, the lines are appended to the outputs (fsync), the journal is removed. A decision is thus
in the output only once it is durable in the audit trail; and a journal found at start-up means the
last chunk stopped between those steps - `resume.recover_journal` finishes or discards it, by asking
the audit trail whether the commit happened.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import orjson

__all__ = ["CommitCheck", "OutputFiles", "journal_path", "rejected_path"]

JOURNAL_END = b"end"


def rejected_path(out: Path) -> Path:
    return out.with_name(out.name + ".rejected.ndjson")


def journal_path(out: Path) -> Path:
    return out.with_name(out.name + ".journal")


@dataclass(frozen=True, slots=True)
class CommitCheck:
    """Enough to find a chunk's records in the audit trail afterwards."""

    started_at: str  # audit timestamp taken before the commit; the records are not older
    actor: str
    channel: str
    decision_id: str | None  # one decision of the chunk, when it has any
    rejection_sha256: str | None  # else the input hash of one of its rejections

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _sync(handle: IO[bytes]) -> None:
    handle.flush()
    os.fsync(handle.fileno())


class OutputFiles:
    def __init__(self, out: Path) -> None:
        self.out = out
        out.parent.mkdir(parents=True, exist_ok=True)
        self._decisions = open(out, "ab")  # noqa: SIM115 - closed in close()
        self._rejected = open(rejected_path(out), "ab")  # noqa: SIM115
        self._staged: tuple[list[bytes], list[bytes]] | None = None

    def stage(self, decisions: Sequence[bytes], rejected: Sequence[bytes], check: CommitCheck) -> None:
        """Write the chunk's lines to the journal, durably, before the audit commit."""
        header = {
            "decisions_size": self._decisions.tell(),
            "rejected_size": self._rejected.tell(),
            "check": check.as_json(),
        }
        with open(journal_path(self.out), "wb") as journal:
            journal.write(orjson.dumps(header) + b"\n")
            for line in decisions:
                journal.write(b"d" + line + b"\n")
            for line in rejected:
                journal.write(b"r" + line + b"\n")
            journal.write(JOURNAL_END + b"\n")
            _sync(journal)
        self._staged = (list(decisions), list(rejected))

    def publish(self) -> None:
        """After the audit commit: append the staged lines, durably, then drop the journal."""
        if self._staged is None:
            raise RuntimeError("publish() without stage()")
        decisions, rejected = self._staged
        self.append(decisions, rejected)
        journal_path(self.out).unlink()
        self._staged = None

    def append(self, decisions: Sequence[bytes], rejected: Sequence[bytes]) -> None:
        if decisions:
            self._decisions.write(b"\n".join(decisions) + b"\n")
            _sync(self._decisions)
        if rejected:
            self._rejected.write(b"\n".join(rejected) + b"\n")
            _sync(self._rejected)

    def close(self) -> None:
        self._decisions.close()
        self._rejected.close()
