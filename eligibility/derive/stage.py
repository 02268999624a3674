"""Stage (trial or implant) and the trial response of spec §3 and §6 "Trial window"."""

from __future__ import annotations

from datetime import date

from eligibility.calendar import days, days_in_words
from eligibility.decision import Evidence
from eligibility.derive.context import Context, fmt_score
from eligibility.derive.finding import Finding, request
from eligibility.facts import ProcedureFact

__all__ = ["derive_stage", "derive_trial_response", "latest_trial"]


def _matching(ctx: Context, set_name: str) -> list[ProcedureFact]:
    return sorted(
        (p for p in ctx.procedures if ctx.vs(set_name, p.codes)),
        key=lambda p: (p.start or date.min, p.reference),
    )


def latest_trial(ctx: Context) -> ProcedureFact | None:
    """The newest DRG stimulation trial procedure on record, if any."""
    trials = _matching(ctx, "neurostimulator_trial")
    return trials[-1] if trials else None


def derive_stage(ctx: Context) -> Finding:
    """The stage: implant after a trial with no permanent generator yet, trial otherwise."""
    trials = _matching(ctx, "neurostimulator_trial")
    permanent = _matching(ctx, "neurostimulator_permanent")
    ev = [
        Evidence(
            reference=p.reference,
            date=p.start.isoformat() if p.start else None,
            value="neurostimulator trial",
        )
        for p in trials
    ]
    ev += [
        Evidence(
            reference=p.reference, date=p.start.isoformat() if p.start else None, value="permanent generator"
        )
        for p in permanent
    ]
    return Finding("stage", {"trial": len(trials), "permanent": len(permanent)}, evidence=ev)


def derive_trial_response(ctx: Context) -> Finding:
    """Criterion `trial_response` (implant stage): pain relief during the trial against its baseline,
    from pain scores in the policy's windows or a recorded percent relief."""
    trial = latest_trial(ctx)
    minimum = ctx.t("trial_response_min_fraction")
    pct = f"{minimum:.0%}"
    if trial is None or trial.start is None:
        return Finding(
            "trial_response",
            {"known": False, "fraction": -1.0},
            criterion="trial_response",
            reasons={"unknown": "No dated neurostimulator trial is on record."},
            data_requests=[request("Record the date of the DRG trial (Procedure, CPT 63650).", "Procedure")],
        )
    start = trial.start
    relief_codes = {(c["system"], c["code"]) for c in ctx.policy.valuesets["percent_pain_relief"]["codes"]}
    relief = [
        o
        for o in ctx.observations
        if o.effective
        and o.effective >= start
        and o.value_number is not None
        and any((c.system, c.code) in relief_codes for c in o.codes)
    ]
    trial_ev = Evidence(reference=trial.reference, date=start.isoformat(), value="DRG trial")
    if relief:
        obs = max(relief, key=lambda o: (o.effective or date.min, o.reference))
        assert obs.value_number is not None and obs.effective is not None
        fraction = obs.value_number / 100.0
        text = f"Patient-reported pain relief during the trial of {obs.value_number:g}% ({obs.effective.isoformat()})"
        return Finding(
            "trial_response",
            {"known": True, "fraction": fraction},
            criterion="trial_response",
            evidence=[
                trial_ev,
                Evidence(
                    reference=obs.reference, date=obs.effective.isoformat(), value=f"{obs.value_number:g}%"
                ),
            ],
            reasons={"met": f"{text}, at least {pct}.", "not_met": f"{text}, under {pct}."},
        )
    baseline_scores = ctx.scores_between(start - days(ctx.t("trial_baseline_window_days")), start)
    trial_scores = ctx.scores_between(start + days(1), start + days(ctx.t("trial_scores_window_days")))
    if not baseline_scores or not trial_scores or baseline_scores[-1].value <= 0:
        missing = []
        before = days_in_words(ctx.t("trial_baseline_window_days"))
        after = days_in_words(ctx.t("trial_scores_window_days"))
        if not baseline_scores or baseline_scores[-1].value <= 0:
            missing.append(f"a baseline pain score in the {before} up to the trial")
        if not trial_scores:
            missing.append(f"pain scores during the {after} after the trial started")
        return Finding(
            "trial_response",
            {"known": False, "fraction": -1.0},
            criterion="trial_response",
            evidence=[trial_ev] + [s.evidence() for s in baseline_scores[-1:] + trial_scores],
            reasons={"unknown": f"The trial of {start.isoformat()} lacks {' and '.join(missing)}."},
            data_requests=[
                request(
                    f"Record {m} (LOINC 72514-3) or the patient-reported percent pain relief.",
                    "Observation",
                    "http://loinc.org|72514-3",
                )
                for m in missing
            ],
        )
    baseline = baseline_scores[-1]
    mean = sum(s.value for s in trial_scores) / len(trial_scores)
    fraction = (baseline.value - mean) / baseline.value
    text = (
        f"Baseline pain {fmt_score(baseline.value)}/10 ({baseline.day.isoformat()}), mean {mean:.1f}/10 over "
        f"{len(trial_scores)} score(s) during the trial: {fraction:.0%} relief"
    )
    return Finding(
        "trial_response",
        {"known": True, "fraction": round(fraction, 6)},
        criterion="trial_response",
        evidence=[trial_ev, baseline.evidence(note="baseline")]
        + [s.evidence(note="during trial") for s in trial_scores],
        reasons={"met": f"{text}, at least {pct}.", "not_met": f"{text}, under {pct}."},
    )
