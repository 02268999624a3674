"""Evidence drawn from a questionnaire says so: "reported by dr.rivera on 2026-12-04 (questionnaire)".

The decision record stays the engine's own output (so replay is IDENTICAL); the attribution is added to
a copy for display — the case page, the GuidanceResponse, the text — from the `answers` block of the
decision's audit record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eligibility.answers.extraction import attribution_text
from eligibility.decision import Decision

__all__ = ["attributed", "attribution_notes", "provenance_of"]


def provenance_of(payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """The `answers` block of a decision's audit payload, or None for a decision not made from answers."""
    found = payload.get("answers")
    return dict(found) if isinstance(found, Mapping) else None


def attributed(decision: Decision, provenance: Mapping[str, Any] | None) -> Decision:
    """A copy of `decision` whose evidence from answers carries the attribution in its note."""
    if not provenance:
        return decision
    words = attribution_text(str(provenance["answered_by"]), str(provenance["answered_on"]))
    from_answers = set(provenance.get("extracted", []))
    criteria = []
    for criterion in decision.criteria:
        evidence = [
            e.model_copy(update={"note": f"{e.note}; {words}" if e.note else words})
            if e.reference in from_answers
            else e
            for e in criterion.evidence
        ]
        reason = criterion.reason
        if any(e.reference in from_answers for e in criterion.evidence):
            reason = f"{reason} (Evidence {words}.)"
        criteria.append(criterion.model_copy(update={"evidence": evidence, "reason": reason}))
    actions = [
        action.model_copy(
            update={
                "evidence": [
                    e.model_copy(update={"note": f"{e.note}; {words}" if e.note else words})
                    if e.reference in from_answers
                    else e
                    for e in action.evidence
                ]
            }
        )
        for action in decision.actions
    ]
    return decision.model_copy(update={"criteria": criteria, "actions": actions})


def attribution_notes(decision: Decision, provenance: Mapping[str, Any] | None) -> list[str]:
    """One sentence per criterion that reads evidence from answers, for a GuidanceResponse's notes."""
    if not provenance:
        return []
    words = attribution_text(str(provenance["answered_by"]), str(provenance["answered_on"]))
    from_answers = set(provenance.get("extracted", []))
    notes = []
    for criterion in decision.criteria:
        refs = [e.reference for e in criterion.evidence if e.reference in from_answers]
        if refs:
            notes.append(f"{criterion.id} ({criterion.status}): evidence {', '.join(refs)} {words}.")
    for action in decision.actions:
        refs = [e.reference for e in action.evidence if e.reference in from_answers]
        if refs:
            what = f"{action.kind} ({action.medication})" if action.medication else action.kind
            notes.append(f"{what}: evidence {', '.join(refs)} {words}.")
    if not notes:
        notes.append(f"Answers {words} settled no criterion: {provenance.get('questionnaire_response')}.")
    return notes
