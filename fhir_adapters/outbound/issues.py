"""Contraindication criteria that are not met, as FHIR R4 DetectedIssue resources."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eligibility.decision import Criterion, Decision

from .naming import CodeSystems, local_uuid, module_uri

__all__ = ["SEVERITY", "detected_issues"]

# Severity per contraindication criterion. An absolute contraindication or an active substance use
# disorder makes the procedure unsafe or inadvisable (the outcome is NOT_ELIGIBLE); a relative one,
# including an existing neurostimulator, asks for a clinician's review (NEEDS_REVIEW).
SEVERITY: dict[str, str] = {
    "no_absolute_contraindication": "high",
    "no_active_substance_use_disorder": "high",
    "no_relative_contraindication": "moderate",
}

_DISPLAY: dict[str, str] = {
    "no_absolute_contraindication": "Absolute contraindication to DRG stimulation",
    "no_active_substance_use_disorder": "Active substance use disorder",
    "no_relative_contraindication": "Relative contraindication to DRG stimulation",
}


def issue_id(decision: Decision, criterion_id: str) -> str:
    return local_uuid(decision.decision_id, f"issue/{criterion_id}")


def detected_issues(decision: Decision) -> list[dict[str, Any]]:
    systems = CodeSystems()
    return [
        _issue(decision, criterion, systems)
        for criterion in decision.criteria
        if criterion.id in SEVERITY and criterion.status == "not_met"
    ]


def _issue(decision: Decision, criterion: Criterion, systems: CodeSystems) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "id": issue_id(decision, criterion.id),
        "status": "final",
        "code": {
            "coding": [{"system": systems.criterion, "code": criterion.id, "display": _DISPLAY[criterion.id]}],
            "text": _DISPLAY[criterion.id],
        },
        "severity": SEVERITY[criterion.id],
        "patient": {"reference": decision.patient.reference},
        "identifiedDateTime": decision.evaluated_at,
        "detail": criterion.reason,
        "reference": module_uri(decision),  # the authority for the issue: the policy that defines it
    }
    implicated = _unique(e.reference for e in criterion.evidence)
    if implicated:
        resource["implicated"] = [{"reference": ref} for ref in implicated]
    return resource


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
