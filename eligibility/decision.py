"""The decision record of the policy spec §5, with its stable field names.

Pydantic models so the record is validated once, serialises to exactly the spec's JSON, and can
be read back (replay, the audit store, the API) without hand-written parsing.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

__all__ = [
    "OUTCOMES",
    "STATUSES",
    "Action",
    "ActionKind",
    "Criterion",
    "DataRequest",
    "Decision",
    "Evidence",
    "LabelStatus",
    "MatchedBy",
    "PatientRef",
    "PolicyRef",
    "Stage",
    "Unrecognised",
]

Status = Literal["met", "not_met", "unknown", "not_applicable"]
STATUSES: tuple[str, ...] = get_args(Status)
Outcome = Literal[
    "ELIGIBLE_FOR_TRIAL",
    "ELIGIBLE_WITH_CONDITIONS",
    "NEEDS_REVIEW",
    "INSUFFICIENT_INFORMATION",
    "NOT_ELIGIBLE",
    "ELIGIBLE_FOR_IMPLANT",
    "TRIAL_FAILED",
]
OUTCOMES: tuple[str, ...] = get_args(Outcome)
Stage = Literal["trial", "implant"]
LabelStatus = Literal["ON_LABEL", "OFF_LABEL", "UNDETERMINED"]
ActionKind = Literal[
    "hold_medication",
    "lab_check",
    "smoking_cessation",
    "medication_reconciliation",
    "fasting_instructions",
    "advisory",
]
ELIGIBLE_OUTCOMES = frozenset({"ELIGIBLE_FOR_TRIAL", "ELIGIBLE_WITH_CONDITIONS", "ELIGIBLE_FOR_IMPLANT"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


MatchedBy = Literal["ingredient_code", "product_code", "name"]


class Evidence(_Model):
    """A FHIR resource the engine relied on, by reference, with the date and value it read."""

    reference: str
    date: str | None = None
    value: str | None = None
    note: str | None = None
    # For a medication (policy v1.1, §7): ingredient_code | product_code | name. None otherwise.
    matched_by: MatchedBy | None = None


class DataRequest(_Model):
    """What would settle an `unknown`: a code the clinic can record, and words for a person."""

    description: str
    resource_type: str
    codes: list[str] = []  # "system|code" tokens that would satisfy the request


class Criterion(_Model):
    """One criterion's status, the reason in words, its evidence and (when unknown) what would settle it."""

    id: str
    status: Status
    reason: str
    evidence: list[Evidence] = []
    data_requests: list[DataRequest] = []
    rule_id: str  # our stable rule id, never durable_rules' positional name
    warnings: list[str] = []  # data on record that could not be used (eligibility/data_warnings.py)

    @model_serializer(mode="wrap")
    def _leave_out_no_warnings(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """No `warnings` key when there are none: records made before it keep their shape (replay)."""
        data: dict[str, Any] = handler(self)
        if not data.get("warnings"):
            data.pop("warnings", None)
        return data


class Action(_Model):
    """A recommended step before the procedure (hold, lab check, cessation, preparation), never an order."""

    kind: ActionKind
    category: Literal["condition", "standard", "advisory"]
    description: str
    medication: str | None = None
    rxnorm: str | None = None
    days_before: float | None = None
    restart: str | None = None
    lab: str | None = None
    note: str | None = None
    evidence: list[Evidence] = []
    rule_id: str


class Unrecognised(_Model):
    """A fact the policy could not read (§7): an active medication nobody identified, or an ICD-10-CM /
    CPT-shaped code under a missing or non-standard system. Listed so the clinic can map it."""

    reference: str
    system: str | None = None
    code: str | None = None
    text: str | None = None


class PatientRef(_Model):
    """The patient, by FHIR reference only: names stay in the stored input, never in the record."""

    reference: str


class PolicyRef(_Model):
    """The policy version the decision was made under, with the SHA-256 of its data."""

    id: str
    version: str
    sha256: str


class Decision(_Model):
    """The decision record of spec §5: outcome, stage, label, every criterion, actions, unrecognised facts."""

    decision_id: str
    evaluated_at: str
    as_of: str
    patient: PatientRef
    policy: PolicyRef
    engine_version: str
    input_sha256: str
    stage: Stage
    outcome: Outcome
    label_status: LabelStatus
    criteria: list[Criterion]
    actions: list[Action]
    unrecognised: list[Unrecognised] = []
    rules_fired: list[str]
    summary: str

    def criterion(self, criterion_id: str) -> Criterion:
        for crit in self.criteria:
            if crit.id == criterion_id:
                return crit
        raise KeyError(criterion_id)

    def to_json_dict(self) -> dict[str, object]:
        return self.model_dump(mode="json")

    def clinical_content(self) -> dict[str, object]:
        """The record without the fields that identify one run (id, wall-clock time).

        Two evaluations of the same input, policy and as_of have equal clinical content;
        replay and the determinism tests compare this.
        """
        data = self.model_dump(mode="json")
        data.pop("decision_id")
        data.pop("evaluated_at")
        return data
