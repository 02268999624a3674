"""Words for people: action descriptions, the summary paragraph, and the text rendering.

Clinical safety: the engine recommends and a clinician decides. Holds are always worded as
"hold recommended; confirm with the prescriber", never as an order.
"""

from __future__ import annotations

from eligibility.decision import Action, ActionKind, Decision, Evidence, Unrecognised
from eligibility.derive.finding import Finding
from eligibility.policy import Policy

__all__ = ["describe_action", "render_text", "summarize", "unrecognised_sentence"]

OUTCOME_WORDS = {
    "ELIGIBLE_FOR_TRIAL": "appears to be a candidate for a DRG stimulation trial",
    "ELIGIBLE_WITH_CONDITIONS": "appears to be a candidate for a DRG stimulation trial once the conditions below "
    "are addressed",
    "NEEDS_REVIEW": "needs a clinician's review before a DRG procedure is considered",
    "INSUFFICIENT_INFORMATION": "cannot be assessed yet: information is missing",
    "NOT_ELIGIBLE": "does not meet the candidacy criteria at this time",
    "ELIGIBLE_FOR_IMPLANT": "appears to be a candidate for the permanent DRG implant",
    "TRIAL_FAILED": "did not reach the required pain relief during the DRG trial",
}


def _days(value: float) -> str:
    return f"{value:g} day" + ("" if value == 1 else "s")


def describe_action(kind: ActionKind, rule_id: str, finding: Finding, policy: Policy) -> Action:
    """An action in words from its kind and the finding behind it (hold days from the policy's table)."""
    detail = finding.detail
    wording = policy.holds["wording"]
    if kind == "hold_medication":
        med = detail["ingredient"]
        days = detail.get("days_before")
        hold_days = float(days) if days is not None else 0.0
        note_parts = ["confirm with the prescriber"]
        if detail.get("kind") == "prescriber":
            note_parts = [detail.get("note", "prescriber decision"), "confirm with the prescriber"]
            text = (
                f"{med.capitalize()} appears to be taken for secondary prevention: whether to hold it before the "
                "procedure is the prescriber's decision; confirm with the prescriber."
            )
        else:
            restart = detail.get("restart", "per prescriber")
            text = f"{wording}: {med} {_days(hold_days)} before the procedure, restart {restart}."
        if detail.get("conflict"):
            text += f" Note: {detail['conflict']}."
        if detail.get("kind") != "prescriber" and detail.get("note"):
            note_parts.append(detail["note"])
        if detail.get("conflict"):
            note_parts.append(detail["conflict"])
        return Action(
            kind="hold_medication",
            category="condition",
            description=text,
            medication=med,
            rxnorm=detail.get("rxnorm"),
            days_before=days if detail.get("kind") == "days" else None,
            restart=detail.get("restart"),
            note="; ".join(note_parts),
            evidence=finding.evidence,
            rule_id=rule_id,
        )
    if kind == "lab_check":
        lab = detail["lab"]
        what = (
            "INR (must be normal before the procedure)"
            if lab == "INR"
            else "renal function (creatinine clearance)"
        )
        return Action(
            kind="lab_check",
            category="condition",
            description=f"Check {what} because of {detail['ingredient']}.",
            medication=detail["ingredient"],
            lab=lab,
            evidence=finding.evidence,
            rule_id=rule_id,
        )
    if kind == "advisory":
        return Action(
            kind="advisory",
            category="advisory",
            description=f"{detail['ingredient'].capitalize()}: {detail.get('note', 'advisory')}. "
            "No hold is recommended.",
            medication=detail["ingredient"],
            rxnorm=detail.get("rxnorm"),
            note=detail.get("note"),
            evidence=finding.evidence,
            rule_id=rule_id,
        )
    if kind == "smoking_cessation":
        weeks = policy.thresholds["smoking_cessation_weeks_before"]
        return Action(
            kind="smoking_cessation",
            category="condition",
            description=f"Current smoker: stopping at least {weeks} weeks before the implant is recommended; "
            "offer cessation support (nicotine replacement is acceptable).",
            evidence=finding.evidence,
            rule_id=rule_id,
        )
    if kind == "medication_reconciliation":
        unrecognised = [u for u in detail.get("unrecognised", ()) if _is_medication(u.reference)]
        description = "Reconcile all medicines, including over-the-counter drugs and supplements."
        if unrecognised:
            description += " Not identified by the policy, so not checked for holds: " + "; ".join(
                f"{u.text or u.code or 'no name'} ({u.reference})" for u in unrecognised
            ) + "."
        return Action(
            kind="medication_reconciliation",
            category="standard",
            description=description,
            evidence=[Evidence(reference=u.reference, value=u.text, note="not identified") for u in unrecognised],
            rule_id=rule_id,
        )
    if kind == "fasting_instructions":
        return Action(
            kind="fasting_instructions",
            category="standard",
            description="Fasting before sedation or anaesthesia: clear liquids until 2 h, a light meal until 6 h, "
            "fatty food until 8 h before.",
            rule_id=rule_id,
        )
    raise ValueError(f"unknown action kind {kind!r}")


