"""FHIR R4 endpoints: the `$drg-candidacy` operation, reading a past decision, and what the server offers."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from eligibility.answers.attribution import attributed, attribution_notes, provenance_of
from eligibility.api.auth import READ, READ_ANY, SUBMIT, Principal, require
from eligibility.api.context import base_url, context_of
from eligibility.api.envelope import parse_day, unwrap
from eligibility.api.limits import JSON_TYPES, NDJSON_TYPES, check_content_type, read_body
from eligibility.api.recording import evaluate_recorded, read_recorded, relocated
from eligibility.api.responses import FhirResponse
from eligibility.api.schemas import error_responses, json_body
from eligibility.audit import store
from eligibility.from_fhir import check_as_of_ahead
from fhir_adapters.outbound import capability_statement, guidance_response, operation_definition, operation_result

__all__ = ["FHIR_ID", "fhir_base", "router"]

FHIR_ID = r"^[A-Za-z0-9\-.]{1,64}$"

router = APIRouter(prefix="/fhir", tags=["FHIR"], default_response_class=FhirResponse)


def fhir_base(request: Request) -> str:
    return base_url(request) + "/fhir"


def _resource(resource_type: str, **required: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["resourceType", *required],
        "properties": {"resourceType": {"const": resource_type}, **required},
    }


_OPERATION_SCHEMA: dict[str, Any] = {
    "description": "A Bundle holding one patient's record, or Parameters with `bundle` (a Bundle) and "
    "optionally `asOf` (valueDate). NDJSON (one resource a line) is accepted as application/fhir+ndjson.",
    "oneOf": [
        _resource("Bundle", type={"type": "string"}, entry={"type": "array", "items": {"type": "object"}}),
        _resource("Parameters", parameter={"type": "array", "items": {"type": "object"}}),
    ],
}
_FHIR_OK = {"content": {"application/fhir+json": {"schema": {"type": "object"}}}}


@router.get("/metadata", summary="CapabilityStatement", responses={200: _FHIR_OK})
def metadata(request: Request) -> FhirResponse:
    ctx = context_of(request)
    return FhirResponse(capability_statement(base_url=fhir_base(request), software_version=ctx.software_version))


@router.get(
    "/OperationDefinition/drg-candidacy", summary="OperationDefinition of $drg-candidacy", responses={200: _FHIR_OK}
)
def definition() -> FhirResponse:
    return FhirResponse(operation_definition())


@router.post(
    "/Patient/$drg-candidacy",
    summary="Evaluate one patient's record for DRG stimulation candidacy",
    description="Returns Parameters: `return` (Bundle: GuidanceResponse, DetectedIssues, Tasks) and `decision` "
    "(the decision record as JSON). The decision, or the rejection of bad input, is recorded in the audit "
    "trail before the answer is sent.",
    openapi_extra=json_body(_OPERATION_SCHEMA, "application/fhir+json", "application/json"),
    responses={200: _FHIR_OK, **error_responses(400, 401, 403, 408, 413, 415, 422, 503)},
)
async def drg_candidacy(
    request: Request,
    _caller: Annotated[Principal, require(SUBMIT, "submit records")],
    as_of: Annotated[
        str | None,
        Query(alias="asOf", description="Evaluation date YYYY-MM-DD (a Parameters asOf wins; default today)."),
    ] = None,
) -> FhirResponse:
    settings = context_of(request).settings
    body = await read_body(request, max_bytes=settings.api_max_body_bytes, timeout_s=settings.api_request_timeout_s)
    check_content_type(request, JSON_TYPES | NDJSON_TYPES)
    operation = unwrap(body)
    today = date.today()  # the API edge reads the clock; the engine never does
    day = operation.as_of or (parse_day(as_of, "asOf (query)") if as_of else None) or today
    request.state.as_of = day
    check_as_of_ahead(day, today=today)  # refused and recorded by the error handlers
    result = await evaluate_recorded(request, operation.bundle, as_of=day, location_prefix=operation.location_prefix)
    warnings = relocated(result.unread_problems, operation.location_prefix)
    return FhirResponse(operation_result(result.decision, base_url=fhir_base(request), warnings=warnings))


@router.get(
    "/GuidanceResponse/{decision_id}",
    summary="Read a recorded decision as a GuidanceResponse (the read is recorded)",
    responses={200: _FHIR_OK, **error_responses(400, 401, 403, 404, 503)},
)
async def read_guidance(
    request: Request,
    decision_id: Annotated[str, Path(pattern=FHIR_ID, description="The decision id.")],
    caller: Annotated[Principal, require(READ, "read decisions")],
) -> FhirResponse:
    decision = await run_in_threadpool(
        read_recorded,
        request,
        decision_id,
        reader=caller.name,
        read_any=caller.may(READ_ANY),
        reader_since=caller.since,
    )
    with context_of(request).read_session() as session:
        record = store.get_decision_record(session, decision_id)
    provenance = provenance_of(record.data()) if record is not None else None
    guidance = guidance_response(attributed(decision, provenance))
    if provenance:  # made from a referrer's answers: say so, and which decision it supersedes
        notes = [*attribution_notes(decision, provenance), f"Supersedes GuidanceResponse/{provenance['supersedes']}."]
        guidance["note"] = [*guidance.get("note", []), *({"text": t} for t in notes)]
    return FhirResponse(guidance)
