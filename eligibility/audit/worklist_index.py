"""Keeping the worklist index (worklist_table.py) in step with the trail, inside the append.

`store.append_records` calls `index_appended` after it inserts the records, in the same transaction:
a decision adds its row, a review sets its decision's latest review, a promotion puts a screening
decision in the review queue. The same derivation functions serve `worklist_rebuild`, which
recomputes the whole table from the trail, so the two paths cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from eligibility.audit.models import KIND_DECISION, KIND_PROMOTION, KIND_REVIEW
from eligibility.audit.worklist_table import BATCH_CHANNEL, MAX_HEADER_CHARS, WorklistEntry
from fhir_adapters.patient_header import PatientHeader, patient_header

__all__ = [
    "RUN_KEY",
    "TABLE",
    "decision_row",
    "header_of",
    "index_appended",
    "promotion_values",
    "review_values",
    "run_of",
]

TABLE: Final = WorklistEntry.__table__  # type: ignore[attr-defined]
RUN_KEY: Final = "batch_run"  # the decision payload's key naming its screening run


def header_of(body: bytes | None) -> PatientHeader | None:
    """The patient header of a stored input; None when there is none or the input cannot be read."""
    if body is None:
        return None
    try:
        return patient_header(body)
    except ValueError:  # not JSON nor NDJSON: the case page and `audit verify` say what is wrong
        return None


def run_of(channel: str, created_at: str, payload: Mapping[str, Any]) -> str | None:
    """The screening run of a decision record; None for the point of care.

    Batch decisions recorded before runs were named have no run id: they are grouped by day.
    """
    if channel != BATCH_CHANNEL:
        return None
    run = payload.get(RUN_KEY)
    return str(run) if run else f"legacy-{created_at[:10]}"


def _cut(value: str | None) -> str | None:
    return None if value is None else value[:MAX_HEADER_CHARS]


def decision_row(
    *,
    seq: int,
    created_at: str,
    actor: str,
    channel: str,
    decision_id: str,
    patient_ref: str | None,
    payload: Mapping[str, Any],
    header: PatientHeader | None,
) -> dict[str, Any]:
    decision = payload["decision"]
    run_id = run_of(channel, created_at, payload)
    name = _cut(header.name) if header else None
    mrn = _cut(header.mrn) if header else None
    keys = [part.casefold() for part in (name, mrn) if part]
    return {
        "seq": seq,
        "decision_id": decision_id,
        "recorded_at": created_at,
        "actor": actor,
        "channel": channel,
        "run_id": run_id,
        "patient_ref": patient_ref,
        "patient_name": name,
        "patient_mrn": mrn,
        "birth_date": header.birth_date[:32] if header and header.birth_date else None,
        "sex": header.sex[:32] if header and header.sex else None,
        "search_key": "\n".join(keys) or None,
        "outcome": decision["outcome"],
        "stage": decision["stage"],
        "label_status": decision["label_status"],
        "queued": run_id is None,
        "promoted_at": None,
        "promoted_by": None,
        "reviewed": False,
        "review_action": None,
        "review_outcome": None,
        "reviewed_at": None,
        "reviewed_by": None,
        "review_seq": None,
        "answered": "answers" in payload,  # a superseding decision made from answers (eligibility/answers)
    }


def review_values(*, seq: int, created_at: str, actor: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """What a review sets on its decision's row (the latest review wins: reviews come in chain order)."""
    return {
        "reviewed": True,
        "review_action": str(payload.get("action")),
        "review_outcome": payload.get("outcome"),
        "reviewed_at": created_at,
        "reviewed_by": actor,
        "review_seq": seq,
    }


def promotion_values(*, created_at: str, actor: str) -> dict[str, Any]:
    """What a promotion sets (the first promotion counts; a later one changes nothing)."""
    return {"queued": True, "promoted_at": created_at, "promoted_by": actor}


def index_appended(
    session: Session,
    rows: Sequence[Mapping[str, Any]],
    payloads: Sequence[Mapping[str, Any]],
    bodies: Mapping[str, bytes],
    headers: Mapping[str, PatientHeader] | None = None,
) -> None:
    """Index the records just inserted (`rows` as inserted, with their payloads before canonical JSON).

    `headers`: the patient header per input SHA-256, when the caller read it with the record already
    (the service does); otherwise it is read from the stored input, as `audit reindex` does.
    """
    known = headers or {}
    new_rows: list[dict[str, Any]] = []
    for row, payload in zip(rows, payloads, strict=True):
        if row["kind"] == KIND_DECISION and row["decision_id"] is not None:
            new_rows.append(
                decision_row(
                    seq=row["seq"],
                    created_at=row["created_at"],
                    actor=row["actor"],
                    channel=row["channel"],
                    decision_id=row["decision_id"],
                    patient_ref=row["patient_ref"],
                    payload=payload,
                    header=(
                        known[row["input_sha256"]]
                        if row["input_sha256"] in known
                        else header_of(bodies.get(row["input_sha256"] or ""))
                    ),
                )
            )
    if new_rows:
        session.execute(insert(TABLE), params=new_rows)
    for row, payload in zip(rows, payloads, strict=True):
        if row["decision_id"] is None:
            continue
        if row["kind"] == KIND_REVIEW:
            values = review_values(seq=row["seq"], created_at=row["created_at"], actor=row["actor"], payload=payload)
            session.execute(update(TABLE).where(TABLE.c.decision_id == row["decision_id"]).values(values))
        elif row["kind"] == KIND_PROMOTION:
            values = promotion_values(created_at=row["created_at"], actor=row["actor"])
            session.execute(
                update(TABLE)
                .where(TABLE.c.decision_id == row["decision_id"], TABLE.c.promoted_at.is_(None))
                .values(values)
            )
