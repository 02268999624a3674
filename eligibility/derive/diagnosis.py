"""Diagnosis-side findings: age, qualifying diagnosis, pain location, duration, severity, label."""

from __future__ import annotations

from eligibility.calendar import age_in_years, days, whole_months_between
from eligibility.decision import Evidence
from eligibility.derive.context import Context, fmt_date, fmt_score
from eligibility.derive.finding import Finding, request
from eligibility.facts import Coding, ConditionFact

__all__ = [
    "derive_age",
    "derive_diagnosis",
    "derive_duration",
    "derive_label",
    "derive_location",
    "derive_severity",
    "qualifying_conditions",
]

LOINC = "http://loinc.org"


def _code_text(condition: ConditionFact, coding: Coding | None = None) -> str:
    chosen = coding or (condition.codes[0] if condition.codes else None)
    if chosen is None:
        return condition.text or "uncoded condition"
    label = chosen.display or condition.text
    return f"{chosen.code} {label}" if label else chosen.code


def _condition_evidence(condition: ConditionFact, coding: Coding | None = None) -> Evidence:
    return Evidence(
        reference=condition.reference,
        date=condition.date.isoformat() if condition.date else None,
        value=_code_text(condition, coding),
    )


def qualifying_conditions(ctx: Context) -> list[tuple[ConditionFact, Coding]]:
    """The active conditions coded in the policy's qualifying_diagnosis value set, with the matching coding."""
    found: list[tuple[ConditionFact, Coding]] = []
    for condition in ctx.active_conditions:
        coding = ctx.vs("qualifying_diagnosis", condition.codes)
        if isinstance(coding, Coding):
            found.append((condition, coding))
    return found


def derive_age(ctx: Context) -> Finding:
    """Criterion `adult`: age in whole years at as_of from Patient.birthDate; unknown without one."""
    birth = ctx.facts.patient.birth_date
    minimum = ctx.t("adult_min_age_years")
    ref = ctx.facts.patient.reference
    if birth is None:
        return Finding(
            "age",
            {"known": False, "years": -1},
            criterion="adult",
            reasons={"unknown": "The record has no birth date, so age cannot be established."},
            data_requests=[request("Record the patient's birth date.", "Patient")],
        )
    years = age_in_years(birth, ctx.as_of)
    ev = [Evidence(reference=ref, date=birth.isoformat(), value=f"{years} years on {ctx.as_of.isoformat()}")]
    return Finding(
        "age",
        {"known": True, "years": years},
        criterion="adult",
        evidence=ev,
        reasons={
            "met": f"Aged {years} on {ctx.as_of.isoformat()} (born {birth.isoformat()}), at least {minimum}.",
            "not_met": f"Aged {years} on {ctx.as_of.isoformat()} (born {birth.isoformat()}), under {minimum}.",
        },
    )


def derive_diagnosis(ctx: Context) -> Finding:
    """Criterion `qualifying_diagnosis`: an active qualifying condition (met), only non-qualifying pain
    (not_met), or no pain diagnosis at all (unknown)."""
    qualifying = qualifying_conditions(ctx)
    excluded: list[tuple[ConditionFact, Coding]] = []
    other_pain: list[tuple[ConditionFact, Coding]] = []
    for condition in ctx.active_conditions:
        if any(condition is q for q, _ in qualifying):
            continue
        for set_name, bucket in (("excluded_pain", excluded), ("pain_site_symptom", other_pain)):
            coding = ctx.vs(set_name, condition.codes)
            if isinstance(coding, Coding):
                bucket.append((condition, coding))
                break
    if qualifying:
        names = "; ".join(_code_text(c, k) for c, k in qualifying)
        return Finding(
            "diagnosis",
            {"qualifying": len(qualifying), "non_qualifying_pain": len(excluded) + len(other_pain)},
            criterion="qualifying_diagnosis",
            evidence=[_condition_evidence(c, k) for c, k in qualifying],
            reasons={"met": f"Active qualifying pain diagnosis: {names}."},
        )
    if excluded or other_pain:
        names = "; ".join(_code_text(c, k) for c, k in excluded + other_pain)
        return Finding(
            "diagnosis",
            {"qualifying": 0, "non_qualifying_pain": len(excluded) + len(other_pain)},
            criterion="qualifying_diagnosis",
            evidence=[_condition_evidence(c, k) for c, k in excluded + other_pain],
            reasons={
                "not_met": f"The only pain diagnoses on record do not qualify for DRG stimulation: {names}."
            },
        )
    return Finding(
        "diagnosis",
        {"qualifying": 0, "non_qualifying_pain": 0},
        criterion="qualifying_diagnosis",
        reasons={"unknown": "No active pain diagnosis is on record."},
        data_requests=[
            request(
                "Record the chronic pain diagnosis (e.g. CRPS, causalgia, chronic post-procedural pain) "
                "as an active Condition with an ICD-10-CM or SNOMED CT code.",
                "Condition",
            )
        ],
    )


