"""SDC-style extraction: checked answers -> the FHIR R4 resources the policy reads.

Each resource says where it came from: `derivedFrom` the QuestionnaireResponse where the type has that
element (Observation, MedicationStatement), `evidence.detail` for a Condition, and for every resource a
`meta.tag` "questionnaire", an extension naming the QuestionnaireResponse and a note with who reported it
on which day. Ids are UUIDv5 of the response id and the item, so extracting the same response twice gives
the same resources. "Not known" extracts nothing: unknown stays unknown, it is never read as "no".
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from eligibility.answers.choices import CPT, LOINC, PSYCH_CPT, PT_CPT, RXNORM, SNOMED
from eligibility.answers.questionnaire import Group
from eligibility.answers.responses import Answers

__all__ = ["DERIVED_FROM", "SOURCE_TAG", "Extracted", "attribution_text", "extract"]

DERIVED_FROM = "urn:drg-eligibility:derived-from-questionnaire-response"
SOURCE_TAG = {"system": "urn:drg-eligibility:source", "code": "questionnaire", "display": "Reported on a questionnaire"}
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:drg-eligibility:extraction")
_UNSUCCESSFUL = "385671000"
_SUCCESSFUL = "385669000"
_STOP_WORDS = {
    "ineffective": "did not help (reported on questionnaire)",
    "adverse-effect": "side effects (reported on questionnaire)",
}


def attribution_text(answered_by: str, answered_on: str) -> str:
    return f"reported by {answered_by} on {answered_on} (questionnaire)"


class Extracted:
    """The resources made from one response, and the Patient when an answer completes it."""

    def __init__(self) -> None:
        self.resources: list[dict[str, Any]] = []
        self.patient_birth_date: str | None = None

    @property
    def references(self) -> list[str]:
        return [f"{r['resourceType']}/{r['id']}" for r in self.resources]


class _Extractor:
    def __init__(self, answers: Answers, *, patient: str, answered_by: str, answered_on: str) -> None:
        self.answers = answers
        self.patient = {"reference": patient}
        self.qr = {"reference": f"QuestionnaireResponse/{answers.response_id}"}
        self.note = [{"text": attribution_text(answered_by, answered_on)}]
        self.out = Extracted()
        self.condition: dict[str, Any] = {}

    def new(self, resource_type: str, key: str, **fields: Any) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "resourceType": resource_type,
            "id": str(uuid.uuid5(_NAMESPACE, f"{self.answers.response_id}/{key}")),
            "meta": {"tag": [SOURCE_TAG]},
            "extension": [{"url": DERIVED_FROM, "valueReference": self.qr}],
            **fields,
            "note": self.note,
        }
        if resource_type in {"Observation", "MedicationStatement"}:
            resource["derivedFrom"] = [self.qr]
        self.out.resources.append(resource)
        return resource

    def pain_score(self, key: str, score: int, day: date, code: str = "72514-3") -> None:
        self.new(
            "Observation",
            key,
            status="final",
            category=[
                {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey"}]}
            ],
            code={
                "coding": [
                    {
                        "system": LOINC,
                        "code": code,
                        "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
                    }
                ]
            },
            subject=self.patient,
            effectiveDateTime=day.isoformat(),
            valueQuantity={"value": score, "unit": "{score}", "system": "http://unitsofmeasure.org", "code": "{score}"},
        )

    def procedure(self, key: str, code: dict[str, Any], outcome: tuple[str, str, str] | None, **when: Any) -> None:
        fields: dict[str, Any] = {"status": "completed", "code": code, "subject": self.patient, **when}
        if outcome is not None and outcome[0] == SNOMED:
            fields["outcome"] = {"coding": [{"system": SNOMED, "code": outcome[1], "display": outcome[2]}]}
        self.new("Procedure", key, **fields)

    def medication(self, key: str, drug: tuple[str, str, str] | str, status: str, **fields: Any) -> None:
        concept: dict[str, Any] = (
            {"text": drug}
            if isinstance(drug, str)
            else {
                "coding": [{"system": drug[0], "code": drug[1], "display": drug[2].split(" (")[0]}],
                "text": drug[2].split(" (")[0],
            }
        )
        self.new(
            "MedicationStatement", key, status=status, medicationCodeableConcept=concept, subject=self.patient, **fields
        )

    def medication_rows(
        self, group: Group, key: str, values: dict[str, Any], drug: tuple[str, str, str] | None
    ) -> None:
        stopped = values.get("stopped")
        if "score" in values:
            self.pain_score(f"{key}/score", values["score"], values["score-date"])
        if drug is None:
            return
        fields: dict[str, Any] = {}
        if "start" in values:
            period = {"start": values["start"].isoformat()}
            if "end" in values:
                period["end"] = values["end"].isoformat()
            fields["effectivePeriod"] = period
        if stopped is not None and stopped[1] in _STOP_WORDS:
            self.medication(key, drug, "stopped", statusReason=[{"text": _STOP_WORDS[stopped[1]]}], **fields)
        elif group.kind == "medications_tried":
            self.medication(key, drug, "completed" if "end" in values and stopped is None else "active", **fields)

    def group(self, group: Group, index: int, values: dict[str, Any]) -> None:
        key = f"{group.link_id}/{index}"
        kind = group.kind
        if kind == "birth_date":
            self.out.patient_birth_date = values["birth-date"].isoformat()
        elif kind == "condition":
            self.condition.update({k: v for k, v in values.items()})
            if group.context.get("code") and "code" not in self.condition:
                self.condition["code"] = group.context["code"]
        elif kind in {"pain_score", "trial_scores"}:
            self.pain_score(key, values["score"], values["date"])
        elif kind == "medication_outcome":
            taken = group.context.get("taken") or []
            drug = (RXNORM, taken[0][0], taken[0][1]) if taken else None
            self.medication_rows(group, key, values, drug)
        elif kind == "medications_tried":
            self.medication_rows(group, key, values, values["drug"])
        elif kind == "pt_outcome":
            self._new_course = False
            self._pt(key, values["outcome"], group.context["start"], group.context["end"], None)
        elif kind == "pt_course":  # a course not on record: its dates are facts even when the outcome is not known
            self._new_course = True
            self._pt(
                key, values["outcome"], values["start"].isoformat(), values["end"].isoformat(), values.get("sessions")
            )
        elif kind == "intervention_outcome":
            for k, done in enumerate(group.context.get("procedures", [])):
                outcome = values.get(f"outcome-{k}")
                if outcome is not None and outcome[0] == SNOMED:
                    code = done.get("code") or {"coding": [{"system": CPT, "code": "62323"}]}
                    self.procedure(f"{key}/{k}", code, outcome, performedDateTime=str(done["date"])[:10])
        elif kind == "intervention":
            if values["outcome"][0] == SNOMED:
                system, code, display = values["kind"]
                concept = {"coding": [{"system": system, "code": code, "display": display}], "text": display}
                self.procedure(key, concept, values["outcome"], performedDateTime=values["date"].isoformat())
        elif kind == "psych":
            if values.get("done"):
                favourable = values.get("favourable")
                outcome = (
                    None
                    if favourable is None
                    else (
                        (SNOMED, _SUCCESSFUL, "Successful") if favourable else (SNOMED, _UNSUCCESSFUL, "Unsuccessful")
                    )
                )
                concept = {
                    "coding": [{"system": CPT, "code": PSYCH_CPT, "display": "Psychiatric diagnostic evaluation"}]
                }
                self.procedure(key, concept, outcome, performedDateTime=values["date"].isoformat())
        elif kind == "smoking":
            if "status" in values:
                system, code, display = values["status"]
                self.new(
                    "Observation",
                    key,
                    status="final",
                    code={"coding": [{"system": LOINC, "code": "72166-2", "display": "Tobacco smoking status"}]},
                    subject=self.patient,
                    effectiveDateTime=self.answered_day,
                    valueCodeableConcept={"coding": [{"system": system, "code": code, "display": display}]},
                )
        elif kind == "anticoagulant" and "drug" in values:
            self.medication(key, values["drug"], "active", effectiveDateTime=self.answered_day)

    answered_day = ""
    _new_course = False

    def _pt(self, key: str, outcome: tuple[str, str, str], start: str, end: str, sessions: int | None) -> None:
        if outcome[0] != SNOMED and not self._new_course:
            return  # "not known" for a course already on record adds nothing
        concept = {
            "coding": [{"system": CPT, "code": PT_CPT, "display": "Therapeutic exercises"}],
            "text": "Physical therapy course",
        }
        self.procedure(
            key, concept, outcome if outcome[0] == SNOMED else None, performedPeriod={"start": start, "end": end}
        )
        if sessions is not None:
            self.out.resources[-1]["note"] = [{"text": f"{sessions} sessions; {self.note[0]['text']}"}]

    def finish_condition(self) -> None:
        if not self.condition:
            return
        values = self.condition
        code = values.get("code")
        if isinstance(values.get("diagnosis"), tuple):
            system, c, display = values["diagnosis"]
            code = {"coding": [{"system": system, "code": c, "display": display}], "text": display}
        if code is None:
            return  # a site or onset with no diagnosis to attach it to: nothing the policy could read
        fields: dict[str, Any] = {
            "clinicalStatus": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
            },
            "verificationStatus": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}
                ]
            },
            "code": code,
            "subject": self.patient,
        }
        if "body-site" in values:
            system, c, display = values["body-site"]
            fields["bodySite"] = [{"coding": [{"system": system, "code": c, "display": display}], "text": display}]
        if "onset" in values:
            fields["onsetDateTime"] = values["onset"].isoformat()
        fields["evidence"] = [{"detail": [self.qr]}]
        self.new("Condition", "condition", **fields)


def extract(answers: Answers, *, patient: str, answered_by: str, answered_on: str, as_of: str) -> Extracted:
    """The resources the answers make; dates of answers without one of their own are the decision's as_of."""
    extractor = _Extractor(answers, patient=patient, answered_by=answered_by, answered_on=answered_on)
    extractor.answered_day = as_of
    for group, instances in answers.groups:
        for index, values in enumerate(instances):
            extractor.group(group, index, values)
    extractor.finish_condition()
    return extractor.out
