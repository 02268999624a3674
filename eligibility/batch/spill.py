"""Run files: export lines partitioned by patient on disk, so that grouping holds one bucket at a time.

A scan writes its lines into numbered segments - one per patient bucket, then one for shared resources
(Medication, Substance) and one for lines that could not be placed - and writes them out as a run file
whenever it holds `limit` bytes: segments lie one after another, `offsets` say where. Reading a bucket
means reading that segment of every run.

A record is a header (line number, key length, needs length, line length), the key (patient id,
shared `Type/id`, or for a bad line the error type), the needs (a JSON list: shared keys, or for a bad
line the message) and the line exactly as exported.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import orjson

__all__ = ["Record", "Run", "RunWriter", "bucket_of", "read_record", "read_segment"]

_HEADER = struct.Struct("<IHII")


def bucket_of(key: str, buckets: int) -> int:
    # crc32, not hash(): the bucket must be the same in every process and on every run.
    return zlib.crc32(key.encode("utf-8")) % buckets


@dataclass(frozen=True, slots=True)
class Run:
    name: str  # file name in the runs directory
    offsets: tuple[int, ...]  # segment s is bytes offsets[s]:offsets[s + 1]


class Record(NamedTuple):  # a tuple: built once per exported line, so it must be cheap
    line_no: int
    key: str
    needs: tuple[str, ...]
    line: bytes


def _encode(line_no: int, key: str, needs: Sequence[str], line: bytes) -> tuple[bytes, bytes, bytes]:
    key_bytes = key.encode("utf-8")
    needs_bytes = orjson.dumps(list(needs)) if needs else b""
    if len(key_bytes) > 0xFFFF:
        raise ValueError("a grouping key longer than 64 KiB")
    return _HEADER.pack(line_no, len(key_bytes), len(needs_bytes), len(line)), key_bytes + needs_bytes, line


class RunWriter:
    """Collects records per segment in memory; `flush` writes them as the next run file."""

    def __init__(self, directory: Path, stem: str, segments: int, limit: int) -> None:
        self._directory = directory
        self._stem = stem
        self._limit = limit
        self._pieces: list[list[bytes]] = [[] for _ in range(segments)]
        self._held = 0
        self.runs: list[Run] = []

    def add(self, segment: int, line_no: int, key: str, needs: Sequence[str], line: bytes) -> None:
        pieces = _encode(line_no, key, needs, line)
        self._pieces[segment].extend(pieces)
        self._held += sum(len(piece) for piece in pieces)
        if self._held >= self._limit:
            self.flush()

    def flush(self) -> None:
        if not self._held:
            return
        name = f"{self._stem}-{len(self.runs):04d}.bin"
        offsets = [0]
        with open(self._directory / name, "wb") as handle:
            for index, pieces in enumerate(self._pieces):
                data = b"".join(pieces)
                handle.write(data)
                offsets.append(offsets[-1] + len(data))
                self._pieces[index] = []
            handle.flush()
            os.fsync(handle.fileno())
        self.runs.append(Run(name, tuple(offsets)))
        self._held = 0


def read_segment(directory: Path, run: Run, segment: int) -> Iterator[tuple[int, Record]]:
    """(offset in the run file, record) for every record of one segment of a run."""
    start, end = run.offsets[segment], run.offsets[segment + 1]
    if start == end:
        return
    with open(directory / run.name, "rb") as handle:
        data = os.pread(handle.fileno(), end - start, start)
    position = 0
    while position < len(data):
        record, following = _decode(data, position)
        yield start + position, record
        position = following


def read_record(directory: Path, run_name: str, offset: int) -> Record:
    """The one record at `offset` of a run file (shared resources are fetched this way)."""
    with open(directory / run_name, "rb") as handle:
        header = os.pread(handle.fileno(), _HEADER.size, offset)
        _, key_len, needs_len, line_len = _HEADER.unpack(header)
        data = os.pread(handle.fileno(), _HEADER.size + key_len + needs_len + line_len, offset)
    return _decode(data, 0)[0]


def _decode(data: bytes, position: int) -> tuple[Record, int]:
    line_no, key_len, needs_len, line_len = _HEADER.unpack_from(data, position)
    position += _HEADER.size
    key = data[position : position + key_len].decode("utf-8")
    position += key_len
    needs: tuple[str, ...] = tuple(orjson.loads(data[position : position + needs_len])) if needs_len else ()
    position += needs_len
    return Record(line_no, key, needs, data[position : position + line_len]), position + line_len
