"""The candidacy rules, with our own stable ids (durable_rules would name them by position).

Each rule matches one derived fact (a `Finding`'s flat values, `t` = its kind) against constants
taken from the policy's thresholds, and records one effect. Rules only record: the engine
composes the decision from what fired, and checks that every question got exactly one answer.
Never compare two facts with <, > here (that reads out of bounds in durable_rules); date and
number arithmetic happen in `eligibility.derive`.

Phases: 1 = findings (criteria, stage, label, actions); 2 = the outcome, from a summary of the
phase-1 results; 3 = standard preparation, from the outcome.
"""

from __future__ import annotations

from collections.abc import Callable

from durable.lang import m

from eligibility.decision import Status
from eligibility.policy import Policy
from eligibility.rules.outcomes import outcome_rules
from eligibility.rules.rule import AddAction, Effect, NoEffect, Rule, SetLabel, SetStage, SetStatus

__all__ = ["Rule", "build_catalog"]


def _crit(cid: str, status: Status) -> Effect:
    return SetStatus(cid, status)


Builder = Callable[[Policy], list[Rule]]


def _person_and_diagnosis(p: Policy) -> list[Rule]:
    t = p.thresholds
    return [
        Rule("adult.unknown", 1, (m.t == "age") & (m.known == False), _crit("adult", "unknown")),
        Rule("adult.met", 1, (m.t == "age") & (m.known == True) & (m.years >= t["adult_min_age_years"]), _crit("adult", "met")),
        Rule("adult.not_met", 1, (m.t == "age") & (m.known == True) & (m.years < t["adult_min_age_years"]), _crit("adult", "not_met")),
        Rule("diagnosis.met", 1, (m.t == "diagnosis") & (m.qualifying > 0), _crit("qualifying_diagnosis", "met")),
        Rule("diagnosis.not_met", 1, (m.t == "diagnosis") & (m.qualifying == 0) & (m.non_qualifying_pain > 0), _crit("qualifying_diagnosis", "not_met")),
        Rule("diagnosis.unknown", 1, (m.t == "diagnosis") & (m.qualifying == 0) & (m.non_qualifying_pain == 0), _crit("qualifying_diagnosis", "unknown")),
        Rule("location.met", 1, (m.t == "location") & (m.targeted > 0), _crit("pain_location", "met")),
        Rule("location.not_met", 1, (m.t == "location") & (m.targeted == 0) & (m.ambiguous == 0) & (m.outside > 0), _crit("pain_location", "not_met")),
        Rule("location.unknown", 1, (m.t == "location") & (m.targeted == 0) & ((m.ambiguous > 0) | (m.outside == 0)), _crit("pain_location", "unknown")),
        Rule("duration.unknown", 1, (m.t == "duration") & (m.known == False), _crit("pain_duration", "unknown")),
        Rule("duration.met", 1, (m.t == "duration") & (m.known == True) & (m.months >= t["pain_duration_min_months"]), _crit("pain_duration", "met")),
        Rule("duration.not_met", 1, (m.t == "duration") & (m.known == True) & (m.months < t["pain_duration_min_months"]), _crit("pain_duration", "not_met")),
        Rule("severity.unknown", 1, (m.t == "severity") & (m.known == False), _crit("pain_severity", "unknown")),
        Rule("severity.met", 1, (m.t == "severity") & (m.known == True) & (m.score >= t["pain_severity_min"]), _crit("pain_severity", "met")),
        Rule("severity.not_met", 1, (m.t == "severity") & (m.known == True) & (m.score < t["pain_severity_min"]), _crit("pain_severity", "not_met")),
        *_label(p),
    ]


def _label(p: Policy) -> list[Rule]:
    if not p.thresholds.get("label_undetermined_without_diagnosis", False):  # v1.0: no diagnosis is OFF_LABEL
        return [
            Rule("label.on", 1, (m.t == "label") & (m.on_label_dx > 0), SetLabel("ON_LABEL")),
            Rule("label.off", 1, (m.t == "label") & (m.on_label_dx == 0), SetLabel("OFF_LABEL")),
        ]
    # v1.1 (§7): without a met qualifying diagnosis there is no label question.
    return [
        Rule("label.undetermined", 1, (m.t == "label") & (m.qualifying == 0), SetLabel("UNDETERMINED")),
        Rule("label.on", 1, (m.t == "label") & (m.qualifying > 0) & (m.on_label_dx > 0), SetLabel("ON_LABEL")),
        Rule("label.off", 1, (m.t == "label") & (m.qualifying > 0) & (m.on_label_dx == 0), SetLabel("OFF_LABEL")),
    ]


