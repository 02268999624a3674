"""Issue 11: STU3 input at the FHIR operation and in CDS Hooks: an OperationOutcome saying "this looks like
FHIR STU3 (…); send R4" where the giveaway is, and a rejection in the trail."""

from __future__ import annotations

import orjson

from fhir_adapters.cds_hooks import SERVICE_ID
from tests.api.conftest import Api
from tests.api.helpers import case_today, cds_request, example, records


def test_the_operation_names_stu3_input_and_records_it(sqlite_api: Api) -> None:
    bundle = orjson.loads(example())
    statement = next(
        i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == "MedicationStatement"
    )
    bundle["entry"][statement]["resource"]["taken"] = "y"
    response = sqlite_api.operate(orjson.dumps(bundle))
    assert response.status_code == 400, response.text
    [issue] = response.json()["issue"]
    assert issue["code"] == "not-supported"
    assert issue["diagnostics"] == (
        "this looks like FHIR STU3 (MedicationStatement.taken is not in R4; R4 has status); send FHIR R4 (4.0.1)"
    )
    assert issue["expression"] == [f"Bundle.entry[{statement}].resource.taken"]
    [rejection] = records(sqlite_api.engine, "rejection")
    assert rejection.data()["error"]["type"] == "FhirVersionError"


def test_a_cds_prefetch_in_stu3_is_named_and_recorded(sqlite_api: Api) -> None:
    request = cds_request(case_today("001-baseline-crps-foot")["bundle"])
    condition = request["prefetch"]["conditions"]["entry"][0]["resource"]
    condition["clinicalStatus"] = "active"  # an STU3 code; R4 has a CodeableConcept
    response = sqlite_api.cds(f"/cds-services/{SERVICE_ID}", request)
    assert response.status_code == 400, response.text
    [issue] = response.json()["issue"]
    assert issue["diagnostics"].startswith(
        "this looks like FHIR STU3 (Condition.clinicalStatus is a code string; in R4 it is a CodeableConcept)"
    )
    [rejection] = records(sqlite_api.engine, "rejection")
    assert rejection.channel == "cds-hooks" and rejection.data()["error"]["code"] == "not-supported"
