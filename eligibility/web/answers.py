"""The referrer's form for a decision's open questions, and what the case page shows of answers.

    GET  /ui/decisions/{id}/answers    the Questionnaire rendered as an HTML form (server side, no script)
    POST /ui/decisions/{id}/answers    the answers: checked as the FHIR door checks them; problems shown
                                       beside the fields (and recorded as a rejection); else the new
                                       decision is made and recorded, and the browser goes to its case page

Only a referrer who submitted the decision (or an admin) answers it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from eligibility.answers.flow import Target, load_target, successor_of
from eligibility.answers.form import field_name, response_from_fields, rows_of
from eligibility.answers.responses import Problem, problems_of
from eligibility.api.auth import READ_ANY, SUBMIT
from eligibility.api.context import context_of
from eligibility.api.routes_answers import redecide
from eligibility.api.routes_fhir import fhir_base
from eligibility.audit import store
from eligibility.errors import InputError
from eligibility.service import Rejected, record_batch
from eligibility.web.case import CHANNEL
from eligibility.web.pages import HtmlRoute, PageError, Viewer, check_csrf, form_fields, render, signed_in

__all__ = ["router"]

router = APIRouter(prefix="/ui", route_class=HtmlRoute, include_in_schema=False, default_response_class=HTMLResponse)
_DecisionId = Annotated[str, Path(pattern=r"^[A-Za-z0-9\-.]{1,64}$")]


def _target(request: Request, decision_id: str, viewer: Viewer) -> tuple[Target, str | None]:
    missing = PageError(404, "No such decision", f"There is no decision {decision_id} in the audit trail.")
    with context_of(request).read_session() as session:
        record = store.get_decision_record(session, decision_id)
        if record is None:
            raise missing
        if not (viewer.may(READ_ANY) or viewer.principal.submitted(record.actor, record.created_at)):
            raise missing  # another referrer's decision is answered as a missing one
        return load_target(session, decision_id), successor_of(session, decision_id)


def _form_page(
    request: Request,
    target: Target,
    *,
    fields: dict[str, str] | None = None,
    problems: list[Problem] | None = None,
    status: int = 200,
    successor: str | None = None,
) -> HTMLResponse:
    problems = problems or []
    by_field: dict[str, list[str]] = {}
    for problem in problems:
        by_field.setdefault(problem.link_id or "", []).append(problem.message)
    return render(
        request,
        "answers.html.j2",
        status_code=status,
        d=target.decision,
        groups=[(g, rows_of(g)) for g in target.groups],
        field_name=field_name,
        fields=fields or {},
        messages=by_field,
        problems=problems,
        successor=successor,
    )


@router.get("/decisions/{decision_id}/answers")
async def answers_form(
    request: Request, decision_id: _DecisionId, viewer: Annotated[Viewer, signed_in(SUBMIT, "answer questions")]
) -> HTMLResponse:
    target, successor = _target(request, decision_id, viewer)
    return _form_page(request, target, successor=successor)


def _record_refused(request: Request, problems: list[Problem], raw: bytes, actor: str, as_of: str) -> None:
    error = InputError(
        problems[0].message + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
        location=problems[0].location,
    )
    # Called through ApiContext.write, which holds the write lock already.
    record_batch(
        [Rejected(error=error, raw=raw, as_of=date.fromisoformat(as_of), policy=None)],
        actor=actor,
        channel=CHANNEL,
        session_factory=context_of(request).session_factory,
    )


@router.post("/decisions/{decision_id}/answers")
async def submit_answers(
    request: Request, decision_id: _DecisionId, viewer: Annotated[Viewer, signed_in(SUBMIT, "answer questions")]
) -> Response:
    fields = await form_fields(request)
    check_csrf(request, viewer, fields)
    target, successor = _target(request, decision_id, viewer)
    if successor is not None:
        return RedirectResponse(f"/ui/decisions/{successor}", status_code=303)
    base = fhir_base(request)
    authored = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # the edge reads the clock: when it was sent
    response, problems = response_from_fields(
        target.groups,
        fields,
        questionnaire=target.canonical_url(base),
        subject=target.decision.patient.reference,
        authored=authored,
    )
    if not problems:
        _, problems = problems_of(target.groups, {**response, "id": "form"}, decision=target.decision, base_url=base)
    if problems:
        await context_of(request).write(
            _record_refused, request, problems, orjson.dumps(response), viewer.name, target.decision.as_of
        )
        return _form_page(request, target, fields=fields, problems=problems, status=400)
    try:
        decision = await redecide(request, target, response, actor=viewer.name, base_url=base, channel=CHANNEL)
    except InputError as error:
        problem = Problem(None, error.location or "", error.message)
        return _form_page(request, target, fields=fields, problems=[problem], status=400)
    return RedirectResponse(f"/ui/decisions/{decision.decision_id}?answered=1", status_code=303)
