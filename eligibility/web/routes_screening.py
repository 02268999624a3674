"""The `/ui/screening` pages: batch runs, a run's decisions (paged, candidates named), its CSV, and
"promote to review".

Who may see what: the screening list names patients from every run, so it needs "read any"
(specialist, compliance, admin), as a case page of another's decision does; promoting a candidate
to the review queue needs "review" (specialist, admin). A CSV download is recorded in the trail as
an access (it carries names and MRNs out of the application); a promotion is its own record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from eligibility.api.auth import READ_ANY, REVIEW
from eligibility.api.context import context_of
from eligibility.audit import store
from eligibility.audit.database import SessionFactory
from eligibility.audit.promotion import append_promotion
from eligibility.decision import OUTCOMES
from eligibility.errors import InputError
from eligibility.web.case import CHANNEL
from eligibility.web.pages import HtmlRoute, PageError, Viewer, check_csrf, form_fields, list_href, render, signed_in
from eligibility.web.screening import load_run, load_runs, run_csv_lines, run_exists
from eligibility.web.worklist import Filters

__all__ = ["router"]

router = APIRouter(prefix="/ui", route_class=HtmlRoute, include_in_schema=False, default_response_class=HTMLResponse)

_ID = r"^[A-Za-z0-9\-.]{1,64}$"
_RunId = Annotated[str, Path(pattern=_ID)]
_Page = Annotated[int, Query(ge=1, le=10_000_000)]


def _no_run(run_id: str) -> PageError:
    return PageError(404, "No such screening run", f"There is no screening run {run_id} in the audit trail.")


@router.get("/screening")
def runs_page(
    request: Request, viewer: Annotated[Viewer, signed_in(READ_ANY, "see screening runs")], page: _Page = 1
) -> Response:
    with context_of(request).read_session() as session:
        found = load_runs(session, page=page)
    return render(request, "screening_runs.html.j2", runs=found, outcomes=OUTCOMES, params={})


@router.get("/screening/{run_id}")
def run_page(
    request: Request,
    run_id: _RunId,
    viewer: Annotated[Viewer, signed_in(READ_ANY, "see screening runs")],
    outcome: Annotated[str | None, Query(max_length=40)] = None,
    patient: Annotated[str | None, Query(max_length=100)] = None,
    page: _Page = 1,
    promoted: Annotated[str | None, Query(pattern=_ID)] = None,
) -> Response:
    if outcome and outcome not in OUTCOMES:
        raise PageError(400, "Bad filter", f"Outcome must be one of: {', '.join(OUTCOMES)}.")
    filters = Filters(outcome=outcome or None, patient=(patient or "").strip() or None, state="all")
    with context_of(request).read_session() as session:
        found = load_run(session, run_id, filters, page=page)
    if found is None:
        raise _no_run(run_id)
    params = {"outcome": filters.outcome, "patient": filters.patient}
    return render(
        request, "screening_run.html.j2", run=found.run, found=found, filters=filters, outcomes=OUTCOMES,
        params=params, may_promote=viewer.may(REVIEW), promoted=promoted,
    )  # fmt: skip


@router.get("/screening/{run_id}/decisions.csv")
async def run_csv(
    request: Request, run_id: _RunId, viewer: Annotated[Viewer, signed_in(READ_ANY, "download screening runs")]
) -> Response:
    ctx = context_of(request)

    def record_export() -> None:  # before any byte leaves: the names in it are patient data
        with ctx.read_session() as session:
            if not run_exists(session, run_id):
                raise _no_run(run_id)
        with ctx.session_factory() as session:
            query = {"run": run_id, "format": "csv"}
            store.append_access(session, actor=viewer.name, channel=CHANNEL, purpose="screening-export", query=query)
            session.commit()

    await ctx.write(record_export)

    def lines() -> Iterator[str]:
        with ctx.read_session() as session:
            yield from run_csv_lines(session, run_id)

    headers = {"Content-Disposition": f'attachment; filename="screening-{run_id}.csv"', "Cache-Control": "no-store"}
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=headers)


def _promote(factory: SessionFactory, decision_id: str, promoter: str) -> str:
    """Record the promotion; returns the run the decision belongs to (the page to go back to)."""
    with factory() as session:
        if store.get_decision_record(session, decision_id) is None:
            raise PageError(404, "No such decision", f"There is no decision {decision_id} in the audit trail.")
        record = append_promotion(session, decision_id=decision_id, promoter=promoter, channel=CHANNEL)
        session.commit()
        return str(record.data()["run"])


@router.post("/decisions/{decision_id}/promote")
async def promote(
    request: Request,
    decision_id: Annotated[str, Path(pattern=_ID)],
    viewer: Annotated[Viewer, signed_in(REVIEW, "promote screening decisions to review")],
) -> Response:
    fields = await form_fields(request)
    check_csrf(request, viewer, fields)
    ctx = context_of(request)
    try:
        run_id = await ctx.write(_promote, ctx.session_factory, decision_id, viewer.name)
    except InputError as exc:
        raise PageError(409, "Not promoted", exc.message) from exc
    # Back to the page of the run the screener was on, filters kept (values checked as the page checks them).
    back = {
        "outcome": fields.get("outcome") if fields.get("outcome") in OUTCOMES else None,
        "patient": fields.get("patient", "")[:100] or None,
        "page": fields.get("page") if fields.get("page", "").isdigit() else None,
        "promoted": decision_id,
    }
    return RedirectResponse(list_href(f"/ui/screening/{run_id}", back), status_code=303)
