"""The record api_bench.py used before the chart (benchmarks/chart.py): 200 thin entries, 91 KB.

1 Patient, 4 Conditions, 150 Observations (100 of them pain scores, so the policy reads most of it),
12 MedicationStatements, 18 Procedures, 15 Encounters. Kept to compare with the figures of earlier runs.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

TODAY = date.today()
LOINC, SNOMED, CPT = "http://loinc.org", "http://snomed.info/sct", "http://www.ama-assn.org/go/cpt"
RXNORM, ICD10 = "http://www.nlm.nih.gov/research/umls/rxnorm", "http://hl7.org/fhir/sid/icd-10-cm"
PATIENT = "Patient/bench-1"


def day(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


def coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def observation(n: int, code: str, display: str, value: dict[str, Any], days_ago: int, category: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"obs-{n}",
        "status": "final",
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": category}]}
        ],
        "code": coding(LOINC, code, display),
        "subject": {"reference": PATIENT},
        "effectiveDateTime": day(days_ago),
        **value,
    }


def record() -> dict[str, Any]:
    """200 entries: 1 Patient, 4 Conditions, 150 Observations, 12 medications, 18 Procedures, 15 Encounters."""
    resources: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": "bench-1", "gender": "female", "birthDate": "1979-05-02"},
        {
            "resourceType": "Condition",
            "id": "dx-crps",
            "clinicalStatus": coding("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"),
            "verificationStatus": coding(
                "http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"
            ),
            "code": {
                "coding": [
                    {"system": ICD10, "code": "G90.522", "display": "CRPS I of left lower limb"},
                    {"system": SNOMED, "code": "128200000", "display": "Complex regional pain syndrome"},
                ]
            },
            "bodySite": [coding(SNOMED, "56459004", "Foot structure")],
            "subject": {"reference": PATIENT},
            "onsetDateTime": day(700),
        },
    ]
    for n, (code, display) in enumerate(
        [("38341003", "Hypertension"), ("44054006", "Type 2 diabetes"), ("35489007", "Depression")]
    ):
        resources.append(
            {
                "resourceType": "Condition",
                "id": f"dx-{n}",
                "clinicalStatus": coding(
                    "http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"
                ),
                "code": coding(SNOMED, code, display),
                "subject": {"reference": PATIENT},
                "onsetDateTime": day(2000 + n),
            }
        )
    for n in range(150):  # pain scores every ~5 days over two years, vitals in between
        if n % 3 == 0:
            resources.append(
                observation(
                    n,
                    "8867-4",
                    "Heart rate",
                    {"valueQuantity": {"value": 70 + n % 9, "unit": "/min"}},
                    n * 5,
                    "vital-signs",
                )
            )
        else:
            resources.append(
                observation(n, "72514-3", "Pain severity 0-10", {"valueInteger": 6 + n % 3}, n * 5, "survey")
            )
    resources[-1] = observation(
        149,
        "72166-2",
        "Tobacco smoking status",
        {"valueCodeableConcept": coding(SNOMED, "8517006", "Ex-smoker")},
        30,
        "social-history",
    )
    meds = [
        ("25480", "gabapentin", "completed"),
        ("72625", "duloxetine", "completed"),
        ("5640", "ibuprofen", "active"),
        ("7804", "oxycodone", "stopped"),
    ]
    for n in range(12):
        rxnorm, name, status = meds[n % len(meds)]
        resources.append(
            {
                "resourceType": "MedicationStatement",
                "id": f"med-{n}",
                "status": status,
                "medicationCodeableConcept": coding(RXNORM, rxnorm, name),
                "subject": {"reference": PATIENT},
                "effectivePeriod": {"start": day(600 - n * 20), "end": day(500 - n * 20)},
                "reasonCode": [coding(SNOMED, "128200000", "Complex regional pain syndrome")],
            }
        )
    for n in range(14):
        resources.append(_procedure(f"pt-{n}", "97110", "Therapeutic exercise", 400 - n * 4))
    resources.append(_procedure("block-1", "64520", "Lumbar or thoracic paravertebral sympathetic block", 200))
    resources.append(_procedure("block-2", "64520", "Lumbar or thoracic paravertebral sympathetic block", 150))
    resources.append(_procedure("psych-eval", "90791", "Psychiatric diagnostic evaluation", 60))
    resources.append(_procedure("xray", "73630", "X-ray of foot", 650))
    for n in range(15):
        resources.append(
            {
                "resourceType": "Encounter",
                "id": f"enc-{n}",
                "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                "type": [coding(SNOMED, "185349003", "Encounter for check up")],
                "subject": {"reference": PATIENT},
                "period": {"start": day(n * 40), "end": day(n * 40)},
            }
        )
    assert len(resources) == 200, len(resources)
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, r['resourceType'] + r['id'])}", "resource": r}
            for r in resources
        ],
    }


def _procedure(ident: str, code: str, display: str, days_ago: int) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": ident,
        "status": "completed",
        "code": coding(CPT, code, display),
        "subject": {"reference": PATIENT},
        "performedDateTime": day(days_ago),
    }
