"""A synthetic FHIR Bulk Data `$export` of realistic shape: one NDJSON file per resource type.

Per patient: a Patient, a few Conditions (a qualifying pain diagnosis for about a third), 30-100
Observations (vitals, pain scores, smoking status), MedicationRequests (some pointing at the shared
Medication.ndjson formulary), Procedures and Encounters - the types the rules read - and, as in real
exports, most of the bytes in types they never read: a Claim and an ExplanationOfBenefit per encounter,
clinical notes as DiagnosticReport and DocumentReference attachments, Immunizations. Practitioner and
Organization are shared and link to no patient.

    python benchmarks/synthetic_export.py OUT_DIR --patients 1000 [--seed 7] [--gzip]

Deterministic for a seed: `iter_patients` yields the same patients `write_export` writes, so tests can
build each patient's single-patient Bundle from the same resources.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import random
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

import orjson

__all__ = ["FORMULARY", "ExportStats", "SyntheticPatient", "iter_patients", "shared_resources", "write_export"]

ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
CPT = "http://www.ama-assn.org/go/cpt"
UCUM = "http://unitsofmeasure.org"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
REFERENCE_DAY = date(2026, 6, 1)

# (icd10, display, body site SNOMED or None): qualifying diagnoses of the policy, on and off label.
PAIN_DIAGNOSES: tuple[tuple[str, str, str | None], ...] = (
    ("G90.522", "Complex regional pain syndrome I of left lower limb", None),
    ("G90.521", "Complex regional pain syndrome I of right lower limb", None),
    ("G57.71", "Causalgia of right lower limb", None),
    ("G89.21", "Chronic pain due to trauma", "302539009"),
    ("G90.512", "Complex regional pain syndrome I of left upper limb", None),
)
OTHER_CONDITIONS: tuple[tuple[str, str], ...] = (
    ("I10", "Essential (primary) hypertension"),
    ("E66.9", "Obesity, unspecified"),
    ("R73.03", "Prediabetes"),
    ("J30.9", "Allergic rhinitis, unspecified"),
    ("M54.50", "Low back pain, unspecified"),
    ("E78.5", "Hyperlipidemia, unspecified"),
)
ANALGESICS: tuple[tuple[str, str], ...] = (
    ("25480", "gabapentin 300 MG Oral Capsule"),
    ("72625", "duloxetine 60 MG Delayed Release Oral Capsule"),
    ("5640", "ibuprofen 400 MG Oral Tablet"),
    ("187832", "pregabalin 75 MG Oral Capsule"),
    ("704", "amitriptyline 25 MG Oral Tablet"),
)
# The shared formulary (Medication.ndjson): ids and RxNorm codes of drugs some requests reference.
FORMULARY: tuple[tuple[str, str, str], ...] = (
    ("med-warfarin-5mg", "855332", "Warfarin Sodium 5 MG Oral Tablet"),
    ("med-clopidogrel-75mg", "309362", "clopidogrel 75 MG Oral Tablet"),
    ("med-naproxen-500mg", "849574", "naproxen sodium 550 MG Oral Tablet"),
    ("med-lisinopril-10mg", "314076", "lisinopril 10 MG Oral Tablet"),
    ("med-atorvastatin-20mg", "259255", "atorvastatin 20 MG Oral Tablet"),
)
VITALS: tuple[tuple[str, str, str, float, float], ...] = (
    ("8302-2", "Body Height", "cm", 150.0, 195.0),
    ("29463-7", "Body Weight", "kg", 50.0, 120.0),
    ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", 18.0, 38.0),
    ("8867-4", "Heart rate", "/min", 55.0, 100.0),
    ("9279-1", "Respiratory rate", "/min", 12.0, 20.0),
)
SMOKING = (("266919005", "Never smoked tobacco"), ("8517006", "Ex-smoker"), ("449868002", "Smokes tobacco daily"))
NOTE_WORDS = (
    "patient presents with chronic pain affecting daily activities; reviewed medication history, "
    "physical therapy course and prior injections. vital signs stable. plan: continue current regimen, "
    "reassess pain score at follow-up, discuss interventional options. "
)


@dataclass(frozen=True, slots=True)
class SyntheticPatient:
    """One patient's resources, and the shared Medication ids its requests reference."""

    resources: list[dict[str, Any]]
    medication_ids: tuple[str, ...]


