"""From a `PatientFacts` to findings the rules can judge. Pure: no clock, no I/O."""

from eligibility.derive.context import Context
from eligibility.derive.diagnosis import (
    derive_age,
    derive_diagnosis,
    derive_duration,
    derive_label,
    derive_location,
    derive_severity,
)
from eligibility.derive.finding import Finding
from eligibility.derive.preparation import derive_medication_safety, derive_smoking
from eligibility.derive.safety import (
    derive_absolute_contraindications,
    derive_psych,
    derive_relative_contraindications,
    derive_sud,
)
from eligibility.derive.stage import derive_stage, derive_trial_response, latest_trial
from eligibility.derive.treatments import derive_interventional, derive_medications, derive_physical_therapy

__all__ = ["Context", "Finding", "derive_findings"]


def derive_findings(ctx: Context) -> list[Finding]:
    """Every finding of one evaluation, in a fixed order (the order facts are asserted)."""
    trial = latest_trial(ctx)
    return [
        derive_stage(ctx),
        derive_age(ctx),
        derive_diagnosis(ctx),
        derive_location(ctx),
        derive_duration(ctx),
        derive_severity(ctx),
        derive_medications(ctx),
        derive_physical_therapy(ctx),
        derive_interventional(ctx),
        derive_psych(ctx),
        derive_sud(ctx),
        derive_absolute_contraindications(ctx),
        derive_relative_contraindications(ctx, trial.start if trial else None),
        derive_trial_response(ctx),
        derive_label(ctx),
        derive_smoking(ctx),
        *derive_medication_safety(ctx),
    ]
