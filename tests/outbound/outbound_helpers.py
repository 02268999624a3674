"""Real decisions for the outbound tests: the bundled example and small variants of it, run through the engine.

Each scenario is a bundle the engine evaluates, so the renderings are tested on what the engine really
produces (criteria, evidence, data requests, actions), not on hand-made decisions.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from eligibility.decision import Decision
from eligibility.from_fhir import decide

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BASE = "https://drg.example.org/fhir"
AS_OF = date(2026, 11, 20)
EVALUATED_AT = "2026-11-20T10:00:00Z"
PATIENT = "Patient/pt-crps-1"

ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

# Codes of the R4 required bindings on the elements we emit (fhir.resources checks types, not these).
R4_CODES: dict[str, frozenset[str]] = {
    "GuidanceResponse.status": frozenset(
        {"success", "data-requested", "data-required", "in-progress", "failure", "entered-in-error"}
    ),
    "DetectedIssue.status": frozenset(
        {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"}
    ),
    "DetectedIssue.severity": frozenset({"high", "moderate", "low"}),
    "Task.status": frozenset(
        {
            "draft",
            "requested",
            "received",
            "accepted",
            "rejected",
            "ready",
            "cancelled",
            "in-progress",
            "on-hold",
            "failed",
            "completed",
            "entered-in-error",
        }
    ),
    "Task.intent": frozenset(
        {
            "unknown",
            "proposal",
            "plan",
            "order",
            "original-order",
            "reflex-order",
            "filler-order",
            "instance-order",
            "option",
        }
    ),
    "Task.priority": frozenset({"routine", "urgent", "asap", "stat"}),
    "Bundle.type": frozenset(
        {
            "document",
            "message",
            "transaction",
            "transaction-response",
            "batch",
            "batch-response",
            "history",
            "searchset",
            "collection",
        }
    ),
    "OperationOutcome.severity": frozenset({"fatal", "error", "warning", "information"}),
    "OperationOutcome.code": frozenset(
        {
            "invalid",
            "structure",
            "required",
            "value",
            "invariant",
            "security",
            "login",
            "unknown",
            "expired",
            "forbidden",
            "suppressed",
            "processing",
            "not-supported",
            "duplicate",
            "multiple-matches",
            "not-found",
            "deleted",
            "too-long",
            "code-invalid",
            "extension",
            "too-costly",
            "business-rule",
            "conflict",
            "transient",
            "lock-error",
            "no-store",
            "exception",
            "timeout",
            "incomplete",
            "throttled",
            "informational",
        }
    ),
}


@cache
def example() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REPO / "examples" / "crps-left-foot.json").read_text())
    return data


def bundle(*, add: tuple[dict[str, Any], ...] = (), drop: tuple[str, ...] = (), **patient: Any) -> bytes:
    """The example with resources added, entries dropped by `Type/id`, and Patient fields changed."""
    data = copy.deepcopy(example())
    data["entry"] = [e for e in data["entry"] if f"{e['resource']['resourceType']}/{e['resource']['id']}" not in drop]
    data["entry"] += [{"resource": r} for r in add]
    data["entry"][0]["resource"].update(patient)
    return json.dumps(data).encode()


def condition(cid: str, code: str, system: str = ICD10, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
        },
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": PATIENT},
        "onsetDateTime": "2026-06-01",
        **extra,
    }


def pain_score(oid: str, day: str, value: int) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "72514-3"}]},
        "subject": {"reference": PATIENT},
        "effectiveDateTime": day,
        "valueQuantity": {"value": value, "unit": "{score}", "system": "http://unitsofmeasure.org", "code": "{score}"},
    }


def procedure(pid: str, code: str, day: str) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": pid,
        "status": "completed",
        "code": {"coding": [{"system": CPT, "code": code}]},
        "subject": {"reference": PATIENT},
        "performedDateTime": day,
    }


def _off_label() -> bytes:
    data = json.loads(bundle())
    dx = data["entry"][1]["resource"]
    dx["code"] = {"coding": [{"system": ICD10, "code": "G89.21", "display": "Chronic pain due to trauma"}]}
    return json.dumps(data).encode()


_NEUROSTIMULATOR = {
    "resourceType": "Device",
    "id": "dev-neuro",
    "type": {"coding": [{"system": SNOMED, "code": "25937001", "display": "Neurostimulator"}]},
    "patient": {"reference": PATIENT},
}


def medication(mid: str, rxnorm: str, name: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": rxnorm, "display": name}]},
        "subject": {"reference": PATIENT},
        "authoredOn": "2026-01-05",
    }


_TRIAL = procedure("drg-trial", "63650", "2026-11-01")


def _minimal(onset: str) -> bytes:
    """A referral with little more than the diagnosis: a Patient and one CRPS Condition."""
    dx = {**condition("dx-min", "G90.522"), "subject": {"reference": "Patient/pt-min"}, "onsetDateTime": onset}
    patient = {"resourceType": "Patient", "id": "pt-min", "birthDate": "1980-05-05"}
    return json.dumps(
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": patient}, {"resource": dx}]}
    ).encode()


# name -> (input, as_of, expected outcome)
SCENARIOS: dict[str, tuple[bytes, date, str]] = {
    "example": (bundle(), AS_OF, "ELIGIBLE_WITH_CONDITIONS"),
    "example_early": (bundle(), date(2026, 1, 20), "INSUFFICIENT_INFORMATION"),
    "missing_data": (_minimal("2025-01-01"), AS_OF, "INSUFFICIENT_INFORMATION"),
    # Decided by a criterion not met, with other criteria still unknown.
    "recent_pain_missing_data": (_minimal("2026-09-01"), AS_OF, "NOT_ELIGIBLE"),
    "no_conditions": (
        bundle(drop=("MedicationStatement/med-ibuprofen", "Observation/smoking")),
        AS_OF,
        "ELIGIBLE_FOR_TRIAL",
    ),
    "off_label": (_off_label(), AS_OF, "ELIGIBLE_WITH_CONDITIONS"),
    # warfarin (hold + INR check), dabigatran (hold + renal check), aspirin after a coronary event
    # (secondary prevention: the hold is the prescriber's decision).
    "antithrombotics": (
        bundle(
            add=(
                medication("rx-warfarin", "11289", "warfarin"),
                medication("rx-dabigatran", "1546356", "dabigatran"),
                medication("rx-aspirin", "1191", "aspirin"),
                condition("dx-cad", "I25.10"),
            )
        ),
        AS_OF,
        "ELIGIBLE_WITH_CONDITIONS",
    ),
    # spec §7: an active medication nobody identifies and a CRPS code sent without its system
    "unrecognised": (
        bundle(
            add=(
                {**medication("rx-unknown", "2601723", "x"), "medicationCodeableConcept": {"text": "kratom capsules"}},
                {**condition("dx-nosystem", "G90.521"), "code": {"coding": [{"code": "G90.521"}]}},
            )
        ),
        AS_OF,
        "ELIGIBLE_WITH_CONDITIONS",
    ),
    "coagulopathy": (bundle(add=(condition("dx-coag", "D68.9"),)), AS_OF, "NOT_ELIGIBLE"),
    "substance_use": (bundle(add=(condition("dx-oud", "F11.20"),)), AS_OF, "NOT_ELIGIBLE"),
    "minor": (bundle(birthDate="2012-02-02"), AS_OF, "NOT_ELIGIBLE"),
    "pacemaker": (bundle(add=(condition("dx-pm", "Z95.0"),)), AS_OF, "NEEDS_REVIEW"),
    "neurostimulator": (bundle(add=(_NEUROSTIMULATOR,)), AS_OF, "NEEDS_REVIEW"),
    "implant": (bundle(add=(_TRIAL, pain_score("trial-1", "2026-11-10", 2))), AS_OF, "ELIGIBLE_FOR_IMPLANT"),
    "trial_failed": (bundle(add=(_TRIAL, pain_score("trial-1", "2026-11-10", 8))), AS_OF, "TRIAL_FAILED"),
}


@cache
def scenario(name: str) -> Decision:
    raw, as_of, _ = SCENARIOS[name]
    return decide(raw, as_of=as_of, decision_id=f"dec-{name.replace('_', '-')}", evaluated_at=EVALUATED_AT)


def load_fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data
