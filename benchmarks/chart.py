"""A 200-entry patient chart of ordinary EHR shape, for the point-of-care benchmarks.

What a referring physician's EHR holds for a chronic-pain patient after two years: most of it is
vitals, labs and routine visits no rule reads; the rest is the pain history the policy decides from.
Resources carry what US Core exports carry (meta.profile, identifiers, categories, performers,
encounter links, display texts), so their size is that of a real chart, not of a test fixture.

    1 Patient · 6 Conditions · 140 Observations (90 vitals, 36 labs, 12 pain scores, 2 smoking status)
    30 Encounters (routine visits) · 10 MedicationRequests · 10 Procedures · 2 AllergyIntolerances
    1 Immunization

    python benchmarks/chart.py > chart.json     # the record, as the benchmarks send it
"""

from __future__ import annotations

import sys
from datetime import date, timedelta
from typing import Any

import orjson

LOINC, SNOMED, CPT = "http://loinc.org", "http://snomed.info/sct", "http://www.ama-assn.org/go/cpt"
RXNORM, ICD10 = "http://www.nlm.nih.gov/research/umls/rxnorm", "http://hl7.org/fhir/sid/icd-10-cm"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition"
EHR_IDS = "urn:oid:1.2.840.114350.1.13.0.1.7.2.798268"
PRACTITIONER = {"reference": "Practitioner/dr-lee", "display": "Dr. Ana Lee"}
ORGANIZATION = {"reference": "Organization/clinic-1", "display": "Riverside Family Medicine"}

VITALS = [  # (LOINC, display, unit, base value)
    ("8867-4", "Heart rate", "/min", 72),
    ("9279-1", "Respiratory rate", "/min", 16),
    ("8310-5", "Body temperature", "Cel", 36.8),
    ("29463-7", "Body weight", "kg", 78.4),
    ("8302-2", "Body height", "cm", 168.0),
    ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", 27.8),
    ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", 97),
]
LABS = [
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 13.1),
    ("6690-2", "Leukocytes [#/volume] in Blood", "10*3/uL", 6.4),
    ("777-3", "Platelets [#/volume] in Blood", "10*3/uL", 250),
    ("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 104),
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.9),
    ("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 140),
]


def coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


class Chart:
    def __init__(self, today: date, patient_id: str) -> None:
        self.today = today
        self.patient_id = patient_id
        self.patient = {"reference": f"Patient/{patient_id}"}
        self.resources: list[dict[str, Any]] = []

    def day(self, days_ago: int, time: str = "") -> str:
        return (self.today - timedelta(days=days_ago)).isoformat() + time

    def add(self, resource_type: str, ident: str, profile: str, **fields: Any) -> None:
        self.resources.append(
            {
                "resourceType": resource_type,
                "id": ident,
                "meta": {"profile": [f"{US_CORE}/{profile}"], "lastUpdated": self.day(0, "T08:00:00Z")},
                "identifier": [{"system": EHR_IDS, "value": f"{ident.upper()}-{self.patient_id}"}],
                **fields,
            }
        )

    def observation(self, ident: str, category: str, concept: dict[str, Any], days_ago: int, **value: Any) -> None:
        self.add(
            "Observation",
            ident,
            "us-core-observation-lab" if category == "laboratory" else "us-core-vital-signs",
            status="final",
            category=[{"coding": [{"system": CATEGORY, "code": category, "display": category.title()}]}],
            code=concept,
            subject=self.patient,
            encounter={"reference": f"Encounter/visit-{days_ago // 25 % 30}"},
            effectiveDateTime=self.day(days_ago, "T09:30:00-05:00"),
            issued=self.day(days_ago, "T10:02:11.000-05:00"),
            performer=[PRACTITIONER],
            **value,
        )


