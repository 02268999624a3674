"""The second pass: each patient's lines gathered from the run files, one bucket in memory at a time.

A patient's group is every line that links to it (the Patient itself included, if the export has it)
plus the shared Medication / Substance lines those lines reference, followed transitively. Groups come
out bucket by bucket, sorted by patient id inside a bucket, so two runs over one scan agree on order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .spill import Record, read_record, read_segment
from .workdir import ScanLayout

__all__ = ["BadLine", "PatientGroup", "SharedIndex", "iter_bad_lines", "iter_groups"]

_SHARED_CACHE = 4096  # decoded shared records kept; a formulary is small and read by many patients


@dataclass(frozen=True, slots=True)
class PatientGroup:
    key: str  # the patient id
    lines: tuple[bytes, ...]
    sources: tuple[tuple[int, int], ...]  # (part index, line number in the part), one per line

    @property
    def reference(self) -> str:
        return f"Patient/{self.key}"


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that belongs to no patient because it could not be read or placed."""

    part: int
    line_no: int
    error_type: str
    message: str
    line: bytes


class SharedIndex:
    """Shared resources by `Type/id`, read from the run files when a patient needs them."""

    def __init__(self, layout: ScanLayout) -> None:
        self._layout = layout
        self._where: dict[str, list[tuple[int, str, int]]] = {}  # key -> [(part, run name, offset)]
        self._cache: dict[tuple[str, int], Record] = {}
        self.used: set[str] = set()
        for part, run in layout.runs():
            for offset, record in read_segment(layout.runs_dir, run, layout.segments.shared):
                self._where.setdefault(record.key, []).append((part, run.name, offset))

    def __len__(self) -> int:
        return sum(len(places) for places in self._where.values())

    def unused(self) -> int:
        """Shared resources no patient's record referenced so far."""
        return len(self._where.keys() - self.used)

    def _record(self, run_name: str, offset: int) -> Record:
        record = self._cache.get((run_name, offset))
        if record is None:
            record = read_record(self._layout.runs_dir, run_name, offset)
            if len(self._cache) >= _SHARED_CACHE:
                self._cache.clear()
            self._cache[(run_name, offset)] = record
        return record

    def closure(self, needs: Iterable[str]) -> list[tuple[int, Record]]:
        """(part, record) of every shared resource reached from `needs` (each once; missing ones skipped:
        the adapter reports a reference that does not resolve)."""
        found: list[tuple[int, Record]] = []
        seen: set[str] = set()
        pending = list(needs)
        while pending:
            key = pending.pop()
            if key in seen:
                continue
            seen.add(key)
            for part, run_name, offset in self._where.get(key, ()):
                record = self._record(run_name, offset)
                found.append((part, record))
                pending.extend(record.needs)
        self.used.update(key for key in seen if key in self._where)
        return found


def iter_groups(layout: ScanLayout, shared: SharedIndex) -> Iterator[PatientGroup]:
    runs = layout.runs()
    for bucket in range(layout.segments.buckets):
        members: dict[str, list[tuple[int, Record]]] = {}
        for part, run in runs:
            for _, record in read_segment(layout.runs_dir, run, bucket):
                members.setdefault(record.key, []).append((part, record))
        for key in sorted(members):
            entries = members.pop(key)
            entries += shared.closure(need for _, record in entries for need in record.needs)
            yield PatientGroup(
                key,
                tuple(record.line for _, record in entries),
                tuple((part, record.line_no) for part, record in entries),
            )


def iter_bad_lines(layout: ScanLayout) -> Iterator[BadLine]:
    for part, run in layout.runs():
        for _, record in read_segment(layout.runs_dir, run, layout.segments.bad):
            message = record.needs[0] if record.needs else "unreadable line"
            yield BadLine(part, record.line_no, record.key, message, record.line)
