"""Safety findings: psychological evaluation, substance use, absolute and relative contraindications.

For the contraindication criteria, nothing found means `met` (spec §2): there is no `unknown`.
"""

from __future__ import annotations

from datetime import date

from eligibility.calendar import months_before
from eligibility.codes import normalize_icd10
from eligibility.decision import Evidence
from eligibility.derive.context import Context, fmt_date
from eligibility.derive.finding import Finding, request
from eligibility.facts import ConditionFact

__all__ = [
    "derive_absolute_contraindications",
    "derive_psych",
    "derive_relative_contraindications",
    "derive_sud",
    "existing_neurostimulator",
]


def _cond_ev(condition: ConditionFact, coding: object, what: str) -> Evidence:
    code = getattr(coding, "code", "")
    display = getattr(coding, "display", None) or condition.text or ""
    return Evidence(
        reference=condition.reference,
        date=fmt_date(condition.date),
        value=f"{code} {display}".strip(),
        note=what,
    )


def _active_in(ctx: Context, set_name: str, what: str) -> list[Evidence]:
    found: list[Evidence] = []
    for condition in ctx.active_conditions:
        coding = ctx.vs(set_name, condition.codes)
        if coding is not None:
            found.append(_cond_ev(condition, coding, what))
    return found


def derive_psych(ctx: Context) -> Finding:
    """Criterion `psychological_evaluation`: one in the policy's months before as_of (unknown otherwise)."""
    months = ctx.t("psych_eval_window_months")
    start = months_before(ctx.as_of, months)
    evals: list[tuple[date, str, bool]] = []
    unsuccessful = "385671000"  # Procedure.outcome Unsuccessful = unfavourable evaluation
    for proc in ctx.procedures:
        if proc.start and start <= proc.start <= ctx.as_of and ctx.vs("psychological_evaluation", proc.codes):
            unfavourable = any(c.code == unsuccessful for c in proc.outcome)
            evals.append((proc.start, proc.reference, unfavourable))
    for enc in ctx.encounters:
        if enc.start and start <= enc.start <= ctx.as_of and ctx.vs("psychological_evaluation", enc.types):
            evals.append((enc.start, enc.reference, False))
    if not evals:
        return Finding(
            "psych",
            {"evaluations": 0, "latest_unfavourable": False},
            criterion="psychological_evaluation",
            reasons={
                "unknown": f"No psychological evaluation in the {months} months before {ctx.as_of.isoformat()}."
            },
            data_requests=[
                request(
                    "Record a psychological evaluation for neuromodulation (CPT 90791/90792/96130-96137) "
                    "and its result.",
                    "Procedure",
                    "http://www.ama-assn.org/go/cpt|90791",
                )
            ],
        )
    day, ref, unfavourable = max(evals)
    ev = [
        Evidence(
            reference=ref,
            date=day.isoformat(),
            value="unfavourable" if unfavourable else "no unfavourable result",
        )
    ]
    return Finding(
        "psych",
        {"evaluations": len(evals), "latest_unfavourable": unfavourable},
        criterion="psychological_evaluation",
        evidence=ev,
        reasons={
            "met": f"Psychological evaluation on {day.isoformat()}, not unfavourable.",
            "not_met": f"The latest psychological evaluation ({day.isoformat()}) was unfavourable.",
        },
    )


def _sud_active(ctx: Context) -> list[Evidence]:
    remission = {
        normalize_icd10(c) for c in ctx.policy.valuesets["substance_use_disorder"]["icd10_remission"]
    }
    found: list[Evidence] = []
    for condition in ctx.active_conditions:
        coding = ctx.vs("substance_use_disorder", condition.codes)
        if coding is None:
            continue
        # A code that itself says "in remission" is not active, whatever its clinicalStatus (§6).
        if ctx.policy.matcher.kind_of(coding.system) == "icd10" and any(
            normalize_icd10(coding.code).startswith(r) for r in remission
        ):
            continue
        found.append(_cond_ev(condition, coding, "active substance use disorder"))
    return found


def derive_sud(ctx: Context) -> Finding:
    """Criterion `no_active_substance_use_disorder`: met unless an active SUD condition is on record."""
    found = _sud_active(ctx)
    return Finding(
        "sud",
        {"active": len(found)},
        criterion="no_active_substance_use_disorder",
        evidence=found,
        reasons={
            "met": "No active substance use disorder is on record.",
            "not_met": "Active substance use disorder: " + "; ".join(e.value or "" for e in found) + ".",
        },
    )


