"""Identities shared by every outbound rendering: our code systems, extension URLs (canonical, fixed in
fhir_adapters/product.py) and resource ids (instance URLs under the server's base).

Ids are UUIDv5 derived from the decision id and a local key, so rendering the same decision twice gives
byte-identical resources (replay, the audit store and the API must agree), while two decisions never
share an id. A bare `decision_id + suffix` would not do: FHIR ids are at most 64 characters of
[A-Za-z0-9-.], and decision ids are already 36-character UUIDs.
"""

from __future__ import annotations

import uuid
from typing import Final

from eligibility.decision import Decision

from ..product import canonical

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
    """Instance URLs are built as f"{base}/GuidanceResponse/…": a trailing slash would double it."""
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
    """Our code systems and naming system: canonical URLs fixed in the product (fhir_adapters/product.py),
    the same on every server; identifiers, not served as resources."""

    outcome: Final = canonical("CodeSystem", "drg-outcome")
    criterion: Final = canonical("CodeSystem", "drg-criterion")
    task: Final = canonical("CodeSystem", "drg-task")
    task_input: Final = canonical("CodeSystem", "drg-task-input")
    override_reason: Final = canonical("CodeSystem", "drg-override-reason")
    card_topic: Final = canonical("CodeSystem", "drg-card-topic")
    decision_id: Final = canonical("NamingSystem", "drg-decision")


class Extensions:
    """Extension URLs for the provenance of a decision that GuidanceResponse has no element for (canonical,
    fixed in the product)."""

    policy_sha256: Final = canonical("StructureDefinition", "drg-policy-sha256")
    engine_version: Final = canonical("StructureDefinition", "drg-engine-version")
    input_sha256: Final = canonical("StructureDefinition", "drg-input-sha256")
    as_of: Final = canonical("StructureDefinition", "drg-as-of")
    stage: Final = canonical("StructureDefinition", "drg-stage")
    label_status: Final = canonical("StructureDefinition", "drg-label-status")