def derive_location(ctx: Context) -> Finding:
    """Regions of the qualifying pain: bodySite first, then what the code implies (G57.7x = lower
    limb), then located pain-site symptoms and pain-score body sites."""
    matcher = ctx.policy.matcher
    targeted: list[Evidence] = []
    outside: list[Evidence] = []
    ambiguous: list[Evidence] = []
    seen: set[tuple[str, str]] = set()

    def add(region: str | None, reference: str, day: str | None, how: str) -> None:
        if region is None or (reference, region) in seen:
            return
        seen.add((reference, region))
        ev = Evidence(reference=reference, date=day, value=region.replace("_", " "), note=how)
        if region in matcher.targeted_regions:
            targeted.append(ev)
        elif region in matcher.outside_regions:
            outside.append(ev)
        else:
            ambiguous.append(ev)

    pain_conditions = [c for c, _ in qualifying_conditions(ctx)]
    pain_conditions += [
        c for c in ctx.active_conditions if ctx.vs("pain_site_symptom", c.codes) and c not in pain_conditions
    ]
    for condition in pain_conditions:
        day = condition.date.isoformat() if condition.date else None
        site_region = matcher.region_of_site(condition.body_sites)
        if site_region:
            add(site_region, condition.reference, day, "body site")
        else:
            add(matcher.region_of_code(condition.codes), condition.reference, day, "implied by the code")
    for obs in ctx.observations:
        if obs.body_sites and ctx.vs("pain_score", obs.codes):
            add(
                matcher.region_of_site(obs.body_sites),
                obs.reference,
                fmt_date(obs.effective),
                "pain score site",
            )

    regions_in = sorted({e.value or "" for e in targeted})
    regions_out = sorted({e.value or "" for e in outside})
    reasons = {
        "met": f"Pain is located in a DRG-targeted region: {', '.join(regions_in)}.",
        "not_met": f"All located pain lies outside the DRG-targeted regions ({', '.join(regions_out)}).",
        "unknown": "No body site of the pain is recorded"
        + (" precisely enough (an upper limb may or may not include the hand)." if ambiguous else "."),
    }
    return Finding(
        "location",
        {"targeted": len(targeted), "outside": len(outside), "ambiguous": len(ambiguous)},
        criterion="pain_location",
        evidence=targeted or outside + ambiguous,
        reasons=reasons,
        data_requests=[
            request(
                "Record the body site of the pain (Condition.bodySite, SNOMED CT: chest, abdomen, groin, "
                "hand, foot, knee or other lower-limb site).",
                "Condition",
            )
        ],
    )


def derive_duration(ctx: Context) -> Finding:
    """Criterion `pain_duration`: the qualifying pain's onset (or recorded date) at least the policy's
    months before as_of, in calendar months."""
    minimum = ctx.t("pain_duration_min_months")
    dated = [(c, k) for c, k in qualifying_conditions(ctx) if c.date is not None]
    if not dated:
        return Finding(
            "duration",
            {"known": False, "months": -1},
            criterion="pain_duration",
            reasons={
                "unknown": "No onset, recorded or asserted date is on record for a qualifying pain diagnosis."
            },
            data_requests=[
                request("Record the onset date of the pain diagnosis (Condition.onsetDateTime).", "Condition")
            ],
        )
    condition, coding = min(dated, key=lambda t: (t[0].date, t[0].reference))
    onset = condition.date
    assert onset is not None
    months = whole_months_between(onset, ctx.as_of)
    which = "onset" if condition.onset else ("asserted date" if condition.asserted else "recorded date")
    ev = _condition_evidence(condition, coding)
    return Finding(
        "duration",
        {"known": True, "months": months},
        criterion="pain_duration",
        evidence=[ev],
        reasons={
            "met": f"Pain since {onset.isoformat()} ({which}): {months} full months before {ctx.as_of.isoformat()}, "
            f"at least {minimum}.",
            "not_met": f"Pain since {onset.isoformat()} ({which}): only {max(months, 0)} full months before "
            f"{ctx.as_of.isoformat()}, under {minimum}.",
        },
    )


def derive_severity(ctx: Context) -> Finding:
    """Criterion `pain_severity`: the latest pain score in the policy's window before as_of against its minimum."""
    window = ctx.t("pain_severity_window_days")
    minimum = ctx.t("pain_severity_min")
    start = ctx.as_of - days(window)
    scores = ctx.scores_between(start, ctx.as_of)
    if not scores:
        return Finding(
            "severity",
            {"known": False, "score": -1.0},
            criterion="pain_severity",
            reasons={
                "unknown": f"No pain score recorded in the {window} days before {ctx.as_of.isoformat()}."
            },
            data_requests=[
                request(
                    "Record a current 0-10 pain score (LOINC 72514-3).", "Observation", f"{LOINC}|72514-3"
                )
            ],
        )
    latest = max(scores, key=lambda s: (s.day, s.reference))
    text = f"Latest pain score {fmt_score(latest.value)}/10 on {latest.day.isoformat()}"
    return Finding(
        "severity",
        {"known": True, "score": latest.value},
        criterion="pain_severity",
        evidence=[latest.evidence()],
        reasons={"met": f"{text}, at least {minimum}.", "not_met": f"{text}, under {minimum}."},
    )


def derive_label(ctx: Context) -> Finding:
    """ON_LABEL: a qualifying CRPS I/II diagnosis of a lower limb, groin, knee or foot (spec §3)."""
    matcher = ctx.policy.matcher
    on_label: list[Evidence] = []
    qualifying = qualifying_conditions(ctx)
    for condition, coding in qualifying:
        if matcher["on_label_diagnosis"].match(condition.codes):
            on_label.append(_condition_evidence(condition, coding))
        elif matcher["crps_unlocated"].match(condition.codes):
            region = matcher.region_of_site(condition.body_sites)
            if region in matcher.on_label_sites:
                on_label.append(_condition_evidence(condition, coding))
    return Finding("label", {"on_label_dx": len(on_label), "qualifying": len(qualifying)}, evidence=on_label)
