"""One patient with one active MedicationRequest, coded as the test says: the smallest record that asks
the engine "what is this drug, and does it need a hold?"."""

from __future__ import annotations

from typing import Any

__all__ = ["one_medication_record"]


def one_medication_record(medication_x: dict[str, Any], *extra: dict[str, Any]) -> dict[str, Any]:
    """A collection Bundle: Patient/p1, MedicationRequest/m1 with `medication_x` (medicationCodeableConcept
    or medicationReference), and any `extra` resources (a referenced Medication)."""
    request: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": "m1",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2026-01-01",
        **medication_x,
    }
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "1960-01-01"}
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in (patient, request, *extra)],
    }
