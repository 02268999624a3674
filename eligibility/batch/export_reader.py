"""The files of a FHIR Bulk Data `$export`, read line by line without loading any of them whole.

An export is a directory of NDJSON files, one resource a line, usually one file (or several) per
resource type, plain or gzip-compressed: `Patient.ndjson`, `Observation.1.ndjson.gz`...
A plain file can be read in byte ranges that start at line starts, so that several processes share
a large file; a compressed one is read whole.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from eligibility.errors import InputError

__all__ = ["ExportFile", "LineReader", "find_export_files", "line_starts"]

_SUFFIXES = (".ndjson", ".ndjson.gz")
_BLOCK = 4 << 20
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
            handle.seek(approximate - 1)
            handle.readline()  # the rest of the line that straddles `approximate`
            if handle.tell() < file.size:
                starts.append(handle.tell())
    return starts


class LineReader:
    """(line number, line) for the non-blank lines of a file, or of the range [start, end) of a plain file.

    Line numbers count from the range start (1 = its first line). After iterating, `lines` is the
    number of physical lines read, blank ones included, so that ranges can be numbered in the file.
    """

    def __init__(self, file: ExportFile, start: int = 0, end: int | None = None) -> None:
        self.file = file
        self.lines = 0
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
            yield block

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        tail = b""
        for block in self._blocks():
            pieces = (tail + block).split(b"\n") if tail else block.split(b"\n")
            tail = pieces.pop()
            yield from self._numbered(pieces)
        if tail:
            yield from self._numbered([tail])

    def _numbered(self, pieces: list[bytes]) -> Iterator[tuple[int, bytes]]:
        for line in pieces:
            self.lines += 1
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
