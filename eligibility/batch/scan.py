"""The first pass over an export: every line parsed once, routed to its patient's bucket on disk.

The export is cut into parts (a plain file in ranges of about `PART_BYTES`, a compressed file whole)
that worker processes scan independently; each writes its own run files (spill.py). Nothing is
decided here, so a scan can be thrown away and redone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from .export_reader import ExportFile, LineReader, line_starts
from .links import route
from .spill import Run, RunWriter, bucket_of

__all__ = ["PART_BYTES", "Part", "PartResult", "Segments", "plan_parts", "scan_part"]

PART_BYTES = 64 << 20
RUN_BYTES = 64 << 20  # what one scanning process holds before it writes a run file


@dataclass(frozen=True, slots=True)
class Segments:
    """Segment numbers of a run: the patient buckets, then shared resources, then unplaceable lines."""

    buckets: int

    @property
    def shared(self) -> int:
        return self.buckets

    @property
    def bad(self) -> int:
        return self.buckets + 1

    @property
    def count(self) -> int:
        return self.buckets + 2


@dataclass(frozen=True, slots=True)
class Part:
    index: int
    file_index: int
    start: int
    end: int | None  # None: to the end of the file


@dataclass(slots=True)
class PartResult:
    part: Part
    runs: list[Run]
    lines: int  # physical lines in the part: numbers the next part of the same file
    resources: Counter[str] = field(default_factory=Counter)  # parsed resources by type
    unlinked: Counter[str] = field(default_factory=Counter)  # resources of no patient, by type
    bad_lines: int = 0


def plan_parts(files: list[ExportFile], part_bytes: int = PART_BYTES) -> list[Part]:
    parts: list[Part] = []
    for file_index, file in enumerate(files):
        starts = line_starts(file, part_bytes)
        ends: list[int | None] = [*starts[1:], None]
        for start, end in zip(starts, ends, strict=True):
            parts.append(Part(len(parts), file_index, start, end))
    return parts


def scan_part(part: Part, file: ExportFile, runs_dir: Path, segments: Segments) -> PartResult:
    """Parse and route every line of one part (runs in a worker process)."""
    writer = RunWriter(runs_dir, f"part-{part.index:05d}", segments.count, RUN_BYTES)
    result = PartResult(part, writer.runs, 0)
    with LineReader(file, part.start, part.end) as reader:
        for line_no, line in reader:
            try:
                resource = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                writer.add(segments.bad, line_no, "NotJSONError", [f"not valid JSON: {exc.msg}"], line)
                result.bad_lines += 1
                continue
            resource_type = resource.get("resourceType") if isinstance(resource, dict) else None
            if not isinstance(resource_type, str):
                writer.add(segments.bad, line_no, "NotFHIRError", ["a line without a resourceType is not FHIR"], line)
                result.bad_lines += 1
                continue
            result.resources[resource_type] += 1
            where = route(resource)
            if where.kind == "patient":
                writer.add(bucket_of(where.key, segments.buckets), line_no, where.key, where.needs, line)
            elif where.kind == "shared":
                writer.add(segments.shared, line_no, where.key, where.needs, line)
            elif where.kind == "invalid":
                writer.add(segments.bad, line_no, "InvalidResourceError", [where.key], line)
                result.bad_lines += 1
            else:
                result.unlinked[resource_type] += 1
        result.lines = reader.lines
    writer.flush()
    return result
