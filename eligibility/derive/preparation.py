"""Findings behind the actions: medications to hold or flag, smoking status (spec §4)."""

from __future__ import annotations

from datetime import date

from eligibility.decision import Evidence
from eligibility.derive.context import Context, fmt_date
from eligibility.derive.finding import Finding
from eligibility.facts import MedicationFact

__all__ = ["derive_medication_safety", "derive_smoking"]

_ACTIVE = frozenset({"active", "on-hold", "intended", "in-progress"})


def _active_at(ctx: Context, med: MedicationFact) -> bool:
    """Taken at as_of: an active status and no end before as_of."""
    if med.status not in _ACTIVE:
        return False
    return med.end is None or med.end >= ctx.as_of


def _secondary_prevention(ctx: Context, meds: list[MedicationFact]) -> list[Evidence]:
    vs = ctx.policy.matcher["secondary_prevention_indication"]
    found = [
        Evidence(
            reference=c.reference,
            date=fmt_date(c.date),
            value=(vs.match(c.codes) or c.codes[0]).code,
            note="indication",
        )
        for c in ctx.conditions
        if vs.match(c.codes)
    ]
    for med in meds:
        coding = vs.match(med.reason_codes)
        if coding is not None:
            found.append(
                Evidence(reference=med.reference, date=fmt_date(med.start), value=coding.code, note="reason")
            )
    return found


def derive_medication_safety(ctx: Context) -> list[Finding]:
    """One finding per held-table ingredient taken at as_of; the rules decide what each becomes."""
    table = ctx.policy.holds["entries"]
    by_ingredient: dict[str, list[tuple[MedicationFact, str | None]]] = {}
    for med in ctx.medications:
        if not _active_at(ctx, med):
            continue
        for ingredient, rxcui in ctx.policy.matcher.ingredients(med.codes, med.text):
            if ingredient in table:
                by_ingredient.setdefault(ingredient, []).append((med, rxcui))
    findings: list[Finding] = []
    for ingredient in sorted(by_ingredient):
        entry = dict(table[ingredient])
        meds = sorted(
            (m for m, _ in by_ingredient[ingredient]), key=lambda m: (m.start or date.min, m.reference)
        )
        evidence = [
            Evidence(reference=m.reference, date=fmt_date(m.start) if m.start else None, value=ingredient)
            for m in meds
        ]
        kind = entry["kind"]
        if ingredient == "aspirin":
            indication = _secondary_prevention(ctx, meds)
            if indication:
                entry = {**entry, **entry["secondary_prevention"]}
                kind = entry["kind"]
                evidence += indication
        rxcui = next(
            (r for _, r in by_ingredient[ingredient] if r), None
        ) or ctx.policy.matcher.rxcui_by_ingredient.get(ingredient)
        findings.append(
            Finding(
                "medication",
                {"ingredient": ingredient, "hold": kind, "lab": entry.get("lab", "")},
                evidence=evidence,
                detail={**entry, "ingredient": ingredient, "rxnorm": rxcui},
            )
        )
    return findings


def derive_smoking(ctx: Context) -> Finding:
    status = ctx.policy.valuesets["smoking_status"]
    obs = [
        o
        for o in ctx.observations
        if o.effective and any(c.system == "http://loinc.org" and c.code in status["loinc"] for c in o.codes)
    ]
    if not obs:
        return Finding("smoking", {"known": False, "current": False})
    latest = max(obs, key=lambda o: (o.effective or date.min, o.reference))
    current = any(c.code in status["current_answers"] for c in latest.value_codes)
    answer = next((c.display or c.code for c in latest.value_codes), latest.value_text or "no value")
    return Finding(
        "smoking",
        {"known": True, "current": current},
        evidence=[Evidence(reference=latest.reference, date=fmt_date(latest.effective), value=answer)],
    )
