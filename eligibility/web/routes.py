"""The `/ui` pages: login, the specialist's worklist and case pages, the compliance dashboard.

They sit beside the API on the same tokens, roles and audit trail: a page that shows a decision
records the read first (channel "web"), a review goes through `eligibility.service.record_review`,
and the dashboard and downloads take their numbers from `reports.compliance` like the CLI does.
The pages are left out of the OpenAPI document on purpose: they are for browsers, not API clients.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from eligibility.api.auth import AUDIT, READ, READ_ANY, REVIEW
from eligibility.api.context import context_of
from eligibility.api.users import Role, find_by_token, token_sha256
from eligibility.audit import store
from eligibility.audit.checkpoints import signer_from_settings
from eligibility.audit.database import SessionFactory
from eligibility.audit.verify import verify
from eligibility.decision import OUTCOMES
from eligibility.errors import InputError
from eligibility.review_reasons import REVIEW_REASONS
from eligibility.service import record_review
from eligibility.web.case import CHANNEL, Case, find_resource, load_case, record_read, resource_rows
from eligibility.web.chart import pain_chart_svg
from eligibility.web.pages import HtmlRoute, PageError, Viewer, check_csrf, form_fields, render, signed_in, signer_of
from eligibility.web.sign_in import LOGIN_COOKIE, SESSION_COOKIE, SESSION_TTL_S
from eligibility.web.sign_in_records import end_session, open_session
from eligibility.web.worklist import REVIEW_STATES, STAGES, Filters, load_worklist
from reports.compliance import compliance_summary, load_period
from reports.evidence_pack import evidence_pack_pdf
from reports.patients import with_patients
from reports.render import compliance_csv, compliance_html, format_cell, html_to_pdf, report_tables

__all__ = ["REASON_CODES", "router"]

router = APIRouter(prefix="/ui", route_class=HtmlRoute, include_in_schema=False, default_response_class=HTMLResponse)

# The coded reasons a specialist picks from (the review record keeps the code; the comment says more).
REASON_CODES = REVIEW_REASONS
_MAX_COMMENT = 2000
_ID = r"^[A-Za-z0-9\-.]{1,64}$"
_DecisionId = Annotated[str, Path(pattern=_ID)]
_REFERENCE_TYPE = re.compile(r"^[A-Z][A-Za-z]{1,63}$")
_HEADLINE = (  # the dashboard's headline block: ComplianceReport.headline, labelled as in the report
    ("decisions", "Decisions"),
    ("rejections", "Rejected submissions"),
    ("reviews", "Reviews"),
    ("accepts", "Accepted"),
    ("overrides", "Overridden"),
    ("override_rate", "Override rate"),
    ("awaiting_review", "Decisions awaiting review at the period's end"),
    ("screening_only", "Screening decisions not promoted to review"),
    ("median_hours_to_review", "Median hours to first review"),
    ("decision_reads", "Reads of decisions"),
    ("completed_by_questionnaire", "Decisions completed by questionnaire"),
    ("median_hours_to_answer", "Median hours from data request to answer"),
)


def _secure(request: Request) -> bool:
    base = context_of(request).settings.api_base_url or str(request.base_url)
    return base.startswith("https://")


def _safe_next(target: str | None) -> str:
    # Only a path of ours: never an absolute or protocol-relative URL (open redirect).
    if target and target.startswith("/ui/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/ui/worklist"


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise PageError(400, "Bad date", f"{name} must be a date like 2026-06-01, not {value!r}.") from exc


def _choice(value: str | None, allowed: tuple[str, ...], name: str) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise PageError(400, "Bad filter", f"{name} must be one of: {', '.join(allowed)}.")
    return value


# --- signing in ----------------------------------------------------------------------------------


@router.get("")
@router.get("/")  # the README's address, with the slash
def home() -> RedirectResponse:
    return RedirectResponse("/ui/worklist", status_code=303)


def _login_page(request: Request, next_url: str, *, error: str | None = None, status: int = 200) -> Response:
    nonce = secrets.token_urlsafe(16)
    csrf = signer_of(request).login_csrf(nonce)  # the form's token is signed, not the cookie's value
    response = render(request, "login.html.j2", status_code=status, csrf=csrf, next_url=next_url, error=error)
    response.set_cookie(
        LOGIN_COOKIE, nonce, max_age=900, httponly=True, samesite="strict", secure=_secure(request), path="/ui"
    )
    return response


@router.get("/login")
def login_form(
    request: Request, next_url: Annotated[str | None, Query(alias="next", max_length=500)] = None
) -> Response:
    return _login_page(request, _safe_next(next_url))


@router.post("/login")
async def login(request: Request) -> Response:
    fields = await form_fields(request)
    next_url = _safe_next(fields.get("next"))
    if not signer_of(request).login_csrf_valid(request.cookies.get(LOGIN_COOKIE, ""), fields.get("csrf", "")):
        return _login_page(request, next_url, error="The login form expired. Please paste the token again.", status=403)
    token = fields.get("token", "").strip()

    def lookup() -> Any:
        with context_of(request).read_session() as session:
            return find_by_token(session, token)

    user = await run_in_threadpool(lookup) if token else None
    if user is None:
        message = "That token is unknown or revoked. Paste the whole token, starting with drg_."
        return _login_page(request, next_url, error=message, status=401)
    cookie, issued = signer_of(request).issue(token_sha256(token))
    ctx = context_of(request)

    def record_login() -> None:  # the server-side session, and the login in the audit trail
        with ctx.write_lock, ctx.session_factory() as db:
            open_session(db, nonce=issued.nonce, user_name=user.name, expires=issued.expires, channel=CHANNEL)
            db.commit()

    await run_in_threadpool(record_login)
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        SESSION_COOKIE, cookie, max_age=SESSION_TTL_S, httponly=True, samesite="strict",
        secure=_secure(request), path="/ui",
    )  # fmt: skip
    response.delete_cookie(LOGIN_COOKIE, path="/ui")
    return response


@router.post("/logout")
async def logout(request: Request, viewer: Annotated[Viewer, signed_in(READ, "sign out")]) -> Response:
    check_csrf(request, viewer, await form_fields(request))
    ctx = context_of(request)

    def record_logout() -> None:  # a copied cookie stops working now, not in 8 hours
        with ctx.write_lock, ctx.session_factory() as db:
            end_session(db, nonce=viewer.session.nonce, user_name=viewer.name, channel=CHANNEL)
            db.commit()

    await run_in_threadpool(record_logout)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/ui")
    return response


# --- the worklist --------------------------------------------------------------------------------


@router.get("/worklist")
def worklist(
    request: Request,
    viewer: Annotated[Viewer, signed_in(READ, "see decisions")],
    outcome: Annotated[str | None, Query(max_length=40)] = None,
    stage: Annotated[str | None, Query(max_length=20)] = None,
    referrer: Annotated[str | None, Query(max_length=200)] = None,
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    state: Annotated[str | None, Query(max_length=10)] = None,
    patient: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1, le=10_000_000)] = 1,
) -> Response:
    filters = Filters(
        outcome=_choice(outcome, OUTCOMES, "Outcome"),
        stage=_choice(stage, STAGES, "Stage"),
        referrer=referrer or None,
        start=_day(start, "From"),
        end=_day(end, "To"),
        state=_choice(state, REVIEW_STATES, "Review state") or "awaiting",  # type: ignore[arg-type]
        patient=(patient or "").strip() or None,
    )
    if filters.start and filters.end and filters.end < filters.start:
        raise PageError(400, "Bad date range", "The 'to' date is before the 'from' date.")
    # A referrer sees only what they submitted (as the API's "read own").
    only = viewer.principal if viewer.role == Role.REFERRER else None
    with context_of(request).read_session() as session:
        found = load_worklist(session, filters, page=page, only_referrer=only)
    return render(
        request, "worklist.html.j2", worklist=found, filters=filters, outcomes=OUTCOMES, stages=STAGES,
        params=filter_params(filters),
    )  # fmt: skip


def filter_params(filters: Filters) -> dict[str, str | None]:
    """The query parameters that reproduce `filters` (for page and outcome links)."""
    return {
        "state": filters.state,
        "outcome": filters.outcome,
        "stage": filters.stage,
        "referrer": filters.referrer,
        "from": filters.start.isoformat() if filters.start else None,
        "to": filters.end.isoformat() if filters.end else None,
        "patient": filters.patient,
    }


# --- a case --------------------------------------------------------------------------------------


def _read_case(factory: SessionFactory, decision_id: str, viewer: Viewer, purpose: str) -> Case:
    with factory() as session:
        record = store.get_decision_record(session, decision_id)
        if record is None:
            raise PageError(404, "No such decision", f"There is no decision {decision_id} in the audit trail.")
        if not viewer.may(READ_ANY) and not viewer.principal.submitted(record.actor, record.created_at):
            # As for a missing decision: a 403 told the referrer that another's decision exists.
            raise PageError(404, "No such decision", f"There is no decision {decision_id} in the audit trail.")
        record_read(session, decision_id, actor=viewer.name, purpose=purpose)
        return load_case(session, decision_id)


async def _case_page(
    request: Request, decision_id: str, viewer: Viewer, *, status: int = 200, **extra: Any
) -> HTMLResponse:
    ctx = context_of(request)
    case = await ctx.write(_read_case, ctx.session_factory, decision_id, viewer, "web-case")
    return render(
        request,
        "case.html.j2",
        status_code=status,
        case=case,
        d=case.decision,
        chart=pain_chart_svg(case.pain, case.treatments, threshold=case.pain_threshold),
        reasons=REASON_CODES,
        outcomes=[o for o in OUTCOMES if o != case.decision.outcome],
        may_review=viewer.may(REVIEW),
        may_audit=viewer.may(AUDIT),
        **extra,
    )


@router.get("/decisions/{decision_id}")
async def case_page(
    request: Request,
    decision_id: _DecisionId,
    viewer: Annotated[Viewer, signed_in(READ, "open decisions")],
    saved: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    return await _case_page(request, decision_id, viewer, saved=saved)


@router.get("/decisions/{decision_id}/resources/{resource_type}/{resource_id}")
async def evidence(
    request: Request,
    decision_id: _DecisionId,
    resource_type: Annotated[str, Path(max_length=64)],
    resource_id: Annotated[str, Path(pattern=_ID)],
    viewer: Annotated[Viewer, signed_in(READ, "open evidence")],
) -> HTMLResponse:
    if not _REFERENCE_TYPE.match(resource_type):
        raise PageError(400, "Bad reference", f"{resource_type!r} is not a FHIR resource type.")
    reference = f"{resource_type}/{resource_id}"
    ctx = context_of(request)

    def read() -> tuple[Case, dict[str, Any]]:
        case = _read_case(ctx.session_factory, decision_id, viewer, "web-evidence")
        with ctx.read_session() as session:
            return case, find_resource(session, decision_id, reference)

    try:
        case, resource = await ctx.write(read)
    except InputError as exc:
        raise PageError(404, "Not in the record", exc.message) from exc
    pretty = orjson.dumps(resource, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode("utf-8")
    return render(
        request,
        "evidence.html.j2",
        d=case.decision,
        reference=reference,
        resource_json=pretty,
        rows=resource_rows(resource)[:500],
    )


@router.post("/decisions/{decision_id}/review")
async def review(
    request: Request,
    decision_id: _DecisionId,
    viewer: Annotated[Viewer, signed_in(REVIEW, "review decisions")],
) -> Response:
    fields = await form_fields(request)
    check_csrf(request, viewer, fields)
    action = fields.get("action", "")
    reason = fields.get("reason_code", "")
    comment = fields.get("comment", "").strip()
    outcome = fields.get("outcome") or None
    problems = []
    if action not in {"accept", "override"}:
        problems.append("Choose accept or override.")
    if reason not in REASON_CODES:
        problems.append("Choose a reason.")
    if action == "override" and outcome is None:
        problems.append("An override needs the outcome you decided on.")
    if action == "override" and not comment:
        problems.append("An override needs a comment explaining it.")
    if len(comment) > _MAX_COMMENT:
        problems.append(f"The comment is longer than {_MAX_COMMENT} characters.")
    if not problems:
        ctx = context_of(request)
        try:
            await ctx.write(
                record_review,
                decision_id,
                reviewer=viewer.name,
                action="override" if action == "override" else "accept",
                reason_code=reason,
                comment=comment,
                outcome=outcome if action == "override" else None,
                channel=CHANNEL,
                session_factory=ctx.session_factory,
            )
        except InputError as exc:
            problems.append(exc.message)
        else:
            return RedirectResponse(f"/ui/decisions/{decision_id}?saved={action}#review", status_code=303)
    return await _case_page(request, decision_id, viewer, status=400, problems=problems, form=fields)


@router.get("/decisions/{decision_id}/evidence-pack.pdf")
async def evidence_pack(
    request: Request, decision_id: _DecisionId, viewer: Annotated[Viewer, signed_in(AUDIT, "download evidence packs")]
) -> Response:
    ctx = context_of(request)

    def produce() -> bytes:
        # The read is committed first, so the pack lists its own read (as the CLI's).
        with ctx.session_factory() as session:
            if store.get_decision_record(session, decision_id) is None:
                raise PageError(404, "No such decision", f"There is no decision {decision_id} in the audit trail.")
            record_read(session, decision_id, actor=viewer.name, purpose="evidence-pack")
        with ctx.read_session() as session:
            return evidence_pack_pdf(
                session, decision_id, signer=signer_from_settings(ctx.settings), generated_by=viewer.name
            )

    pdf = await ctx.write(produce)
    headers = {
        "Content-Disposition": f'attachment; filename="evidence-pack-{decision_id}.pdf"',
        "Cache-Control": "no-store",
    }
    return Response(pdf, media_type="application/pdf", headers=headers)


# --- compliance ----------------------------------------------------------------------------------


def _period(start: str | None, end: str | None) -> tuple[date, date]:
    today = datetime.now(UTC).date()
    first = _day(start, "From") or today.replace(day=1)
    last = _day(end, "To") or today
    if last < first:
        raise PageError(400, "Bad period", "The 'to' date is before the 'from' date.")
    return first, last


def _report(request: Request, viewer: Viewer, first: date, last: date, purpose: str, output: str) -> Any:
    """The period's ComplianceReport, after recording the query (like `report compliance`)."""
    ctx = context_of(request)
    with ctx.session_factory() as session:
        query = {"from": first.isoformat(), "to": last.isoformat(), "format": output}
        store.append_access(session, actor=viewer.name, channel=CHANNEL, purpose=purpose, query=query)
        session.commit()
    with ctx.read_session() as session:
        frames = load_period(session, start=first, end=last)
        report = compliance_summary(frames, verification=verify(session, signer=signer_from_settings(ctx.settings)))
        # Only compliance and admin reach the reports, and both may read every decision: Table 7 names patients.
        return with_patients(session, report) if viewer.may(READ_ANY) else report


