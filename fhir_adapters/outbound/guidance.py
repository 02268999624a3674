"""The decision as a FHIR R4 GuidanceResponse: outcome, status, provenance and the data still needed."""

from __future__ import annotations

from html import escape
from typing import Any

from eligibility.decision import Decision

from .naming import CodeSystems, Extensions, module_uri

__all__ = ["OUTCOME_DISPLAY", "guidance_response", "needs_data"]

OUTCOME_DISPLAY: dict[str, str] = {
    "ELIGIBLE_FOR_TRIAL": "Eligible for a DRG stimulation trial",
    "ELIGIBLE_WITH_CONDITIONS": "Eligible for a DRG stimulation trial once conditions are addressed",
    "NEEDS_REVIEW": "Needs a clinician's review",
    "INSUFFICIENT_INFORMATION": "Insufficient information",
    "NOT_ELIGIBLE": "Not eligible",
    "ELIGIBLE_FOR_IMPLANT": "Eligible for the permanent DRG implant",
    "TRIAL_FAILED": "DRG trial failed",
}

# The element a DataRequirement.codeFilter names for each requested resource type (R4 search-relevant paths).
_CODE_PATH: dict[str, str] = {
    "Encounter": "type",
    "Device": "type",
    "MedicationRequest": "medication",
    "MedicationStatement": "medication",
    "MedicationAdministration": "medication",
}


def needs_data(decision: Decision) -> bool:
    """True when any criterion is unknown (INSUFFICIENT_INFORMATION always has one)."""
    return any(c.status == "unknown" for c in decision.criteria)


def guidance_response(decision: Decision) -> dict[str, Any]:
    systems = CodeSystems()
    ext = Extensions()
    resource: dict[str, Any] = {
        "resourceType": "GuidanceResponse",
        "id": decision.decision_id,
        "text": {"status": "generated", "div": _narrative(decision)},
        "extension": [
            {"url": ext.policy_sha256, "valueString": decision.policy.sha256},
            {"url": ext.engine_version, "valueString": decision.engine_version},
            {"url": ext.input_sha256, "valueString": decision.input_sha256},
            {"url": ext.as_of, "valueDate": decision.as_of},
            {"url": ext.stage, "valueCode": decision.stage},
            {"url": ext.label_status, "valueCode": decision.label_status},
        ],
        "identifier": [{"system": systems.decision_id, "value": decision.decision_id}],
        "moduleUri": module_uri(decision),
        # data-required whenever a criterion is unknown, even if another criterion already decides the
        # outcome: the Tasks ask for that data in every case, and the status should say the same thing.
        "status": "data-required" if needs_data(decision) else "success",
        "subject": {"reference": decision.patient.reference},
        "occurrenceDateTime": decision.evaluated_at,
        "reasonCode": [
            {
                "coding": [
                    {
                        "system": systems.outcome,
                        "code": decision.outcome,
                        "display": OUTCOME_DISPLAY[decision.outcome],
                    }
                ],
                "text": OUTCOME_DISPLAY[decision.outcome],
            }
        ],
        "note": [{"text": decision.summary}]
        + [{"text": a.description} for a in decision.actions if a.category == "advisory"],
    }
    requirements = _data_requirements(decision)
    if requirements:
        resource["dataRequirement"] = requirements
    return resource


def _data_requirements(decision: Decision) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for criterion in decision.criteria:
        if criterion.status != "unknown":
            continue
        for request in criterion.data_requests:
            requirement: dict[str, Any] = {"type": request.resource_type}
            codings = [_coding(token) for token in request.codes]
            if codings:
                path = _CODE_PATH.get(request.resource_type, "code")
                requirement["codeFilter"] = [{"path": path, "code": codings}]
            if requirement not in found:  # two criteria often want the same pain score
                found.append(requirement)
    return found


def _coding(token: str) -> dict[str, str]:
    system, _, code = token.rpartition("|")
    return {"system": system, "code": code} if system else {"code": code}


def _narrative(decision: Decision) -> str:
    return (
        '<div xmlns="http://www.w3.org/1999/xhtml">'
        f"<p><b>{escape(OUTCOME_DISPLAY[decision.outcome])}</b> ({escape(decision.outcome)})</p>"
        f"<p>{escape(decision.summary)}</p></div>"
    )
