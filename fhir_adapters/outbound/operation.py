"""The response body of `POST [base]/Patient/$drg-candidacy`: a Parameters resource.

    Parameters
      parameter[0] name "return"   resource: Bundle (type collection)
                                     entry[0]   GuidanceResponse   fullUrl [base]/GuidanceResponse/{decision_id}
                                     entry[1..] DetectedIssue      fullUrl urn:uuid:…
                                     entry[..]  Task               fullUrl urn:uuid:…
      parameter[1] name "decision" valueString: the decision record (spec §5) as compact JSON
      parameter[2] name "outcome"  resource: OperationOutcome of warnings, only when a resource the
                                     policy does not read has a problem (fhir_adapters/unread.py)

The GuidanceResponse has a RESTful fullUrl because the server serves it (read interaction); the
DetectedIssues and Tasks exist only in this Bundle (and as CDS Hooks suggestions), so they get
urn:uuid fullUrls. Patient and evidence references are copied from the submitted record.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from eligibility.decision import Decision

from ..unread import ReadProblem
from .guidance import guidance_response
from .issues import detected_issues
from .naming import CodeSystems, guidance_url, local_uuid
from .outcome import warnings_outcome
from .tasks import tasks

__all__ = ["decision_json", "operation_result", "result_bundle"]

# FHIR `instant`: Bundle.timestamp must carry seconds and a zone. evaluated_at normally does; if a
# caller passed something looser, the timestamp is left out rather than made invalid.
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")


def decision_json(decision: Decision) -> str:
    """The `decision` parameter's text: the record as compact JSON, fields in the spec's order."""
    return decision.model_dump_json()


def result_bundle(decision: Decision, *, base_url: str) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": guidance_url(base_url, decision.decision_id),
            "resource": guidance_response(decision),
        }
    ]
    for resource in detected_issues(decision) + tasks(decision, base_url=base_url):
        entries.append({"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": local_uuid(decision.decision_id, "bundle"),
        "identifier": {"system": CodeSystems().decision_id, "value": decision.decision_id},
        "type": "collection",
    }
    if _INSTANT.fullmatch(decision.evaluated_at):
        bundle["timestamp"] = decision.evaluated_at
    bundle["entry"] = entries
    return bundle


def operation_result(decision: Decision, *, base_url: str, warnings: Sequence[ReadProblem] = ()) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": "return", "resource": result_bundle(decision, base_url=base_url)},
        {"name": "decision", "valueString": decision_json(decision)},
    ]
    if warnings:
        parameters.append({"name": "outcome", "resource": warnings_outcome(warnings)})
    return {"resourceType": "Parameters", "parameter": parameters}
