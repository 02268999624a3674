"""Conservative treatment findings: medications, physical therapy, injections and blocks.

A treatment failed (spec §2) explicitly — Procedure.outcome unsuccessful / partially successful,
or a medication stopped with a statusReason — or by inference: the treatment was adequate and a
pain score >= 5 was recorded in its window (spec §6). Each treatment ends in one of four states:
failed, effective (successful), undocumented (adequate, nothing in its window), inadequate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from eligibility.calendar import add_months, days, days_in_words, span_in_words
from eligibility.decision import Evidence
from eligibility.derive.context import Context, PainScore, fmt_date, fmt_score
from eligibility.derive.finding import Finding, request
from eligibility.facts import MedicationFact, ProcedureFact

__all__ = ["derive_interventional", "derive_medications", "derive_physical_therapy"]

SNOMED = "http://snomed.info/sct"
FAILED, EFFECTIVE, UNDOCUMENTED, INADEQUATE = "failed", "effective", "undocumented", "inadequate"


@dataclass
class TreatmentAttempt:
    """One treatment (a medication class, a PT course, one injection) and what became of it."""

    label: str
    state: str
    why: str
    evidence: list[Evidence] = field(default_factory=list)


def _outcome(ctx: Context, procedure: ProcedureFact) -> str | None:
    codes = ctx.policy.valuesets["outcome_codes"]
    for coding in procedure.outcome:
        if coding.system == SNOMED and coding.code in codes["snomed_failed"]:
            return "failed"
        if coding.system == SNOMED and coding.code in codes["snomed_successful"]:
            return "successful"
    return None


def _judge_window(
    ctx: Context, label: str, start: date, end: date, base: list[Evidence], what: str
) -> TreatmentAttempt:
    """Inferred outcome from the scores in [start, end] (both ends included)."""
    threshold = ctx.t("pain_score_failure_min")
    window = ctx.scores_between(start, min(end, ctx.as_of))
    high: list[PainScore] = [s for s in window if s.value >= threshold]
    span = f"{start.isoformat()} to {min(end, ctx.as_of).isoformat()}"
    if high:
        first = high[0]
        return TreatmentAttempt(
            label,
            FAILED,
            f"{label}: pain {fmt_score(first.value)}/10 on {first.day.isoformat()}, after {what} (window {span})",
            [*base, first.evidence(note=f"pain score after {label}")],
        )
    if window:
        last = window[-1]
        return TreatmentAttempt(
            label,
            EFFECTIVE,
            f"{label}: pain stayed under {threshold} in its window ({span}; latest "
            f"{fmt_score(last.value)}/10 on {last.day.isoformat()})",
            base + [s.evidence(note=f"pain score after {label}") for s in window],
        )
    return TreatmentAttempt(label, UNDOCUMENTED, f"{label}: adequate, but no outcome or pain score in {span}", base)


# --- medications -------------------------------------------------------------------------------


def _exposure_end(ctx: Context, med: MedicationFact) -> date | None:
    """Spec §6 medication exposure end, in order of preference."""
    if med.start is None:
        return None
    if med.end is not None:
        return med.end
    if med.status in {"active", "on-hold"}:
        return ctx.as_of
    if med.validity_end is not None:
        return med.validity_end
    if med.expected_supply_days is not None:
        return med.start + days(med.expected_supply_days * (1 + (med.repeats or 0)))
    return None


def _med_evidence(ctx: Context, med: MedicationFact, name: str, extra: str | None = None) -> Evidence:
    value = name + (f" ({med.status})" if med.status else "")
    return Evidence(
        reference=med.reference,
        date=fmt_date(med.start) if med.start else None,
        value=value,
        note=extra,
        matched_by=ctx.identify(med).matched_by,
    )


def _medication_attempts(ctx: Context) -> list[TreatmentAttempt]:
    matcher = ctx.policy.matcher
    by_class: dict[str, list[tuple[MedicationFact, str]]] = {}
    for med in ctx.medications:
        identified = ctx.identify(med)
        for ingredient, _ in identified.ingredients:
            cls = matcher.analgesic_class_by_ingredient.get(ingredient)
            if cls == "nsaid" and identified.topical:
                cls = "topical"  # §7: a topical NSAID is a topical, not an NSAID, for failed_medications
            if cls is not None:
                by_class.setdefault(cls, []).append((med, ingredient))
    attempts: list[TreatmentAttempt] = []
    adequate_days = ctx.t("medication_adequate_days")
    after_end = ctx.t("medication_window_after_end_days")
    for cls in sorted(by_class):
        items = sorted(by_class[cls], key=lambda t: (t[0].start or date.min, t[0].reference))
        label = cls.replace("_", " ") + " (" + ", ".join(sorted({i for _, i in items})) + ")"
        base = [_med_evidence(ctx, m, i) for m, i in items]
        stopped = [(m, i) for m, i in items if m.status == "stopped" and m.status_reason]
        if stopped:
            med, ingredient = stopped[0]
            attempts.append(
                TreatmentAttempt(
                    label,
                    FAILED,
                    f"{label}: {ingredient} stopped ({med.status_reason})",
                    [_med_evidence(ctx, med, ingredient, f"stopped: {med.status_reason}")],
                )
            )
            continue
        spans = [(m.start, _exposure_end(ctx, m)) for m, _ in items]
        known = [(s, e) for s, e in spans if s is not None and e is not None]
        if not known:
            why = f"{label}: dates do not show how long it was taken"
            attempts.append(TreatmentAttempt(label, INADEQUATE, why, base))
            continue
        start = min(s for s, _ in known)
        end = max(e for _, e in known)
        if (end - start).days < adequate_days:
            attempts.append(
                TreatmentAttempt(
                    label,
                    INADEQUATE,
                    f"{label}: taken {(end - start).days} days, under {adequate_days}",
                    base,
                )
            )
            continue
        attempts.append(
            _judge_window(
                ctx, label, start + days(adequate_days), end + days(after_end), base, f"{label} since {start}"
            )
        )
    return attempts


def derive_medications(ctx: Context) -> Finding:
    """Criterion `failed_medications`: at least the policy's number of analgesic classes tried adequately
    and failed (explicitly, or by a high pain score in the window after them)."""
    attempts = _medication_attempts(ctx)
    failed = [t for t in attempts if t.state == FAILED]
    undocumented = [t for t in attempts if t.state == UNDOCUMENTED]
    needed = ctx.t("failed_medication_classes_min")
    evidence = [e for t in failed + undocumented for e in t.evidence] or [
        e for t in attempts for e in t.evidence
    ]
    summary = "; ".join(t.why for t in attempts)
    return Finding(
        "medications",
        {
            "classes": len(attempts),
            "failed": len(failed),
            "failed_or_undocumented": len(failed) + len(undocumented),
        },
        criterion="failed_medications",
        evidence=evidence,
        reasons={
            "met": f"{len(failed)} analgesic classes failed (at least {needed} needed): {summary}.",
            "not_met": f"Only {len(failed)} of {len(attempts)} analgesic classes failed (at least {needed} needed): "
            f"{summary}.",
            "unknown": (
                f"{len(failed)} analgesic classes failed and {len(undocumented)} more were taken long enough "
                f"without a recorded outcome: {summary}."
                if attempts
                else "No analgesic medication is on record." + _unidentified_note(ctx)
            ),
        },
        data_requests=(
            [
                request(
                    f"Record the outcome of {t.label.split(' (')[0]} therapy (a pain score after at least "
                    f"{days_in_words(ctx.t('medication_adequate_days'))}, "
                    "or the reason it was stopped).",
                    "Observation",
                    "http://loinc.org|72514-3",
                )
                for t in undocumented
            ]
            if attempts
            else [
                request(
                    "Record the analgesic medications tried, with dates and outcome.", "MedicationStatement"
                )
            ]
        ),
    )


def _unidentified_note(ctx: Context) -> str:
    """v1.1: say that medications were on record but not identified, so none counted (§7)."""
    names = [ctx.medication_label(m) for m in ctx.medications if not ctx.identify(m).recognised]
    if not ctx.policy.identifier.v11 or not names:
        return ""
    return f" {len(names)} medication(s) could not be identified and were not counted: " + "; ".join(names) + "."


# --- physical therapy ----------------------------------------------------------------------------


def derive_physical_therapy(ctx: Context) -> Finding:
    """Criterion `failed_physical_therapy`: an adequate PT course (weeks or sessions) that failed."""
    sessions: dict[date, list[str]] = {}
    period_courses: list[ProcedureFact] = []
    explicit: list[tuple[ProcedureFact, str]] = []
    for proc in ctx.procedures:
        if proc.start is None or not ctx.vs("physical_therapy", proc.codes):
            continue
        outcome = _outcome(ctx, proc)
        if outcome:
            explicit.append((proc, outcome))
        if proc.end is not None and proc.end > proc.start:
            period_courses.append(proc)
        else:
            sessions.setdefault(proc.start, []).append(proc.reference)
    for enc in ctx.encounters:
        if enc.start is not None and ctx.vs("physical_therapy", enc.types):
            sessions.setdefault(enc.start, []).append(enc.reference)

    attempts: list[TreatmentAttempt] = []
    adequate_days = ctx.t("pt_adequate_days")
    adequate_sessions = ctx.t("pt_adequate_sessions")
    after_months = ctx.t("pt_window_after_last_months")
    courses: list[tuple[str, date, date, int, list[Evidence]]] = []
    if sessions:
        first, last = min(sessions), max(sessions)
        ev = [
            Evidence(reference=refs[0], date=d.isoformat(), value="PT session")
            for d, refs in sorted(sessions.items())
        ]
        courses.append(("PT course", first, last, len(sessions), ev))
    for proc in period_courses:
        assert proc.start is not None and proc.end is not None
        ev = [
            Evidence(reference=proc.reference, date=proc.start.isoformat(), value=f"PT course to {proc.end}")
        ]
        courses.append(("PT course", proc.start, proc.end, 1, ev))

    # An explicit "unsuccessful" settles it; an explicit "successful" holds unless a later score
    # in the course's window says otherwise (spec §2: success = outcome successful and no later
    # qualifying pain score).
    for proc, outcome in explicit:
        if outcome == "failed":
            ev = [
                Evidence(reference=proc.reference, date=fmt_date(proc.start), value="outcome: unsuccessful")
            ]
            why = f"PT recorded as unsuccessful ({proc.reference})"
            attempts.append(TreatmentAttempt("PT course", FAILED, why, ev))
    if not attempts:
        success = [p for p, o in explicit if o == "successful"]
        for label, first, last, count, ev in courses:
            span = (last - first).days
            desc = f"{label} {first.isoformat()} to {last.isoformat()}, {count} session(s)"
            if span < adequate_days and count < adequate_sessions and not success:
                attempts.append(
                    TreatmentAttempt(label, INADEQUATE, f"{desc}: shorter than {days_in_words(adequate_days)}", ev)
                )
                continue
            window_start = min(last, first + days(adequate_days))
            judged = _judge_window(ctx, desc, window_start, add_months(last, after_months), ev, "the course")
            if success and judged.state != FAILED:
                ok = [
                    Evidence(reference=p.reference, date=fmt_date(p.start), value="outcome: successful")
                    for p in success
                ]
                judged = TreatmentAttempt(label, EFFECTIVE, f"{desc}: recorded as successful", ev + ok)
            attempts.append(judged)

    failed = [t for t in attempts if t.state == FAILED]
    effective = [t for t in attempts if t.state == EFFECTIVE]
    undocumented = [t for t in attempts if t.state == UNDOCUMENTED]
    summary = "; ".join(t.why for t in attempts)
    return Finding(
        "physical_therapy",
        {
            "courses": len(courses),
            "failed": len(failed),
            "successful": len(effective),
            "undocumented": len(undocumented),
        },
        criterion="failed_physical_therapy",
        evidence=[e for t in (failed or effective or undocumented or attempts) for e in t.evidence],
        reasons={
            "met": f"Physical therapy failed: {'; '.join(t.why for t in failed)}.",
            "not_met": f"Physical therapy did not fail: {summary}.",
            "unknown": f"Physical therapy was adequate but its outcome is not recorded: {summary}."
            if attempts
            else "No physical or occupational therapy is on record.",
        },
        data_requests=[
            request(
                "Record the outcome of the physical therapy course (Procedure.outcome, or a pain score after it)."
                if attempts
                else "Record physical/occupational therapy sessions (CPT 97110-97168) with dates and outcome.",
                "Procedure",
            )
        ],
    )


# --- epidural steroid injections and nerve blocks --------------------------------------------------


def derive_interventional(ctx: Context) -> Finding:
    """Criterion `failed_interventional`: an epidural steroid injection or nerve block that failed, judged
    from its outcome or the pain scores in the window after it; not_applicable where the policy does
    not require one."""
    required = bool(ctx.t("require_failed_interventional"))
    start_d, end_d = ctx.t("injection_window_start_days"), ctx.t("injection_window_end_days")
    attempts: list[TreatmentAttempt] = []
    for proc in sorted(ctx.procedures, key=lambda p: (p.start or date.min, p.reference)):
        if proc.start is None:
            continue
        if ctx.vs("epidural_steroid_injection", proc.codes):
            kind = "epidural steroid injection"
        elif ctx.vs("nerve_block", proc.codes):
            kind = "nerve block"
        else:
            continue
        label = f"{kind} on {proc.start.isoformat()}"
        ev = [Evidence(reference=proc.reference, date=proc.start.isoformat(), value=kind)]
        outcome = _outcome(ctx, proc)
        if outcome == "failed":
            ev[0] = ev[0].model_copy(update={"note": "outcome: unsuccessful"})
            attempts.append(TreatmentAttempt(label, FAILED, f"{label} recorded as unsuccessful", ev))
            continue
        judged = _judge_window(ctx, label, proc.start + days(start_d), proc.start + days(end_d), ev, "it")
        if outcome == "successful" and judged.state != FAILED:
            judged = TreatmentAttempt(label, EFFECTIVE, f"{label} recorded as successful", ev)
        attempts.append(judged)

    failed = [t for t in attempts if t.state == FAILED]
    successful = [t for t in attempts if t.state == EFFECTIVE]
    summary = "; ".join(t.why for t in attempts)
    return Finding(
        "interventional",
        {
            "required": required,
            "procedures": len(attempts),
            "failed": len(failed),
            "successful": len(successful),
        },
        criterion="failed_interventional",
        evidence=[e for t in (failed or successful or attempts) for e in t.evidence],
        reasons={
            "met": f"Interventional treatment failed: {'; '.join(t.why for t in failed)}.",
            "not_met": f"No injection or block failed and at least one helped: {summary}.",
            "unknown": f"Injections or blocks were done but none has a recorded outcome: {summary}."
            if attempts
            else "No epidural steroid injection or nerve block is on record.",
            "not_applicable": "This policy does not require a failed injection or nerve block.",
        },
        data_requests=[
            request(
                "Record the outcome of the injection or block (Procedure.outcome, or a pain score "
                f"{span_in_words(start_d, end_d)} after it)."
                if attempts
                else "Record epidural steroid injections or nerve blocks (CPT 62320-62327, 64479-64484, "
                "64400-64530) with dates and outcome.",
                "Procedure",
            )
        ],
    )
