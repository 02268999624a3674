"""Which value sets the derivations consult for the high-volume resource types.

Observations and Encounters are read only through these value sets (context.py pain scores,
diagnosis.py pain-score sites, preparation.py smoking, safety.py pregnancy and psychological
evaluation, stage.py trial relief, treatments.py physical therapy). A bulk run uses the list to leave
out the vitals, labs and visits no rule looks at (fhir_adapters/read_set.py). A derivation that starts
reading another value set from these types must add it here: tests/test_read_set.py decides every
decision case with and without the filter and fails when they differ.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["CODED_READS"]

CODED_READS: Mapping[str, tuple[str, ...]] = {
    "Observation": ("pain_score", "smoking_status", "pregnancy_status", "percent_pain_relief"),
    "Encounter": ("psychological_evaluation", "physical_therapy"),
}
