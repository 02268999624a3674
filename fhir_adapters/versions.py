"""Is this older FHIR (STU3, DSTU2)? What gave it away, so a refusal says "send R4" instead of quoting
an R4B validation error the sender cannot act on.

Consulted only when a submission is already refused (pipeline.py, parsing.py): nothing here runs on a
record that reads as R4, so the hot path pays nothing. The signs are ones R4 does not have at all:
resource types R4 removed or renamed, elements R4 removed, elements whose JSON type changed (STU3
codes that became CodeableConcepts), profile URLs of the older versions, and `fhirVersion` values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from eligibility.errors import FhirVersionError, InputError

__all__ = ["VersionSign", "older_version_error", "sign_in"]

STU3 = "STU3"
DSTU2 = "DSTU2"
EITHER = "STU3 or DSTU2"

# Resource types that exist in STU3 and/or DSTU2 but not in R4, with what R4 uses instead.
_OLD_TYPES: dict[str, tuple[str, str]] = {
    "ProcedureRequest": (EITHER, "ServiceRequest"),
    "ReferralRequest": (EITHER, "ServiceRequest"),
    "DiagnosticOrder": (DSTU2, "ServiceRequest"),
    "DeviceUseRequest": (DSTU2, "DeviceRequest"),
    "Order": (DSTU2, "Task or a request resource"),
    "OrderResponse": (DSTU2, "Task"),
    "MedicationOrder": (DSTU2, "MedicationRequest"),
    "BodySite": (EITHER, "BodyStructure"),
    "DeviceComponent": (EITHER, "Device and DeviceDefinition"),
    "EligibilityRequest": (EITHER, "CoverageEligibilityRequest"),
    "EligibilityResponse": (EITHER, "CoverageEligibilityResponse"),
    "ProcessRequest": (EITHER, "Task"),
    "ProcessResponse": (EITHER, "Task"),
    "DataElement": (EITHER, "StructureDefinition"),
    "Conformance": (DSTU2, "CapabilityStatement"),
    "ImagingObjectSelection": (DSTU2, "ImagingStudy"),
    "ImagingManifest": (STU3, "ImagingStudy"),
    "Sequence": (STU3, "MolecularSequence"),
    "ServiceDefinition": (STU3, "PlanDefinition or ActivityDefinition"),
}

# Elements R4 removed, per resource type: (element, version, what R4 has instead).
_OLD_ELEMENTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "MedicationStatement": (
        ("taken", STU3, "status"),
        ("wasNotTaken", DSTU2, "status"),
        ("reasonNotTaken", EITHER, "statusReason"),
    ),
    "MedicationRequest": (("context", STU3, "encounter"), ("definition", STU3, "instantiatesCanonical")),
    "MedicationAdministration": (
        ("notGiven", STU3, "status"),
        ("practitioner", DSTU2, "performer"),
        ("wasNotGiven", DSTU2, "status"),
    ),
    "Condition": (
        ("assertedDate", STU3, "recordedDate"),
        ("context", STU3, "encounter"),
        ("patient", DSTU2, "subject"),
        ("dateRecorded", DSTU2, "recordedDate"),
    ),
    "Observation": (
        ("context", STU3, "encounter"),
        ("comment", STU3, "note"),
        ("comments", DSTU2, "note"),
        ("related", EITHER, "hasMember / derivedFrom"),
    ),
    "Procedure": (
        ("notPerformed", EITHER, "status not-done"),
        ("reasonNotPerformed", EITHER, "statusReason"),
        ("context", STU3, "encounter"),
        ("definition", STU3, "instantiatesCanonical"),
    ),
    "Encounter": (
        ("patient", DSTU2, "subject"),
        ("incomingReferral", STU3, "basedOn"),
        ("indication", DSTU2, "reasonReference"),
        ("reason", EITHER, "reasonCode"),
    ),
    "AllergyIntolerance": (
        ("assertedDate", STU3, "recordedDate"),
        ("substance", DSTU2, "code"),
        ("status", DSTU2, "clinicalStatus"),
    ),
    "Patient": (("animal", EITHER, "an extension"), ("careProvider", DSTU2, "generalPractitioner")),
    "Device": (("udi", EITHER, "udiCarrier"), ("model", STU3, "modelNumber")),
    "Medication": (("isBrand", EITHER, "an extension"), ("product", DSTU2, "ingredient, form")),
}

# Elements that are codes in STU3 (a JSON string) and CodeableConcepts in R4 (an object).
_CODE_BECAME_CONCEPT: dict[str, tuple[str, ...]] = {
    "Condition": ("clinicalStatus", "verificationStatus"),
    "AllergyIntolerance": ("clinicalStatus", "verificationStatus"),
}

_PROFILE = re.compile(r"/(STU3|DSTU2)/|fhir\.org/guides/argonaut|/fhir/(3\.0|1\.0)\.", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class VersionSign:
    version: str  # "STU3", "DSTU2" or "STU3 or DSTU2"
    why: str  # what gave it away, in words
    path: str  # where, relative to the resource ("taken", "meta.profile[0]"; "" for the resource itself)


def sign_in(resource: dict[str, Any]) -> VersionSign | None:
    """The first sign in one resource that it is STU3 or DSTU2 FHIR, or None."""
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return None
    old = _OLD_TYPES.get(resource_type)
    if old is not None:
        version, instead = old
        return VersionSign(version, f"{resource_type} is not an R4 resource; R4 has {instead}", "resourceType")
    for element, version, instead in _OLD_ELEMENTS.get(resource_type, ()):
        if element in resource:
            return VersionSign(version, f"{resource_type}.{element} is not in R4; R4 has {instead}", element)
    for element in _CODE_BECAME_CONCEPT.get(resource_type, ()):
        if isinstance(resource.get(element), str):
            return VersionSign(
                STU3, f"{resource_type}.{element} is a code string; in R4 it is a CodeableConcept", element
            )
    requester = resource.get("requester")
    if resource_type == "MedicationRequest" and isinstance(requester, dict) and "agent" in requester:
        return VersionSign(STU3, "MedicationRequest.requester has an agent (R4: a Reference)", "requester.agent")
    return _meta_sign(resource) or _fhir_version_sign(resource)


def _meta_sign(resource: dict[str, Any]) -> VersionSign | None:
    meta = resource.get("meta")
    profiles = meta.get("profile") if isinstance(meta, dict) else None
    for index, profile in enumerate(profiles if isinstance(profiles, list) else ()):
        if isinstance(profile, str) and (match := _PROFILE.search(profile)):
            found = match.group(0).lower()
            version = DSTU2 if "dstu2" in found or "argonaut" in found or "1.0" in found else STU3
            return VersionSign(version, f"meta.profile {profile} is a profile of {version}", f"meta.profile[{index}]")
    return None


def _fhir_version_sign(resource: dict[str, Any]) -> VersionSign | None:
    value = resource.get("fhirVersion")
    if isinstance(value, str) and value.startswith(("3.0", "1.0", "1.8", "3.3")):
        version = STU3 if value.startswith("3.") else DSTU2
        return VersionSign(version, f"fhirVersion is {value}", "fhirVersion")
    return None


def older_version_error(
    error: InputError, resources: Iterable[tuple[dict[str, Any], Callable[[str], str]]]
) -> InputError:
    """`error` turned into "this looks like FHIR STU3 (…); send R4" when a resource shows the sign of an
    older version, else `error` itself. `resources` pairs each resource with its locator's `at`
    (path -> location in the submission); the resource the error is about is best given first.
    """
    for resource, at in resources:
        sign = sign_in(resource)
        if sign is not None:
            return FhirVersionError(
                f"this looks like FHIR {sign.version} ({sign.why}); send FHIR R4 (4.0.1)", location=at(sign.path)
            )
    return error