def summarize(decision: Decision, notes: list[str]) -> str:
    """One paragraph a clinician can read."""
    who = decision.patient.reference
    parts = [
        f"As of {decision.as_of}, {who} {OUTCOME_WORDS[decision.outcome]} "
        f"({decision.outcome}, {decision.stage} stage, {_label_words(decision.label_status)})."
    ]
    blocking = [c for c in decision.criteria if c.status == "not_met"]
    unknown = [c for c in decision.criteria if c.status == "unknown"]
    met = [c for c in decision.criteria if c.status == "met"]
    if blocking:
        parts.append("Not met: " + " ".join(f"{c.id.replace('_', ' ')}: {c.reason}" for c in blocking))
    if unknown:
        parts.append("Unknown: " + ", ".join(c.id.replace("_", " ") for c in unknown) + ".")
    parts.append(f"{len(met)} of {len(decision.criteria)} criteria are met.")
    conditions = [a for a in decision.actions if a.category == "condition"]
    if conditions:
        parts.append("Before the procedure: " + " ".join(a.description for a in conditions))
    if decision.label_status == "OFF_LABEL":
        parts.append("Off-label use: coverage may need justification with the payer.")
    if decision.unrecognised:
        parts.append(unrecognised_sentence(decision))
    if notes:
        parts.append("Data notes: " + "; ".join(notes) + ".")
    parts.append("This is a recommendation; the treating clinician decides.")
    return " ".join(parts)


def _label_words(label_status: str) -> str:
    if label_status == "UNDETERMINED":  # v1.1: no qualifying diagnosis, no label question
        return "label undetermined"
    return label_status.replace("_", "-").lower()


def _is_medication(reference: str) -> bool:
    return reference.startswith("Medication")


def _unrecognised_name(item: Unrecognised) -> str:
    if item.text:
        return item.text
    return f"code {item.code} ({item.system or 'no system'})" if item.code else "no code or text"


def unrecognised_sentence(decision: Decision) -> str:
    """What the policy could not read, in one sentence (§7: named in the explanation)."""
    meds = [u for u in decision.unrecognised if _is_medication(u.reference)]
    codes = [u for u in decision.unrecognised if not _is_medication(u.reference)]
    parts = []
    if meds:
        parts.append(
            f"{len(meds)} active medication(s) could not be identified and were not counted toward any criterion "
            "or checked for a hold: " + "; ".join(_unrecognised_name(u) for u in meds) + "."
        )
    if codes:
        parts.append(
            f"{len(codes)} code(s) arrived without a recognised code system and were not read: "
            + "; ".join(f"{u.code} ({u.system or 'no system'}, {u.reference})" for u in codes)
            + "."
        )
    return " ".join(parts)


_MARK = {"met": "[met]", "not_met": "[NOT MET]", "unknown": "[unknown]", "not_applicable": "[n/a]"}


def render_text(decision: Decision, *, patient: str | None = None) -> str:
    """A readable explanation for the terminal, criterion by criterion with the evidence.

    `patient` is the person's header line (name, MRN, birth date), read by the caller from the input:
    the decision record itself names the patient only by reference.
    """
    lines = [
        f"Decision {decision.decision_id} for {decision.patient.reference} as of {decision.as_of}",
        *([f"Patient: {patient}"] if patient else []),
        f"Outcome: {decision.outcome}   stage: {decision.stage}   label: {decision.label_status}",
        f"Policy {decision.policy.id} {decision.policy.version} (sha256 {decision.policy.sha256[:12]}…), "
        f"engine {decision.engine_version}, input sha256 {decision.input_sha256[:12]}…",
        "",
        "Criteria:",
    ]
    for crit in decision.criteria:
        lines.append(f"  {_MARK[crit.status]:<10} {crit.id}: {crit.reason}")
        for ev in crit.evidence[:6]:
            how = f"identified by {ev.matched_by.replace('_', ' ')}" if ev.matched_by else None
            bits = [b for b in (ev.date, ev.value, ev.note, how) if b]
            lines.append(f"             - {ev.reference}" + (f" ({', '.join(bits)})" if bits else ""))
        if len(crit.evidence) > 6:
            lines.append(f"             - … {len(crit.evidence) - 6} more")
        for req in crit.data_requests:
            lines.append(f"             ? needed: {req.description}")
    lines += ["", "Actions:" if decision.actions else "Actions: none"]
    for action in decision.actions:
        lines.append(f"  - [{action.category}] {action.description}")
    if decision.unrecognised:
        lines += ["", "Not identified (not counted, not checked for holds):"]
        for item in decision.unrecognised:
            code = f"{item.system or 'no system'}|{item.code}" if item.code else "no code"
            lines.append(f"  ? {item.reference}: {item.text or 'no text'} ({code})")
    lines += ["", "Summary:", "  " + decision.summary]
    return "\n".join(lines)
