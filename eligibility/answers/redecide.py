"""The input of the superseding decision: the old stored input, the QuestionnaireResponse and what was
extracted from it; and what the audit record of that decision says about where it came from.

The QuestionnaireResponse itself goes into the new decision's stored input (the engine does not read the
type, so it changes nothing in the decision), which puts it in the audit trail with its hash, bounded by
the checks of responses.py. The audit record of the new decision carries `answers` (who answered, when,
which decision it supersedes, which resources were extracted); the old decision gets an access record
"answered" naming the new one, so each decision's history shows the chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from eligibility.answers.extraction import Extracted, attribution_text, extract
from eligibility.answers.responses import Answers
from eligibility.decision import Decision

__all__ = ["ANSWERED_PURPOSE", "Combined", "combined_input"]

ANSWERED_PURPOSE = "answered"  # the access record on the superseded decision


@dataclass(frozen=True, slots=True)
class Combined:
    raw: bytes  # the Bundle to evaluate (its canonical form is what is stored)
    extracted: Extracted
    provenance: dict[str, Any]  # the `answers` block of the new decision's audit record

    @property
    def attribution(self) -> str:
        return attribution_text(self.provenance["answered_by"], self.provenance["answered_on"])


def combined_input(
    decision: Decision, canonical: bytes, answers: Answers, *, answered_by: str, answered_on: str, questionnaire: str
) -> Combined:
    """Old input + QuestionnaireResponse + extracted resources (the Patient completed by an answered birth date)."""
    extracted = extract(
        answers,
        patient=decision.patient.reference,
        answered_by=answered_by,
        answered_on=answered_on,
        as_of=decision.as_of,
    )
    bundle = orjson.loads(canonical)
    entries: list[dict[str, Any]] = list(bundle.get("entry", []))
    completed_patient: list[str] = []
    if extracted.patient_birth_date is not None:
        for entry in entries:
            resource = entry.get("resource") or {}
            if resource.get("resourceType") == "Patient":
                completed = dict(resource)
                completed["birthDate"] = extracted.patient_birth_date
                completed["extension"] = [
                    *resource.get("extension", []),
                    {
                        "url": "urn:drg-eligibility:derived-from-questionnaire-response",
                        "valueReference": {"reference": f"QuestionnaireResponse/{answers.response_id}"},
                    },
                ]
                entry["resource"] = completed
                completed_patient.append(f"Patient/{resource.get('id')}")
    response = dict(answers.response)
    entries.append({"fullUrl": f"urn:uuid:{answers.response_id}", "resource": response})
    entries += [{"resource": r} for r in extracted.resources]
    bundle["entry"] = entries
    provenance = {
        "supersedes": decision.decision_id,
        "questionnaire": questionnaire,
        "questionnaire_response": f"QuestionnaireResponse/{answers.response_id}",
        "answered_by": answered_by,
        "answered_on": answered_on,
        "authored": answers.authored,
        "extracted": extracted.references + completed_patient,
    }
    return Combined(raw=orjson.dumps(bundle), extracted=extracted, provenance=provenance)
