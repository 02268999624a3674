"""The files of a FHIR Bulk Data `$export`, read line by line without loading any of them whole.

An export is a directory of NDJSON files, one resource a line, usually one file (or several) per
resource type, plain or gzip-compressed: `Patient.ndjson`, `Observation.1.ndjson.gz`...
A plain file can be read in byte ranges that start at line starts, so that several processes share
a large file; a compressed one is read whole.

Bounded (issue 12): a 522 KB gzip holding one 512 MiB line once took 168 s, 1.9 GB of memory and
stored the whole line as a rejection. A line longer than `max_line_bytes` is not kept: it is read
through, hashed as it passes, and yielded as an `OverlongLine` (its length and SHA-256), which the scan
records as a bad line without its bytes. A compressed file that inflates to more than `max_ratio`
times the bytes read from disk (past the first 16 MiB) is refused as a whole.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from eligibility.errors import InputError

__all__ = [
    "MAX_GZIP_RATIO",
    "MAX_LINE_BYTES",
    "ExportFile",
    "LineReader",
    "OverlongLine",
    "find_export_files",
    "line_starts",
]

_SUFFIXES = (".ndjson", ".ndjson.gz")
_BLOCK = 4 << 20
MAX_LINE_BYTES = 16 << 20  # the largest resource line kept (a Patient with photos is well under)
MAX_GZIP_RATIO = 100  # NDJSON of FHIR compresses 10-30 times; a bomb, thousands of times
_RATIO_GRACE = 16 << 20  # inflated bytes before the ratio is judged


@dataclass(frozen=True, slots=True)
class OverlongLine:
    """A line over the limit: read through and hashed, never held."""

    length: int
    sha256: str


_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class ExportFile:
    path: Path
    size: int  # bytes on disk (compressed size for .gz): what progress counts
    mtime_ns: int

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def compressed(self) -> bool:
        return self.path.name.endswith(".gz")


def find_export_files(directory: Path) -> list[ExportFile]:
    """The NDJSON files of an export directory, by name; InputError when there are none."""
    if not directory.is_dir():
        raise InputError("the export is not a directory", location=str(directory))
    files = []
    for path in sorted(directory.iterdir()):
        if path.is_file() and path.name.endswith(_SUFFIXES):
            stat = path.stat()
            files.append(ExportFile(path, stat.st_size, stat.st_mtime_ns))
    if not files:
        raise InputError("the export directory holds no .ndjson or .ndjson.gz file", location=str(directory))
    return files


def line_starts(file: ExportFile, every: int) -> list[int]:
    """Offsets about `every` bytes apart where a line starts (0 first): the ranges of a plain file."""
    starts = [0]
    if file.compressed:
        return starts
    with open(file.path, "rb") as handle:
        for approximate in range(every, file.size, every):
            if approximate <= starts[-1]:
                continue
            start = _next_line_start(handle, approximate - 1)  # past the line that straddles `approximate`
            if start < file.size:
                starts.append(start)
    return starts


def _next_line_start(handle: io.BufferedReader, position: int) -> int:
    """The offset after the first newline at or after `position`, read in blocks: `readline` would
    hold a whole overlong line in memory (1.1 GB for one 512 MiB line)."""
    handle.seek(position)
    while block := handle.read(1 << 20):
        at = block.find(b"\n")
        if at >= 0:
            return handle.tell() - len(block) + at + 1
    return handle.tell()


class LineReader:
    """(line number, line) for the non-blank lines of a file, or of the range [start, end) of a plain file.

    Line numbers count from the range start (1 = its first line). After iterating, `lines` is the
    number of physical lines read, blank ones included, so that ranges can be numbered in the file.
    """

    def __init__(
        self,
        file: ExportFile,
        start: int = 0,
        end: int | None = None,
        *,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_ratio: float = MAX_GZIP_RATIO,
    ) -> None:
        self.file = file
        self.lines = 0
        self.max_line_bytes = max_line_bytes
        self.max_ratio = max_ratio
        self._inflated = 0
        self._start = start
        self._remaining = None if end is None else end - start
        self._raw = open(file.path, "rb")  # noqa: SIM115 - closed in close()
        self._raw.seek(start)
        self._source: io.BufferedIOBase = gzip.GzipFile(fileobj=self._raw, mode="rb") if file.compressed else self._raw

    def _blocks(self) -> Iterator[bytes]:
        while self._remaining is None or self._remaining > 0:
            size = _BLOCK if self._remaining is None else min(_BLOCK, self._remaining)
            try:
                block = self._source.read(size)
            except (OSError, EOFError, zlib.error) as exc:
                raise InputError(
                    f"{self.file.name} cannot be read after line {self.lines}: {exc}", location=self.file.name
                ) from exc
            if not block:
                return
            if self._remaining is not None:
                self._remaining -= len(block)
            if self.file.compressed:
                self._check_ratio(len(block))
            yield block

    def _check_ratio(self, inflated: int) -> None:
        self._inflated += inflated
        read = max(self._raw.tell() - self._start, 1)
        if self._inflated > _RATIO_GRACE and self._inflated > self.max_ratio * read:
            raise InputError(
                f"{self.file.name} inflates to more than {self.max_ratio:g} times its compressed size "
                f"({self._inflated:,} bytes from {read:,}): refused as a decompression bomb",
                location=self.file.name,
            )

    def __iter__(self) -> Iterator[tuple[int, bytes | OverlongLine]]:
        tail = b""
        overlong: hashlib._Hash | None = None  # the hash of an overlong line being read through
        length = 0
        for block in self._blocks():
            if overlong is not None:
                at = block.find(b"\n")
                if at < 0:
                    overlong.update(block)
                    length += len(block)
                    continue
                overlong.update(block[:at])
                self.lines += 1
                yield self.lines, OverlongLine(length + at, overlong.hexdigest())
                overlong, block = None, block[at + 1 :]
            pieces = (tail + block).split(b"\n") if tail else block.split(b"\n")
            tail = pieces.pop()
            yield from self._numbered(pieces)
            if len(tail) > self.max_line_bytes:
                overlong, length, tail = hashlib.sha256(tail), len(tail), b""
        if overlong is not None:
            self.lines += 1
            yield self.lines, OverlongLine(length, overlong.hexdigest())
        elif tail:
            yield from self._numbered([tail])

    def _numbered(self, pieces: list[bytes]) -> Iterator[tuple[int, bytes | OverlongLine]]:
        for line in pieces:
            self.lines += 1
            if len(line) > self.max_line_bytes:
                yield self.lines, OverlongLine(len(line), hashlib.sha256(line).hexdigest())
                continue
            if self.lines == 1 and self._start == 0:
                line = line.removeprefix(_BOM)
            if line.endswith(b"\r"):
                line = line[:-1]
            if line and not line.isspace():
                yield self.lines, line

    def close(self) -> None:
        self._source.close()
        self._raw.close()

    def __enter__(self) -> LineReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
