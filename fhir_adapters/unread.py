"""What is checked of a resource the policy does not read, and how a problem in it is reported.

The point of care validates with the R4B models only what the policy reads (`ReadFilter`, in practice
`fhir_adapters.read_set.ReadSet`): most of a chart is vitals, labs and visits no rule looks at, and
validating them cost most of a call. The rest is checked for structure only:

- it is a JSON object with a known `resourceType` (the envelope and the pipeline refuse anything else,
  read or not: such an input is not FHIR);
- its `id`, when present, has the shape of a FHIR id;
- its patient link (`subject` / `patient`), when it names a Patient, resolves to the record's Patient;
- its `urn:uuid:` and `#contained` references resolve (both only make sense inside the submission;
  a `Practitioner/7` the record does not carry is normal and not checked, as for read resources);
- its identity is not shared with another resource (then neither is cited).

A problem found there is a `ReadProblem`: a warning in the answer, never a rejection, since no rule
reads the resource. The audit trail keeps the whole input either way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from .references import IndexedEntry, ResourceIndex, reference_type

__all__ = ["ReadFilter", "ReadProblem", "UnreadChecker", "check_id"]

_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# A `"reference":"…"` member of an entry serialised by orjson (no spaces; escaped ones are skipped).
_REFERENCE = re.compile(rb'"reference":"([^"\\]*)"')
_PATIENT_LINKS = ("subject", "patient")


class ReadFilter(Protocol):
    """Whether the policy could read a resource; `line` is its (entry's) JSON, a superset is fine."""

    def reads(self, resource_type: str, resource: dict[str, Any], line: bytes) -> bool: ...


@dataclass(frozen=True, slots=True)
class ReadProblem:
    """A problem in a resource the policy does not read: reported as a warning, with where it is."""

    location: str
    message: str
    code: str  # OperationOutcome issue type: value, not-found, duplicate


def check_id(item: IndexedEntry, problems: list[ReadProblem]) -> None:
    resource_id = item.resource.get("id")
    if resource_id is not None and not (isinstance(resource_id, str) and _ID.fullmatch(resource_id)):
        problems.append(
            ReadProblem(
                item.raw.locator.at("id"), f"id {resource_id!r} is not a FHIR id (1-64 of A-Z a-z 0-9 - .)", "value"
            )
        )


class UnreadChecker:
    """Checks the references of the unread resources of one submission against its index.

    A chart's hundred vitals all name the same Patient: each literal is resolved once (except
    '#contained' ones, which depend on the resource they are written in).
    """

    def __init__(self, index: ResourceIndex, patient_key: str, problems: list[ReadProblem]) -> None:
        self._index = index
        self._patient_key = patient_key
        self._problems = problems
        self._resolved: dict[str, str | None] = {}  # literal -> resource key, None when it does not resolve

    def _key(self, literal: str, item: IndexedEntry) -> str | None:
        if literal.startswith("#"):
            target = self._index.resolve(literal, item.resource, item.raw.locator)
            return None if target is None else target.key
        if literal not in self._resolved:
            target = self._index.resolve(literal, None, item.raw.locator)
            self._resolved[literal] = None if target is None else target.key
        return self._resolved[literal]

    def check(self, item: IndexedEntry, body: bytes) -> None:
        """The patient link and the in-submission references of one unread resource (`body`: its entry's JSON)."""
        locator = item.raw.locator
        checked: set[str] = set()
        for field in _PATIENT_LINKS:
            link = item.resource.get(field)
            literal = link.get("reference") if isinstance(link, dict) else None
            if not isinstance(literal, str) or reference_type(literal) not in ("Patient", None):
                continue  # no literal link, or a Group / Location: not a patient link
            checked.add(literal)
            key = self._key(literal, item)
            where = locator.at(f"{field}.reference")
            if key is None:
                message = f"{field} reference {literal!r} does not resolve in this record"
                self._problems.append(ReadProblem(where, message, "not-found"))
            elif key.startswith("Patient/") and key != self._patient_key:
                message = f"{field} reference {literal!r} is not the record's Patient {self._patient_key}"
                self._problems.append(ReadProblem(where, message, "not-found"))
        if b'"reference":"#' not in body and b'"reference":"urn:uuid:' not in body:
            return
        for found in _REFERENCE.findall(body):
            literal = found.decode("utf-8")
            if literal in checked or not literal.startswith(("#", "urn:uuid:")) or literal == "#":
                continue  # '#' alone is the container itself
            checked.add(literal)
            if self._key(literal, item) is None:
                message = f"reference {literal!r} does not resolve in this record"
                self._problems.append(ReadProblem(locator.at(), message, "not-found"))
