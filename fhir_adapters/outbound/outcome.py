"""OperationOutcome bodies: errors keep their issue type and location; problems in unread resources are warnings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from eligibility.errors import EligibilityError

from ..unread import ReadProblem

__all__ = ["GENERIC_DIAGNOSTICS", "operation_outcome", "outcome_for_error", "warnings_outcome"]

# What a client sees for an unexpected exception: its text could carry patient data or internals.
GENERIC_DIAGNOSTICS = "internal error: no decision was produced; the error was logged"

# Locations the adapters write as FHIRPath ("Bundle.entry[3].resource.subject.reference") go to
# `expression`; others ("line 4: subject", "Condition.ndjson line 42") are not FHIRPath and go to
# `location`, R4's free-form (deprecated, still valid) alternative, so no client evaluates them.
_FHIRPATH = re.compile(r"[A-Z][A-Za-z]*(\[\d+\])?(\.[A-Za-z][A-Za-z0-9_]*(\[\d+\])?)*")


def operation_outcome(
    *,
    severity: str = "error",
    code: str = "invalid",
    diagnostics: str,
    location: str | None = None,
    expression: str | None = None,
) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if location:
        issue["location"] = [location]
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def outcome_for_error(error: Exception) -> dict[str, Any]:
    if not isinstance(error, EligibilityError):
        return operation_outcome(severity="fatal", code="exception", diagnostics=GENERIC_DIAGNOSTICS)
    where = error.location
    if where and _FHIRPATH.fullmatch(where):
        return operation_outcome(code=error.code, diagnostics=error.message, expression=where)
    return operation_outcome(code=error.code, diagnostics=error.message, location=where)


def warnings_outcome(problems: Sequence[ReadProblem]) -> dict[str, Any]:
    """One warning issue per problem found in a resource the policy does not read (it did not stop the decision)."""
    issues: list[dict[str, Any]] = []
    for problem in problems:
        issue: dict[str, Any] = {"severity": "warning", "code": problem.code, "diagnostics": problem.message}
        issue["expression" if _FHIRPATH.fullmatch(problem.location) else "location"] = [problem.location]
        issues.append(issue)
    return {"resourceType": "OperationOutcome", "issue": issues}