def record(today: date | None = None, patient_id: str = "chart-1") -> dict[str, Any]:
    """The chart; another `patient_id` changes every resource's bytes (a chart never seen before)."""
    chart = Chart(today or date.today(), patient_id)
    chart.add(
        "Patient",
        patient_id,
        "us-core-patient",
        extension=[
            {
                "url": f"{US_CORE}/us-core-race",
                "extension": [
                    {
                        "url": "ombCategory",
                        "valueCoding": {"system": "urn:oid:2.16.840.1.113883.6.238", "code": "2106-3"},
                    },
                    {"url": "text", "valueString": "White"},
                ],
            }
        ],
        name=[{"use": "official", "family": "Moreno", "given": ["Lucia", "M"]}],
        telecom=[{"system": "phone", "value": "555-0142", "use": "home"}],
        gender="female",
        birthDate="1976-09-14",
        address=[{"line": ["12 Elm St"], "city": "Springfield", "state": "IL", "postalCode": "62701"}],
        generalPractitioner=[PRACTITIONER],
        managingOrganization=ORGANIZATION,
    )
    clinical = "http://terminology.hl7.org/CodeSystem/condition-clinical"
    conditions = [
        ("dx-crps", ICD10, "G90.522", "Complex regional pain syndrome I of left lower limb", 720),
        ("dx-htn", SNOMED, "38341003", "Hypertensive disorder", 2400),
        ("dx-t2d", SNOMED, "44054006", "Diabetes mellitus type 2", 2100),
        ("dx-dep", SNOMED, "35489007", "Depressive disorder", 1500),
        ("dx-lipid", SNOMED, "55822004", "Hyperlipidemia", 1800),
        ("dx-obes", SNOMED, "162864005", "Body mass index 30+ - obesity", 1200),
    ]
    for ident, system, code, display, days_ago in conditions:
        chart.add(
            "Condition",
            ident,
            "us-core-condition",
            clinicalStatus=coding(clinical, "active", "Active"),
            category=[
                coding("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item", "Problem")
            ],
            code=coding(system, code, display),
            bodySite=[coding(SNOMED, "56459004", "Foot structure")] if ident == "dx-crps" else [],
            subject=chart.patient,
            onsetDateTime=chart.day(days_ago),
            recordedDate=chart.day(days_ago - 3),
        )
    for n in range(90):  # a vitals set at each of the last visits
        code, display, unit, base = VITALS[n % len(VITALS)]
        quantity = {
            "value": round(base * (1 + (n % 5 - 2) / 100), 1),
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        }
        chart.observation(
            f"vs-{n}", "vital-signs", coding(LOINC, code, display), n // len(VITALS) * 25, valueQuantity=quantity
        )
    for n in range(36):
        code, display, unit, base = LABS[n % len(LABS)]
        quantity = {"value": base, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}
        chart.observation(
            f"lab-{n}", "laboratory", coding(LOINC, code, display), n // len(LABS) * 90, valueQuantity=quantity
        )
    for n in range(12):  # a pain score at the pain clinic's visits, every two months
        chart.observation(
            f"pain-{n}",
            "survey",
            coding(LOINC, "72514-3", "Pain severity - 0-10 verbal numeric rating"),
            10 + n * 55,
            valueInteger=6 + n % 3,
        )
    for n, answer in enumerate((("8517006", "Ex-smoker"), ("8517006", "Ex-smoker"))):
        chart.observation(
            f"smoke-{n}",
            "social-history",
            coding(LOINC, "72166-2", "Tobacco smoking status"),
            30 + n * 365,
            valueCodeableConcept=coding(SNOMED, *answer),
        )
    for n in range(30):
        chart.add(
            "Encounter",
            f"visit-{n}",
            "us-core-encounter",
            status="finished",
            **{
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                    "display": "ambulatory",
                }
            },
            type=[coding(SNOMED, "185349003", "Encounter for check up")],
            subject=chart.patient,
            participant=[{"individual": PRACTITIONER}],
            period={"start": chart.day(n * 25, "T09:00:00-05:00"), "end": chart.day(n * 25, "T09:40:00-05:00")},
            serviceProvider=ORGANIZATION,
        )
    meds = [
        ("25480", "gabapentin 300 MG Oral Capsule", "completed", 600),
        ("72625", "duloxetine 60 MG Delayed Release Oral Capsule", "completed", 420),
        ("5640", "ibuprofen 600 MG Oral Tablet", "active", 200),
        ("29046", "lisinopril 10 MG Oral Tablet", "active", 2300),
        ("6809", "metformin 500 MG Oral Tablet", "active", 2000),
        ("83367", "atorvastatin 20 MG Oral Tablet", "active", 1700),
        ("36437", "sertraline 50 MG Oral Tablet", "stopped", 1400),
        ("7804", "oxycodone 5 MG Oral Tablet", "stopped", 300),
        ("10689", "tramadol 50 MG Oral Tablet", "completed", 500),
        ("161", "acetaminophen 500 MG Oral Tablet", "active", 700),
    ]
    for n, (rxnorm, name, status, days_ago) in enumerate(meds):
        chart.add(
            "MedicationRequest",
            f"rx-{n}",
            "us-core-medicationrequest",
            status=status,
            intent="order",
            medicationCodeableConcept=coding(RXNORM, rxnorm, name),
            subject=chart.patient,
            authoredOn=chart.day(days_ago),
            requester=PRACTITIONER,
            dosageInstruction=[
                {"text": "as directed", "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}}
            ],
            dispenseRequest={"validityPeriod": {"start": chart.day(days_ago), "end": chart.day(days_ago - 120)}},
        )
    procedures = [(f"pt-{n}", "97110", "Therapeutic exercise", 380 - n * 7) for n in range(6)]
    procedures += [
        ("block-1", "64520", "Lumbar sympathetic nerve block", 160),
        ("psych-1", "90791", "Psychiatric diagnostic evaluation", 60),
        ("xray-1", "73630", "Radiologic examination, foot", 650),
        ("ekg-1", "93000", "Electrocardiogram", 900),
    ]
    for ident, code, display, days_ago in procedures:
        chart.add(
            "Procedure",
            ident,
            "us-core-procedure",
            status="completed",
            code=coding(CPT, code, display),
            subject=chart.patient,
            performedDateTime=chart.day(days_ago),
            performer=[{"actor": PRACTITIONER}],
        )
    for ident, display in (("allergy-pcn", "Penicillin"), ("allergy-latex", "Latex")):
        chart.add(
            "AllergyIntolerance",
            ident,
            "us-core-allergyintolerance",
            clinicalStatus=coding(
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active"
            ),
            code={"text": display},
            patient=chart.patient,
        )
    chart.add(
        "Immunization",
        "imm-flu",
        "us-core-immunization",
        status="completed",
        vaccineCode=coding("http://hl7.org/fhir/sid/cvx", "158", "influenza, injectable, quadrivalent"),
        patient=chart.patient,
        occurrenceDateTime=chart.day(70),
        primarySource=True,
    )
    assert len(chart.resources) == 200, len(chart.resources)
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "fullUrl": f"https://ehr.example.org/fhir/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in chart.resources
        ],
    }


if __name__ == "__main__":
    sys.stdout.buffer.write(orjson.dumps(record()) + b"\n")
