"""Decisions beyond FHIR: the link a card carries (on to the web app's case page), a specialist's review,
the audit history, health."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.exc import SQLAlchemyError

from eligibility.api.auth import AUDIT, REVIEW, Principal, require
from eligibility.api.context import context_of
from eligibility.api.errors import NotFoundError, PermissionDeniedError
from eligibility.api.limits import JSON_TYPES, check_content_type, read_body
from eligibility.api.recording import channel_of
from eligibility.api.responses import JsonResponse
from eligibility.api.routes_fhir import FHIR_ID
from eligibility.api.schemas import ReviewRequest, error_responses, json_body, model_ref, parse_model
from eligibility.audit import store
from eligibility.audit.database import SessionFactory
from eligibility.errors import AuditError
from eligibility.service import record_review

__all__ = ["router"]

router = APIRouter(tags=["Decisions"], default_response_class=JsonResponse)

_DecisionId = Annotated[str, Path(pattern=FHIR_ID, description="The decision id.")]
_JSON_OK = {"content": {"application/json": {"schema": {"type": "object"}}}}


def _record_link_opened(factory: SessionFactory, decision_id: str, *, actor: str, channel: str) -> bool:
    """The card link's use, in the trail (attributed to whom the card was issued); False: no such decision."""
    try:
        with factory() as session:
            if store.get_decision_record(session, decision_id) is None:
                return False
            store.append_access(session, actor=actor, channel=channel, purpose="card-link", decision_id=decision_id)
            session.commit()
    except SQLAlchemyError as exc:
        raise AuditError(f"the audit trail could not record the opening of a card link: {exc}") from exc
    return True


@router.get(
    "/decisions/{decision_id}/view",
    summary="A CDS card's link (signed, expiring): recorded, then on to the case page of the web app",
    description="Answers 303 to `/ui/decisions/{id}`: the styled case page, behind the web app's sign-in "
    "(a browser without a session signs in first and comes back). The link alone never shows the decision.",
    response_class=RedirectResponse,
    status_code=303,
    responses={303: {"description": "to the case page"}, **error_responses(400, 403, 404, 503)},
)
async def view(
    request: Request,
    decision_id: _DecisionId,
    issued_to: Annotated[str, Query(alias="for", max_length=200)],
    expires: Annotated[int, Query(alias="exp")],
    signature: Annotated[str, Query(alias="sig", max_length=100)],
) -> RedirectResponse:
    ctx = context_of(request)
    if not ctx.links.valid(decision_id, issued_to=issued_to, expires=expires, signature=signature):
        raise PermissionDeniedError("the link is not valid or has expired; open the card again", location="sig")
    request.state.actor = f"link:{issued_to}"[:200]
    found = await ctx.write(
        _record_link_opened, ctx.session_factory, decision_id, actor=request.state.actor, channel=channel_of(request)
    )
    if not found:
        raise NotFoundError(f"no decision {decision_id!r}", location="decision_id (path)")
    request.state.audited = True
    # The decision itself is shown, and its read recorded, by the case page to the clinician signed in.
    return RedirectResponse(f"/ui/decisions/{decision_id}", status_code=303)


@router.post(
    "/decisions/{decision_id}/review",
    summary="A specialist accepts or overrides a decision (recorded in the audit trail)",
    openapi_extra=json_body(model_ref(ReviewRequest)),
    responses={200: _JSON_OK, **error_responses(400, 401, 403, 404, 408, 413, 415, 503)},
)
async def review(
    request: Request, decision_id: _DecisionId, caller: Annotated[Principal, require(REVIEW, "review decisions")]
) -> JsonResponse:
    settings = context_of(request).settings
    body = await read_body(request, max_bytes=settings.api_max_body_bytes, timeout_s=settings.api_request_timeout_s)
    check_content_type(request, JSON_TYPES)
    wanted = parse_model(ReviewRequest, body)
    record = await context_of(request).write(
        record_review,
        decision_id,
        reviewer=caller.name,
        action=wanted.action,
        reason_code=wanted.reason_code,
        comment=wanted.comment,
        outcome=wanted.outcome,
        channel=channel_of(request),
        session_factory=context_of(request).session_factory,
    )
    request.state.audited = True
    return JsonResponse({"decision": decision_id, "seq": record.seq, "record_id": record.record_id, **record.data()})


def _history(factory: SessionFactory, decision_id: str, *, actor: str, channel: str) -> list[dict[str, Any]]:
    """The history, after the access is committed (it is part of the history it returns)."""
    try:
        with factory() as session:
            if store.get_decision_record(session, decision_id) is None:
                raise NotFoundError(f"no decision {decision_id!r}", location="decision_id (path)")
            store.append_access(session, actor=actor, channel=channel, purpose="audit-history", decision_id=decision_id)
            session.commit()
            return [record.as_json() for record in store.decision_history(session, decision_id)]
    except SQLAlchemyError as exc:
        raise AuditError(f"the audit trail could not be read: {exc}") from exc


@router.get(
    "/audit/decisions/{decision_id}",
    summary="Everything the audit trail holds about a decision: the record, its reviews and reads",
    responses={200: _JSON_OK, **error_responses(400, 401, 403, 404, 503)},
)
async def history(
    request: Request, decision_id: _DecisionId, caller: Annotated[Principal, require(AUDIT, "read the audit trail")]
) -> JsonResponse:
    records = await context_of(request).write(
        _history, context_of(request).session_factory, decision_id, actor=caller.name, channel=channel_of(request)
    )
    request.state.audited = True
    return JsonResponse({"decision": decision_id, "records": records})


@router.get("/health", summary="Liveness (no credentials needed; no data)", responses={200: _JSON_OK})
def health() -> JsonResponse:
    return JsonResponse({"status": "ok"})