@dataclass(slots=True)
class ExportStats:
    patients: int = 0
    resources: int = 0
    bytes_by_type: dict[str, int] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes_by_type.values())


class _Ids:
    """Deterministic uuids from the patient's random stream."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def new(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))


def _coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _ref(kind: str, ident: str) -> dict[str, str]:
    return {"reference": f"{kind}/{ident}"}


def _when(day: date, hour: int = 10) -> str:
    return f"{day.isoformat()}T{hour:02d}:00:00-05:00"


def _practitioners() -> list[str]:
    return [f"prac-{n:03d}" for n in range(20)]


def shared_resources() -> list[dict[str, Any]]:
    """Practitioners, Organizations and the Medication formulary: shared, no patient link."""
    shared: list[dict[str, Any]] = []
    for ident in _practitioners():
        shared.append(
            {
                "resourceType": "Practitioner",
                "id": ident,
                "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": f"99{ident[-3:]}0000"}],
                "active": True,
                "name": [{"family": f"Doe{ident[-3:]}", "given": ["Jan"], "prefix": ["Dr."]}],
                "gender": "female",
            }
        )
    for n in range(5):
        shared.append(
            {
                "resourceType": "Organization",
                "id": f"org-{n}",
                "active": True,
                "type": [_coding("http://terminology.hl7.org/CodeSystem/organization-type", "prov", "Provider")],
                "name": f"Regional Pain Clinic {n}",
                "address": [{"line": [f"{n} Main St"], "city": "Springfield", "state": "MA", "country": "US"}],
            }
        )
    for ident, rxnorm, display in FORMULARY:
        shared.append(
            {
                "resourceType": "Medication",
                "id": ident,
                "code": _coding(RXNORM, rxnorm, display),
                "status": "active",
                "form": _coding(SNOMED, "385055001", "Tablet"),
            }
        )
    return shared


class _PatientBuilder:
    def __init__(self, index: int, seed: int, today: date) -> None:
        self.rng = random.Random(f"{seed}:{index}")
        self.ids = _Ids(self.rng)
        self.today = today
        self.pid = self.ids.new()
        self.subject = _ref("Patient", self.pid)
        self.resources: list[dict[str, Any]] = []
        self.medications: list[str] = []
        self.encounters: list[tuple[str, date]] = []
        self.conditions: list[tuple[str, str, str]] = []  # (id, code, display)

    def day_within(self, years: float) -> date:
        return self.today - timedelta(days=self.rng.randint(1, int(365 * years)))

    def add(self, resource: dict[str, Any]) -> None:
        self.resources.append(resource)

    def patient(self) -> None:
        rng = self.rng
        birth = self.today - timedelta(days=rng.randint(20 * 365, 85 * 365))
        gender = rng.choice(("female", "male"))
        self.add(
            {
                "resourceType": "Patient",
                "id": self.pid,
                "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]},
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
                        "extension": [
                            {
                                "url": "ombCategory",
                                "valueCoding": {
                                    "system": "urn:oid:2.16.840.1.113883.6.238",
                                    "code": "2106-3",
                                    "display": "White",
                                },
                            },
                            {"url": "text", "valueString": "White"},
                        ],
                    },
                    {
                        "url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
                        "valueAddress": {"city": "Boston", "state": "Massachusetts", "country": "US"},
                    },
                ],
                "identifier": [
                    {"system": "https://github.com/synthetichealth/synthea", "value": self.pid},
                    {
                        "type": _coding("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical Record Number"),
                        "system": "http://hospital.smarthealthit.org",
                        "value": self.pid,
                    },
                ],
                "name": [{"use": "official", "family": f"Family{rng.randint(1, 9999)}", "given": ["Alex"]}],
                "telecom": [{"system": "phone", "value": f"555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"}],
                "gender": gender,
                "birthDate": birth.isoformat(),
                "address": [
                    {
                        "line": [f"{rng.randint(1, 999)} Oak Rd"],
                        "city": "Springfield",
                        "state": "MA",
                        "postalCode": "01101",
                        "country": "US",
                    }
                ],
                "maritalStatus": _coding("http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "M", "Married"),
                "communication": [{"language": _coding("urn:ietf:bcp:47", "en-US", "English")}],
            }
        )

    def encounter(self, day: date, code: str, display: str) -> str:
        ident = self.ids.new()
        self.encounters.append((ident, day))
        self.add(
            {
                "resourceType": "Encounter",
                "id": ident,
                "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                "type": [_coding(SNOMED, code, display)],
                "subject": self.subject,
                "participant": [{"individual": _ref("Practitioner", self.rng.choice(_practitioners()))}],
                "period": {"start": _when(day, 9), "end": _when(day, 10)},
                "serviceProvider": _ref("Organization", f"org-{self.rng.randint(0, 4)}"),
            }
        )
        return ident

    def condition(self, code: str, display: str, onset: date, body_site: str | None = None) -> None:
        ident = self.ids.new()
        self.conditions.append((ident, code, display))
        resource: dict[str, Any] = {
            "resourceType": "Condition",
            "id": ident,
            "clinicalStatus": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
            },
            "verificationStatus": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}
                ]
            },
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                            "code": "problem-list-item",
                        }
                    ]
                }
            ],
            "code": _coding(ICD10, code, display),
            "subject": self.subject,
            "onsetDateTime": _when(onset),
            "recordedDate": _when(onset, 11),
        }
        if body_site is not None:
            resource["bodySite"] = [_coding(SNOMED, body_site, "Lower limb structure")]
        self.add(resource)

    def observation(self, day: date, code: str, display: str, value: dict[str, Any], category: str) -> None:
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "id": self.ids.new(),
            "status": "final",
            "category": [
                {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": category}]}
            ],
            "code": _coding(LOINC, code, display),
            "subject": self.subject,
            "effectiveDateTime": _when(day),
            "issued": f"{day.isoformat()}T10:05:00.000-05:00",
        }
        resource.update(value)
        self.add(resource)

    def pain_score(self, day: date, score: int) -> None:
        value = {"valueQuantity": {"value": score, "unit": "{score}", "system": UCUM, "code": "{score}"}}
        self.observation(
            day, "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported", value, "survey"
        )

    def medication_request(self, day: date, rxnorm: str, display: str, status: str, days: int) -> None:
        resource: dict[str, Any] = {
            "resourceType": "MedicationRequest",
            "id": self.ids.new(),
            "status": status,
            "intent": "order",
            "medicationCodeableConcept": _coding(RXNORM, rxnorm, display),
            "subject": self.subject,
            "authoredOn": _when(day),
            "requester": _ref("Practitioner", self.rng.choice(_practitioners())),
            "dosageInstruction": [{"sequence": 1, "text": "Take as directed", "timing": {"repeat": {"frequency": 1}}}],
            "dispenseRequest": {
                "numberOfRepeatsAllowed": 2,
                "expectedSupplyDuration": {"value": days, "unit": "days", "system": UCUM, "code": "d"},
            },
        }
        self.add(resource)

    def formulary_request(self, day: date) -> None:
        ident, _, _ = self.rng.choice(FORMULARY)
        self.medications.append(ident)
        self.add(
            {
                "resourceType": "MedicationRequest",
                "id": self.ids.new(),
                "status": "active",
                "intent": "order",
                "medicationReference": _ref("Medication", ident),
                "subject": self.subject,
                "authoredOn": _when(day),
            }
        )

    def procedure(self, day: date, system: str, code: str, display: str) -> None:
        self.add(
            {
                "resourceType": "Procedure",
                "id": self.ids.new(),
                "status": "completed",
                "code": _coding(system, code, display),
                "subject": self.subject,
                "performedDateTime": _when(day),
            }
        )

    def billing(self, encounter: str, day: date, service: tuple[str, str]) -> None:
        """A Claim and its ExplanationOfBenefit: the bulk of a real export, never read by the rules."""
        claim_id = self.ids.new()
        amount = round(self.rng.uniform(80, 900), 2)
        items = [
            {
                "sequence": n + 1,
                "encounter": [_ref("Encounter", encounter)],
                "productOrService": _coding(SNOMED, service[0], service[1]),
                "servicedPeriod": {"start": _when(day, 9), "end": _when(day, 10)},
                "locationCodeableConcept": _coding(
                    "http://terminology.hl7.org/CodeSystem/ex-serviceplace", "19", "Off Campus-Outpatient Hospital"
                ),
                "net": {"value": amount, "currency": "USD"},
            }
            for n in range(self.rng.randint(2, 4))
        ]
        diagnoses = [
            {"sequence": n + 1, "diagnosisReference": _ref("Condition", ident)}
            for n, (ident, _, _) in enumerate(self.conditions[:2])
        ]
        self.add(
            {
                "resourceType": "Claim",
                "id": claim_id,
                "status": "active",
                "type": _coding(CLAIM_TYPE, "professional", "Professional"),
                "use": "claim",
                "patient": self.subject,
                "billablePeriod": {"start": _when(day, 9), "end": _when(day, 10)},
                "created": _when(day, 10),
                "provider": _ref("Organization", "org-0"),
                "priority": _coding("http://terminology.hl7.org/CodeSystem/processpriority", "normal", "Normal"),
                "facility": {"reference": "Location/loc-1", "display": "Regional Pain Clinic"},
                "diagnosis": diagnoses,
                "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "Medicare"}}],
                "item": items,
                "total": {"value": round(amount * len(items), 2), "currency": "USD"},
            }
        )
        categories = (
            ("submitted", "Submitted Amount"),
            ("copay", "CoPay"),
            ("eligible", "Eligible Amount"),
            ("deductible", "Deductible"),
            ("benefit", "Benefit Amount"),
            ("paidtoprovider", "Paid to provider"),
        )
        eob_items = [
            {
                "sequence": item["sequence"],
                "diagnosisSequence": [1],
                "category": _coding(
                    "https://bluebutton.cms.gov/resources/variables/line_cms_type_srvc_cd", "1", "Medical care"
                ),
                "productOrService": item["productOrService"],
                "servicedPeriod": item["servicedPeriod"],
                "locationCodeableConcept": item["locationCodeableConcept"],
                "encounter": item["encounter"],
                "net": item["net"],
                "adjudication": [
                    {
                        "category": _coding(ADJUDICATION, code, display),
                        "amount": {"value": round(amount * self.rng.random(), 2), "currency": "USD"},
                    }
                    for code, display in categories
                ],
            }
            for item in items
        ]
        self.add(
            {
                "resourceType": "ExplanationOfBenefit",
                "id": self.ids.new(),
                "contained": [
                    {
                        "resourceType": "ServiceRequest",
                        "id": "referral",
                        "status": "completed",
                        "intent": "order",
                        "subject": self.subject,
                        "requester": _ref("Practitioner", "prac-000"),
                        "performer": [_ref("Practitioner", "prac-001")],
                    },
                    {
                        "resourceType": "Coverage",
                        "id": "coverage",
                        "status": "active",
                        "type": {"text": "Medicare"},
                        "beneficiary": self.subject,
                        "payor": [{"display": "Medicare"}],
                    },
                ],
                "identifier": [
                    {"system": "https://bluebutton.cms.gov/resources/variables/clm_id", "value": claim_id},
                    {"system": "https://bluebutton.cms.gov/resources/identifier/claim-group", "value": "99999999999"},
                ],
                "status": "active",
                "type": _coding(CLAIM_TYPE, "professional", "Professional"),
                "use": "claim",
                "patient": self.subject,
                "billablePeriod": {"start": _when(day, 9), "end": _when(day, 10)},
                "created": _when(day, 10),
                "insurer": {"display": "Medicare"},
                "provider": _ref("Practitioner", "prac-002"),
                "referral": {"reference": "#referral"},
                "claim": _ref("Claim", claim_id),
                "outcome": "complete",
                "careTeam": [
                    {
                        "sequence": 1,
                        "provider": _ref("Practitioner", "prac-002"),
                        "role": _coding(
                            "http://terminology.hl7.org/CodeSystem/claimcareteamrole", "primary", "Primary provider"
                        ),
                    }
                ],
                "diagnosis": [
                    {
                        "sequence": d["sequence"],
                        "diagnosisReference": d["diagnosisReference"],
                        "type": [
                            _coding("http://terminology.hl7.org/CodeSystem/ex-diagnosistype", "principal", "Principal")
                        ],
                    }
                    for d in diagnoses
                ],
                "insurance": [{"focal": True, "coverage": {"reference": "#coverage", "display": "Medicare"}}],
                "item": eob_items,
                "total": [
                    {
                        "category": _coding(ADJUDICATION, "submitted", "Submitted Amount"),
                        "amount": {"value": amount, "currency": "USD"},
                    }
                ],
                "payment": {"amount": {"value": round(amount * 0.8, 2), "currency": "USD"}},
            }
        )

    def note(self, encounter: str, day: date) -> None:
        """A clinical note, as Synthea writes it twice: DiagnosticReport and DocumentReference."""
        text = NOTE_WORDS * self.rng.randint(6, 12)
        data = base64.b64encode(f"{day.isoformat()}\n\n{text}".encode()).decode("ascii")
        note_code = _coding(LOINC, "34117-2", "History and physical note")
        self.add(
            {
                "resourceType": "DiagnosticReport",
                "id": self.ids.new(),
                "status": "final",
                "category": [_coding(LOINC, "34117-2", "History and physical note")],
                "code": note_code,
                "subject": self.subject,
                "encounter": _ref("Encounter", encounter),
                "effectiveDateTime": _when(day),
                "issued": f"{day.isoformat()}T10:00:00.000-05:00",
                "performer": [_ref("Practitioner", "prac-003")],
                "presentedForm": [{"contentType": "text/plain; charset=utf-8", "data": data}],
            }
        )
        self.add(
            {
                "resourceType": "DocumentReference",
                "id": self.ids.new(),
                "status": "superseded",
                "type": note_code,
                "category": [
                    _coding(
                        "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
                        "clinical-note",
                        "Clinical Note",
                    )
                ],
                "subject": self.subject,
                "date": f"{day.isoformat()}T10:00:00.000-05:00",
                "author": [_ref("Practitioner", "prac-003")],
                "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "data": data}}],
                "context": {"encounter": [_ref("Encounter", encounter)], "period": {"start": _when(day, 9)}},
            }
        )

    def immunization(self, day: date) -> None:
        self.add(
            {
                "resourceType": "Immunization",
                "id": self.ids.new(),
                "status": "completed",
                "vaccineCode": _coding("http://hl7.org/fhir/sid/cvx", "140", "Influenza, seasonal, injectable"),
                "patient": self.subject,
                "occurrenceDateTime": _when(day),
                "primarySource": True,
            }
        )


def _pain_history(b: _PatientBuilder, *, worked_up: bool) -> None:
    """A qualifying diagnosis with scores, drugs, PT, injections and psychology; `worked_up` patients have
    the whole work-up a candidate needs, the others a partial one (the usual reason for "unknown")."""
    rng = b.rng
    code, display, site = rng.choice(PAIN_DIAGNOSES[:3] if worked_up else PAIN_DIAGNOSES)
    onset = b.today - timedelta(days=rng.randint(300, 700) if worked_up else rng.randint(30, 730))
    b.condition(code, display, onset, site)
    level = rng.randint(6, 9) if worked_up else rng.randint(3, 9)
    # Scores every few weeks from onset; partial series may stop early, leaving no recent score.
    last = b.today - timedelta(days=3 if worked_up else rng.choice((3, 10, 40, 200)))
    day = onset + timedelta(days=20)
    while day <= last:
        b.pain_score(day, max(0, min(10, level + rng.randint(-1, 1))))
        day += timedelta(days=rng.randint(25, 50))
    drugs = rng.sample(ANALGESICS, rng.randint(2, 3) if worked_up else rng.randint(0, 3))
    for n, (rxnorm, drug) in enumerate(drugs):
        start = min(b.today, onset + timedelta(days=30 + 100 * n))
        status = "stopped" if worked_up else rng.choice(("active", "completed", "stopped"))
        b.medication_request(start, rxnorm, drug, status, 30)
    if worked_up or rng.random() < 0.7:
        first = onset + timedelta(days=rng.randint(10, 60))
        for n in range(rng.randint(6, 9) if worked_up else rng.randint(3, 9)):
            b.procedure(min(b.today, first + timedelta(days=7 * n)), CPT, "97110", "Therapeutic exercise")
    if worked_up or rng.random() < 0.6:
        day = b.today - timedelta(days=120) if worked_up else b.day_within(1)
        b.procedure(day, CPT, "62321", "Injection, epidural, cervical or thoracic")
    if worked_up or rng.random() < 0.7:
        b.procedure(b.today - timedelta(days=rng.randint(20, 300)), CPT, "90791", "Psychiatric diagnostic evaluation")
    if rng.random() < 0.05:
        b.condition("D68.9", "Coagulation defect, unspecified", b.day_within(5))


def _build(index: int, seed: int, today: date) -> SyntheticPatient:
    b = _PatientBuilder(index, seed, today)
    rng = b.rng
    b.patient()
    visits = sorted(b.day_within(3) for _ in range(rng.randint(6, 18)))
    for day in visits:
        b.encounter(day, "185349003", "Encounter for check up (procedure)")
    for code, display in rng.sample(OTHER_CONDITIONS, rng.randint(1, 3)):
        b.condition(code, display, b.day_within(10))
    chronic_pain = rng.random() < 0.35
    if chronic_pain:
        _pain_history(b, worked_up=rng.random() < 0.3)
    for day in visits:
        for code, display, unit, low, high in VITALS:
            value = {
                "valueQuantity": {"value": round(rng.uniform(low, high), 1), "unit": unit, "system": UCUM, "code": unit}
            }
            b.observation(day, code, display, value, "vital-signs")
    smoking_code, smoking_display = rng.choice(SMOKING)
    b.observation(
        visits[-1],
        "72166-2",
        "Tobacco smoking status",
        {"valueCodeableConcept": _coding(SNOMED, smoking_code, smoking_display)},
        "social-history",
    )
    for _ in range(rng.randint(0, 2)):
        b.formulary_request(b.day_within(1))
    for ident, day in list(b.encounters):
        b.billing(ident, day, ("185349003", "Encounter for check up (procedure)"))
        if rng.random() < 0.6:
            b.note(ident, day)
    for _ in range(rng.randint(1, 4)):
        b.immunization(b.day_within(3))
    return SyntheticPatient(b.resources, tuple(dict.fromkeys(b.medications)))


def iter_patients(count: int, *, seed: int = 7, today: date = REFERENCE_DAY) -> Iterator[SyntheticPatient]:
    for index in range(count):
        yield _build(index, seed, today)


def write_export(
    out_dir: Path, count: int, *, seed: int = 7, today: date = REFERENCE_DAY, compress: bool = False
) -> ExportStats:
    """Write `<Type>.ndjson` (or `.ndjson.gz`) files for `count` patients, streaming; returns sizes."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stats = ExportStats()
    suffix = ".ndjson.gz" if compress else ".ndjson"
    with ExitStack() as stack:
        files: dict[str, IO[bytes]] = {}

        def write(resource: dict[str, Any]) -> None:
            kind = resource["resourceType"]
            handle = files.get(kind)
            if handle is None:
                path = out_dir / f"{kind}{suffix}"
                opened: IO[bytes] = gzip.open(path, "wb", compresslevel=1) if compress else open(path, "wb")  # noqa: SIM115
                handle = files[kind] = stack.enter_context(opened)
            line = orjson.dumps(resource) + b"\n"
            handle.write(line)
            stats.resources += 1
            stats.bytes_by_type[kind] = stats.bytes_by_type.get(kind, 0) + len(line)

        for resource in shared_resources():
            write(resource)
        for patient in iter_patients(count, seed=seed, today=today):
            stats.patients += 1
            for resource in patient.resources:
                write(resource)
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description="Write a synthetic FHIR Bulk Data export.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--gzip", action="store_true", help="write .ndjson.gz files")
    args = parser.parse_args()
    stats = write_export(args.out_dir, args.patients, seed=args.seed, compress=args.gzip)
    print(f"{stats.patients} patients, {stats.resources} resources, {stats.total_bytes / 1e6:.1f} MB (uncompressed)")
    for kind, size in sorted(stats.bytes_by_type.items(), key=lambda item: -item[1]):
        print(f"  {kind:<22} {size / 1e6:9.1f} MB  {size / stats.total_bytes:6.1%}")


if __name__ == "__main__":
    main()
