"""Data requests and preparation actions as FHIR R4 Task resources — proposals, never orders.

Every Task has intent `proposal`: the engine recommends and a clinician decides. Data requests are
`requested` (the clinic can act on them now: record the missing data); preparation actions are
`draft` (they become actionable only once a clinician accepts the plan, and a hold only once the
prescriber confirms it).
"""

from __future__ import annotations

from typing import Any

from eligibility.decision import Action, Criterion, DataRequest, Decision, Evidence

from .naming import RXNORM, UCUM, CodeSystems, guidance_url, local_uuid, questionnaire_url

__all__ = ["HOLD_WORDING", "PREPARATION_KINDS", "tasks"]

HOLD_WORDING = "Hold recommended; confirm with the prescriber"

# Advisory actions ("no hold is recommended") are notes, not work: they go to GuidanceResponse.note.
PREPARATION_KINDS: dict[str, str] = {
    "hold_medication": "Medication hold before the procedure (recommendation)",
    "lab_check": "Laboratory check before the procedure",
    "smoking_cessation": "Smoking cessation support",
    "medication_reconciliation": "Medication reconciliation",
    "fasting_instructions": "Fasting instructions before sedation",
}
_DATA_REQUEST = ("data-request", "Record missing data for DRG candidacy")
# Spec §7: what the policy could not read is work for the clinic (identify the drug, map the code).
_UNRECOGNISED = ("identify-unrecognised", "Identify medications and codes the policy could not read")

_INPUT_DISPLAY: dict[str, str] = {
    "resource-type": "Resource type to record",
    "requested-code": "Code that would settle the criterion",
    "medication": "Medication",
    "hold-before-procedure": "Hold before the procedure",
    "restart": "Restart",
    "lab": "Laboratory test",
    "evidence": "Evidence in the record",
    "unrecognised": "Not identified by the policy",
    "questionnaire": "Questionnaire to answer",
}


def tasks(decision: Decision, *, base_url: str) -> list[dict[str, Any]]:
    builder = _Builder(decision, base_url)
    found: list[dict[str, Any]] = []
    for criterion in decision.criteria:
        if criterion.status == "unknown":
            found += [builder.data_task(criterion, i, r) for i, r in enumerate(criterion.data_requests)]
    for index, action in enumerate(decision.actions):
        if action.kind in PREPARATION_KINDS:
            found.append(builder.action_task(index, action))
    if decision.unrecognised:
        found.append(builder.unrecognised_task())
    return found


class _Builder:
    def __init__(self, decision: Decision, base_url: str) -> None:
        self.decision = decision
        self.systems = CodeSystems()
        self.base = base_url
        self.reason = {"reference": guidance_url(base_url, decision.decision_id)}

    def data_task(self, criterion: Criterion, index: int, request: DataRequest) -> dict[str, Any]:
        inputs = [self._input("resource-type", valueCode=request.resource_type)]
        for token in request.codes:
            system, _, code = token.rpartition("|")
            coding = {"system": system, "code": code} if system else {"code": code}
            inputs.append(self._input("requested-code", valueCoding=coding))
        # As Da Vinci DTR's Task does: the questions to answer are a Questionnaire (GET it, POST the response).
        inputs.append(
            self._input("questionnaire", valueCanonical=questionnaire_url(self.base, self.decision.decision_id))
        )
        task = self._task(f"task/data/{criterion.id}/{index}", "requested", _DATA_REQUEST, request.description)
        task["reasonCode"] = {
            "coding": [{"system": self.systems.criterion, "code": criterion.id}],
            "text": criterion.reason,
        }
        task["input"] = inputs
        return task

    def action_task(self, index: int, action: Action) -> dict[str, Any]:
        code = (action.kind.replace("_", "-"), PREPARATION_KINDS[action.kind])
        task = self._task(f"task/action/{index}/{action.kind}", "draft", code, _description(action))
        inputs = self._action_inputs(action)
        if inputs:
            task["input"] = inputs
        if action.note:
            task["note"] = [{"text": action.note}]
        return task

    def unrecognised_task(self) -> dict[str, Any]:
        """One Task listing every unrecognised item: the resource, and the coding or text it came with."""
        items = self.decision.unrecognised
        description = (
            f"{len(items)} item(s) of the record were not identified by the policy and were not counted toward any "
            "criterion or checked for a hold: " + "; ".join(f"{u.text or u.code} ({u.reference})" for u in items) + "."
        )
        task = self._task("task/unrecognised", "requested", _UNRECOGNISED, description)
        inputs: list[dict[str, Any]] = []
        for item in items:
            inputs.append(self._input("evidence", valueReference={"reference": item.reference}))
            concept: dict[str, Any] = {}
            if item.code:
                concept["coding"] = [{"system": item.system, "code": item.code} if item.system else {"code": item.code}]
            if item.text:
                concept["text"] = item.text
            inputs.append(self._input("unrecognised", valueCodeableConcept=concept or {"text": item.reference}))
        task["input"] = inputs
        return task

    def _task(self, key: str, status: str, code: tuple[str, str], description: str) -> dict[str, Any]:
        patient = {"reference": self.decision.patient.reference}
        return {
            "resourceType": "Task",
            "id": local_uuid(self.decision.decision_id, key),
            "status": status,
            "intent": "proposal",
            "priority": "routine",
            "code": {"coding": [{"system": self.systems.task, "code": code[0], "display": code[1]}], "text": code[1]},
            "description": description,
            "focus": patient,
            "for": patient,
            "authoredOn": self.decision.evaluated_at,
            "reasonReference": self.reason,
        }

    def _action_inputs(self, action: Action) -> list[dict[str, Any]]:
        inputs: list[dict[str, Any]] = []
        if action.medication:
            concept: dict[str, Any] = {"text": action.medication}
            if action.rxnorm:
                concept["coding"] = [{"system": RXNORM, "code": action.rxnorm, "display": action.medication}]
            inputs.append(self._input("medication", valueCodeableConcept=concept))
        if action.days_before is not None:
            duration = {"value": action.days_before, "unit": "d", "system": UCUM, "code": "d"}
            inputs.append(self._input("hold-before-procedure", valueDuration=duration))
        if action.restart:
            inputs.append(self._input("restart", valueString=action.restart))
        if action.lab:
            inputs.append(self._input("lab", valueString=action.lab))
        inputs += [self._input("evidence", valueReference=_reference(e)) for e in action.evidence]
        return inputs

    def _input(self, kind: str, **value: Any) -> dict[str, Any]:
        coding = {"system": self.systems.task_input, "code": kind, "display": _INPUT_DISPLAY[kind]}
        return {"type": {"coding": [coding]}, **value}


def _description(action: Action) -> str:
    # The engine words every hold as a recommendation to confirm with the prescriber. A site may edit
    # that wording in its policy; a Task for a hold must still never read as an order.
    if action.kind == "hold_medication" and "confirm with the prescriber" not in action.description.lower():
        return f"{HOLD_WORDING}: {action.description}"
    return action.description


def _reference(evidence: Evidence) -> dict[str, str]:
    reference = {"reference": evidence.reference}
    if evidence.value:
        reference["display"] = evidence.value
    return reference
