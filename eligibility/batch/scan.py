"""The first pass over an export: every line the policy may read parsed once and routed to its patient's
bucket on disk.

Files of a type the policy never reads (`Claim.ndjson`, `ExplanationOfBenefit.2.ndjson.gz`...) are not
scanned at all once their first line confirms the type their name gives; in the files that are scanned,
lines the read set leaves out (fhir_adapters/read_set.py) are counted and dropped. The rest of the export
is cut into parts (a plain file in ranges of about `PART_BYTES`, a compressed file whole)
that worker processes scan independently; each writes its own run files (spill.py). Nothing is
decided here, so a scan can be thrown away and redone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from eligibility.settings import get_settings
from fhir_adapters.models import is_resource_type
from fhir_adapters.read_set import ReadSet

from .export_reader import ExportFile, LineReader, OverlongLine, line_starts
from .links import route
from .spill import Run, RunWriter, bucket_of

__all__ = ["PART_BYTES", "Part", "PartResult", "Segments", "plan_parts", "scan_part", "unread_files"]

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
    resources: Counter[str] = field(default_factory=Counter)  # resources by type (parsed, or left out unparsed)
    not_read: Counter[str] = field(default_factory=Counter)  # ... that the read set left out
    unlinked: Counter[str] = field(default_factory=Counter)  # resources of no patient, by type
    bad_lines: int = 0


def named_type(file: ExportFile) -> str | None:
    """The resource type a Bulk Data file name gives ("Claim.ndjson", "Claim.2.ndjson.gz"), if any."""
    stem = file.name.split(".", 1)[0]
    return stem if is_resource_type(stem) else None


def unread_files(files: list[ExportFile], read_set: ReadSet) -> list[int]:
    """Indices of the files the policy cannot read anything from: named for a type it does not read, and
    their first resource is of that type (Bulk Data puts one type in a file; a mislabelled file is scanned)."""
    unread = []
    for index, file in enumerate(files):
        resource_type = named_type(file)
        if resource_type is None or read_set.reads_type(resource_type):
            continue
        with LineReader(file) as reader:
            first = next(iter(reader), None)
        line = None if first is None else first[1]
        if isinstance(line, OverlongLine):
            continue  # let the scan report it
        try:
            resource = orjson.loads(line) if line is not None else None
        except orjson.JSONDecodeError:
            continue  # let the scan report it
        if line is None or (isinstance(resource, dict) and resource.get("resourceType") == resource_type):
            unread.append(index)
    return unread


def plan_parts(
    files: list[ExportFile], part_bytes: int = PART_BYTES, *, skip: frozenset[int] = frozenset()
) -> list[Part]:
    parts: list[Part] = []
    for file_index, file in enumerate(files):
        if file_index in skip:
            continue
        starts = line_starts(file, part_bytes)
        ends: list[int | None] = [*starts[1:], None]
        for start, end in zip(starts, ends, strict=True):
            parts.append(Part(len(parts), file_index, start, end))
    return parts


def scan_part(part: Part, file: ExportFile, runs_dir: Path, segments: Segments, read_set: ReadSet) -> PartResult:
    """Parse every line of one part and route the ones `read_set` keeps (runs in a worker process)."""
    writer = RunWriter(runs_dir, f"part-{part.index:05d}", segments.count, RUN_BYTES)
    result = PartResult(part, writer.runs, 0)
    named = named_type(file) or ""  # "": no type in the name, every line is parsed
    settings = get_settings()
    with LineReader(
        file,
        part.start,
        part.end,
        max_line_bytes=settings.batch_max_line_bytes,
        max_ratio=settings.batch_max_gzip_ratio,
    ) as reader:
        for line_no, line in reader:
            if isinstance(line, OverlongLine):  # its location, length and hash; never its bytes
                message = (
                    f"the line has {line.length:,} bytes, over the limit of {reader.max_line_bytes:,}; "
                    f"sha256 {line.sha256}"
                )
                writer.add(segments.bad, line_no, "LineTooLongError", [message], b"")
                result.bad_lines += 1
                continue
            if read_set.left_out_unparsed(named, line):  # most vitals and visits: not even parsed
                result.resources[named] += 1
                result.not_read[named] += 1
                continue
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
            if not read_set.reads(resource_type, resource, line):
                result.not_read[resource_type] += 1
                continue
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