@router.get("/compliance")
async def dashboard(
    request: Request,
    viewer: Annotated[Viewer, signed_in(AUDIT, "see the compliance dashboard")],
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> HTMLResponse:
    first, last = _period(start, end)
    report = await context_of(request).write(_report, request, viewer, first, last, "compliance-dashboard", "web")
    headline = [(label, format_cell(key, getattr(report.headline, key))) for key, label in _HEADLINE]
    return render(
        request, "dashboard.html.j2", report=report, headline=headline, tables=report_tables(report),
        first=first, last=last,
    )  # fmt: skip


@router.get("/compliance/report")
async def report_download(
    request: Request,
    viewer: Annotated[Viewer, signed_in(AUDIT, "download compliance reports")],
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    output: Annotated[str, Query(alias="format", pattern="^(html|pdf|csv)$")] = "html",
) -> Response:
    first, last = _period(start, end)
    ctx = context_of(request)
    report = await ctx.write(_report, request, viewer, first, last, "compliance-report", output)

    def produce() -> bytes:
        if output == "csv":
            return compliance_csv(report).encode("utf-8")
        html = compliance_html(report, generated_by=viewer.name)
        return html_to_pdf(html) if output == "pdf" else html.encode("utf-8")

    data = await run_in_threadpool(produce)
    media = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf", "html": "text/html; charset=utf-8"}[output]
    name = f"compliance-{first.isoformat()}-to-{last.isoformat()}.{output}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(data, media_type=media, headers=headers)


# --- anything else under /ui ---------------------------------------------------------------------


@router.get("/{rest:path}")
def not_found(request: Request, rest: str) -> HTMLResponse:
    raise PageError(404, "Page not found", f"There is no page /ui/{rest}. Start from the worklist.")
