"""The work directory of a run (`<out>.work/`): run files and the manifest of a finished scan.

The manifest is written only once every part is scanned, and names the export files it was made
from (name, size, mtime) and the read set it kept lines by: a rerun on the same export with the same read
set reuses the scan; a changed export, or another read set, is scanned again.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .export_reader import ExportFile
from .scan import Part, PartResult, Segments
from .spill import Run

__all__ = ["ScanLayout", "remove_work_dir", "work_dir_for"]

_MANIFEST = "manifest.json"
_VERSION = 2


def work_dir_for(out: Path) -> Path:
    return out.with_name(out.name + ".work")


def _file_key(file: ExportFile) -> list[Any]:
    return [file.name, file.size, file.mtime_ns]


@dataclass(slots=True)
class ScanLayout:
    """Where every scanned line went, and what the scan counted."""

    directory: Path
    files: list[ExportFile]
    segments: Segments
    parts: list[PartResult]
    reads: str  # ReadSet.key of the scan
    unread: list[int]  # indices of the files not scanned: of types the read set never reads

    @property
    def runs_dir(self) -> Path:
        return self.directory / "runs"

    def runs(self) -> list[tuple[int, Run]]:
        """(part index, run) in scan order: the order lines are grouped in."""
        return [(result.part.index, run) for result in self.parts for run in result.runs]

    def source(self, part_index: int, line_no: int) -> str:
        """Where a line is in the export, e.g. "Observation.ndjson line 42"."""
        part = self.parts[part_index].part
        before = sum(r.lines for r in self.parts if r.part.file_index == part.file_index and r.part.index < part.index)
        return f"{self.files[part.file_index].name} line {before + line_no}"

    def resources(self) -> Counter[str]:
        return sum((result.resources for result in self.parts), Counter())

    def unlinked(self) -> Counter[str]:
        return sum((result.unlinked for result in self.parts), Counter())

    def not_read(self) -> Counter[str]:
        return sum((result.not_read for result in self.parts), Counter())

    def bad_lines(self) -> int:
        return sum(result.bad_lines for result in self.parts)

    def save(self) -> None:
        manifest = {
            "version": _VERSION,
            "files": [_file_key(file) for file in self.files],
            "reads": self.reads,
            "unread": self.unread,
            "buckets": self.segments.buckets,
            "parts": [
                {
                    "index": r.part.index,
                    "file_index": r.part.file_index,
                    "start": r.part.start,
                    "end": r.part.end,
                    "lines": r.lines,
                    "runs": [[run.name, list(run.offsets)] for run in r.runs],
                    "resources": dict(r.resources),
                    "unlinked": dict(r.unlinked),
                    "not_read": dict(r.not_read),
                    "bad_lines": r.bad_lines,
                }
                for r in self.parts
            ],
        }
        temporary = self.directory / (_MANIFEST + ".tmp")
        with open(temporary, "wb") as handle:
            handle.write(orjson.dumps(manifest))
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self.directory / _MANIFEST)

    @staticmethod
    def _manifest(directory: Path) -> dict[str, Any] | None:
        try:
            manifest = orjson.loads((directory / _MANIFEST).read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        return manifest if isinstance(manifest, dict) and manifest.get("version") == _VERSION else None

    @classmethod
    def reads_of(cls, directory: Path) -> str | None:
        """The read set of the finished scan in `directory`, if there is one."""
        manifest = cls._manifest(directory)
        return None if manifest is None else str(manifest.get("reads"))

    @classmethod
    def load(cls, directory: Path, files: list[ExportFile], reads: str) -> ScanLayout | None:
        """The finished scan of exactly these files with this read set, or None."""
        manifest = cls._manifest(directory)
        if manifest is None or manifest.get("files") != [_file_key(f) for f in files] or manifest.get("reads") != reads:
            return None
        parts = [
            PartResult(
                part=Part(p["index"], p["file_index"], p["start"], p["end"]),
                runs=[Run(name, tuple(offsets)) for name, offsets in p["runs"]],
                lines=p["lines"],
                resources=Counter(p["resources"]),
                unlinked=Counter(p["unlinked"]),
                not_read=Counter(p["not_read"]),
                bad_lines=p["bad_lines"],
            )
            for p in manifest["parts"]
        ]
        return cls(directory, files, Segments(manifest["buckets"]), parts, reads, list(manifest["unread"]))

    @classmethod
    def fresh(
        cls, directory: Path, files: list[ExportFile], segments: Segments, reads: str, unread: list[int]
    ) -> ScanLayout:
        """An empty work directory (anything left from an older scan is removed)."""
        remove_work_dir(directory)
        (directory / "runs").mkdir(parents=True)
        return cls(directory, files, segments, [], reads, unread)


def remove_work_dir(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
