"""The audit record's shape, said once: what is appended, what is stored, which fields are hashed.

The table (models.AuditRecord), the chain hash (chain.py), verification, the NDJSON export and the
FHIR AuditEvent/Provenance mapping (fhir_resources.py) all take their fields from here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import orjson

__all__ = ["HASHED_FIELDS", "RECORD_FIELDS", "NewRecord", "StoredRecord"]


@dataclass(frozen=True, slots=True)
class NewRecord:
    """A record to append; seq, time and hashes are assigned by `append_records`."""

    kind: str
    actor: str
    channel: str
    payload: Mapping[str, Any]
    decision_id: str | None = None
    patient_ref: str | None = None
    input_sha256: str | None = None
    record_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass(frozen=True, slots=True)
class StoredRecord:
    seq: int
    record_id: str
    kind: str
    created_at: str
    actor: str
    channel: str
    decision_id: str | None
    patient_ref: str | None
    input_sha256: str | None
    payload: str
    content_sha256: str
    prev_hash: str
    chain_hash: str

    def data(self) -> dict[str, Any]:
        parsed: dict[str, Any] = orjson.loads(self.payload)
        return parsed

    def as_json(self) -> dict[str, Any]:
        """The raw record as exported: payload kept as the exact text that was hashed."""
        return {name: getattr(self, name) for name in RECORD_FIELDS}


RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(StoredRecord))
# Everything but the hashes themselves is covered by the content hash, payload as its exact text.
HASHED_FIELDS: tuple[str, ...] = tuple(
    name for name in RECORD_FIELDS if name not in ("content_sha256", "prev_hash", "chain_hash")
)
