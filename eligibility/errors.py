"""The product's typed errors, in one tree.

    EligibilityError                 base of everything raised on purpose
    ├── InputError                   the submission is bad; a 4xx at the API, exit 2 in the CLI
    │   ├── NotJSONError             not parseable JSON / NDJSON
    │   ├── NotFHIRError             JSON, but not FHIR (no resourceType, unknown type)
    │   ├── WrongResourceTypeError   FHIR, but not a Bundle / resource list we accept
    │   ├── PatientCountError        zero or several Patients
    │   ├── DanglingReferenceError   a reference the record does not resolve
    │   ├── InvalidResourceError     a resource fails validation (R4B models)
    │   └── FhirVersionError         STU3 / DSTU2 input: what gave it away, and "send R4"
    ├── PolicyError                  a policy is missing, or its files do not match the manifest
    ├── EngineError                  the rules could not evaluate (never read as "not eligible")
    └── AuditError                   the audit trail could not record; no decision is released

Every InputError carries `location`: where the problem is (FHIRPath-like, e.g.
"Bundle.entry[3].resource.subject.reference"), so the CLI line and the OperationOutcome name it.
"""

from __future__ import annotations

__all__ = [
    "AuditError",
    "DanglingReferenceError",
    "EligibilityError",
    "EngineError",
    "FhirVersionError",
    "InputError",
    "InvalidResourceError",
    "NotFHIRError",
    "NotJSONError",
    "PatientCountError",
    "PolicyError",
    "WrongResourceTypeError",
]


class EligibilityError(Exception):
    """Base class of every error the product raises on purpose."""

    code = "exception"  # FHIR OperationOutcome issue type

    def __init__(self, message: str, *, location: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def one_line(self) -> str:
        where = f" at {self.location}" if self.location else ""
        return f"{self.message}{where}".replace("\n", " ")


class InputError(EligibilityError):
    code = "invalid"


class NotJSONError(InputError):
    code = "structure"


class NotFHIRError(InputError):
    code = "structure"


class WrongResourceTypeError(InputError):
    code = "not-supported"


class PatientCountError(InputError):
    code = "business-rule"


class DanglingReferenceError(InputError):
    code = "not-found"


class InvalidResourceError(InputError):
    code = "value"


class FhirVersionError(InputError):
    """Raised instead of the R4B error it explains (fhir_adapters/versions.py)."""

    code = "not-supported"


class PolicyError(EligibilityError):
    code = "exception"


class EngineError(EligibilityError):
    code = "exception"


class AuditError(EligibilityError):
    code = "transient"
