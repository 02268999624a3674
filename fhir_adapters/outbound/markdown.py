"""The card detail: the decision explained criterion by criterion, in GitHub-flavoured Markdown.

Reasons and evidence values carry text from the patient's record (display strings, free text), so
every cell is escaped: a `|` would break the table, and `<…>` could reach a client that renders HTML.
Criterion ids are written as code spans, which Markdown shows literally.
"""

from __future__ import annotations

import re

from eligibility.decision import Action, Criterion, Decision, Evidence

__all__ = ["escape_markdown", "render_detail"]

_STATUS = {"met": "met", "not_met": "**not met**", "unknown": "unknown", "not_applicable": "n/a"}
_EVIDENCE_SHOWN = 4  # per criterion; the full list is behind the card's link to the decision
_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")


def escape_markdown(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def render_detail(decision: Decision) -> str:
    label = (
        "label undetermined"
        if decision.label_status == "UNDETERMINED"
        else decision.label_status.replace("_", "-").lower()
    )
    lines = [
        f"**{decision.outcome}** ({decision.stage} stage, {label}) as of {decision.as_of}, "
        f"policy {escape_markdown(decision.policy.id)} {escape_markdown(decision.policy.version)}.",
        "",
        "| Status | Criterion | Reason | Evidence |",
        "|---|---|---|---|",
    ]
    lines += [_row(c) for c in decision.criteria]
    lines += _section(
        "Before the procedure (recommendations)", [a for a in decision.actions if a.category == "condition"]
    )
    lines += _section("Advisories", [a for a in decision.actions if a.category == "advisory"])
    lines += _section("Standard preparation", [a for a in decision.actions if a.category == "standard"])
    requests = [(c, r.description) for c in decision.criteria if c.status == "unknown" for r in c.data_requests]
    if requests:
        lines += ["", "**Data needed**", ""]
        lines += [f"- `{c.id}`: {escape_markdown(text)}" for c, text in requests]
    if decision.unrecognised:
        lines += ["", "**Not identified by the policy** (not counted toward any criterion, not checked for holds)", ""]
        lines += [
            f"- {escape_markdown(u.text or u.code or 'no name')} ({escape_markdown(u.reference)}"
            f"{', ' + escape_markdown(u.system or 'no system') + ' ' + escape_markdown(u.code) if u.code else ''})"
            for u in decision.unrecognised
        ]
    if decision.label_status == "OFF_LABEL":
        lines += ["", "Off-label use: coverage may need justification with the payer."]
    lines += [
        "",
        "This is a recommendation; the treating clinician decides.",
        "",
        f"Decision `{decision.decision_id}`.",
    ]
    return "\n".join(lines)


def _row(criterion: Criterion) -> str:
    return (
        f"| {_STATUS[criterion.status]} | `{criterion.id}` | {escape_markdown(criterion.reason)} "
        f"| {_evidence(criterion.evidence)} |"
    )


def _evidence(evidence: list[Evidence]) -> str:
    if not evidence:
        return "—"
    shown = []
    for item in evidence[:_EVIDENCE_SHOWN]:
        text = item.reference + (f" ({item.date})" if item.date else "")
        shown.append(escape_markdown(text))
    more = len(evidence) - _EVIDENCE_SHOWN
    return "; ".join(shown) + (f"; +{more} more" if more > 0 else "")


def _section(title: str, actions: list[Action]) -> list[str]:
    if not actions:
        return []
    return ["", f"**{title}**", ""] + [f"- {escape_markdown(a.description)}" for a in actions]
