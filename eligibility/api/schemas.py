"""Request models (CDS Hooks bodies, reviews) and the OpenAPI fragments that document every endpoint.

Bodies are read raw (size and time limits, the exact bytes for the audit trail) and validated here,
so a malformed body becomes an InputError that names the field, like every other input error.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from eligibility.decision import Outcome
from eligibility.errors import InputError, NotJSONError

__all__ = [
    "CdsRequest",
    "Feedback",
    "FeedbackRequest",
    "ReviewRequest",
    "component_schemas",
    "error_responses",
    "json_body",
    "model_ref",
    "parse_json",
    "parse_model",
    "validate",
]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")  # CDS Hooks reserves `extension` and adds fields over time


class FhirAuthorization(_Open):
    access_token: str = Field(min_length=1)
    token_type: str = "Bearer"
    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None


class CdsRequest(_Open):
    hook: str = Field(min_length=1)
    hookInstance: str = Field(min_length=1)
    context: dict[str, Any]
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    prefetch: dict[str, Any] | None = None


class Coding(_Open):
    code: str = Field(min_length=1)
    system: str | None = None
    display: str | None = None


class OverrideReason(_Open):
    reason: Coding | None = None
    userComment: str | None = None


class AcceptedSuggestion(_Open):
    id: str


class Feedback(_Open):
    card: str = Field(min_length=1)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] = []
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: str | None = None


class FeedbackRequest(_Open):
    feedback: list[Feedback] = Field(min_length=1)


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["accept", "override"]
    reason_code: str = Field(min_length=1, max_length=100)
    comment: str = Field(default="", max_length=4000)
    outcome: Outcome | None = None


M = TypeVar("M", bound=BaseModel)


def parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise NotJSONError(f"the body is not JSON: {exc}", location="body") from None


def validate(model: type[M], document: Any) -> M:
    """Validate a decoded JSON body; the first problem becomes an InputError located at its field."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in problem["loc"]) or "body"
        raise InputError(f"{problem['msg']} (in {where})", location=where) from None


def parse_model(model: type[M], body: bytes) -> M:
    return validate(model, parse_json(body))


_REF = "#/components/schemas/{model}"


def component_schemas() -> dict[str, Any]:
    """The request models as OpenAPI components (routes read bodies themselves, so FastAPI does not add them)."""
    found: dict[str, Any] = {}
    for model in (CdsRequest, FeedbackRequest, ReviewRequest):
        schema = model.model_json_schema(ref_template=_REF)
        found.update(schema.pop("$defs", {}))
        found[model.__name__] = schema
    return found


def model_ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": _REF.format(model=model.__name__)}


def json_body(schema: dict[str, Any], *media_types: str) -> dict[str, Any]:
    """openapi_extra for a route that reads its body itself."""
    return {
        "requestBody": {
            "required": True,
            "content": {media_type: {"schema": schema} for media_type in media_types or ("application/json",)},
        }
    }


OPERATION_OUTCOME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "severity": {"type": "string"},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string", "description": "what is wrong, for people"},
                    "expression": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "where: a FHIRPath into the submission, or http.<header or parameter>",
                    },
                },
            },
        },
    },
}

_MEANINGS = {
    400: "Bad input (OperationOutcome names where)",
    401: "Missing or wrong credentials",
    403: "The caller's role does not allow this call",
    404: "No such decision",
    408: "The body did not arrive in time",
    412: "CDS Hooks: data neither prefetched nor fetchable from fhirServer",
    413: "The body is larger than the configured limit",
    415: "Unsupported Content-Type",
    422: "A FHIR record the rules cannot read (patients, references, resource types)",
    503: "A worker crashed or timed out, or the audit trail could not record; retry",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "description": _MEANINGS[status],
            "content": {"application/fhir+json": {"schema": OPERATION_OUTCOME_SCHEMA}},
        }
        for status in statuses
    }
