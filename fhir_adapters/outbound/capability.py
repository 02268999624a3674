"""The service's CapabilityStatement and the OperationDefinition of `Patient/$drg-candidacy`."""

from __future__ import annotations

from typing import Any

from ..product import canonical
from .naming import normalize_base

__all__ = [
    "CAPABILITY_STATEMENT_URL",
    "OPERATION_CODE",
    "OPERATION_DEFINITION_URL",
    "capability_statement",
    "operation_definition",
    "operation_definition_url",
]

OPERATION_CODE = "drg-candidacy"
# `date` is required in R4 and means "last changed": it is the date these two documents' content last
# changed, not the time of the request, so that the statement is stable between calls.
_CONTENT_DATE = "2026-11-23"


# Canonical URLs (fhir_adapters/product.py): the same on every server. The OperationDefinition is also
# served by each server at {base}/OperationDefinition/drg-candidacy (an instance of it).
OPERATION_DEFINITION_URL = canonical("OperationDefinition", OPERATION_CODE)
CAPABILITY_STATEMENT_URL = canonical("CapabilityStatement", "drg-eligibility")


def operation_definition_url() -> str:
    return OPERATION_DEFINITION_URL


def capability_statement(*, base_url: str, software_version: str) -> dict[str, Any]:
    base = normalize_base(base_url)
    return {
        "resourceType": "CapabilityStatement",
        "id": "drg-eligibility",
        "url": CAPABILITY_STATEMENT_URL,
        "version": software_version,
        "name": "DrgEligibilityService",
        "title": "DRG stimulation candidacy service",
        "status": "active",
        "date": _CONTENT_DATE,
        "kind": "instance",
        "description": "Evaluates one patient's FHIR R4 record against a DRG stimulation candidacy policy and "
        "returns the decision as a GuidanceResponse with DetectedIssues and Tasks. Decision support only: "
        "the treating clinician decides.",
        "software": {"name": "drg-eligibility", "version": software_version},
        "implementation": {"description": "DRG stimulation candidacy service", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "resource": [
                    {
                        "type": "Patient",
                        "operation": [{"name": OPERATION_CODE, "definition": OPERATION_DEFINITION_URL}],
                    },
                    {"type": "GuidanceResponse", "interaction": [{"code": "read"}]},
                    {"type": "OperationDefinition", "interaction": [{"code": "read"}]},
                    # A decision's open questions (q-<decision id>) and the referrer's answers to them.
                    {
                        "type": "Questionnaire",
                        "profile": "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire",
                        "interaction": [{"code": "read"}],
                    },
                    {"type": "QuestionnaireResponse", "interaction": [{"code": "create"}]},
                ],
            }
        ],
    }


def operation_definition() -> dict[str, Any]:
    """The same document on every server: nothing in it depends on where it is served."""
    return {
        "resourceType": "OperationDefinition",
        "id": OPERATION_CODE,
        "url": OPERATION_DEFINITION_URL,
        "name": "DrgCandidacy",
        "title": "DRG stimulation candidacy",
        "status": "active",
        "kind": "operation",
        "date": _CONTENT_DATE,
        "description": "Evaluate one patient's record (a Bundle holding exactly one Patient) for dorsal root "
        "ganglion stimulation candidacy under the server's default policy.",
        # The decision is recorded in the audit trail and becomes readable as GuidanceResponse/{id}.
        "affectsState": True,
        "code": OPERATION_CODE,
        "comment": "POST only (the input is a resource). The response is a Parameters resource: `return` is a "
        "collection Bundle whose first entry is the GuidanceResponse, followed by one DetectedIssue per "
        "contraindication found and one Task per data request or preparation step (all Tasks are proposals); "
        "`decision` is the decision record as compact JSON text; `outcome`, when present, warns of problems in "
        "resources the policy does not read. Errors are OperationOutcomes.",
        "resource": ["Patient"],
        "system": False,
        "type": True,
        "instance": False,
        "parameter": [
            _parameter(
                "bundle",
                "in",
                1,
                "Bundle",
                "The patient's record: a Bundle (collection, searchset, "
                "transaction or batch) with exactly one Patient and the resources the rules read.",
            ),
            _parameter("asOf", "in", 0, "date", "The evaluation date; defaults to the server's current date."),
            _parameter(
                "return",
                "out",
                1,
                "Bundle",
                "Collection Bundle: the GuidanceResponse (first), the DetectedIssues, then the Tasks.",
            ),
            _parameter(
                "decision",
                "out",
                1,
                "string",
                "The decision record (policy spec §5) as compact JSON; "
                "parse it to read the criteria, actions and summary with their stable field names.",
            ),
            _parameter(
                "outcome",
                "out",
                0,
                "OperationOutcome",
                "Warnings (severity warning, with their location) about resources the policy does not read: "
                "they are checked for structure only and a problem in them does not stop the decision.",
            ),
        ],
    }


def _parameter(name: str, use: str, minimum: int, type_: str, documentation: str) -> dict[str, Any]:
    return {"name": name, "use": use, "min": minimum, "max": "1", "documentation": documentation, "type": type_}
