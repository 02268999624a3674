"""parse_input / parse_resources: submission -> validated, projected `PatientFacts` + canonical input.

Steps, each raising a typed InputError located in the submission:
1. envelope (parsing.py): JSON / NDJSON, Bundle type, entry shape;
2. every resource has a known resourceType; what is read is validated with the R4B models (models.py),
   after a date the rules' calendar cannot hold is refused there (json_guard.edge_date; a warning elsewhere);
3. exactly one Patient;
4. identities and references (references.py), then projection to facts (projection.py);
5. canonical form of the whole submission and its SHA-256 (canonical.py).

What is read: every resource of a read type (`READ_TYPES`), or, given a `ReadFilter` (the policy's
`ReadSet`, as batch uses), only those it keeps. The others are checked for structure (unread.py) and a
problem in them is a `ReadProblem` warning, not an error. The canonical input is the whole submission
either way, so the input hash, the audit trail and replay do not depend on what was read. A resource
that validated before in this process, byte for byte, is not validated again (validated.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eligibility.errors import InvalidResourceError, NotFHIRError, PatientCountError
from eligibility.facts import (
    AllergyFact,
    ConditionFact,
    DeviceFact,
    EncounterFact,
    MedicationFact,
    ObservationFact,
    PatientFact,
    PatientFacts,
    ProcedureFact,
)

from .canonical import canonical_bundle, entry_body, sha256_hex
from .json_guard import edge_date
from .locations import Locator
from .models import READ_TYPES, is_resource_type
from .parsing import RawEntry, Submission, read_submission, with_article
from .patient_header import PatientHeader, patient_header
from .projection import Fact, Projector
from .references import IndexedEntry, ResourceIndex, identity_of
from .unread import ReadFilter, ReadProblem, UnreadChecker, check_id
from .validated import validate_once
from .versions import older_version_error

__all__ = ["ParsedInput", "ReadFilter", "ReadProblem", "parse_input", "parse_resources"]


@dataclass(frozen=True)
class ParsedInput:
    facts: PatientFacts
    canonical: bytes  # order-independent canonical Bundle (canonical.py); parsing it gives `facts` again
    input_sha256: str  # sha256 hex of `canonical`
    resource_count: int  # top-level resources in the submission, read or not
    warnings: tuple[str, ...]  # "location: message", sorted; things read with an assumption
    unread_problems: tuple[ReadProblem, ...] = ()  # problems in resources not read, as found
    read_count: int = 0  # resources validated and projected
    # who the patient is, for people (the worklist index), read here so the trail need not parse it again
    patient: PatientHeader | None = None


def parse_input(raw: bytes | str, *, reads: ReadFilter | None = None) -> ParsedInput:
    """A FHIR R4 Bundle, NDJSON (one resource a line) or a lone Patient -> one patient's record.

    `reads` chooses what is validated and projected (default: every resource of a read type).
    """
    return _parse(read_submission(raw), reads)


def parse_resources(
    resources: Sequence[Any], *, locations: Sequence[str] | None = None, reads: ReadFilter | None = None
) -> ParsedInput:
    """The same from resources already decoded from JSON (bulk NDJSON runs grouped per patient).

    `locations`, when given, names where each resource came from (e.g. "Condition.ndjson line 42") so
    that errors point into the caller's files; by default errors say "resources[3]".
    """
    if locations is not None and len(locations) != len(resources):
        raise ValueError("locations must name each resource")
    entries: list[RawEntry] = []
    for index, resource in enumerate(resources):
        locator = Locator(f"resources[{index}]") if locations is None else Locator(locations[index], ": ")
        if not isinstance(resource, dict):
            raise NotFHIRError(f"{with_article(type(resource).__name__)} is not a FHIR resource", location=locator.at())
        entries.append(RawEntry({"resource": resource}, locator))
    return _parse(Submission("collection", tuple(entries), "resources"), reads)


def _parse(submission: Submission, reads: ReadFilter | None) -> ParsedInput:
    try:
        return _parse_r4(submission, reads)
    except (NotFHIRError, InvalidResourceError) as exc:
        # Refused already: is it older FHIR? Then say so, with what gave it away (versions.py).
        explained = older_version_error(
            exc, ((raw.resource, raw.locator.at) for raw in submission.entries if raw.resource is not None)
        )
        if explained is exc:
            raise
        raise explained from exc


def _parse_r4(submission: Submission, reads: ReadFilter | None) -> ParsedInput:
    items: list[IndexedEntry] = []
    patients: list[IndexedEntry] = []
    ignored: Counter[str] = Counter()
    bodies = [entry_body(raw.entry) for raw in submission.entries]  # for the canonical form and the filter
    unread: list[tuple[IndexedEntry, bytes]] = []
    problems: list[ReadProblem] = []
    for raw, body in zip(submission.entries, bodies, strict=True):
        resource = raw.resource
        if resource is None:
            continue  # e.g. a transaction DELETE: nothing to read; kept in the canonical input
        resource_type = resource.get("resourceType")
        if not isinstance(resource_type, str) or not is_resource_type(resource_type):
            raise NotFHIRError(
                f"resourceType {resource_type!r} is not a FHIR R4 resource type",
                location=raw.locator.at("resourceType"),
            )
        identity = identity_of(resource, raw.full_url)
        read = resource_type in READ_TYPES and (
            reads is None or resource_type == "Patient" or reads.reads(resource_type, resource, body)
        )
        if submission.check_dates:
            _check_dates(raw, resource, read, problems)
        if read:
            validate_once(resource, body, raw.locator.at)
            if identity is None:
                raise InvalidResourceError(
                    f"{resource_type} has neither an id nor a urn:uuid fullUrl; its facts could not be cited",
                    location=raw.locator.at("id"),
                )
        elif resource_type not in READ_TYPES:
            ignored[resource_type] += 1
        item = IndexedEntry(raw, resource, identity, read)
        items.append(item)
        if not read:
            check_id(item, problems)
            unread.append((item, body))
        if resource_type == "Patient":
            patients.append(item)

    if not patients:
        raise PatientCountError("the record holds no Patient resource", location=submission.location)
    if len(patients) > 1:
        names = ", ".join(p.identity or "?" for p in patients)
        raise PatientCountError(
            f"the record holds {len(patients)} Patients ({names}); send one patient per record",
            location=patients[1].raw.locator.base,
        )

    warnings: list[str] = []
    duplicates: list[str] = []
    index = ResourceIndex(items, duplicates)
    problems.extend(
        ReadProblem(at, "another resource has the same identity; neither is cited", "duplicate") for at in duplicates
    )
    checker = UnreadChecker(index, patients[0].identity or "", problems)
    for item, body in unread:
        checker.check(item, body)
    projector = Projector(index, patients[0], warnings)
    facts = _Facts()
    read_count = 0
    for item in items:
        if not item.read:
            continue
        read_count += 1
        try:
            fact = projector.project(item)
        except ValueError as exc:  # a date the validator let through but the calendar refuses
            raise InvalidResourceError(str(exc), location=item.raw.locator.at()) from exc
        if fact is not None:
            facts.add(fact)

    patient_facts = facts.collect(projector.patient_fact(), tuple(sorted(ignored.items())))
    canonical = canonical_bundle(submission.bundle_type, (raw.entry for raw in submission.entries), bodies)
    return ParsedInput(
        facts=patient_facts,
        canonical=canonical,
        input_sha256=sha256_hex(canonical),
        resource_count=len(items),
        warnings=tuple(sorted(warnings)),
        unread_problems=tuple(problems),
        read_count=read_count,
        patient=patient_header(patients[0].resource),
    )


def _check_dates(raw: RawEntry, resource: dict[str, Any], read: bool, problems: list[ReadProblem]) -> None:
    """A date the rules' calendar cannot hold: refused where the policy reads it, else a warning."""
    found = edge_date(resource)
    if found is None:
        return
    path, message = found
    if read:
        raise InvalidResourceError(message, location=raw.locator.at(path))
    problems.append(ReadProblem(raw.locator.at(path), message, "value"))


