"""What every derivation needs: the record filtered to what counts at `as_of`, once.

Filtering rules (spec §1, §6): entries refuted or entered-in-error are ignored; a Condition is
active when clinicalStatus is active/recurrence/relapse, or absent with no abatement; anything
dated after `as_of` is ignored, so a replay with a past `as_of` sees what was knowable then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

from eligibility.codes import CodingLike
from eligibility.decision import Evidence
from eligibility.facts import (
    ConditionFact,
    DeviceFact,
    EncounterFact,
    MedicationFact,
    ObservationFact,
    PatientFacts,
    ProcedureFact,
)
from eligibility.medications import Identification
from eligibility.policy import Policy

__all__ = ["Context", "PainScore", "fmt_date", "fmt_score"]

_IGNORED_VERIFICATION = frozenset({"refuted", "entered-in-error"})
_ACTIVE_CLINICAL = frozenset({"active", "recurrence", "relapse"})
_IGNORED_OBSERVATION = frozenset({"entered-in-error", "cancelled"})
_IGNORED_PROCEDURE = frozenset({"entered-in-error", "not-done", "preparation"})
_IGNORED_MEDICATION = frozenset({"entered-in-error", "not-taken", "draft"})
_IGNORED_ENCOUNTER = frozenset({"entered-in-error", "cancelled", "planned"})
_ACTIVE_MEDICATION = frozenset({"active", "on-hold", "intended", "in-progress"})


def fmt_date(day: date | None) -> str:
    """A date as the reasons print it, or "undated"."""
    return day.isoformat() if day else "undated"


def fmt_score(value: float) -> str:
    """A pain score as the reasons print it: 7, 6.5 (no trailing zeros)."""
    return f"{value:g}"


@dataclass(frozen=True, slots=True)
class PainScore:
    """One pain score on 0-10 (NRS 72514-3, or a VAS rescaled), with the record it came from."""

    reference: str
    day: date
    value: float  # on 0-10

    def evidence(self, note: str | None = None) -> Evidence:
        return Evidence(
            reference=self.reference, date=self.day.isoformat(), value=fmt_score(self.value), note=note
        )


@dataclass
class Context:
    """What every derivation reads: the patient's facts, the policy and as_of, plus notes for the summary.

    Lookups that several derivations share (medication identities, active conditions, pain scores)
    are computed once per evaluation here.
    """

    facts: PatientFacts
    policy: Policy
    as_of: date
    notes: list[str] = field(default_factory=list)
    skipped_pain_scores: list[PainScore] = field(default_factory=list)  # outside 0-10 (data_warnings.py)

    @cached_property
    def _identified(self) -> dict[str, Identification]:
        hold_drugs = frozenset(self.policy.holds["entries"])
        identifier = self.policy.identifier
        return {m.reference: identifier.identify(m, hold_drugs) for m in self.facts.medications}

    def identify(self, med: MedicationFact) -> Identification:
        """The §7 identity of one medication record, computed once per evaluation."""
        return self._identified[med.reference]

    def active_at(self, med: MedicationFact) -> bool:
        """Taken at as_of: an active status and no end before as_of."""
        if med.status not in _ACTIVE_MEDICATION:
            return False
        return med.end is None or med.end >= self.as_of

    @staticmethod
    def medication_text(med: MedicationFact) -> str | None:
        """What a person would call the medication record: its text, else a display (None: codes only)."""
        return med.concept_text or next((c.display for c in med.codes if c.display), None) or med.reference_display

    def medication_label(self, med: MedicationFact) -> str:
        """The text, else the code, else a phrase: never empty."""
        coding = next((c for c in med.codes if c.code), None)
        code = f"{coding.system or 'no system'}|{coding.code}" if coding else "a medication with no code or text"
        return self.medication_text(med) or code

    def t(self, name: str) -> Any:
        return self.policy.threshold(name)

    def vs(self, name: str, codings: tuple[CodingLike, ...]) -> CodingLike | None:
        return self.policy.matcher[name].match(codings)

    def _not_future(self, day: date | None) -> bool:
        return day is None or day <= self.as_of

    @cached_property
    def conditions(self) -> tuple[ConditionFact, ...]:
        """Conditions that are not refuted/entered-in-error and not dated after as_of."""
        return tuple(
            c
            for c in self.facts.conditions
            if c.verification_status not in _IGNORED_VERIFICATION
            and c.clinical_status != "entered-in-error"
            and self._not_future(c.date)
        )

    @cached_property
    def active_conditions(self) -> tuple[ConditionFact, ...]:
        return tuple(c for c in self.conditions if self.is_active(c))

    @staticmethod
    def is_active(condition: ConditionFact) -> bool:
        if condition.clinical_status is None:
            return not condition.abated
        return condition.clinical_status in _ACTIVE_CLINICAL

    @cached_property
    def observations(self) -> tuple[ObservationFact, ...]:
        return tuple(
            o
            for o in self.facts.observations
            if o.status not in _IGNORED_OBSERVATION and self._not_future(o.effective)
        )

    @cached_property
    def procedures(self) -> tuple[ProcedureFact, ...]:
        return tuple(
            p
            for p in self.facts.procedures
            if p.status not in _IGNORED_PROCEDURE and self._not_future(p.start)
        )

    @cached_property
    def medications(self) -> tuple[MedicationFact, ...]:
        return tuple(
            m
            for m in self.facts.medications
            if m.status not in _IGNORED_MEDICATION and self._not_future(m.start)
        )

    @cached_property
    def encounters(self) -> tuple[EncounterFact, ...]:
        return tuple(
            e
            for e in self.facts.encounters
            if e.status not in _IGNORED_ENCOUNTER and self._not_future(e.start)
        )

    @cached_property
    def devices(self) -> tuple[DeviceFact, ...]:
        return tuple(d for d in self.facts.devices if d.status not in {"entered-in-error", "inactive"})

    @cached_property
    def pain_scores(self) -> tuple[PainScore, ...]:
        """Dated 0-10 pain scores, oldest first. VAS in mm is scaled to 0-10."""
        matcher = self.policy.matcher
        scale = float(self.t("vas_scale_max"))
        scores: list[PainScore] = []
        for obs in self.observations:
            if obs.effective is None or obs.value_number is None:
                continue
            value = obs.value_number
            if matcher["pain_score"].match(obs.codes) is None:
                if not self._is_vas(obs):
                    continue
                value = value * 10.0 / scale if value > 10 else value
            if 0 <= value <= 10:
                scores.append(PainScore(obs.reference, obs.effective, value))
            else:
                self.notes.append(f"{obs.reference}: pain score {value:g} is outside 0-10 and was not used")
                self.skipped_pain_scores.append(PainScore(obs.reference, obs.effective, value))
        return tuple(sorted(scores, key=lambda s: (s.day, s.reference)))

    def _is_vas(self, obs: ObservationFact) -> bool:
        vas = set(self.policy.valuesets["pain_score"].get("loinc_vas", ()))
        return any(self.policy.matcher.kind_of(c.system) == "loinc" and c.code in vas for c in obs.codes)

    def scores_between(self, start: date, end: date) -> list[PainScore]:
        return [s for s in self.pain_scores if start <= s.day <= end]
