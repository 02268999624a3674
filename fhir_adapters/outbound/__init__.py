"""The decision rendered as FHIR R4: what the API returns to referring physicians' systems.

    operation_result(decision, base_url=...)   Parameters: `return` Bundle + `decision` JSON text
    guidance_response / detected_issues / tasks    the Bundle's parts
    operation_outcome / outcome_for_error          error bodies
    warnings_outcome                               problems in unread resources, as warnings
    capability_statement / operation_definition    what the server declares

Every function returns plain JSON-ready dicts, valid against the R4B models
(`fhir_adapters.models.validate_r4`); nothing here imports fhir.resources.
"""

from __future__ import annotations

from .capability import capability_statement, operation_definition, operation_definition_url
from .guidance import guidance_response
from .issues import detected_issues
from .operation import decision_json, operation_result, result_bundle
from .outcome import operation_outcome, outcome_for_error, warnings_outcome
from .tasks import tasks

__all__ = [
    "capability_statement",
    "decision_json",
    "detected_issues",
    "guidance_response",
    "operation_definition",
    "operation_definition_url",
    "operation_outcome",
    "operation_result",
    "outcome_for_error",
    "result_bundle",
    "tasks",
    "warnings_outcome",
]
