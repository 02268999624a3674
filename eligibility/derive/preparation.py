"""Findings behind the actions: medications to hold or flag, smoking status (spec §4)."""

from __future__ import annotations

from datetime import date

from eligibility.decision import Evidence
from eligibility.derive.context import Context, fmt_date
from eligibility.derive.finding import Finding
from eligibility.facts import MedicationFact

__all__ = ["derive_medication_safety", "derive_smoking"]

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


def _held(ctx: Context) -> dict[tuple[str, bool], list[tuple[MedicationFact, str | None, bool]]]:
    """(ingredient, topical) -> [(medication, RxCUI, named only in a conflicting text)] taken at as_of."""
    table = ctx.policy.holds["entries"]
    found: dict[tuple[str, bool], list[tuple[MedicationFact, str | None, bool]]] = {}
    for med in ctx.medications:
        if not ctx.active_at(med):
            continue
        identified = ctx.identify(med)
        topical_nsaid = identified.topical and "topical_nsaid" in ctx.policy.holds
        for ingredient, rxcui in identified.ingredients:
            if ingredient in table:
                topical = topical_nsaid and table[ingredient].get("class") == "nsaid"
                found.setdefault((ingredient, topical), []).append((med, rxcui, False))
        for ingredient in identified.named_elsewhere:
            found.setdefault((ingredient, False), []).append((med, None, True))
    return found


def derive_medication_safety(ctx: Context) -> list[Finding]:
    """One finding per held-table ingredient taken at as_of; the rules decide what each becomes.

    v1.1 (§7): a topical NSAID yields the policy's `topical_nsaid` entry (an advisory) instead of its
    hold; a hold-table drug that a record's text names against its code still gets its hold, with a
    note that the record contradicts itself.
    """
    table = ctx.policy.holds["entries"]
    findings: list[Finding] = []
    for (ingredient, topical), items in sorted(_held(ctx).items()):
        entry = dict(table[ingredient])
        if topical:
            entry = {**entry, **ctx.policy.holds["topical_nsaid"]}
        meds = sorted(items, key=lambda t: (t[0].start or date.min, t[0].reference))
        evidence = [
            Evidence(
                reference=m.reference,
                date=fmt_date(m.start) if m.start else None,
                value=ingredient,
                note=_conflict_note(ctx, m, ingredient) if conflict else None,
                matched_by="name" if conflict else ctx.identify(m).matched_by,
            )
            for m, _, conflict in meds
        ]
        kind = entry["kind"]
        if ingredient == "aspirin" and not topical:
            indication = _secondary_prevention(ctx, [m for m, _, _ in meds])
            if indication:
                entry = {**entry, **entry["secondary_prevention"]}
                kind = entry["kind"]
                evidence += indication
        conflicts = [_conflict_note(ctx, m, ingredient) for m, _, conflict in meds if conflict]
        if conflicts and len(conflicts) == len(meds):
            entry["conflict"] = conflicts[0]
        rxcui = next((r for _, r, _ in items if r), None) or ctx.policy.matcher.rxcui_by_ingredient.get(ingredient)
        findings.append(
            Finding(
                "medication",
                {"ingredient": ingredient, "hold": kind, "lab": entry.get("lab", "")},
                evidence=evidence,
                detail={**entry, "ingredient": ingredient, "rxnorm": rxcui},
            )
        )
    return findings


def _conflict_note(ctx: Context, med: MedicationFact, ingredient: str) -> str:
    found = ctx.identify(med)
    identified = ", ".join(i for i, _ in found.ingredients)
    how = "its name" if found.matched_by == "name" else "its code"
    return f"the record's text names {ingredient} but {how} identifies {identified}: confirm which drug is taken"


def derive_smoking(ctx: Context) -> Finding:
    """Smoking status from the latest LOINC 72166-2 observation; a current smoker gets the cessation action."""
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
