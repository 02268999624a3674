"""Typed errors at the HTTP edge, and the one table that maps every error to a status.

    EligibilityError (eligibility.errors)
    ├── InputError ── PayloadTooLargeError 413, RequestTimeoutError 408, UnsupportedMediaTypeError 415
    ├── AuthenticationError 401        no, wrong, expired or replayed credentials
    ├── PermissionDeniedError 403      a known caller whose role does not allow the call
    ├── NotFoundError 404              no such decision
    ├── DataUnavailableError 412       CDS Hooks: data neither prefetched nor fetchable from fhirServer
    ├── TooManyRefusalsError 429       an address past its quota of refused unauthenticated calls
    └── EngineError ── WorkerCrashedError 503, EvaluationTimeoutError 503

Routes raise; `install` registers the handlers that turn any error into an OperationOutcome with
the status from `STATUS`, after recording the call in the audit trail (see `eligibility.api.recording`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eligibility.errors import (
    AuditError,
    DanglingReferenceError,
    EligibilityError,
    EngineError,
    InputError,
    PatientCountError,
    PolicyError,
    WrongResourceTypeError,
)

__all__ = [
    "STATUS",
    "AuthenticationError",
    "DataUnavailableError",
    "EvaluationTimeoutError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RequestTimeoutError",
    "TooManyRefusalsError",
    "UnsupportedMediaTypeError",
    "WorkerCrashedError",
    "headers_for",
    "status_for",
]


class PayloadTooLargeError(InputError):
    code = "too-costly"


class RequestTimeoutError(InputError):
    code = "timeout"


class UnsupportedMediaTypeError(InputError):
    code = "not-supported"


class AuthenticationError(EligibilityError):
    code = "login"

    def __init__(
        self, message: str, *, location: str = "Authorization header", scheme: str = "Bearer", presented: bool = True
    ) -> None:
        super().__init__(message, location=location)
        self.scheme = scheme
        self.presented = presented  # RFC 6750: a challenge names `invalid_token` only when one was sent


class PermissionDeniedError(EligibilityError):
    code = "forbidden"


class NotFoundError(EligibilityError):
    code = "not-found"


class DataUnavailableError(EligibilityError):
    code = "incomplete"


class TooManyRefusalsError(EligibilityError):
    """Refused without a record of its own: the address is past its quota (api/refusals.py)."""

    code = "throttled"

    def __init__(self, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(message, location=None)
        self.retry_after_s = retry_after_s


class WorkerCrashedError(EngineError):
    code = "transient"


class EvaluationTimeoutError(EngineError):
    code = "timeout"


# The one table. Looked up along the error's class hierarchy, most specific class first.
STATUS: Mapping[type[BaseException], int] = {
    PayloadTooLargeError: 413,
    RequestTimeoutError: 408,
    UnsupportedMediaTypeError: 415,
    PatientCountError: 422,
    DanglingReferenceError: 422,
    WrongResourceTypeError: 422,
    InputError: 400,
    AuthenticationError: 401,
    PermissionDeniedError: 403,
    NotFoundError: 404,
    DataUnavailableError: 412,
    TooManyRefusalsError: 429,
    WorkerCrashedError: 503,
    EvaluationTimeoutError: 503,
    AuditError: 503,  # the trail could not record: nothing was released; retrying is safe
    PolicyError: 500,
    EngineError: 500,
    EligibilityError: 500,
}


def status_for(error: BaseException) -> int:
    for cls in type(error).__mro__:
        status = STATUS.get(cls)
        if status is not None:
            return status
    return 500


def headers_for(error: BaseException) -> dict[str, str]:
    """Headers the status calls for: a challenge with 401, a retry hint with 503."""
    headers: dict[str, Any] = {}
    if isinstance(error, AuthenticationError):
        detail = ', error="invalid_token"' if error.presented else ""
        headers["WWW-Authenticate"] = f'{error.scheme} realm="drg-eligibility"{detail}'
    elif isinstance(error, TooManyRefusalsError):
        headers["Retry-After"] = str(error.retry_after_s)
    elif status_for(error) == 503:
        headers["Retry-After"] = "1"
    return headers
