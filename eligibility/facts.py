"""Typed, provenance-carrying facts: the only thing the engine reads about a patient.

`fhir_adapters` projects a FHIR record into a `PatientFacts`; the engine never sees FHIR JSON.
Every fact knows the `ResourceType/id` it came from and its clinically relevant date, so every
piece of evidence in a decision can be traced back to the resource a clinician can open.

Facts are faithful projections: statuses are kept as sent (entered-in-error included) and the
engine decides what to ignore, so that the adapter never silently drops information.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

__all__ = [
    "AllergyFact",
    "Coding",
    "ConditionFact",
    "DeviceFact",
    "EncounterFact",
    "MedicationFact",
    "ObservationFact",
    "PatientFact",
    "PatientFacts",
    "ProcedureFact",
]


@dataclass(frozen=True, slots=True)
class Coding:
    """One coding as sent. `system` and `code` are stripped; display is for humans only."""

    system: str
    code: str
    display: str | None = None


@dataclass(frozen=True, slots=True)
class PatientFact:
    reference: str  # "Patient/123" (urn:uuid: full URLs are mapped to ResourceType/id)
    birth_date: date | None
    gender: str | None  # administrative gender as sent; None when absent


@dataclass(frozen=True, slots=True)
class ConditionFact:
    reference: str
    codes: tuple[Coding, ...]
    clinical_status: str | None  # code from clinicalStatus, e.g. "active"; None when absent
    verification_status: str | None  # e.g. "confirmed", "refuted", "entered-in-error"
    onset: date | None  # onsetDateTime / onsetPeriod.start (partial dates: see fhir_adapters.dates)
    recorded: date | None  # recordedDate
    asserted: date | None  # assertedDate extension or R4B assertedDate, when sent
    abated: bool  # any abatement[x] present
    body_sites: tuple[Coding, ...] = ()
    categories: tuple[str, ...] = ()  # category codes, e.g. "problem-list-item"
    text: str | None = None

    @property
    def date(self) -> date | None:
        return self.onset or self.asserted or self.recorded


@dataclass(frozen=True, slots=True)
class MedicationFact:
    """A MedicationRequest, MedicationStatement or MedicationAdministration."""

    reference: str
    kind: str  # "MedicationRequest" | "MedicationStatement" | "MedicationAdministration"
    codes: tuple[Coding, ...]  # the medication's own codes plus any Medication.ingredient codes
    status: str | None
    status_reason: str | None  # any coded or text statusReason, flattened to text ("" never)
    start: date | None  # effectivePeriod.start / effectiveDateTime / authoredOn
    end: date | None  # effectivePeriod.end
    validity_end: date | None  # dispenseRequest.validityPeriod.end
    expected_supply_days: float | None  # dispenseRequest.expectedSupplyDuration in days
    repeats: int | None  # dispenseRequest.numberOfRepeatsAllowed
    reason_codes: tuple[Coding, ...] = ()  # reasonCode, and codes of reasonReference Conditions
    text: str | None = None  # medication text / display, for supplements without RxNorm codes
    # Name sources of spec §7 besides the codings' displays: medicationCodeableConcept.text or the
    # Medication's code.text, then medicationReference.display.
    concept_text: str | None = None
    reference_display: str | None = None
    # Dose form and route as sent (Medication.form, dosage[Instruction].route): codings and texts, so
    # that a topical NSAID is told from an oral one (§7).
    form_codes: tuple[Coding, ...] = ()
    form_texts: tuple[str, ...] = ()

    @property
    def date(self) -> date | None:
        return self.start


@dataclass(frozen=True, slots=True)
class ProcedureFact:
    reference: str
    codes: tuple[Coding, ...]
    status: str | None
    start: date | None  # performedDateTime / performedPeriod.start
    end: date | None  # performedPeriod.end (same as start for performedDateTime)
    outcome: tuple[Coding, ...] = ()
    body_sites: tuple[Coding, ...] = ()
    text: str | None = None

    @property
    def date(self) -> date | None:
        return self.start


@dataclass(frozen=True, slots=True)
class ObservationFact:
    reference: str
    codes: tuple[Coding, ...]
    status: str | None
    effective: date | None  # effectiveDateTime / effectivePeriod.start / effectiveInstant / issued
    value_number: float | None  # valueQuantity.value / valueInteger / valueDecimal
    value_unit: str | None
    value_codes: tuple[Coding, ...] = ()  # valueCodeableConcept codings
    value_text: str | None = None  # valueString, or valueCodeableConcept.text
    body_sites: tuple[Coding, ...] = ()
    components: tuple[tuple[tuple[Coding, ...], float | None], ...] = ()  # (codes, number) pairs

    @property
    def date(self) -> date | None:
        return self.effective


@dataclass(frozen=True, slots=True)
class EncounterFact:
    reference: str
    types: tuple[Coding, ...]  # type + serviceType codings
    status: str | None
    start: date | None
    end: date | None
    reason_codes: tuple[Coding, ...] = ()

    @property
    def date(self) -> date | None:
        return self.start


@dataclass(frozen=True, slots=True)
class DeviceFact:
    reference: str
    types: tuple[Coding, ...]
    status: str | None
    date: date | None = None  # manufactureDate is not clinical; implant date if an extension says so
    text: str | None = None


@dataclass(frozen=True, slots=True)
class AllergyFact:
    reference: str
    codes: tuple[Coding, ...]
    clinical_status: str | None
    verification_status: str | None
    date: date | None = None


@dataclass(frozen=True, slots=True)
class PatientFacts:
    """One patient's record, projected. Tuples are sorted by reference so order never matters."""

    patient: PatientFact
    conditions: tuple[ConditionFact, ...] = ()
    medications: tuple[MedicationFact, ...] = ()
    procedures: tuple[ProcedureFact, ...] = ()
    observations: tuple[ObservationFact, ...] = ()
    encounters: tuple[EncounterFact, ...] = ()
    devices: tuple[DeviceFact, ...] = ()
    allergies: tuple[AllergyFact, ...] = ()
    # Resource types present but not read by the rules, with counts (kept for the explanation).
    ignored_types: tuple[tuple[str, int], ...] = field(default=())
