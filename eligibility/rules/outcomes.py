"""The outcome (phase 2) and the standard preparation (phase 3), with the inputs they decide from.

What counts as blocking, which criteria are the implant's safety criteria and which actions are
conditions are said here once, beside the rules that read them; the engine only fills in
`outcome_inputs` from the phase-1 answers. Spec §4 (outcomes) and §5 (the decision record).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from durable.lang import m

from eligibility.decision import Status
from eligibility.policy import Policy
from eligibility.rules.rule import AddAction, NoEffect, Rule, SetOutcome

__all__ = ["CONDITION_ACTIONS", "CRITERIA", "NOT_BLOCKING", "SAFETY_CRITERIA", "outcome_inputs", "outcome_rules"]

# Every trial-stage criterion, in the order the decision record lists them (spec §3).
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
# A relative contraindication asks for a specialist's review; it does not make a patient ineligible.
NOT_BLOCKING = frozenset({"no_relative_contraindication"})
# Before a permanent implant only these are asked again: a contraindication or an active SUD stops it.
SAFETY_CRITERIA: tuple[str, ...] = ("no_absolute_contraindication", "no_active_substance_use_disorder")
# Actions that make an otherwise eligible trial ELIGIBLE_WITH_CONDITIONS.
CONDITION_ACTIONS = frozenset({"hold_medication", "lab_check", "smoking_cessation"})


def outcome_inputs(
    status: Mapping[str, Status],
    *,
    fid: int,
    stage: str,
    condition_actions: int,
    neurostimulator: bool,
) -> dict[str, Any]:
    """The one fact phase 2 matches: counts of the phase-1 answers the outcome rules below read."""
    return {
        "t": "summary",
        "fid": fid,
        "stage": stage,
        "blocking_not_met": sum(1 for cid in CRITERIA if cid not in NOT_BLOCKING and status[cid] == "not_met"),
        "unknown": sum(1 for cid in CRITERIA if status[cid] == "unknown"),
        "relative_not_met": sum(1 for cid in NOT_BLOCKING if status[cid] == "not_met"),
        "neurostimulator": int(neurostimulator),
        "condition_actions": condition_actions,
        "trial_response": status.get("trial_response", "none"),
        "safety_not_met": sum(1 for cid in SAFETY_CRITERIA if status[cid] == "not_met"),
    }


def outcome_rules(p: Policy) -> list[Rule]:
    trial = m.t == "summary"
    clear = (m.blocking_not_met == 0) & (m.unknown == 0)
    review = (m.relative_not_met > 0) | (m.neurostimulator > 0)
    no_review = (m.relative_not_met == 0) & (m.neurostimulator == 0)
    implant_ok = (m.stage == "implant") & (m.trial_response == "met")
    return [
        Rule("outcome.trial.not_eligible", 2, trial & (m.stage == "trial") & (m.blocking_not_met > 0), SetOutcome("NOT_ELIGIBLE")),
        Rule("outcome.trial.insufficient", 2, trial & (m.stage == "trial") & (m.blocking_not_met == 0) & (m.unknown > 0), SetOutcome("INSUFFICIENT_INFORMATION")),
        Rule("outcome.trial.needs_review", 2, trial & (m.stage == "trial") & clear & review, SetOutcome("NEEDS_REVIEW")),
        Rule("outcome.trial.with_conditions", 2, trial & (m.stage == "trial") & clear & no_review & (m.condition_actions > 0), SetOutcome("ELIGIBLE_WITH_CONDITIONS")),
        Rule("outcome.trial.eligible", 2, trial & (m.stage == "trial") & clear & no_review & (m.condition_actions == 0), SetOutcome("ELIGIBLE_FOR_TRIAL")),
        Rule("outcome.implant.trial_failed", 2, trial & (m.stage == "implant") & (m.trial_response == "not_met"), SetOutcome("TRIAL_FAILED")),
        Rule("outcome.implant.insufficient", 2, trial & (m.stage == "implant") & (m.trial_response == "unknown"), SetOutcome("INSUFFICIENT_INFORMATION")),
        Rule("outcome.implant.not_eligible", 2, trial & implant_ok & (m.safety_not_met > 0), SetOutcome("NOT_ELIGIBLE")),
        Rule("outcome.implant.needs_review", 2, trial & implant_ok & (m.safety_not_met == 0) & review, SetOutcome("NEEDS_REVIEW")),
        Rule("outcome.implant.eligible", 2, trial & implant_ok & (m.safety_not_met == 0) & no_review, SetOutcome("ELIGIBLE_FOR_IMPLANT")),
        Rule("prep.medication_reconciliation", 3, (m.t == "decided") & (m.eligible == True), AddAction("medication_reconciliation")),
        Rule("prep.fasting_instructions", 3, (m.t == "decided") & (m.eligible == True), AddAction("fasting_instructions")),
        Rule("prep.none", 3, (m.t == "decided") & (m.eligible == False), NoEffect("no_preparation")),
    ]
