"""OperationOutcome bodies: errors keep their issue type, their place as a FHIRPath `expression` and their
text as `diagnostics`; problems in unread resources are warnings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from eligibility.errors import EligibilityError

from ..unread import ReadProblem

__all__ = ["GENERIC_DIAGNOSTICS", "expression_for", "operation_outcome", "outcome_for_error", "warnings_outcome"]

# What a client sees for an unexpected exception: its text could carry patient data or internals.
GENERIC_DIAGNOSTICS = "internal error: no decision was produced; the error was logged"

# R4 (hl7.org/fhir/R4/operationoutcome-definitions.html): `expression` holds a simple FHIRPath to the
# element at fault, "for HTTP errors 'http.' + the parameter name"; `location` is deprecated (it was
# XPath); `diagnostics` is the text for people. So: a location the adapters write as FHIRPath
# ("Bundle.entry[3].resource.subject.reference") is the expression; a header, a query or path parameter
# or the operation's asOf is `http.<name>` ("http.Authorization"); any other place ("line 4: subject",
# "line 1, column 60", a CDS request's "context.patientId") is no FHIRPath of a resource and is said in
# the diagnostics ("…, at line 1, column 60"), so that no client evaluates it.
_FHIRPATH = re.compile(r"[A-Z][A-Za-z]*(\[\d+\])?(\.[A-Za-z][A-Za-z0-9_]*(\[\d+\])?)*")
_HTTP = re.compile(r"(?P<name>[A-Za-z][A-Za-z0-9_\-]*) (?:header|\(query\)|\(path\))")
_HTTP_NAMES = {"asOf": "asOf", "sig": "sig", "JWT sub claim": "Authorization"}


def expression_for(location: str | None) -> str | None:
    """The FHIRPath (or `http.<name>`) of an error's location; None when it is no such path."""
    if not location:
        return None
    if _FHIRPATH.fullmatch(location) or location == "resourceType":  # the submitted resource's own type
        return location
    if (match := _HTTP.fullmatch(location)) is not None:
        return f"http.{match['name']}"
    name = _HTTP_NAMES.get(location)
    return f"http.{name}" if name else None


def _issue(severity: str, code: str, message: str, location: str | None) -> dict[str, Any]:
    expression = expression_for(location)
    text = message if expression or not location else f"{message}, at {location}"
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": text}
    if expression:
        issue["expression"] = [expression]
    return issue


def operation_outcome(
    *,
    severity: str = "error",
    code: str = "invalid",
    diagnostics: str,
    expression: str | None = None,
) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def outcome_for_error(error: Exception) -> dict[str, Any]:
    if not isinstance(error, EligibilityError):
        return operation_outcome(severity="fatal", code="exception", diagnostics=GENERIC_DIAGNOSTICS)
    return {"resourceType": "OperationOutcome", "issue": [_issue("error", error.code, error.message, error.location)]}


def warnings_outcome(problems: Sequence[ReadProblem]) -> dict[str, Any]:
    """One warning issue per problem found in a resource the policy does not read (it did not stop the decision)."""
    issues = [_issue("warning", problem.code, problem.message, problem.location) for problem in problems]
    return {"resourceType": "OperationOutcome", "issue": issues}