def _pregnancy(ctx: Context) -> list[Evidence]:
    found = _active_in(ctx, "pregnancy_condition", "pregnancy")
    status = ctx.policy.valuesets["pregnancy_status"]
    answers = {(a["system"], a["code"]) for a in status["pregnant_answers"]}
    obs = [
        o
        for o in ctx.observations
        if o.effective and any(c.system == "http://loinc.org" and c.code in status["loinc"] for c in o.codes)
    ]
    if obs:
        latest = max(obs, key=lambda o: (o.effective or date.min, o.reference))
        assert latest.effective is not None
        age = (ctx.as_of - latest.effective).days
        pregnant = any((c.system, c.code) in answers for c in latest.value_codes)
        if pregnant and age <= ctx.t("pregnancy_observation_max_age_days"):
            found.append(
                Evidence(
                    reference=latest.reference,
                    date=latest.effective.isoformat(),
                    value="pregnant",
                    note="pregnancy status",
                )
            )
    return found


def derive_absolute_contraindications(ctx: Context) -> Finding:
    """Criterion `no_absolute_contraindication`: no coagulopathy, active systemic infection or current
    pregnancy on record (nothing found is met)."""
    coag = _active_in(ctx, "coagulopathy", "coagulopathy / bleeding disorder")
    infection = _active_in(ctx, "systemic_infection", "active systemic infection")
    pregnancy = _pregnancy(ctx)
    found = coag + infection + pregnancy
    return Finding(
        "absolute",
        {
            "coagulopathy": len(coag),
            "infection": len(infection),
            "pregnancy": len(pregnancy),
            "total": len(found),
        },
        criterion="no_absolute_contraindication",
        evidence=found,
        reasons={
            "met": "No absolute contraindication (coagulopathy, systemic infection, pregnancy) is on record.",
            "not_met": "Absolute contraindication: " + "; ".join(f"{e.note}: {e.value}" for e in found) + ".",
        },
    )


def existing_neurostimulator(ctx: Context, trial_start: date | None) -> list[Evidence]:
    """A permanent generator, Z96.82, a neurostimulator Device or a pump — not the current trial's leads."""
    vs = ctx.policy.matcher["existing_neurostimulator"]
    found = _active_in(ctx, "existing_neurostimulator", "existing neurostimulator")
    for proc in ctx.procedures:
        coding = vs.match(proc.codes)
        if coding is not None:
            found.append(
                Evidence(
                    reference=proc.reference,
                    date=fmt_date(proc.start),
                    value=coding.code,
                    note="existing neurostimulator",
                )
            )
    for device in ctx.devices:
        coding = vs.match(device.types, device=True)
        if coding is None:
            continue
        if trial_start is not None and (device.date is None or device.date >= trial_start):
            continue  # the trial's own stimulator
        found.append(
            Evidence(
                reference=device.reference,
                date=fmt_date(device.date),
                value=device.text or coding.code,
                note="existing neurostimulator",
            )
        )
    return found


def derive_relative_contraindications(ctx: Context, trial_start: date | None) -> Finding:
    """Criterion `no_relative_contraindication`: a cardiac device, an existing neurostimulator (other than
    the current trial's, from `trial_start`), active cancer, dementia or immunodeficiency asks for a
    specialist's review."""
    cardiac = _active_in(ctx, "cardiac_device", "cardiac pacemaker / ICD")
    vs = ctx.policy.matcher["cardiac_device"]
    for device in ctx.devices:
        coding = vs.match(device.types, device=True)
        if coding is not None:
            cardiac.append(
                Evidence(
                    reference=device.reference,
                    date=fmt_date(device.date),
                    value=device.text or coding.code,
                    note="cardiac pacemaker / ICD",
                )
            )
    neuro = existing_neurostimulator(ctx, trial_start)
    cancer = _active_in(ctx, "active_cancer", "active cancer")
    dementia = _active_in(ctx, "dementia", "dementia")
    immuno = _active_in(ctx, "immunodeficiency", "immunodeficiency")
    found = cardiac + neuro + cancer + dementia + immuno
    return Finding(
        "relative",
        {"total": len(found), "neurostimulator": len(neuro)},
        criterion="no_relative_contraindication",
        evidence=found,
        reasons={
            "met": "No relative contraindication (cardiac device, existing neurostimulator, active cancer, dementia, "
            "immunodeficiency) is on record.",
            "not_met": "Relative contraindication for clinician review: "
            + "; ".join(f"{e.note}: {e.value}" for e in found)
            + ".",
        },
    )
