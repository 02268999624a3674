"""The entry point every caller uses: evaluate, record, and only then release.

    decision = evaluate_and_record(raw, as_of=day, actor="dr.smith", channel="api")

The decision record (spec §5) and the canonical input are committed to the audit trail before the
decision is returned; if that write fails, AuditError is raised and no decision leaves this module.
A submission that produces no decision (bad input, unknown policy, engine failure) is recorded as a
rejection, with the error and the exact bytes received, and its error is re-raised.

This module and `eligibility.audit` are the edges allowed to read the clock (`evaluated_at`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import orjson
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from eligibility.audit import store
from eligibility.audit.clock import utc_now_iso
from eligibility.audit.database import SessionFactory
from eligibility.audit.database import session_factory as default_session_factory
from eligibility.decision import Decision
from eligibility.errors import AuditError, InputError
from eligibility.from_fhir import decide_parsed, prepare, resolve_policy
from eligibility.review_reasons import check_reason
from fhir_adapters import ReadProblem
from fhir_adapters.patient_header import PatientHeader

__all__ = [
    "Evaluated",
    "Rejected",
    "evaluate_and_record",
    "evaluate_and_record_result",
    "evaluate_batch",
    "evaluate_one",
    "read_decision",
    "record_batch",
    "record_calls",
    "record_refusal",
    "record_review",
    "record_superseding",
]


class Evaluated:
    """A decision not yet released, with the canonical input it was made from.

    `record` is the decision as JSON data, made once: a batch writes it to the output and to the audit
    trail. Read it, never change it. Pickled (worker -> parent, Dask) as JSON: unpickling the nested
    pydantic models field by field costs about 1 ms a decision, validating the JSON a quarter of that.
    """

    __slots__ = ("canonical", "decision", "patient", "record", "unread_problems")

    def __init__(
        self,
        decision: Decision,
        canonical: bytes,
        record: dict[str, object] | None = None,
        unread_problems: tuple[ReadProblem, ...] = (),
        patient: PatientHeader | None = None,
    ) -> None:
        self.decision = decision
        self.canonical = canonical
        self.record = decision.to_json_dict() if record is None else record
        self.unread_problems = unread_problems  # warnings for the answer (fhir_adapters/unread.py)
        self.patient = patient  # the patient header, read once with the record (the worklist index's)

    def __reduce__(
        self,
    ) -> tuple[Callable[..., Evaluated], tuple[Any, ...]]:
        p = self.patient
        header = None if p is None else (p.name, p.mrn, p.birth_date, p.sex)
        return _evaluated_from_json, (orjson.dumps(self.record), self.canonical, self.unread_problems, header)


def _evaluated_from_json(
    data: bytes,
    canonical: bytes,
    unread_problems: tuple[ReadProblem, ...] = (),
    header: tuple[str | None, str | None, str | None, str | None] | None = None,
) -> Evaluated:
    record = orjson.loads(data)
    patient = None if header is None else PatientHeader(*header)
    return Evaluated(Decision.model_validate(record), canonical, record, unread_problems, patient)


@dataclass(frozen=True, slots=True)
class Rejected:
    """A submission that produced no decision, with the bytes received."""

    error: Exception
    raw: bytes
    as_of: date | None
    policy: str | None


def evaluate_one(raw: bytes, *, as_of: date, policy: str | None = None, read_all: bool = False) -> Evaluated | Rejected:
    """Parse and evaluate without recording; the result must go through `record_batch`.

    Validates what the policy reads (`read_all`: every resource of a read type; eligibility/from_fhir.py).
    Safe to call in worker processes; every exception becomes a `Rejected` so that a batch
    records it instead of losing it.
    """
    try:
        chosen = resolve_policy(policy)
        parsed = prepare(raw, policy=chosen, read_all=read_all)
        decision = decide_parsed(
            parsed,
            as_of=as_of,
            policy=chosen,
            decision_id=str(uuid.uuid4()),
            evaluated_at=utc_now_iso(),
        )
    except Exception as exc:  # recorded as a rejection, then surfaced to the caller
        return Rejected(error=exc, raw=raw, as_of=as_of, policy=policy)
    return Evaluated(
        decision=decision, canonical=parsed.canonical, unread_problems=parsed.unread_problems, patient=parsed.patient
    )


def _write(factory: SessionFactory | None, what: str, write: Callable[[Session], object]) -> None:
    """Run `write` in its own transaction and commit; any failure becomes AuditError."""
    try:
        open_session = factory or default_session_factory()
        with open_session() as session:
            write(session)
            session.commit()
    except AuditError:
        raise
    except (SQLAlchemyError, OSError) as exc:
        raise AuditError(f"the audit trail could not record {what}: {_describe(exc)}") from exc


def _describe(exc: BaseException) -> str:
    """The driver's own first line (e.g. 'database is locked'), without SQLAlchemy's SQL echo."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}"


