"""CDS Hooks 2.0: discovery, the two services (patient-view, order-select) and their feedback endpoints.

Every call carries the CDS client's signed JWT (see cds_auth). A service call is evaluated like the
FHIR operation (worker, then the audit trail, then the answer); its card links to the decision
through a signed link; feedback becomes a review of that decision in the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from eligibility.api.auth import CdsCaller
from eligibility.api.cards import IssuedCard, insert_card
from eligibility.api.context import base_url, context_of
from eligibility.api.feedback import record_feedback
from eligibility.api.fetch import complete_bundle
from eligibility.api.limits import JSON_TYPES, check_content_type, read_body
from eligibility.api.recording import evaluate_recorded, record_access
from eligibility.api.responses import JsonResponse
from eligibility.api.routes_fhir import fhir_base
from eligibility.api.schemas import (
    CdsRequest,
    FeedbackRequest,
    error_responses,
    json_body,
    model_ref,
    parse_json,
    parse_model,
    validate,
)
from eligibility.errors import InputError
from eligibility.service import Evaluated
from fhir_adapters.cds_hooks import (
    ORDER_SERVICE_ID,
    SERVICE_ID,
    card_uuid,
    decision_to_cards,
    selects_neurostimulation,
    service_definition,
    with_warnings,
)

__all__ = ["router"]

router = APIRouter(prefix="/cds-services", tags=["CDS Hooks"], default_response_class=JsonResponse)

_RELAXED = frozenset({"development", "test"})  # where fhirServer may be plain http
_JSON_OK = {"content": {"application/json": {"schema": {"type": "object"}}}}
_CALL_ERRORS = error_responses(400, 401, 403, 408, 412, 413, 415, 422, 503)


@router.get("", summary="CDS Hooks discovery", responses={200: _JSON_OK, **error_responses(401)})
def discovery(_client: CdsCaller) -> JsonResponse:
    return JsonResponse(service_definition())


async def _body(request: Request) -> bytes:
    settings = context_of(request).settings
    body = await read_body(request, max_bytes=settings.api_max_body_bytes, timeout_s=settings.api_request_timeout_s)
    check_content_type(request, JSON_TYPES)
    return body


async def _call(request: Request, client: CdsCaller, service_id: str, hook: str) -> JsonResponse:
    ctx = context_of(request)
    document = parse_json(await _body(request))
    call = validate(CdsRequest, document)
    if call.hook != hook:
        raise InputError(f"service {service_id} answers the {hook} hook, not {call.hook!r}", location="hook")
    request.state.as_of = day = date.today()  # the API edge reads the clock; the engine never does
    if hook == "order-select" and not selects_neurostimulation(call.context):
        await record_access(
            request,
            purpose="cds-order-select-not-applicable",
            query={"hookInstance": call.hookInstance, "selections": call.context.get("selections")},
        )
        return JsonResponse({"cards": []})
    issuer = ctx.cds.issuers[client.iss]
    bundle = await complete_bundle(
        document,
        client=ctx.http,
        timeout_s=ctx.settings.api_fhir_fetch_timeout_s,
        allowed_servers=issuer.fhir_servers,
        require_https=ctx.settings.environment not in _RELAXED,
    )

    def card_of(result: Evaluated) -> IssuedCard | None:
        decision = result.decision
        if hook == "patient-view" and decision.criterion("qualifying_diagnosis").status == "unknown":
            # patient-view fires on every chart opened; most patients have no pain diagnosis at all, and a
            # card for each would train clinicians to ignore the service. The decision is still recorded.
            return None
        return IssuedCard(card_uuid(decision.decision_id), decision.decision_id, service_id, client.actor)

    def card_row(result: Evaluated) -> Callable[[Session], None] | None:
        card = card_of(result)
        return None if card is None else partial(insert_card, card=card)

    # The card's row is committed with the decision, in one transaction: one commit per call, not two.
    result = await evaluate_recorded(request, bundle, as_of=day, also=card_row)
    decision = result.decision
    if card_of(result) is None:
        return JsonResponse(with_warnings({"cards": []}, result.unread_problems))
    link = ctx.links.url(base_url(request), decision.decision_id, issued_to=client.actor)
    cards = decision_to_cards(decision, base_url=fhir_base(request), decision_url=link)
    return JsonResponse(with_warnings(cards, result.unread_problems))


async def _feedback(request: Request, client: CdsCaller, service_id: str) -> JsonResponse:
    body = await _body(request)
    feedback = parse_model(FeedbackRequest, body)
    recorded = await run_in_threadpool(record_feedback, request, client, service_id, feedback)
    return JsonResponse({"feedback": recorded})


def _register(service_id: str, hook: str) -> None:
    async def call(request: Request, client: CdsCaller) -> JsonResponse:
        return await _call(request, client, service_id, hook)

    async def feedback(request: Request, client: CdsCaller) -> JsonResponse:
        return await _feedback(request, client, service_id)

    router.add_api_route(
        f"/{service_id}",
        call,
        methods=["POST"],
        name=f"{service_id}-call",
        summary=f"CDS service for {hook}: cards explaining the DRG candidacy decision",
        openapi_extra=json_body(model_ref(CdsRequest)),
        responses={200: _JSON_OK, **_CALL_ERRORS},
    )
    router.add_api_route(
        f"/{service_id}/feedback",
        feedback,
        methods=["POST"],
        name=f"{service_id}-feedback",
        summary="CDS Hooks feedback: a card accepted or overridden, recorded as a review of its decision",
        openapi_extra=json_body(model_ref(FeedbackRequest)),
        responses={200: _JSON_OK, **error_responses(400, 401, 403, 404, 408, 413, 415, 503)},
    )


_register(SERVICE_ID, "patient-view")
_register(ORDER_SERVICE_ID, "order-select")
