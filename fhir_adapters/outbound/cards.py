"""The decision as CDS Hooks 2.0 cards: one card, its Markdown explanation, the Tasks as suggestions."""

from __future__ import annotations

from typing import Any

from eligibility.decision import ELIGIBLE_OUTCOMES, Decision
from eligibility.review_reasons import REVIEW_REASONS

from .markdown import render_detail
from .naming import CodeSystems, local_uuid
from .tasks import tasks

__all__ = ["OVERRIDE_REASONS", "SUMMARY_MAX", "answers_url", "card_uuid", "decision_to_cards", "indicator", "summary"]

SUMMARY_MAX = 139  # CDS Hooks: the summary is "<140 characters"

# The review vocabulary of the product (a card override is a review), less "agree" (not a reason to
# override) and "other" (it needs a comment, which a CDS override carries no field for).
OVERRIDE_REASONS: tuple[tuple[str, str], ...] = tuple(
    (code, label)
    for code, label in REVIEW_REASONS.items()
    if code not in ("agree", "other") and not code.startswith("cds-")
)


def card_uuid(decision_id: str) -> str:
    """The uuid of a decision's card: stable, so feedback on it can be traced back to the decision."""
    return local_uuid(decision_id, "card")


def indicator(decision: Decision) -> str:
    """info for eligible outcomes; warning when something is missing, blocking or failed.

    critical only for an absolute contraindication (bleeding disorder, systemic infection, pregnancy):
    that is the finding that makes the procedure unsafe, and EHRs may interrupt the workflow for a
    critical card. Not being a candidate, or a failed trial, matters but is not urgent. An eligible
    outcome with an active medication nobody identified is a warning (spec §7): it may be a missed hold.
    """
    unidentified = any(u.reference.startswith("Medication") for u in decision.unrecognised)
    if decision.outcome in ELIGIBLE_OUTCOMES:
        return "warning" if unidentified else "info"
    if any(c.id == "no_absolute_contraindication" and c.status == "not_met" for c in decision.criteria):
        return "critical"
    return "warning"


def summary(decision: Decision) -> str:
    """One sentence under 140 characters, named by outcome; the counts say what the detail holds."""
    target = "the permanent implant" if decision.stage == "implant" else "a trial"
    not_met = sum(c.status == "not_met" for c in decision.criteria)
    unknown = sum(c.status == "unknown" for c in decision.criteria)
    conditions = sum(a.category == "condition" for a in decision.actions)
    absolute = any(c.id == "no_absolute_contraindication" and c.status == "not_met" for c in decision.criteria)
    blocking = (
        "absolute contraindication on record" if absolute else f"{_count(not_met, 'criterion', 'criteria')} not met"
    )
    texts = {
        "ELIGIBLE_FOR_TRIAL": "appears eligible for a trial",
        "ELIGIBLE_WITH_CONDITIONS": "appears eligible for a trial once "
        f"{_count(conditions, 'condition is', 'conditions are')} addressed",
        "ELIGIBLE_FOR_IMPLANT": "trial succeeded; appears eligible for the permanent implant",
        "NEEDS_REVIEW": f"clinician review needed before {target} (relative contraindication)",
        "INSUFFICIENT_INFORMATION": "cannot be assessed yet; "
        f"{_count(unknown, 'criterion needs', 'criteria need')} data",
        "NOT_ELIGIBLE": f"not a candidate for {target} now; {blocking}",
        "TRIAL_FAILED": "the trial did not reach the required pain relief",
    }
    text = texts[decision.outcome]
    if decision.label_status == "OFF_LABEL" and decision.outcome in ELIGIBLE_OUTCOMES:
        text += " (off-label)"
    unidentified = sum(u.reference.startswith("Medication") for u in decision.unrecognised)
    if unidentified:
        text += f"; {_count(unidentified, 'medication', 'medications')} not identified"
    return _clip(f"DRG stimulation: {text}")


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def _clip(text: str) -> str:
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1].rstrip() + "…"


def decision_to_cards(decision: Decision, *, base_url: str, decision_url: str) -> dict[str, Any]:
    """One card for the decision: summary, the explanation as Markdown, the Tasks as suggestions."""
    systems = CodeSystems()
    card: dict[str, Any] = {
        "uuid": card_uuid(decision.decision_id),
        "summary": summary(decision),
        "indicator": indicator(decision),
        "detail": render_detail(decision),
        "source": {
            "label": f"DRG candidacy, policy {decision.policy.id} {decision.policy.version}",
            "url": base_url,
            "topic": {"system": systems.card_topic, "code": "drg-candidacy", "display": "DRG stimulation candidacy"},
        },
    }
    suggestions = [
        {
            "label": _clip(f"Create task: {task['description']}"),
            "uuid": local_uuid(decision.decision_id, f"suggestion/{task['id']}"),
            "actions": [{"type": "create", "description": task["description"], "resource": task}],
        }
        for task in tasks(decision, base_url=base_url)
    ]
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "any"  # each Task stands alone; the user may accept any of them
    card["overrideReasons"] = [
        {"system": systems.override_reason, "code": code, "display": display} for code, display in OVERRIDE_REASONS
    ]
    card["links"] = [{"label": "Full decision record", "url": decision_url, "type": "absolute"}]
    if any(c.status == "unknown" and c.data_requests for c in decision.criteria):
        card["links"].append(
            {
                "label": "Answer the open questions",
                "url": answers_url(base_url, decision.decision_id),
                "type": "absolute",
            }
        )
    return {"cards": [card]}


def answers_url(base_url: str, decision_id: str) -> str:
    """The referrer's web form for the decision's open questions (sign-in first; their own decisions only)."""
    root = base_url.rstrip("/").removesuffix("/fhir")
    return f"{root}/ui/decisions/{decision_id}/answers"