def _records_for(
    calls: Iterable[tuple[Evaluated | Rejected, str, str]], *, run_id: str | None = None
) -> store.PendingAppend:
    pending = store.PendingAppend()
    for result, actor, channel in calls:
        if isinstance(result, Evaluated):
            pending.add_decision(
                result.decision,
                result.canonical,
                actor=actor,
                channel=channel,
                record=result.record,
                run_id=run_id,
                patient=result.patient,
            )
        else:
            pending.add_rejection(
                result.error,
                result.raw,
                actor=actor,
                channel=channel,
                as_of=result.as_of,
                policy=result.policy,
            )
    return pending


def record_batch(
    results: Sequence[Evaluated | Rejected],
    *,
    actor: str,
    channel: str,
    session_factory: SessionFactory | None = None,
    also: Callable[[Session], object] | None = None,
    run_id: str | None = None,
) -> list[Decision]:
    """Record many results in one transaction; return the decisions only once it has committed.

    `also` writes more in the same transaction (a CDS card's row): one commit, all or nothing.
    `run_id` names the screening run the decisions belong to (the screening list groups by it).
    """
    record_calls(
        [(result, actor, channel) for result in results], session_factory=session_factory, also=also, run_id=run_id
    )
    return [result.decision for result in results if isinstance(result, Evaluated)]


def record_calls(
    calls: Sequence[tuple[Evaluated | Rejected, str, str]],
    *,
    session_factory: SessionFactory | None = None,
    also: Callable[[Session], object] | None = None,
    run_id: str | None = None,
) -> None:
    """`record_batch` for the results of several callers, each (result, actor, channel): one transaction
    (the API's group commit, eligibility/api/group_commit.py)."""
    pending = _records_for(calls, run_id=run_id)

    def write(session: Session) -> None:
        pending.append_to(session)
        if also is not None:
            also(session)

    _write(session_factory, f"a batch of {len(calls)} results", write)


def record_refusal(
    error: Exception,
    *,
    raw: bytes = b"",
    actor: str,
    channel: str,
    as_of: date | None = None,
    session_factory: SessionFactory | None = None,
) -> None:
    """Record a refusal made before any record was read (an asOf out of range), then let the caller
    raise it: every refused submission is in the trail, not only those the adapters refused."""
    result = Rejected(error=error, raw=raw, as_of=as_of, policy=None)
    pending = _records_for([(result, actor, channel)])
    _write(session_factory, f"the rejection of a submission ({error})", pending.append_to)


def evaluate_batch(
    raws: Iterable[bytes],
    *,
    as_of: date,
    actor: str,
    channel: str,
    policy: str | None = None,
    session_factory: SessionFactory | None = None,
) -> list[Decision | Exception]:
    """Evaluate many submissions; record them all in one transaction; per submission, the
    decision or the error that rejected it (in input order)."""
    results = [evaluate_one(raw, as_of=as_of, policy=policy) for raw in raws]
    record_batch(results, actor=actor, channel=channel, session_factory=session_factory)
    return [result.decision if isinstance(result, Evaluated) else result.error for result in results]


