"""What the case page shows, read from the audit trail: the decision, its reviews, its pain history.

Each read is recorded (`append_access`, channel "web") and committed before anything is returned,
like every other read of a decision (see eligibility.service.read_decision).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from sqlalchemy.orm import Session

from eligibility.answers.attribution import attributed
from eligibility.answers.chain import Supersession, supersession
from eligibility.audit import store
from eligibility.audit.models import KIND_REVIEW
from eligibility.decision import Decision
from eligibility.derive.context import Context
from eligibility.errors import InputError
from eligibility.policy import load_policy
from fhir_adapters.patient_header import PatientHeader, patient_header
from fhir_adapters.reading import parse_input

__all__ = ["CHANNEL", "Case", "PainPoint", "Review", "Treatment", "find_resource", "load_case", "record_read"]

CHANNEL = "web"


@dataclass(frozen=True, slots=True)
class PainPoint:
    reference: str
    day: date
    value: float


@dataclass(frozen=True, slots=True)
class Treatment:
    label: str
    kind: str  # the FHIR resource type
    first: date
    last: date
    count: int
    references: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Review:
    at: str
    reviewer: str
    action: str
    reason_code: str
    comment: str
    recorded_outcome: str
    outcome: str
    channel: str


@dataclass(frozen=True, slots=True)
class Case:
    decision: Decision
    referrer: str
    recorded_at: str
    reviews: list[Review]
    pain: list[PainPoint]
    treatments: list[Treatment]
    pain_threshold: float  # the policy's pain_severity_min, drawn on the chart
    patient: PatientHeader | None = None  # who the patient is, from the stored input (never stored apart)
    chain: Supersession | None = None  # the decision it supersedes (made from answers) or its successor

    @property
    def patient_line(self) -> str | None:
        """Name · MRN · birth date (age on the decision's as_of) · sex."""
        return self.patient.line(date.fromisoformat(self.decision.as_of)) if self.patient else None

    @property
    def latest_review(self) -> Review | None:
        return self.reviews[-1] if self.reviews else None


def record_read(session: Session, decision_id: str, *, actor: str, purpose: str) -> None:
    """Record a read of a decision and commit it; InputError when the trail holds no such decision."""
    store.append_access(session, actor=actor, channel=CHANNEL, purpose=purpose, decision_id=decision_id)
    session.commit()


def _pain_and_treatments(decision: Decision, canonical: bytes) -> tuple[list[PainPoint], list[Treatment], float]:
    """The pain scores exactly as the rules read them (policy value sets, VAS scaled) and the treatments."""
    record = parse_input(canonical).facts
    policy = load_policy(f"{decision.policy.id}@{decision.policy.version}")
    context = Context(record, policy, date.fromisoformat(decision.as_of))
    pain = [PainPoint(s.reference, s.day, s.value) for s in context.pain_scores]
    # One line per distinct treatment: eight physiotherapy sessions are one course on the chart.
    grouped: dict[tuple[str, str], list[tuple[date, str]]] = defaultdict(list)
    for procedure in record.procedures:
        if procedure.start is not None and procedure.status not in {"entered-in-error", "not-done"}:
            label = procedure.text or next((c.display for c in procedure.codes if c.display), None) or "Procedure"
            grouped[("Procedure", label)].append((procedure.start, procedure.reference))
    for medication in record.medications:
        if medication.start is not None and medication.status != "entered-in-error":
            label = medication.text or next((c.display for c in medication.codes if c.display), None) or "Medication"
            grouped[("Medication", label)].append((medication.start, medication.reference))
    treatments = [
        Treatment(
            label=label,
            kind=kind,
            first=min(day for day, _ in items),
            last=max(day for day, _ in items),
            count=len(items),
            references=tuple(ref for _, ref in sorted(items)),
        )
        for (kind, label), items in grouped.items()
    ]
    threshold = float(policy.threshold("pain_severity_min"))
    return pain, sorted(treatments, key=lambda t: (t.first, t.label)), threshold


def _review(record: store.StoredRecord) -> Review:
    data = record.data()
    return Review(
        at=record.created_at,
        reviewer=record.actor,
        action=str(data.get("action")),
        reason_code=str(data.get("reason_code", "")),
        comment=str(data.get("comment", "")),
        recorded_outcome=str(data.get("recorded_outcome", "")),
        outcome=str(data.get("outcome", "")),
        channel=record.channel,
    )


def load_case(session: Session, decision_id: str) -> Case:
    record, decision, canonical = store.load_decision(session, decision_id)
    chain = supersession(session, record, decision)
    # Evidence from answers says who reported it (a display copy: the record itself is the engine's).
    decision = attributed(decision, chain.provenance)
    reviews = [_review(r) for r in store.decision_history(session, decision_id) if r.kind == KIND_REVIEW]
    pain, treatments, threshold = _pain_and_treatments(decision, canonical)
    return Case(
        decision=decision,
        referrer=record.actor,
        recorded_at=record.created_at,
        reviews=reviews,
        pain=pain,
        treatments=treatments,
        pain_threshold=threshold,
        patient=patient_header(canonical),
        chain=chain,
    )


def resource_rows(resource: Any, path: str = "", depth: int = 0) -> list[tuple[str, str]]:
    """A resource as (element path, value) rows a person can read: `code.coding[0].display` = "…".

    Narrative (`text.div`) and contained resources' own narratives are left to the raw JSON view; very deep
    nesting is cut (a hostile record must not make the page unbounded).
    """
    if depth > 12:
        return [(path, "…")]
    if isinstance(resource, dict):
        rows: list[tuple[str, str]] = []
        for key, value in resource.items():
            if key == "text" and isinstance(value, dict) and "div" in value:
                continue
            rows += resource_rows(value, f"{path}.{key}" if path else key, depth + 1)
        return rows
    if isinstance(resource, list):
        return [row for i, item in enumerate(resource) for row in resource_rows(item, f"{path}[{i}]", depth + 1)]
    text = "true" if resource is True else "false" if resource is False else str(resource)
    return [(path, text)]


def find_resource(session: Session, decision_id: str, reference: str) -> dict[str, Any]:
    """The resource `reference` ("Observation/9") from the exact input the decision was made from."""
    _, _, canonical = store.load_decision(session, decision_id)
    bundle = orjson.loads(canonical)
    for entry in bundle.get("entry", []):
        resource = entry.get("resource", {})
        if f"{resource.get('resourceType')}/{resource.get('id')}" == reference:
            found: dict[str, Any] = resource
            return found
    raise InputError(f"{reference} is not in the record decision {decision_id} was made from", location="reference")
