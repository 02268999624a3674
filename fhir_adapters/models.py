"""The one module that imports fhir.resources: which resource types exist, and R4B validation.

fhir.resources 8 ships R5 as its top-level models; R4 data (what EHRs send) must be validated with
`fhir.resources.R4B`, because the R5 models reject R4 shapes or silently drop renamed fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from fhir.resources import R4B
from fhir.resources.R4B.resource import Resource

from eligibility.errors import InvalidResourceError, NotFHIRError

__all__ = ["READ_TYPES", "is_resource_type", "validate_r4", "validate_resource"]

# The resource types the rules read. Only these are validated (validating a whole Synthea bundle costs
# about three times as much, mostly on Claims and ExplanationOfBenefits nobody reads).
READ_TYPES: frozenset[str] = frozenset(
    {
        "AllergyIntolerance",
        "Condition",
        "Device",
        "Encounter",
        "Medication",
        "MedicationAdministration",
        "MedicationRequest",
        "MedicationStatement",
        "Observation",
        "Patient",
        "Procedure",
    }
)

# R4 (4.0.1) resource types that R4B dropped. R4 input may legitimately carry them; they are kept and
# ignored like any other unread type rather than rejected as "not FHIR".
_R4_ONLY_TYPES: frozenset[str] = frozenset(
    {
        "EffectEvidenceSynthesis",
        "MedicinalProduct",
        "MedicinalProductAuthorization",
        "MedicinalProductContraindication",
        "MedicinalProductIndication",
        "MedicinalProductIngredient",
        "MedicinalProductInteraction",
        "MedicinalProductManufactured",
        "MedicinalProductPackaged",
        "MedicinalProductPharmaceutical",
        "MedicinalProductUndesirableEffect",
        "RiskEvidenceSynthesis",
        "SubstanceNucleicAcid",
        "SubstancePolymer",
        "SubstanceProtein",
        "SubstanceReferenceInformation",
        "SubstanceSourceMaterial",
        "SubstanceSpecification",
    }
)

_TYPE_NAME = re.compile(r"[A-Z][A-Za-z]{1,63}")


@lru_cache(maxsize=1024)
def is_resource_type(name: str) -> bool:
    """True for an R4 or R4B resource type name (data types such as "Coding" are not resources)."""
    if not _TYPE_NAME.fullmatch(name):
        return False
    if name in _R4_ONLY_TYPES:
        return True
    try:
        model = R4B.get_fhir_model_class(name)
    except (ValueError, KeyError):
        return False
    return isinstance(model, type) and issubclass(model, Resource)


def validate_resource(resource: dict[str, Any], at: Callable[[str], str]) -> None:
    """Validate one read resource with its R4B model; `at(path)` turns a field path into a location.

    Raises NotFHIRError for an unknown contained resourceType (fhir.resources raises a bare KeyError
    there) and InvalidResourceError, located at the first offending field, for anything else.
    """
    resource_type = resource["resourceType"]
    for index, contained in enumerate(_as_list(resource.get("contained"))):
        contained_type = contained.get("resourceType") if isinstance(contained, dict) else None
        if not isinstance(contained_type, str) or not is_resource_type(contained_type):
            raise NotFHIRError(
                f"contained resource has no known FHIR resourceType ({contained_type!r})",
                location=at(f"contained[{index}].resourceType"),
            )
    model = R4B.get_fhir_model_class(resource_type)
    try:
        model.model_validate(resource)
    except KeyError as exc:
        raise NotFHIRError(f"unknown FHIR type inside {resource_type}: {exc}", location=at("")) from exc
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        path, message = _first_problem(exc)
        raise InvalidResourceError(f"{resource_type} fails FHIR R4B validation: {message}", location=at(path)) from exc


def _first_problem(exc: ValueError) -> tuple[str, str]:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return "", str(exc)
    problems: list[dict[str, Any]] = errors(include_url=False, include_input=False)
    if not problems:
        return "", str(exc)
    first = problems[0]
    loc = tuple(first.get("loc", ()))
    if first.get("type") == "model_validation_format" and loc[-1:] == ("root",):
        loc = loc[:-1]  # fhir.resources' wrong-JSON-type errors name their RootModel, not a FHIR element
    return _path(loc), str(first.get("msg", "invalid value"))


def _path(loc: tuple[Any, ...]) -> str:
    """Pydantic error location -> FHIRPath-like path, e.g. ("component", 0, "code") -> component[0].code."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            name = "resourceType" if part == "resource_type" else str(part)
            path += f".{name}" if path else name
    return path


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def validate_r4(resource: dict[str, Any]) -> None:
    """Validate a resource the product emits (with the resources nested in it) against its R4B model.

    For output, not input: raises NotFHIRError / InvalidResourceError located like
    "Parameters.parameter[0].resource.entry[2].resource.status". The models check structure, types and
    cardinality, not the codes of required bindings; the outbound tests check those.
    """
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not is_resource_type(resource_type) or resource_type in _R4_ONLY_TYPES:
        raise NotFHIRError(f"no R4B resource type {resource_type!r}", location="resourceType")
    validate_resource(resource, lambda path: f"{resource_type}.{path}" if path else resource_type)
