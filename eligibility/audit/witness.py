"""The witness: every signed checkpoint, published outside the database as it is made.

A chain kept inside the database cannot prove its own length: whoever can delete the newest records
can delete the newest checkpoints with them, and what is left is a shorter chain that verifies. The
witness is an append-only file of its own (one JSON line per signed head, in a directory of its own,
fsync'd before the append that made the checkpoint returns) that `audit verify` compares with the
trail: a witnessed head that the trail no longer holds, or a trail shorter than the newest witnessed
head, is a cut. A second copy (`audit_witness_mirror_path`, e.g. on another disk or a share an auditor
owns) survives the loss of the first.

A line is published only after the transaction that wrote its checkpoint committed (see guard.py):
a witness never names a head the database did not durably hold. A crash between the commit and the
write loses at most that line; the server publishes it at its next start (catch-up).

Lines carry the checkpoint's signature, so a planted line is recognised as such by anyone holding
the key. A torn last line (a crash inside the write) is ignored, and removed by the next write.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.engine import make_url

from eligibility.audit.signed_fields import checkpoint_signed_fields
from eligibility.errors import AuditError

__all__ = ["WITNESS_VERSION", "Witness", "WitnessFile", "WitnessLine", "default_witness_path"]

WITNESS_VERSION = 1
_TAIL_BLOCK = 4096


@dataclass(frozen=True, slots=True)
class WitnessLine:
    """One witnessed head: the checkpoint exactly as signed, and where in the file it is."""

    line_no: int
    checkpoint_id: int
    record_seq: int
    chain_hash: str
    created_at: str
    key_id: str
    prev_signature: str
    signature: str
    adopted: bool  # published at start-up from the database's own checkpoints, not as it was made

    def signed_fields(self) -> dict[str, Any]:
        """The fields the checkpoint's signature covers (as `Checkpoint.signed_fields`)."""
        return checkpoint_signed_fields(
            checkpoint_id=self.checkpoint_id,
            record_seq=self.record_seq,
            chain_hash=self.chain_hash,
            created_at=self.created_at,
            key_id=self.key_id,
            prev_signature=self.prev_signature,
        )


def _parse(line_no: int, raw: bytes) -> WitnessLine:
    try:
        data = orjson.loads(raw)
        return WitnessLine(
            line_no=line_no,
            checkpoint_id=int(data["checkpoint"]),
            record_seq=int(data["record_seq"]),
            chain_hash=str(data["chain_hash"]),
            created_at=str(data["created_at"]),
            key_id=str(data["key_id"]),
            prev_signature=str(data["prev_signature"]),
            signature=str(data["signature"]),
            adopted=bool(data.get("adopted", False)),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"line {line_no} is not a witnessed head ({type(exc).__name__})") from exc


