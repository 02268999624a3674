"""Identities shared by every outbound rendering: our code systems, extension URLs and resource ids.

Ids are UUIDv5 derived from the decision id and a local key, so rendering the same decision twice gives
byte-identical resources (replay, the audit store and the API must agree), while two decisions never
share an id. A bare `decision_id + suffix` would not do: FHIR ids are at most 64 characters of
[A-Za-z0-9-.], and decision ids are already 36-character UUIDs.
"""

from __future__ import annotations

import uuid

from eligibility.decision import Decision

__all__ = [
    "CodeSystems",
    "Extensions",
    "guidance_url",
    "local_uuid",
    "module_uri",
    "normalize_base",
    "questionnaire_url",
]

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:drg-eligibility:outbound")

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def normalize_base(base_url: str) -> str:
    """Canonical URLs are built as f"{base}/CodeSystem/…": a trailing slash would double it."""
    return base_url.rstrip("/")


def local_uuid(decision_id: str, key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{decision_id}/{key}"))


def guidance_url(base_url: str, decision_id: str) -> str:
    """Where the GuidanceResponse can be read; also its fullUrl and what Tasks cite as their reason."""
    return f"{normalize_base(base_url)}/GuidanceResponse/{decision_id}"


def questionnaire_url(base_url: str, decision_id: str) -> str:
    """The canonical of the decision's open questions (eligibility/answers/questionnaire.py)."""
    return f"{normalize_base(base_url)}/Questionnaire/q-{decision_id}"


def module_uri(decision: Decision) -> str:
    # A URN, not a canonical URL: no PlanDefinition or Library is published for the policy, and a
    # canonical must resolve to one. The version pins the exact rules; the sha256 goes in an extension.
    return f"urn:drg-eligibility:policy:{decision.policy.id}@{decision.policy.version}"


class CodeSystems:
    """Our code systems, named under the service's FHIR base (identifiers; not served as resources)."""

    def __init__(self, base_url: str) -> None:
        base = normalize_base(base_url)
        self.outcome = f"{base}/CodeSystem/drg-outcome"
        self.criterion = f"{base}/CodeSystem/drg-criterion"
        self.task = f"{base}/CodeSystem/drg-task"
        self.task_input = f"{base}/CodeSystem/drg-task-input"
        self.override_reason = f"{base}/CodeSystem/drg-override-reason"
        self.card_topic = f"{base}/CodeSystem/drg-card-topic"
        self.decision_id = f"{base}/NamingSystem/drg-decision"


class Extensions:
    """Extension URLs for the provenance of a decision that GuidanceResponse has no element for."""

    def __init__(self, base_url: str) -> None:
        base = normalize_base(base_url)
        self.policy_sha256 = f"{base}/StructureDefinition/drg-policy-sha256"
        self.engine_version = f"{base}/StructureDefinition/drg-engine-version"
        self.input_sha256 = f"{base}/StructureDefinition/drg-input-sha256"
        self.as_of = f"{base}/StructureDefinition/drg-as-of"
        self.stage = f"{base}/StructureDefinition/drg-stage"
        self.label_status = f"{base}/StructureDefinition/drg-label-status"
