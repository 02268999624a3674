"""Replay: re-evaluate a recorded decision from its stored input, policy version and as_of.

The answer is "identical" when the clinical content (the decision minus its id and time) is the same.
An engine version change alone is reported as a note, not a difference: what matters is whether the
decision would be the same. A policy whose files changed under the same version shows up as a
difference in `policy.sha256`, with a note saying so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from eligibility.audit.diff import Difference, json_diff
from eligibility.audit.store import load_decision
from eligibility.from_fhir import decide
from eligibility.policy import load_policy

__all__ = ["ReplayResult", "replay"]


@dataclass(slots=True)
class ReplayResult:
    decision_id: str
    policy: str  # id@version
    as_of: str
    recorded_outcome: str
    replayed_outcome: str
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.differences


def replay(session: Session, decision_id: str) -> ReplayResult:
    """Raises InputError for an unknown decision, PolicyError when its policy is not installed,
    AuditError when its stored input is missing or altered."""
    _, recorded, canonical = load_decision(session, decision_id)
    policy = load_policy(f"{recorded.policy.id}@{recorded.policy.version}")
    replayed = decide(
        canonical,
        as_of=date.fromisoformat(recorded.as_of),
        policy=policy,
        decision_id=recorded.decision_id,
        evaluated_at=recorded.evaluated_at,
    )
    before, after = recorded.clinical_content(), replayed.clinical_content()
    notes: list[str] = []
    if before.pop("engine_version") != after.pop("engine_version"):
        notes.append(f"engine version changed: recorded {recorded.engine_version}, now {replayed.engine_version}")
    if policy.sha256 != recorded.policy.sha256:
        notes.append(
            f"policy {policy.key} installed here has hash {policy.sha256[:16]}…, the decision was made under "
            f"{recorded.policy.sha256[:16]}…: its files changed without a new version"
        )
    return ReplayResult(
        decision_id=decision_id,
        policy=policy.key,
        as_of=recorded.as_of,
        recorded_outcome=recorded.outcome,
        replayed_outcome=replayed.outcome,
        differences=json_diff(before, after),
        notes=notes,
    )
