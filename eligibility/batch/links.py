"""Which patient a bulk-exported resource belongs to, and which shared resources it needs.

Resources name their patient in `subject`, `patient` or `beneficiary`, as `Patient/<id>` or
`urn:uuid:<id>`; a Patient belongs to itself. Medication and Substance belong to nobody (bulk
exports write them once, in their own files) but a patient's record needs the ones its medication
resources reference, so they are kept aside and joined to each patient that points at them.
Everything else without a patient link (Practitioner, Organization, Location...) is not part of any
patient's record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

__all__ = ["SHARED_TYPES", "Route", "route"]

SHARED_TYPES = frozenset({"Medication", "Substance"})
_PATIENT_FIELDS = ("subject", "patient", "beneficiary")
_MEDICATION_USERS = frozenset(
    {"MedicationRequest", "MedicationStatement", "MedicationAdministration", "MedicationDispense"}
)
_PATIENT_PREFIX = "Patient/"
_URN_UUID = "urn:uuid:"


@dataclass(frozen=True, slots=True)
class Route:
    """`key` is the patient id for "patient", `Type/id` for "shared", the resource type for "unlinked"."""

    kind: Literal["patient", "shared", "unlinked", "invalid"]
    key: str  # for "invalid": why the resource cannot be placed
    needs: tuple[str, ...] = ()  # `Type/id` of the shared resources this one references


def route(resource: dict[str, Any]) -> Route:
    resource_type = str(resource.get("resourceType"))
    resource_id = resource.get("id")
    if resource_type == "Patient":
        if not _is_id(resource_id):
            return Route("invalid", "a Patient without an id cannot be matched with its resources")
        return Route("patient", resource_id)
    if resource_type in SHARED_TYPES:
        if not _is_id(resource_id):
            return Route("unlinked", resource_type)
        return Route("shared", f"{resource_type}/{resource_id}", _ingredient_needs(resource))
    patient = _linked_patient(resource)
    if patient is None:
        return Route("unlinked", resource_type)
    needs: tuple[str, ...] = ()
    if resource_type in _MEDICATION_USERS:
        needs = _shared_keys(_reference_of(resource.get("medicationReference")), ("Medication",))
    return Route("patient", patient, needs)


def _is_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value)


def _reference_of(value: object) -> str | None:
    reference = value.get("reference") if isinstance(value, dict) else None
    return reference if isinstance(reference, str) else None


def _linked_patient(resource: dict[str, Any]) -> str | None:
    for name in _PATIENT_FIELDS:
        reference = _reference_of(resource.get(name))
        if reference is None:
            continue
        if reference.startswith(_PATIENT_PREFIX):
            patient_id = reference[len(_PATIENT_PREFIX) :].split("/", 1)[0]  # drops /_history/n
            return patient_id or None
        if reference.startswith(_URN_UUID):
            return reference[len(_URN_UUID) :] or None
    return None


def _shared_keys(reference: str | None, types: tuple[str, ...]) -> tuple[str, ...]:
    """`Type/id` keys a reference may name among shared resources (an urn:uuid names no type)."""
    if reference is None or reference.startswith("#"):
        return ()
    if reference.startswith(_URN_UUID):
        uuid = reference[len(_URN_UUID) :]
        return tuple(f"{kind}/{uuid}" for kind in types)
    kind, _, rest = reference.partition("/")
    shared_id = rest.split("/", 1)[0]
    return (f"{kind}/{shared_id}",) if kind in SHARED_TYPES and shared_id else ()


def _ingredient_needs(medication: dict[str, Any]) -> tuple[str, ...]:
    ingredients = medication.get("ingredient")
    if not isinstance(ingredients, list):
        return ()
    needs: list[str] = []
    for ingredient in ingredients:
        if isinstance(ingredient, dict):
            needs.extend(_shared_keys(_reference_of(ingredient.get("itemReference")), ("Medication", "Substance")))
    return tuple(needs)
