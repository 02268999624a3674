"""The engine: facts + policy + as_of in, decision out. No clock, no I/O, no FHIR.

derive findings (Python: dates, windows, spans)
  -> phase 1 rules: criteria, stage, label, condition actions
  -> phase 2 rules: the outcome, from a summary of phase 1
  -> phase 3 rules: standard preparation, from the outcome
  -> compose the decision record and check every question got exactly one answer
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any, TypeVar

from eligibility.data_warnings import with_pain_score_warnings
from eligibility.decision import (
    ELIGIBLE_OUTCOMES,
    ActionKind,
    Criterion,
    Decision,
    LabelStatus,
    Outcome,
    PatientRef,
    PolicyRef,
    Stage,
    Status,
)
from eligibility.derive import Context, Finding, derive_findings
from eligibility.derive.unrecognised import derive_unrecognised
from eligibility.errors import EngineError
from eligibility.explain import describe_action, summarize
from eligibility.facts import PatientFacts
from eligibility.policy import Policy
from eligibility.rules import Rule, fire, rule_state
from eligibility.rules.outcomes import CONDITION_ACTIONS, CRITERIA, outcome_inputs
from eligibility.rules.rule import AddAction, SetLabel, SetOutcome, SetStage, SetStatus
from eligibility.version import ENGINE_VERSION

__all__ = ["evaluate"]



def _once(fired: list[tuple[Rule, int]]) -> list[tuple[Rule, int]]:
    """A rule whose condition has an OR fires once per matching branch: one answer per rule and fact."""
    seen: set[tuple[str, int]] = set()
    unique = []
    for rule, fid in fired:
        if (rule.id, fid) not in seen:
            seen.add((rule.id, fid))
            unique.append((rule, fid))
    return unique


def _fact(finding: Finding, fid: int) -> dict[str, Any]:
    return {"t": finding.kind, "fid": fid, **finding.values}


_T = TypeVar("_T")


def _one(what: str, values: list[_T]) -> _T:
    if len(values) != 1:
        raise EngineError(f"the rules gave {len(values)} answers for {what} ({values}); expected exactly one")
    return values[0]


def evaluate(
    record: PatientFacts,
    *,
    policy: Policy,
    as_of: date,
    input_sha256: str,
    decision_id: str,
    evaluated_at: str,
) -> Decision:
    """Decide on one patient's facts under `policy` at `as_of`: derive, fire the rules, compose the record.

    Pure: no clock, no I/O. Raises EngineError when the rules leave a question without exactly one
    answer, so "could not evaluate" never reads as a decision.
    """
    ctx = Context(record, policy, as_of)
    findings = derive_findings(ctx)
    fired: list[tuple[Rule, int]] = []
    with rule_state(policy.ruleset_name) as sid:
        fired += _once(fire(policy, sid, [_fact(f, i) for i, f in enumerate(findings)]))

        statuses: dict[str, list[Status]] = defaultdict(list)
        status_rule: dict[str, str] = {}
        stages: list[Stage] = []
        labels: list[LabelStatus] = []
        action_hits: list[tuple[Rule, ActionKind, Finding]] = []
        for rule, fid in fired:
            match rule.effect:
                case SetStatus(criterion, value):
                    statuses[criterion].append(value)
                    status_rule[criterion] = rule.id
                case SetStage(value):
                    stages.append(value)
                case SetLabel(value):
                    labels.append(value)
                case AddAction(kind):
                    action_hits.append((rule, kind, findings[fid]))
        stage = _one("the stage", stages)
        label = _one("the label status", labels)
        wanted = CRITERIA + (("trial_response",) if stage == "implant" else ())
        status = {cid: _one(f"criterion {cid}", statuses[cid]) for cid in wanted}

        relative = next(f for f in findings if f.kind == "relative")
        summary_fact = outcome_inputs(
            status,
            fid=len(findings),
            stage=stage,
            condition_actions=sum(1 for _, kind, _ in action_hits if kind in CONDITION_ACTIONS),
            neurostimulator=bool(relative.values["neurostimulator"]),
        )
        phase2 = _once(fire(policy, sid, [summary_fact]))
        fired += phase2
        outcomes: list[Outcome] = [r.effect.outcome for r, _ in phase2 if isinstance(r.effect, SetOutcome)]
        outcome = _one("the outcome", outcomes)

        decided = {"t": "decided", "fid": len(findings) + 1, "eligible": outcome in ELIGIBLE_OUTCOMES}
        phase3 = _once(fire(policy, sid, [decided]))
        fired += phase3
        unrecognised = derive_unrecognised(ctx)
        preparation = Finding("decided", {}, detail={"unrecognised": unrecognised})
        action_hits += [(r, r.effect.action, preparation) for r, _ in phase3 if isinstance(r.effect, AddAction)]

    by_criterion = {f.criterion: f for f in findings if f.criterion}
    criteria = [
        with_pain_score_warnings(_criterion(cid, status[cid], status_rule[cid], by_criterion[cid]), ctx)
        for cid in wanted
    ]
    actions = [describe_action(kind, rule.id, finding, policy) for rule, kind, finding in action_hits]
    actions.sort(key=lambda a: (_ACTION_ORDER.index(a.kind), a.medication or "", a.lab or ""))
    order = {rid: i for i, rid in enumerate(_catalog_order(policy))}
    rules_fired = sorted({rule.id for rule, _ in fired}, key=lambda rid: order[rid])
    decision = Decision(
        decision_id=decision_id,
        evaluated_at=evaluated_at,
        as_of=as_of.isoformat(),
        patient=PatientRef(reference=record.patient.reference),
        policy=PolicyRef(id=policy.id, version=policy.version, sha256=policy.sha256),
        engine_version=ENGINE_VERSION,
        input_sha256=input_sha256,
        stage=stage,
        outcome=outcome,
        label_status=label,
        criteria=criteria,
        actions=actions,
        unrecognised=unrecognised,
        rules_fired=rules_fired,
        summary="",
    )
    return decision.model_copy(update={"summary": summarize(decision, ctx.notes)})


_ACTION_ORDER = (
    "hold_medication",
    "lab_check",
    "smoking_cessation",
    "advisory",
    "medication_reconciliation",
    "fasting_instructions",
)


def _catalog_order(policy: Policy) -> list[str]:
    from eligibility.rules import CATALOGS

    return list(CATALOGS[policy.key])


def _criterion(cid: str, status: Status, rule_id: str, finding: Finding) -> Criterion:
    reason = finding.reasons.get(status)
    if reason is None:
        raise EngineError(f"criterion {cid}: the rules chose {status!r} but the finding has no reason for it")
    return Criterion(
        id=cid,
        status=status,
        reason=reason,
        evidence=finding.evidence[:25],
        data_requests=finding.data_requests if status == "unknown" else [],
        rule_id=rule_id,
    )