def _by_reference(fact: Fact) -> str:
    return fact.reference


@dataclass
class _Facts:
    conditions: list[ConditionFact] = field(default_factory=list)
    medications: list[MedicationFact] = field(default_factory=list)
    procedures: list[ProcedureFact] = field(default_factory=list)
    observations: list[ObservationFact] = field(default_factory=list)
    encounters: list[EncounterFact] = field(default_factory=list)
    devices: list[DeviceFact] = field(default_factory=list)
    allergies: list[AllergyFact] = field(default_factory=list)

    def add(self, fact: Fact) -> None:
        if isinstance(fact, ConditionFact):
            self.conditions.append(fact)
        elif isinstance(fact, MedicationFact):
            self.medications.append(fact)
        elif isinstance(fact, ProcedureFact):
            self.procedures.append(fact)
        elif isinstance(fact, ObservationFact):
            self.observations.append(fact)
        elif isinstance(fact, EncounterFact):
            self.encounters.append(fact)
        elif isinstance(fact, DeviceFact):
            self.devices.append(fact)
        else:
            self.allergies.append(fact)

    def collect(self, patient: PatientFact, ignored_types: tuple[tuple[str, int], ...]) -> PatientFacts:
        # References are unique (the index refuses duplicates), so they alone order the facts and the
        # record does not depend on entry order.
        return PatientFacts(
            patient=patient,
            conditions=tuple(sorted(self.conditions, key=_by_reference)),
            medications=tuple(sorted(self.medications, key=_by_reference)),
            procedures=tuple(sorted(self.procedures, key=_by_reference)),
            observations=tuple(sorted(self.observations, key=_by_reference)),
            encounters=tuple(sorted(self.encounters, key=_by_reference)),
            devices=tuple(sorted(self.devices, key=_by_reference)),
            allergies=tuple(sorted(self.allergies, key=_by_reference)),
            ignored_types=ignored_types,
        )
