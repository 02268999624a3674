"""Export a time range of the trail as NDJSON: FHIR AuditEvent and Provenance, and raw records.

Files (one resource or record per line, UTF-8, written under a temporary name and renamed when
complete, so a failed export never leaves a truncated file that looks whole):

    AuditEvent.ndjson          every record, IHE BALP style (eligibility.audit.fhir_resources)
    Provenance.ndjson          one per decision record
    audit-records.ndjson       the records exactly as stored, payload text included, so a third
                               party can recompute each content hash
    audit-checkpoints.ndjson   the signed checkpoints in the range
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from eligibility.audit.fhir_resources import audit_event, provenance
from eligibility.audit.store import iter_records

__all__ = ["FORMATS", "ExportResult", "export"]

Format = Literal["fhir", "raw"]
FORMATS: tuple[Format, ...] = ("fhir", "raw")
_FILES: dict[str, Format] = {
    "AuditEvent.ndjson": "fhir",
    "Provenance.ndjson": "fhir",
    "audit-records.ndjson": "raw",
    "audit-checkpoints.ndjson": "raw",
}


@dataclass(slots=True)
class ExportResult:
    directory: Path
    counts: dict[str, int] = field(default_factory=dict)  # file name -> lines written

    @property
    def files(self) -> list[Path]:
        return [self.directory / name for name in self.counts]


def _line(value: object) -> bytes:
    return orjson.dumps(value) + b"\n"


def export(
    session: Session,
    *,
    directory: Path,
    start: str | None = None,
    end: str | None = None,
    formats: Sequence[Format] = FORMATS,
) -> ExportResult:
    """Write the records with start <= created_at < end (stored-timestamp strings) to `directory`."""
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown export format(s): {', '.join(sorted(unknown))}")
    directory.mkdir(parents=True, exist_ok=True)
    names = [name for name, fmt in _FILES.items() if fmt in formats]
    result = ExportResult(directory, dict.fromkeys(names, 0))
    handles: dict[str, IO[bytes]] = {name: (directory / f".{name}.part").open("wb") for name in names}
    try:
        for record in iter_records(session, start=start, end=end):
            if "fhir" in formats:
                handles["AuditEvent.ndjson"].write(_line(audit_event(record)))
                result.counts["AuditEvent.ndjson"] += 1
                if record.kind == "decision":
                    handles["Provenance.ndjson"].write(_line(provenance(record)))
                    result.counts["Provenance.ndjson"] += 1
            if "raw" in formats:
                handles["audit-records.ndjson"].write(_line(record.as_json()))
                result.counts["audit-records.ndjson"] += 1
        if "raw" in formats:
            result.counts["audit-checkpoints.ndjson"] = _export_checkpoints(
                session, handles["audit-checkpoints.ndjson"], start, end
            )
    except BaseException:
        for name, handle in handles.items():
            handle.close()
            (directory / f".{name}.part").unlink(missing_ok=True)
        raise
    for name, handle in handles.items():
        handle.close()
        (directory / f".{name}.part").replace(directory / name)
    return result


def _export_checkpoints(session: Session, out: IO[bytes], start: str | None, end: str | None) -> int:
    rows = session.execute(
        text(
            "SELECT id, record_seq, chain_hash, created_at, key_id, prev_signature, signature "
            "FROM audit_checkpoint WHERE created_at >= :start AND created_at < :end ORDER BY id"
        ),
        {"start": start or "", "end": end or "~"},  # "~" sorts after every timestamp
    )
    count = 0
    for row in rows:
        out.write(_line(dict(row._mapping)))
        count += 1
    return count
