"""Decisions of the corpus cases, and QuestionnaireResponses answering their questions, for the answer tests."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from eligibility.answers.flow import Target
from eligibility.answers.form import response_from_fields
from eligibility.answers.questionnaire import questionnaire_items
from eligibility.decision import Decision
from eligibility.from_fhir import decide, prepare
from eligibility.policy import load_policy

CASES = Path(__file__).resolve().parents[1] / "cases"
BASE = "http://testserver/fhir"


def case(name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((CASES / f"{name}.json").read_text())
    return found


def target_of(name: str, decision_id: str = "00000000-0000-4000-8000-000000000001") -> Target:
    data = case(name)
    policy = load_policy(data["policy"])
    raw = orjson.dumps(data["bundle"])
    canonical = prepare(raw, policy=policy).canonical
    decision = decide(
        raw,
        as_of=date.fromisoformat(data["as_of"]),
        policy=policy,
        decision_id=decision_id,
        evaluated_at="2026-06-01T08:00:00Z",
    )
    return Target(None, decision, canonical, policy, questionnaire_items(decision, canonical, policy=policy))  # type: ignore[arg-type]


def response(target: Target, fields: dict[str, str], **overrides: Any) -> dict[str, Any]:
    built, problems = response_from_fields(
        target.groups,
        fields,
        questionnaire=target.canonical_url(BASE),
        subject=target.decision.patient.reference,
        authored="2026-06-01T10:00:00Z",
    )
    assert not problems, problems
    return {**built, **overrides}


def redecide(target: Target, raw: bytes) -> Decision:
    return decide(
        raw,
        as_of=date.fromisoformat(target.decision.as_of),
        policy=target.policy,
        decision_id="new",
        evaluated_at="2026-06-01T10:00:01Z",
    )
