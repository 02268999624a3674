"""What-if: re-evaluate past decisions under another installed policy version.

For each recorded decision in the time range, its stored input is evaluated with the same `as_of`
under the other policy; the report says, per decision, which criteria would change status and why
(the new reason), whether the outcome, the label status or the actions would change (a hold found or
lost), what the other policy could not read, and totals: outcome transitions and how often each
criterion changed. Nothing is written except the access record the caller makes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from eligibility.audit.models import KIND_DECISION
from eligibility.audit.store import get_input, iter_records
from eligibility.decision import Decision
from eligibility.errors import EligibilityError
from eligibility.from_fhir import decide
from eligibility.policy import Policy, load_policy

__all__ = ["CriterionChange", "DecisionChange", "WhatIfReport", "compare_criteria", "whatif"]


@dataclass(frozen=True, slots=True)
class CriterionChange:
    criterion: str
    recorded: str | None  # None: the criterion does not exist in that policy
    would_be: str | None
    reason: str  # why, in the other policy's words (or the recorded reason when it disappears)


@dataclass(slots=True)
class DecisionChange:
    decision_id: str
    patient: str
    as_of: str
    recorded_policy: str
    recorded_outcome: str
    would_be_outcome: str
    criteria: list[CriterionChange] = field(default_factory=list)
    label: tuple[str, str] | None = None  # (recorded, would be) when the label status changes
    actions_added: list[str] = field(default_factory=list)  # "hold_medication:ibuprofen", "advisory:diclofenac"…
    actions_removed: list[str] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)  # what the other policy could not read (spec §7)

    @property
    def outcome_changed(self) -> bool:
        return self.recorded_outcome != self.would_be_outcome

    @property
    def changed(self) -> bool:
        return bool(
            self.outcome_changed or self.criteria or self.label or self.actions_added or self.actions_removed
            or self.unrecognised
        )


@dataclass(slots=True)
class WhatIfReport:
    policy: str
    policy_sha256: str
    start: str | None
    end: str | None
    examined: int = 0
    changes: list[DecisionChange] = field(default_factory=list)  # decisions with any criterion change
    failures: list[tuple[str, str]] = field(default_factory=list)  # (decision_id, why it could not run)
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)  # (recorded, would be) outcome
    criteria_changed: Counter[str] = field(default_factory=Counter)

    @property
    def outcomes_changed(self) -> int:
        return sum(1 for change in self.changes if change.outcome_changed)

    @property
    def unchanged(self) -> int:
        return self.examined - len(self.changes) - len(self.failures)


def compare_criteria(recorded: Decision, would_be: Decision) -> list[CriterionChange]:
    """The criteria whose status differs, in the recorded decision's order (also the case page's diff of a
    decision re-made from a referrer's answers)."""
    return _compare(recorded, would_be)


def _compare(recorded: Decision, would_be: Decision) -> list[CriterionChange]:
    before = {c.id: c for c in recorded.criteria}
    after = {c.id: c for c in would_be.criteria}
    changes = []
    for criterion_id in list(before) + [c for c in after if c not in before]:
        old, new = before.get(criterion_id), after.get(criterion_id)
        old_status = old.status if old else None
        new_status = new.status if new else None
        if old_status != new_status:
            reason = new.reason if new else f"not evaluated by this policy (was: {old.reason if old else ''})"
            changes.append(CriterionChange(criterion_id, old_status, new_status, reason))
    return changes


def _evaluate(session: Session, decision: Decision, input_sha256: str | None, policy: Policy) -> Decision:
    if input_sha256 is None:
        raise EligibilityError("the decision record names no stored input")
    return decide(
        get_input(session, input_sha256),
        as_of=date.fromisoformat(decision.as_of),
        policy=policy,
        decision_id=decision.decision_id,
        evaluated_at=decision.evaluated_at,
    )


def whatif(session: Session, *, policy: str, start: str | None = None, end: str | None = None) -> WhatIfReport:
    """Raises PolicyError when `policy` is not installed; per-decision failures are reported."""
    target = load_policy(policy)
    report = WhatIfReport(policy=target.key, policy_sha256=target.sha256, start=start, end=end)
    for record in iter_records(session, start=start, end=end, kinds=[KIND_DECISION]):
        report.examined += 1
        recorded = Decision.model_validate(record.data()["decision"])
        try:
            would_be = _evaluate(session, recorded, record.input_sha256, target)
        except EligibilityError as exc:
            report.failures.append((recorded.decision_id, exc.one_line()))
            continue
        change = DecisionChange(
            decision_id=recorded.decision_id,
            patient=recorded.patient.reference,
            as_of=recorded.as_of,
            recorded_policy=f"{recorded.policy.id}@{recorded.policy.version}",
            recorded_outcome=recorded.outcome,
            would_be_outcome=would_be.outcome,
            criteria=_compare(recorded, would_be),
        )
        _compare_rest(change, recorded, would_be)
        report.transitions[(recorded.outcome, would_be.outcome)] += 1
        if not change.changed:
            continue
        report.criteria_changed.update(c.criterion for c in change.criteria)
        report.changes.append(change)
    return report


def _action_keys(decision: Decision) -> Counter[str]:
    return Counter(f"{a.kind}:{a.medication or a.lab}" if a.medication or a.lab else a.kind for a in decision.actions)


def _compare_rest(change: DecisionChange, recorded: Decision, would_be: Decision) -> None:
    """Label, actions (a hold found or lost is the change that matters most) and what was not read."""
    if recorded.label_status != would_be.label_status:
        change.label = (recorded.label_status, would_be.label_status)
    before, after = _action_keys(recorded), _action_keys(would_be)
    change.actions_added = sorted((after - before).elements())
    change.actions_removed = sorted((before - after).elements())
    known = {u.reference for u in recorded.unrecognised}
    change.unrecognised = sorted(
        f"{u.reference} ({u.text or u.code})" for u in would_be.unrecognised if u.reference not in known
    )
