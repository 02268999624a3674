"""Every call ends in the audit trail before its answer leaves: decisions, rejections, reads.

Routes evaluate through `evaluate_recorded`; whatever a route raises before recording anything is
recorded by the error handlers through `record_rejection`. `request.state.audited` marks a request
whose record is already written, so that nothing is recorded twice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.requests import Request

from eligibility.api.context import ApiContext, context_of
from eligibility.api.errors import NotFoundError, TooManyRefusalsError
from eligibility.api.refusals import Summary
from eligibility.audit import store
from eligibility.audit.database import SessionFactory
from eligibility.audit.models import KIND_REJECTION
from eligibility.decision import Decision
from eligibility.errors import AuditError
from eligibility.service import Evaluated, Rejected, read_decision, record_batch
from fhir_adapters import ReadProblem
from fhir_adapters.parsing import with_article

_PATH = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\[\d+\])?(\.[A-Za-z][A-Za-z0-9_]*(\[\d+\])?)*")

__all__ = [
    "actor_of",
    "channel_of",
    "evaluate_recorded",
    "read_recorded",
    "record_access",
    "record_rejection",
    "relocated",
    "write_refusal_summaries",
]


def channel_of(request: Request) -> str:
    path = request.url.path
    if path.startswith("/cds-services"):
        return "cds-hooks"
    if path.startswith("/fhir"):
        return "fhir-api"
    return "api"


def actor_of(request: Request) -> str:
    """The authenticated caller, or who we can say sent an unauthenticated call."""
    actor = getattr(request.state, "actor", None)
    if actor:
        return str(actor)
    host = request.client.host if request.client else "unknown"
    return f"anonymous@{host}"


def _record_summaries(factory: SessionFactory, summaries: list[Summary], *, burst: int, window_s: float) -> None:
    records = [
        store.NewRecord(
            kind=KIND_REJECTION,
            actor=f"anonymous@{summary.address}"[:200],
            channel="api",
            payload={
                "error": {
                    "type": "RefusalsSummarised",
                    "code": "throttled",
                    "message": summary.message(burst, window_s),
                    "location": None,
                },
                "count": summary.count,
                "first_at": summary.first_at,
                "last_at": summary.last_at,
                "as_of": None,
                "policy": None,
            },
        )
        for summary in summaries
    ]
    try:
        with factory() as session:
            store.append_records(session, records)
            session.commit()
    except SQLAlchemyError as exc:
        raise AuditError(f"the audit trail could not record a summary of refused calls: {exc}") from exc


async def write_refusal_summaries(ctx: ApiContext, summaries: list[Summary]) -> None:
    if summaries:
        limiter = ctx.refusals
        await ctx.write(
            _record_summaries, ctx.session_factory, summaries, burst=limiter.burst, window_s=limiter.window_s
        )


async def record_rejection(request: Request, error: Exception) -> Exception | None:
    """Record a refused call with the bytes received (none, for a caller we could not authenticate).

    Returns the error to answer with instead, when the call is not recorded on its own: a client
    address past its quota of refused unauthenticated calls gets 429 (api/refusals.py).
    """
    if getattr(request.state, "audited", False):
        return None
    ctx = context_of(request)
    if not getattr(request.state, "actor", None):
        address = request.client.host if request.client else "unknown"
        retry_after, closed = ctx.refusals.admit(address, error)
        await write_refusal_summaries(ctx, closed)
        if retry_after is not None:
            request.state.audited = True  # counted, and summarised when the window closes
            return TooManyRefusalsError(
                f"too many refused calls from {address}; retry in {math.ceil(retry_after)} s",
                retry_after_s=max(math.ceil(retry_after), 1),
            )
    received: bytes = getattr(request.state, "received", b"")
    as_of: date | None = getattr(request.state, "as_of", None)
    rejected = Rejected(error=error, raw=received, as_of=as_of, policy=None)
    await context_of(request).write(
        record_batch,
        [rejected],
        actor=actor_of(request),
        channel=channel_of(request),
        session_factory=context_of(request).session_factory,
    )
    request.state.audited = True
    return None


async def evaluate_recorded(
    request: Request,
    bundle: bytes,
    *,
    as_of: date,
    location_prefix: str = "",
    also: Callable[[Evaluated], Callable[[Session], object] | None] | None = None,
) -> Evaluated:
    """Evaluate in a worker, record the decision or the rejection, and only then return or raise.

    The result carries the decision and the warnings about resources the policy does not read.
    `also(result)` may give one more write for the decision's transaction (CDS Hooks: the card).

    A rejection keeps the whole body received (the envelope too, not only the bundle in it), and
    an input error found inside an envelope is located from the envelope (`location_prefix`).
    """
    ctx = context_of(request)
    result = await ctx.evaluator.evaluate(bundle, as_of=as_of)
    if isinstance(result, Rejected):
        error = result.error
        if location_prefix and isinstance(getattr(error, "location", None), str):
            error.location = _relocate(error.location, location_prefix)  # type: ignore[attr-defined]
        result = Rejected(error=error, raw=request.state.received or bundle, as_of=as_of, policy=None)
    await ctx.decisions.record(  # with whatever other calls wait for the disk now (group_commit.py)
        result,
        actor=actor_of(request),
        channel=channel_of(request),
        also=None if also is None or isinstance(result, Rejected) else also(result),
    )
    request.state.audited = True
    if isinstance(result, Rejected):
        raise result.error
    return result


def relocated(problems: tuple[ReadProblem, ...], prefix: str) -> tuple[ReadProblem, ...]:
    """Warnings located from the envelope, as errors are (`evaluate_recorded`)."""
    if not prefix:
        return problems
    return tuple(replace(problem, location=_relocate(problem.location, prefix)) for problem in problems)


def _relocate(location: str, prefix: str) -> str:
    """Locate from the envelope: Bundle.entry[3] in parameter 0 is Parameters.parameter[0].resource.entry[3]."""
    head, dot, rest = location.partition(".")
    if head == "Bundle":
        return f"{prefix}.{rest}" if dot else prefix
    if location == "$":  # the JSON root
        return prefix
    return f"{prefix}.{location}" if _PATH.fullmatch(location) else f"{prefix}: {location}"


def read_recorded(
    request: Request,
    decision_id: str,
    *,
    reader: str,
    read_any: bool,
    purpose: str = "read",
    reader_since: str = "",
) -> Decision:
    """A recorded decision, released only after the read is recorded (call it in the thread pool).

    `read_any` false limits the reader to decisions recorded with them as the actor, since their account
    was created (`reader_since`): a re-created name does not inherit the old account's decisions.
    """
    ctx = context_of(request)
    with ctx.read_session() as session:
        record = store.get_decision_record(session, decision_id)
    if record is None or (not read_any and (record.actor != reader or record.created_at < reader_since)):
        # Another's decision is answered as a missing one: a 403 told the referrer that it exists.
        raise NotFoundError(f"no decision {decision_id!r}", location="decision_id (path)")
    with ctx.write_lock:
        decision = read_decision(
            decision_id, actor=reader, channel=channel_of(request), purpose=purpose, session_factory=ctx.session_factory
        )
    request.state.audited = True
    return decision


def _append_access(factory: SessionFactory, *, actor: str, channel: str, purpose: str, query: dict[str, Any]) -> None:
    try:
        with factory() as session:
            store.append_access(session, actor=actor, channel=channel, purpose=purpose, query=query)
            session.commit()
    except SQLAlchemyError as exc:
        raise AuditError(f"the audit trail could not record {with_article(purpose)} call: {exc}") from exc


async def record_access(request: Request, *, purpose: str, query: dict[str, Any]) -> None:
    """A call that produced no decision and was not refused (e.g. an order-select with nothing to check)."""
    ctx = context_of(request)
    await ctx.write(
        _append_access,
        ctx.session_factory,
        actor=actor_of(request),
        channel=channel_of(request),
        purpose=purpose,
        query=query,
    )
    request.state.audited = True
