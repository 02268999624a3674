"""The exception handlers: any error becomes an OperationOutcome with the status from `errors.STATUS`.

Input can never produce a 500: typed errors map through the table, FastAPI's own validation errors
become 400 with the parameter named, and only a bug reaches the catch-all (500, generic text, logged).
Each handler records the call in the audit trail first; when the trail itself fails, the answer is
the 503 of that AuditError instead, since the call could not be recorded.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from eligibility.api.errors import headers_for, status_for
from eligibility.api.recording import record_rejection
from eligibility.api.responses import FhirResponse
from eligibility.errors import AuditError, EligibilityError, InputError
from fhir_adapters.outbound import operation_outcome, outcome_for_error

__all__ = ["install"]

log = logging.getLogger("eligibility.api")

_HTTP_CODES = {401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported", 406: "not-supported"}


def _outcome_response(error: Exception) -> FhirResponse:
    return FhirResponse(outcome_for_error(error), status_code=status_for(error), headers=headers_for(error))


async def _recorded(request: Request, error: Exception) -> FhirResponse:
    try:
        error = await record_rejection(request, error) or error
    except AuditError as audit_error:
        log.error("could not record a rejected call: %s", audit_error.one_line())
        return _outcome_response(audit_error)
    except Exception as bug:  # never answer as if the call had been recorded
        log.exception("recording a rejected call failed", exc_info=bug)
        return _outcome_response(bug)
    return _outcome_response(error)


async def _eligibility_error(request: Request, error: Exception) -> Response:
    return await _recorded(request, error)


def _validation_location(loc: tuple[Any, ...]) -> str:
    """("query", "asOf") -> "asOf (query)"; ("path", "decision_id") -> "decision_id (path)"."""
    parts = [str(part) for part in loc] or ["request"]
    where, path = parts[0], ".".join(parts[1:])
    if not path:
        return where
    return f"{path} ({where})" if where in {"path", "query", "header", "cookie"} else f"{where}.{path}"


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    problems = error.errors()
    first = problems[0] if problems else {"loc": ("request",), "msg": "invalid request"}
    message = "; ".join(f"{_validation_location(tuple(p['loc']))}: {p['msg']}" for p in problems) or "invalid request"
    return await _recorded(request, InputError(message, location=_validation_location(tuple(first["loc"]))))


async def _http_error(_request: Request, error: Exception) -> Response:
    # Routing errors (no such path, method not allowed) are not calls to an operation: not recorded.
    assert isinstance(error, HTTPException)
    body = operation_outcome(code=_HTTP_CODES.get(error.status_code, "processing"), diagnostics=str(error.detail))
    return FhirResponse(body, status_code=error.status_code, headers=error.headers)


async def _unexpected(request: Request, error: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    return await _recorded(request, error)


def install(app: FastAPI) -> None:
    app.add_exception_handler(EligibilityError, _eligibility_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
