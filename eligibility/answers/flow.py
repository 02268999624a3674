"""The steps every door (FHIR API, web form) takes with a referrer's answers, apart from evaluating.

target = load_target(session, decision_id)          # the recorded decision, its input, its questions
combined = prepare_answers(target, response, answered_by=..., answered_on=..., base_url=...)
# evaluate combined.raw under target.policy_key, as of target.decision.as_of, then
# eligibility.service.record_superseding(result, provenance=combined.provenance, ...)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from eligibility.answers.questionnaire import Group, build_questionnaire, questionnaire_id, questionnaire_items
from eligibility.answers.redecide import ANSWERED_PURPOSE, Combined, combined_input
from eligibility.answers.responses import check_response
from eligibility.audit import store
from eligibility.audit.models import KIND_ACCESS
from eligibility.decision import Decision
from eligibility.errors import InputError
from eligibility.policy import Policy, load_policy

__all__ = [
    "QUESTIONNAIRE_PREFIX",
    "Target",
    "decision_of_questionnaire",
    "load_target",
    "prepare_answers",
    "successor_of",
]

QUESTIONNAIRE_PREFIX = "q-"


@dataclass(frozen=True, slots=True)
class Target:
    record: store.StoredRecord | None  # None only for a decision not (yet) recorded (tests)
    decision: Decision
    canonical: bytes
    policy: Policy
    groups: list[Group]

    @property
    def policy_key(self) -> str:
        return f"{self.decision.policy.id}@{self.decision.policy.version}"

    def questionnaire(self, base_url: str) -> dict[str, Any]:
        return build_questionnaire(self.decision, self.canonical, policy=self.policy, base_url=base_url)

    def canonical_url(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/Questionnaire/{questionnaire_id(self.decision.decision_id)}"


def decision_of_questionnaire(reference: str) -> str:
    """The decision id from a Questionnaire id or canonical ("…/Questionnaire/q-<decision>|version")."""
    tail = reference.split("|")[0].rstrip("/").rsplit("/", 1)[-1]
    if not tail.startswith(QUESTIONNAIRE_PREFIX) or len(tail) <= len(QUESTIONNAIRE_PREFIX):
        raise InputError(
            f"{reference!r} names no questionnaire of this service", location="QuestionnaireResponse.questionnaire"
        )
    return tail[len(QUESTIONNAIRE_PREFIX) :]


def successor_of(session: Session, decision_id: str) -> str | None:
    """The decision made from answers to this one's questions, if there is one."""
    for record in store.decision_history(session, decision_id):
        if record.kind == KIND_ACCESS:
            data = record.data()
            if data.get("purpose") == ANSWERED_PURPOSE and isinstance(data.get("query"), dict):
                return str(data["query"].get("superseded_by"))
    return None


def load_target(session: Session, decision_id: str) -> Target:
    """InputError when no such decision; the caller checks who may see it."""
    record, decision, canonical = store.load_decision(session, decision_id)
    policy = load_policy(f"{decision.policy.id}@{decision.policy.version}")
    return Target(record, decision, canonical, policy, questionnaire_items(decision, canonical, policy=policy))


def prepare_answers(target: Target, response: Any, *, answered_by: str, answered_on: str, base_url: str) -> Combined:
    """Check the response (AnswerError naming the item) and build the new decision's input.

    A response without an id gets one here; `answered_on` is the day the answers were received.
    """
    if isinstance(response, dict):
        response = dict(response)
        response.setdefault("id", str(uuid.uuid4()))
    answers = check_response(target.groups, response, decision=target.decision, base_url=base_url)
    combined = combined_input(
        target.decision,
        target.canonical,
        answers,
        answered_by=answered_by,
        answered_on=answered_on,
        questionnaire=target.canonical_url(base_url),
    )
    # For the compliance report's time from request to answer, without reading the old record back.
    combined.provenance["requested_at"] = target.record.created_at if target.record is not None else None
    combined.provenance["outcome_before"] = target.decision.outcome
    return combined
