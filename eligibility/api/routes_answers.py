"""The referrer's side of the loop over FHIR: the open questions of a decision and its answers.

    GET  /fhir/Questionnaire/q-{decision}    the decision's data requests as an SDC Questionnaire
    POST /fhir/QuestionnaireResponse          the answers; the answer is what `$drg-candidacy` gives
                                              (Parameters with the new decision)

Both are recorded: the read as an access of the decision, the answers as the superseding decision (with
the QuestionnaireResponse in its stored input) and an "answered" record on the old one, a bad response as
a rejection with the bytes received. A referrer sees and answers only the decisions they submitted.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool

from eligibility.answers.attribution import attributed, attribution_notes
from eligibility.answers.flow import Target, decision_of_questionnaire, load_target, prepare_answers, successor_of
from eligibility.api.auth import READ, READ_ANY, SUBMIT, Principal, require
from eligibility.api.context import context_of
from eligibility.api.errors import NotFoundError
from eligibility.api.limits import JSON_TYPES, check_content_type, read_body
from eligibility.api.recording import channel_of
from eligibility.api.responses import FhirResponse
from eligibility.api.routes_fhir import fhir_base
from eligibility.api.schemas import error_responses, json_body
from eligibility.audit import store
from eligibility.decision import Decision
from eligibility.errors import InputError
from eligibility.service import Evaluated, Rejected, record_superseding
from fhir_adapters.json_guard import check_document
from fhir_adapters.outbound import operation_result
from fhir_adapters.outbound.operation import result_bundle

__all__ = ["answers_result", "load_visible_target", "redecide", "router"]

router = APIRouter(prefix="/fhir", tags=["FHIR"], default_response_class=FhirResponse)
_FHIR_OK = {"content": {"application/fhir+json": {"schema": {"type": "object"}}}}
_QR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType", "questionnaire", "status", "subject", "item"],
    "properties": {"resourceType": {"const": "QuestionnaireResponse"}},
}


def load_visible_target(request: Request, decision_id: str, *, caller: Principal) -> Target:
    """The decision and its questions, if the caller may see it (else 404, as for a missing one)."""
    with context_of(request).read_session() as session:
        record = store.get_decision_record(session, decision_id)
        if record is None or not (caller.may(READ_ANY) or caller.submitted(record.actor, record.created_at)):
            raise NotFoundError(f"no decision {decision_id!r}", location="decision_id")
        return load_target(session, decision_id)


def _record_read(request: Request, decision_id: str, actor: str) -> None:
    ctx = context_of(request)
    with ctx.write_lock, ctx.session_factory() as session:
        store.append_access(
            session, actor=actor, channel=channel_of(request), purpose="questionnaire", decision_id=decision_id
        )
        session.commit()


@router.get(
    "/Questionnaire/{questionnaire_id}",
    summary="The open questions of a decision, as an SDC Questionnaire (the read is recorded)",
    responses={200: _FHIR_OK, **error_responses(400, 401, 403, 404, 503)},
)
async def read_questionnaire(
    request: Request,
    questionnaire_id: Annotated[str, Path(pattern=r"^q-[A-Za-z0-9\-.]{1,62}$", description="q-<decision id>")],
    caller: Annotated[Principal, require(READ, "read decisions")],
) -> FhirResponse:
    decision_id = decision_of_questionnaire(questionnaire_id)
    target = await run_in_threadpool(load_visible_target, request, decision_id, caller=caller)
    if not target.groups:
        raise NotFoundError(f"decision {decision_id} has no open questions", location="questionnaire_id (path)")
    await run_in_threadpool(_record_read, request, decision_id, caller.name)
    request.state.audited = True
    return FhirResponse(target.questionnaire(fhir_base(request)))


def answers_result(decision: Decision, provenance: dict[str, Any], *, base_url: str) -> dict[str, Any]:
    """What `$drg-candidacy` answers, for the new decision: the FHIR resources show the attribution; the
    `decision` parameter is the record exactly as stored; two parameters name where it came from."""
    result = operation_result(decision, base_url=base_url)
    bundle = result_bundle(attributed(decision, provenance), base_url=base_url)
    guidance = bundle["entry"][0]["resource"]
    guidance["note"] = [*guidance.get("note", []), *({"text": t} for t in attribution_notes(decision, provenance))]
    result["parameter"][0]["resource"] = bundle
    result["parameter"] += [
        {"name": "supersedes", "valueReference": {"reference": f"GuidanceResponse/{provenance['supersedes']}"}},
        {"name": "questionnaireResponse", "valueReference": {"reference": provenance["questionnaire_response"]}},
    ]
    return result


async def redecide(
    request: Request, target: Target, response: Any, *, actor: str, base_url: str, channel: str | None = None
) -> Decision:
    """Check, extract, evaluate in a worker under the old decision's policy and as_of, record; raises the
    AnswerError (an InputError) of a bad response, for the caller to record as a rejection."""
    ctx = context_of(request)
    with ctx.read_session() as session:
        successor = successor_of(session, target.decision.decision_id)
    if successor is not None:
        raise InputError(
            f"decision {target.decision.decision_id} was already answered; its questions now belong to decision "
            f"{successor}",
            location="QuestionnaireResponse.questionnaire",
        )
    today = datetime.now(UTC).date().isoformat()  # the edge reads the clock: the day the answers arrived
    combined = await run_in_threadpool(
        prepare_answers, target, response, answered_by=actor, answered_on=today, base_url=base_url
    )
    day = target.decision.as_of
    result = await ctx.evaluator.evaluate(combined.raw, as_of=date.fromisoformat(day), policy=target.policy_key)
    if isinstance(result, Rejected):
        raise result.error
    assert isinstance(result, Evaluated)
    decision = await ctx.write(
        record_superseding,
        result,
        provenance=combined.provenance,
        actor=actor,
        channel=channel or channel_of(request),
        session_factory=ctx.session_factory,
    )
    request.state.audited = True
    return decision


@router.post(
    "/QuestionnaireResponse",
    summary="Answer a decision's open questions; returns the new decision as $drg-candidacy does",
    description="The QuestionnaireResponse's `questionnaire` (…/Questionnaire/q-<decision id>) says which decision "
    "it answers and `subject` must be that decision's patient. The answers become FHIR resources (derivedFrom "
    "the response) added to the decision's stored input; the new decision, made under the same policy and as_of, "
    "supersedes the old one. A response that does not match its questionnaire is a 400 OperationOutcome naming "
    "the item. Everything is recorded before the answer leaves.",
    openapi_extra=json_body(_QR_SCHEMA, "application/fhir+json", "application/json"),
    responses={200: _FHIR_OK, **error_responses(400, 401, 403, 404, 408, 413, 415, 503)},
)
async def answer_questions(
    request: Request, caller: Annotated[Principal, require(SUBMIT, "answer questions")]
) -> FhirResponse:
    settings = context_of(request).settings
    body = await read_body(request, max_bytes=settings.api_max_body_bytes, timeout_s=settings.api_request_timeout_s)
    check_content_type(request, JSON_TYPES)
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc}", location="body") from exc
    check_document(document, body, root="QuestionnaireResponse")
    if not isinstance(document, dict) or document.get("resourceType") != "QuestionnaireResponse":
        raise InputError("the body must be a QuestionnaireResponse", location="resourceType")
    decision_id = decision_of_questionnaire(str(document.get("questionnaire", "")))
    target = await run_in_threadpool(load_visible_target, request, decision_id, caller=caller)
    if target.groups == []:
        raise InputError(
            f"decision {decision_id} has no open questions", location="QuestionnaireResponse.questionnaire"
        )
    base = fhir_base(request)
    decision = await redecide(request, target, document, actor=caller.name, base_url=base)
    with context_of(request).read_session() as session:
        provenance = store.get_decision_record(session, decision.decision_id)
    assert provenance is not None
    return FhirResponse(answers_result(decision, provenance.data()["answers"], base_url=base))