def evaluate_and_record(
    raw: bytes,
    *,
    as_of: date,
    actor: str,
    channel: str,
    policy: str | None = None,
    session_factory: SessionFactory | None = None,
) -> Decision:
    """Evaluate one submission; the decision is durable in the audit trail before it is returned.

    Raises the submission's error (InputError, PolicyError, EngineError…) after recording it as a
    rejection, and AuditError when the trail cannot record — then no decision is released.
    """
    return evaluate_and_record_result(
        raw, as_of=as_of, actor=actor, channel=channel, policy=policy, session_factory=session_factory
    ).decision


def evaluate_and_record_result(
    raw: bytes,
    *,
    as_of: date,
    actor: str,
    channel: str,
    policy: str | None = None,
    session_factory: SessionFactory | None = None,
    read_all: bool = False,
) -> Evaluated:
    """`evaluate_and_record`, returning the decision with the warnings about unread resources."""
    result = evaluate_one(raw, as_of=as_of, policy=policy, read_all=read_all)
    if isinstance(result, Rejected):
        error = result.error
        what = f"the rejection of a submission ({error})"
        _write(session_factory, what, _records_for([(result, actor, channel)]).append_to)
        raise error
    _write(
        session_factory,
        f"decision {result.decision.decision_id}",
        _records_for([(result, actor, channel)]).append_to,
    )
    return result


def record_review(
    decision_id: str,
    *,
    reviewer: str,
    action: Literal["accept", "override"],
    reason_code: str,
    comment: str = "",
    outcome: str | None = None,
    channel: str,
    session_factory: SessionFactory | None = None,
) -> store.StoredRecord:
    """A clinician's accept / override of a decision, committed; InputError for a bad review (a reason
    outside eligibility.review_reasons, whatever the channel)."""
    problem = check_reason(reason_code)
    if problem is not None:
        raise InputError(problem, location="reason_code")
    written: list[store.StoredRecord] = []

    def write(session: Session) -> None:
        written.append(
            store.append_review(
                session,
                decision_id=decision_id,
                reviewer=reviewer,
                action=action,
                reason_code=reason_code,
                comment=comment,
                outcome=outcome,
                channel=channel,
            )
        )

    _write(session_factory, f"a review of decision {decision_id}", write)
    return written[0]


def read_decision(
    decision_id: str,
    *,
    actor: str,
    channel: str,
    purpose: str = "read",
    session_factory: SessionFactory | None = None,
) -> Decision:
    """A recorded decision, released only after the read itself is recorded."""
    found: list[Decision] = []

    def write(session: Session) -> None:
        store.append_access(session, actor=actor, channel=channel, purpose=purpose, decision_id=decision_id)
        _, decision, _ = store.load_decision(session, decision_id)
        found.append(decision)

    _write(session_factory, f"a read of decision {decision_id}", write)
    return found[0]


def record_superseding(
    result: Evaluated,
    *,
    provenance: dict[str, object],
    actor: str,
    channel: str,
    session_factory: SessionFactory | None = None,
) -> Decision:
    """A decision made from a referrer's answers, recorded with where it came from (`provenance`: the
    decision it supersedes, the QuestionnaireResponse, who answered), and an "answered" record on the
    superseded decision naming the new one; one transaction, committed before the decision is released."""
    from eligibility.answers.flow import successor_of  # only the answer routes need it (CLI start-up)
    from eligibility.answers.redecide import ANSWERED_PURPOSE

    superseded = str(provenance["supersedes"])
    pending = store.PendingAppend()
    pending.add_decision(
        result.decision, result.canonical, actor=actor, channel=channel, record=result.record,
        context={"answers": provenance},
    )

    def write(session: Session) -> None:
        # Checked again here, under the write lock: two answers to one decision must not both land.
        successor = successor_of(session, superseded)
        if successor is not None:
            raise InputError(
                f"decision {superseded} was already answered; its questions now belong to decision {successor}",
                location="QuestionnaireResponse.questionnaire",
            )
        pending.append_to(session)
        store.append_access(
            session,
            actor=actor,
            channel=channel,
            purpose=ANSWERED_PURPOSE,
            decision_id=superseded,
            query={
                "superseded_by": result.decision.decision_id,
                "questionnaire_response": provenance["questionnaire_response"],
            },
        )

    _write(session_factory, f"decision {result.decision.decision_id} (from answers to {superseded})", write)
    return result.decision