@dataclass(frozen=True, slots=True)
class WitnessFile:
    """One copy of the witness (the primary or the mirror)."""

    path: Path

    def exists(self) -> bool:
        return self.path.is_file()

    def lines(self) -> Iterator[WitnessLine | ValueError]:
        """Every complete line, parsed; an unreadable line is yielded as the error naming it."""
        with self.path.open("rb") as handle:
            for line_no, raw in enumerate(handle, start=1):
                if not raw.endswith(b"\n"):
                    return  # a torn write at the end: not (yet) a witnessed head
                if raw.strip():
                    try:
                        yield _parse(line_no, raw)
                    except ValueError as exc:
                        yield exc

    def last(self) -> WitnessLine | None:
        """The newest complete line, read from the end: the server checks it before every checkpoint."""
        if not self.exists():
            return None
        with self.path.open("rb") as handle:
            position = handle.seek(0, os.SEEK_END)
            data = b""
            while position > 0:
                step = min(_TAIL_BLOCK, position)
                position -= step
                handle.seek(position)
                data = handle.read(step) + data
                line_end = data.rfind(b"\n")  # anything after it is a torn write
                if line_end < 0:
                    continue
                line_start = data.rfind(b"\n", 0, line_end) + 1
                if line_start > 0 or position == 0:
                    try:
                        return _parse(0, data[line_start:line_end])
                    except ValueError as exc:
                        raise AuditError(f"the witness {self.path} ends with a damaged line: {exc}") from exc
        return None

    def _complete_size(self, size: int) -> int:
        """The length of the file up to and including its last newline."""
        with self.path.open("rb") as handle:
            position = size
            while position > 0:
                step = min(_TAIL_BLOCK, position)
                position -= step
                handle.seek(position)
                block = handle.read(step)
                at = block.rfind(b"\n")
                if at >= 0:
                    return position + at + 1
        return 0

    def append(self, document: bytes) -> None:
        """Append one line and make it durable (file and, when it was created, its directory)."""
        directory = self.path.parent
        if not directory.exists():
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        created = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            size = os.fstat(fd).st_size
            if size:
                complete = self._complete_size(size)
                if complete != size:  # a torn write never became a witnessed head: drop it
                    os.ftruncate(fd, complete)
            os.write(fd, document + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


@dataclass(frozen=True, slots=True)
class Witness:
    """Where signed heads are published: the primary file and an optional mirror."""

    primary: WitnessFile
    mirror: WitnessFile | None = None

    @classmethod
    def at(cls, path: Path, mirror: Path | None = None) -> Witness:
        return cls(WitnessFile(path), None if mirror is None else WitnessFile(mirror))

    @property
    def copies(self) -> Sequence[WitnessFile]:
        return (self.primary,) if self.mirror is None else (self.primary, self.mirror)

    def publish(self, fields: dict[str, Any], signature: str, *, adopted: bool = False) -> None:
        """Write the signed head to every copy; fail (AuditError) if any copy could not be written."""
        document: dict[str, Any] = {
            "v": WITNESS_VERSION,
            "checkpoint": fields["id"],
            "record_seq": fields["record_seq"],
            "chain_hash": fields["chain_hash"],
            "created_at": fields["created_at"],
            "key_id": fields["key_id"],
            "prev_signature": fields["prev_signature"],
            "signature": signature,
        }
        if adopted:
            document["adopted"] = True
        line = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
        failures: list[str] = []
        for copy in self.copies:
            try:
                copy.append(line)
            except OSError as exc:
                failures.append(f"{copy.path}: {exc.strerror or exc}")
        if failures:
            raise AuditError(f"the witness could not be written ({'; '.join(failures)})")

    def last(self) -> WitnessLine | None:
        """The newest head any copy holds (a mirror may be ahead when the primary was replaced)."""
        heads = [line for line in (copy.last() for copy in self.copies) if line is not None]
        return max(heads, key=lambda line: (line.record_seq, line.checkpoint_id), default=None)


def default_witness_path(database_url: str, data_dir: Path) -> Path:
    """Beside a SQLite file, in a directory of its own; for a server database, under <data_dir>/witness
    (the per-user data folder: never relative to the working directory).

    The name is derived from the URL so that two trails never share a witness.
    """
    url = make_url(database_url)
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database and database != ":memory:" and not database.startswith("file:"):
        db_path = Path(database)
        return db_path.parent / "witness" / f"{db_path.name}.witness.jsonl"
    digest = hashlib.sha256(url.render_as_string(hide_password=True).encode("utf-8")).hexdigest()[:16]
    return data_dir / "witness" / f"{url.get_backend_name()}-{digest}.witness.jsonl"


@dataclass(slots=True)
class WitnessReading:
    """Everything the copies of a witness hold, for verify: the heads, and what is wrong with the files."""

    heads: list[WitnessLine]
    problems: list[str]
    notes: list[str]
    paths: list[Path]


def read_witness(witness: Witness) -> WitnessReading:
    """Read every copy; a missing copy or an unreadable line is a problem, a copy behind another a note."""
    reading = WitnessReading(heads=[], problems=[], notes=[], paths=[copy.path for copy in witness.copies])
    seen: dict[tuple[int, str], WitnessLine] = {}
    per_copy: list[set[tuple[int, str]]] = []
    for copy in witness.copies:
        if not copy.exists():
            reading.problems.append(
                f"no witness at {copy.path}: nothing outside the database vouches for the trail's length "
                "(restore it from its copy, or pass --no-witness to check the database alone)"
            )
            continue
        keys: set[tuple[int, str]] = set()
        for item in copy.lines():
            if isinstance(item, ValueError):
                reading.problems.append(f"witness {copy.path}: {item}")
                continue
            key = (item.checkpoint_id, item.signature)
            keys.add(key)
            seen.setdefault(key, item)
            if item.adopted:
                reading.notes.append(
                    f"witness {copy.path} line {item.line_no}: checkpoint {item.checkpoint_id} was published at "
                    "start-up from the database's own checkpoints, not as it was made"
                )
        per_copy.append(keys)
    if len(per_copy) == 2 and per_copy[0] != per_copy[1]:
        reading.notes.append(
            f"the witness copies differ: {len(per_copy[0] - per_copy[1])} head(s) only in the first, "
            f"{len(per_copy[1] - per_copy[0])} only in the second (all are checked)"
        )
    reading.heads = sorted(seen.values(), key=lambda line: (line.checkpoint_id, line.record_seq))
    return reading
