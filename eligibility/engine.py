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
from typing import Any

from eligibility.data_warnings import with_pain_score_warnings
from eligibility.decision import ELIGIBLE_OUTCOMES, Action, Criterion, Decision, PatientRef, PolicyRef
from eligibility.derive import Context, Finding, derive_findings
from eligibility.derive.unrecognised import derive_unrecognised
from eligibility.errors import EngineError
from eligibility.explain import describe_action, summarize
from eligibility.facts import PatientFacts
from eligibility.policy import Policy
from eligibility.rules import Rule, fire, rule_state
from eligibility.version import ENGINE_VERSION

__all__ = ["CONDITION_ACTIONS", "CRITERIA", "evaluate"]

CRITERIA: tuple[str, ...] = (
    "adult",
    "qualifying_diagnosis",
    "pain_location",
    "pain_duration",
    "pain_severity",
    "failed_medications",
    "failed_physical_therapy",
    "failed_interventional",
    "psychological_evaluation",
    "no_active_substance_use_disorder",
    "no_absolute_contraindication",
    "no_relative_contraindication",
)
CONDITION_ACTIONS = frozenset({"hold_medication", "lab_check", "smoking_cessation"})
_SAFETY = ("no_absolute_contraindication", "no_active_substance_use_disorder")


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


def _one(what: str, values: list[str]) -> str:
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
    ctx = Context(record, policy, as_of)
    findings = derive_findings(ctx)
    fired: list[tuple[Rule, int]] = []
    with rule_state(policy.ruleset_name) as sid:
        fired += _once(fire(policy, sid, [_fact(f, i) for i, f in enumerate(findings)]))

        statuses: dict[str, list[str]] = defaultdict(list)
        status_rule: dict[str, str] = {}
        stages: list[str] = []
        labels: list[str] = []
        action_hits: list[tuple[Rule, Finding]] = []
        for rule, fid in fired:
            effect = rule.effect
            if effect.kind == "criterion":
                statuses[effect.target].append(effect.status)
                status_rule[effect.target] = rule.id
            elif effect.kind == "stage":
                stages.append(effect.target)
            elif effect.kind == "label":
                labels.append(effect.target)
            elif effect.kind == "action":
                action_hits.append((rule, findings[fid]))
        stage = _one("the stage", stages)
        label = _one("the label status", labels)
        wanted = CRITERIA + (("trial_response",) if stage == "implant" else ())
        status = {cid: _one(f"criterion {cid}", statuses[cid]) for cid in wanted}

        condition_actions = [a for a in action_hits if a[0].effect.target in CONDITION_ACTIONS]
        relative = next(f for f in findings if f.kind == "relative")
        summary_fact = {
            "t": "summary",
            "fid": len(findings),
            "stage": stage,
            "blocking_not_met": sum(
                1 for cid in CRITERIA if cid != "no_relative_contraindication" and status[cid] == "not_met"
            ),
            "unknown": sum(1 for cid in CRITERIA if status[cid] == "unknown"),
            "relative_not_met": int(status["no_relative_contraindication"] == "not_met"),
            "neurostimulator": int(relative.values["neurostimulator"]),
            "condition_actions": len(condition_actions),
            "trial_response": status.get("trial_response", "none"),
            "safety_not_met": sum(1 for cid in _SAFETY if status[cid] == "not_met"),
        }
        phase2 = _once(fire(policy, sid, [summary_fact]))
        fired += phase2
        outcome = _one("the outcome", [r.effect.target for r, _ in phase2 if r.effect.kind == "outcome"])

        decided = {"t": "decided", "fid": len(findings) + 1, "eligible": outcome in ELIGIBLE_OUTCOMES}
        phase3 = _once(fire(policy, sid, [decided]))
        fired += phase3
        unrecognised = derive_unrecognised(ctx)
        preparation = Finding("decided", {}, detail={"unrecognised": unrecognised})
        action_hits += [(r, preparation) for r, _ in phase3 if r.effect.kind == "action"]

    by_criterion = {f.criterion: f for f in findings if f.criterion}
    criteria = [
        with_pain_score_warnings(_criterion(cid, status[cid], status_rule[cid], by_criterion[cid]), ctx)
        for cid in wanted
    ]
    actions = [_action(rule, finding, policy) for rule, finding in action_hits]
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
        stage=stage,  # type: ignore[arg-type]
        outcome=outcome,  # type: ignore[arg-type]
        label_status=label,  # type: ignore[arg-type]
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


def _criterion(cid: str, status: str, rule_id: str, finding: Finding) -> Criterion:
    reason = finding.reasons.get(status)
    if reason is None:
        raise EngineError(f"criterion {cid}: the rules chose {status!r} but the finding has no reason for it")
    return Criterion(
        id=cid,
        status=status,  # type: ignore[arg-type]
        reason=reason,
        evidence=finding.evidence[:25],
        data_requests=finding.data_requests if status == "unknown" else [],
        rule_id=rule_id,
    )


def _action(rule: Rule, finding: Finding, policy: Policy) -> Action:
    return describe_action(rule.effect.target, rule.id, finding, policy)