def _treatments(p: Policy) -> list[Rule]:
    need = p.thresholds["failed_medication_classes_min"]
    return [
        Rule("medications.unknown.none", 1, (m.t == "medications") & (m.classes == 0), _crit("failed_medications", "unknown")),
        Rule("medications.met", 1, (m.t == "medications") & (m.failed >= need), _crit("failed_medications", "met")),
        Rule("medications.unknown.undocumented", 1, (m.t == "medications") & (m.classes > 0) & (m.failed < need) & (m.failed_or_undocumented >= need), _crit("failed_medications", "unknown")),
        Rule("medications.not_met", 1, (m.t == "medications") & (m.classes > 0) & (m.failed_or_undocumented < need), _crit("failed_medications", "not_met")),
        Rule("pt.unknown.none", 1, (m.t == "physical_therapy") & (m.courses == 0), _crit("failed_physical_therapy", "unknown")),
        Rule("pt.met", 1, (m.t == "physical_therapy") & (m.failed > 0), _crit("failed_physical_therapy", "met")),
        Rule("pt.not_met.successful", 1, (m.t == "physical_therapy") & (m.failed == 0) & (m.successful > 0), _crit("failed_physical_therapy", "not_met")),
        Rule("pt.unknown.undocumented", 1, (m.t == "physical_therapy") & (m.failed == 0) & (m.successful == 0) & (m.undocumented > 0), _crit("failed_physical_therapy", "unknown")),
        Rule("pt.not_met.inadequate", 1, (m.t == "physical_therapy") & (m.courses > 0) & (m.failed == 0) & (m.successful == 0) & (m.undocumented == 0), _crit("failed_physical_therapy", "not_met")),
        Rule("interventional.not_applicable", 1, (m.t == "interventional") & (m.required == False), _crit("failed_interventional", "not_applicable")),
        Rule("interventional.unknown.none", 1, (m.t == "interventional") & (m.required == True) & (m.procedures == 0), _crit("failed_interventional", "unknown")),
        Rule("interventional.met", 1, (m.t == "interventional") & (m.required == True) & (m.failed > 0), _crit("failed_interventional", "met")),
        Rule("interventional.not_met", 1, (m.t == "interventional") & (m.required == True) & (m.failed == 0) & (m.successful > 0), _crit("failed_interventional", "not_met")),
        Rule("interventional.unknown.undocumented", 1, (m.t == "interventional") & (m.required == True) & (m.procedures > 0) & (m.failed == 0) & (m.successful == 0), _crit("failed_interventional", "unknown")),
    ]


def _safety(p: Policy) -> list[Rule]:
    return [
        Rule("psych.unknown", 1, (m.t == "psych") & (m.evaluations == 0), _crit("psychological_evaluation", "unknown")),
        Rule("psych.met", 1, (m.t == "psych") & (m.evaluations > 0) & (m.latest_unfavourable == False), _crit("psychological_evaluation", "met")),
        Rule("psych.not_met", 1, (m.t == "psych") & (m.evaluations > 0) & (m.latest_unfavourable == True), _crit("psychological_evaluation", "not_met")),
        Rule("sud.met", 1, (m.t == "sud") & (m.active == 0), _crit("no_active_substance_use_disorder", "met")),
        Rule("sud.not_met", 1, (m.t == "sud") & (m.active > 0), _crit("no_active_substance_use_disorder", "not_met")),
        Rule("absolute.met", 1, (m.t == "absolute") & (m.total == 0), _crit("no_absolute_contraindication", "met")),
        Rule("absolute.not_met", 1, (m.t == "absolute") & (m.total > 0), _crit("no_absolute_contraindication", "not_met")),
        Rule("relative.met", 1, (m.t == "relative") & (m.total == 0), _crit("no_relative_contraindication", "met")),
        Rule("relative.not_met", 1, (m.t == "relative") & (m.total > 0), _crit("no_relative_contraindication", "not_met")),
    ]


def _stage_and_trial(p: Policy) -> list[Rule]:
    minimum = p.thresholds["trial_response_min_fraction"]
    return [
        Rule("stage.implant", 1, (m.t == "stage") & (m.trial > 0) & (m.permanent == 0), SetStage("implant")),
        Rule("stage.trial", 1, (m.t == "stage") & ((m.trial == 0) | (m.permanent > 0)), SetStage("trial")),
        Rule("trial_response.unknown", 1, (m.t == "trial_response") & (m.known == False), _crit("trial_response", "unknown")),
        Rule("trial_response.met", 1, (m.t == "trial_response") & (m.known == True) & (m.fraction >= minimum), _crit("trial_response", "met")),
        Rule("trial_response.not_met", 1, (m.t == "trial_response") & (m.known == True) & (m.fraction < minimum), _crit("trial_response", "not_met")),
    ]


def _actions(p: Policy) -> list[Rule]:
    return [
        Rule("hold.days", 1, (m.t == "medication") & (m.hold == "days"), AddAction("hold_medication")),
        Rule("hold.prescriber", 1, (m.t == "medication") & (m.hold == "prescriber"), AddAction("hold_medication")),
        Rule("hold.none", 1, (m.t == "medication") & (m.hold == "none"), NoEffect("no_hold")),
        Rule("hold.advisory", 1, (m.t == "medication") & (m.hold == "advisory"), AddAction("advisory")),
        Rule("lab.check", 1, (m.t == "medication") & (m.lab != ""), AddAction("lab_check")),
        Rule("smoking.cessation", 1, (m.t == "smoking") & (m.current == True), AddAction("smoking_cessation")),
        Rule("smoking.none", 1, (m.t == "smoking") & (m.current == False), NoEffect("no_smoking_action")),
    ]


_BUILDERS: tuple[Builder, ...] = (_person_and_diagnosis, _treatments, _safety, _stage_and_trial, _actions, outcome_rules)


def build_catalog(policy: Policy) -> tuple[Rule, ...]:
    rules = tuple(rule for builder in _BUILDERS for rule in builder(policy))
    ids = [r.id for r in rules]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate rule ids: {sorted(duplicates)}")
    return rules
