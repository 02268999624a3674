"""Issue 11: STU3 / DSTU2 input is named as such ("this looks like FHIR STU3 (…); send R4"), with what gave
it away and where, instead of an R4B validation error; R4 errors stay as they were."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from eligibility.errors import FhirVersionError, InvalidResourceError, NotFHIRError, WrongResourceTypeError
from fhir_adapters import parse_input, parse_resources
from tests.conftest import EXAMPLES

BASE = orjson.loads((EXAMPLES / "crps-left-foot.json").read_bytes())
SUBJECT = {"reference": "Patient/pt-crps-1"}


def _first(bundle: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type)


def _index(bundle: dict[str, Any], resource_type: str) -> int:
    return next(i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == resource_type)


def _added(resource: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return lambda bundle: bundle["entry"].append({"resource": resource})


def _changed(resource_type: str, **fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda bundle: _first(bundle, resource_type).update(fields)


# (name, change, version said, what gave it away, location)
OLDER: list[tuple[str, Callable[[dict[str, Any]], None], str, str, str]] = [
    (
        "STU3 MedicationStatement.taken",
        _changed("MedicationStatement", taken="y"),
        "STU3",
        "MedicationStatement.taken is not in R4; R4 has status",
        f"Bundle.entry[{_index(BASE, 'MedicationStatement')}].resource.taken",
    ),
    (
        "STU3 ProcedureRequest",
        _added({"resourceType": "ProcedureRequest", "id": "pr1", "subject": SUBJECT}),
        "STU3 or DSTU2",
        "ProcedureRequest is not an R4 resource; R4 has ServiceRequest",
        f"Bundle.entry[{len(BASE['entry'])}].resource.resourceType",
    ),
    (
        "STU3 ReferralRequest",
        _added({"resourceType": "ReferralRequest", "id": "rr1"}),
        "STU3 or DSTU2",
        "ReferralRequest is not an R4 resource; R4 has ServiceRequest",
        f"Bundle.entry[{len(BASE['entry'])}].resource.resourceType",
    ),
    (
        "DSTU2 MedicationOrder",
        _added({"resourceType": "MedicationOrder", "id": "mo1", "patient": SUBJECT}),
        "DSTU2",
        "MedicationOrder is not an R4 resource; R4 has MedicationRequest",
        f"Bundle.entry[{len(BASE['entry'])}].resource.resourceType",
    ),
    (
        "DSTU2 DiagnosticOrder",
        _added({"resourceType": "DiagnosticOrder", "id": "do1"}),
        "DSTU2",
        "DiagnosticOrder is not an R4 resource; R4 has ServiceRequest",
        f"Bundle.entry[{len(BASE['entry'])}].resource.resourceType",
    ),
    (
        "STU3 Condition.clinicalStatus as a code",
        _changed("Condition", clinicalStatus="active"),
        "STU3",
        "Condition.clinicalStatus is a code string; in R4 it is a CodeableConcept",
        f"Bundle.entry[{_index(BASE, 'Condition')}].resource.clinicalStatus",
    ),
    (
        "DSTU2 Observation.comments",
        _changed("Observation", comments="taken at rest"),
        "DSTU2",
        "Observation.comments is not in R4; R4 has note",
        f"Bundle.entry[{_index(BASE, 'Observation')}].resource.comments",
    ),
    (
        "DSTU2 Argonaut profile",
        _changed(
            "Patient",
            meta={"profile": ["http://fhir.org/guides/argonaut/StructureDefinition/argo-patient"]},
            birthDate="1978-03-14T00:00:00",
        ),
        "DSTU2",
        "meta.profile http://fhir.org/guides/argonaut/StructureDefinition/argo-patient is a profile of DSTU2",
        "Bundle.entry[0].resource.meta.profile[0]",
    ),
    (
        "STU3 MedicationRequest.requester.agent",
        _changed("MedicationRequest", requester={"agent": {"reference": "Practitioner/p1"}}),
        "STU3",
        "MedicationRequest.requester has an agent (R4: a Reference)",
        f"Bundle.entry[{_index(BASE, 'MedicationRequest')}].resource.requester.agent",
    ),
]


@pytest.mark.parametrize(("name", "change", "version", "why", "where"), OLDER, ids=[o[0] for o in OLDER])
def test_older_fhir_is_named_with_what_gave_it_away(
    name: str, change: Callable[[dict[str, Any]], None], version: str, why: str, where: str
) -> None:
    bundle = copy.deepcopy(BASE)
    change(bundle)
    with pytest.raises(FhirVersionError) as raised:
        parse_input(orjson.dumps(bundle))
    assert raised.value.message == f"this looks like FHIR {version} ({why}); send FHIR R4 (4.0.1)"
    assert raised.value.location == where
    assert raised.value.code == "not-supported"


def test_a_lone_dstu2_resource_and_ndjson_lines_are_named_too() -> None:
    with pytest.raises(FhirVersionError, match=r"FHIR DSTU2 \(MedicationOrder is not an R4 resource"):
        parse_input(b'{"resourceType": "MedicationOrder", "id": "m"}')
    lines = [orjson.dumps(_first(BASE, "Patient")), orjson.dumps({**_first(BASE, "Condition"), "assertedDate": "2026"})]
    with pytest.raises(FhirVersionError) as raised:
        parse_input(b"\n".join(lines))
    assert raised.value.location == "line 2: assertedDate"
    with pytest.raises(FhirVersionError, match=r"STU3 \(Condition.assertedDate is not in R4; R4 has recordedDate\)"):
        parse_resources([_first(BASE, "Patient"), {**_first(BASE, "Condition"), "assertedDate": "2026"}])


def test_an_r4_error_is_still_the_r4b_validation_error() -> None:
    bundle = copy.deepcopy(BASE)
    _first(bundle, "Condition")["onsetDateTime"] = "yesterday"
    with pytest.raises(InvalidResourceError) as raised:
        parse_input(orjson.dumps(bundle))
    assert not isinstance(raised.value, FhirVersionError)
    assert "fails FHIR R4B validation" in raised.value.message


def test_an_r4_record_is_read_as_before() -> None:
    assert parse_input(orjson.dumps(BASE)).facts.patient.birth_date is not None


@pytest.mark.parametrize(
    ("resource_type", "said"),
    [("AllergyIntolerance", "an AllergyIntolerance"), ("Observation", "an Observation"),
     ("Encounter", "an Encounter"), ("Condition", "a Condition")],
)
def test_a_lone_resource_is_named_with_the_right_article(resource_type: str, said: str) -> None:
    with pytest.raises(WrongResourceTypeError) as raised:
        parse_input(orjson.dumps({"resourceType": resource_type, "id": "x"}))
    assert raised.value.message.startswith(f"{said} is not a patient record")


def test_a_non_object_resource_is_named_with_the_right_article() -> None:
    with pytest.raises(NotFHIRError, match=r"^an int is not a FHIR resource"):
        parse_resources([1])
