"""Issue 11: an evaluation day before the patient's birth, or more than a year ahead, is refused with an
OperationOutcome and recorded as a rejection, at the FHIR operation and in CDS Hooks."""

from __future__ import annotations

from datetime import date, timedelta

import orjson

from eligibility.calendar import add_months
from fhir_adapters.cds_hooks import SERVICE_ID
from tests.api.conftest import Api
from tests.api.helpers import case_today, cds_request, example, patient_of, records


def _refusal(response_json: dict[str, object]) -> dict[str, object]:
    [issue] = response_json["issue"]  # type: ignore[misc]
    return issue  # type: ignore[no-any-return]


def test_an_as_of_before_the_birth_date_is_an_operation_outcome_and_a_rejection(sqlite_api: Api) -> None:
    response = sqlite_api.operate(example(), params={"asOf": "1900-01-01"})
    assert response.status_code == 400, response.text
    issue = _refusal(response.json())
    assert issue["code"] == "invalid"
    assert issue["diagnostics"] == (
        "asOf 1900-01-01 is before the patient's birth date (1978-03-14); give the day the patient is evaluated"
    )
    [rejection] = records(sqlite_api.engine, "rejection")
    assert rejection.data()["as_of"] == "1900-01-01" and rejection.input_sha256 is not None
    assert records(sqlite_api.engine, "decision") == []


def test_an_as_of_more_than_a_year_ahead_is_refused_in_parameters_and_query(sqlite_api: Api) -> None:
    today = date.today()
    too_far = (add_months(today, 12) + timedelta(days=1)).isoformat()
    bundle = orjson.loads(example())
    parameters = {
        "resourceType": "Parameters",
        "parameter": [{"name": "bundle", "resource": bundle}, {"name": "asOf", "valueDate": too_far}],
    }
    for response in (
        sqlite_api.operate(orjson.dumps(parameters)),
        sqlite_api.operate(example(), params={"asOf": too_far}),
    ):
        assert response.status_code == 400, response.text
        assert str(_refusal(response.json())["diagnostics"]).startswith(
            f"asOf {too_far} is more than a year after today ({today.isoformat()})"
        )
    assert [r.data()["as_of"] for r in records(sqlite_api.engine, "rejection")] == [too_far, too_far]
    assert records(sqlite_api.engine, "decision") == []


def test_a_cds_call_for_a_patient_born_after_today_is_refused_and_recorded(sqlite_api: Api) -> None:
    request = cds_request(case_today("001-baseline-crps-foot")["bundle"])
    patient_of({"entry": [{"resource": request["prefetch"]["patient"]}]})["birthDate"] = (
        date.today() + timedelta(days=2)
    ).isoformat()
    response = sqlite_api.cds(f"/cds-services/{SERVICE_ID}", request)
    assert response.status_code == 400, response.text
    assert "is before the patient's birth date" in str(_refusal(response.json())["diagnostics"])
    [rejection] = records(sqlite_api.engine, "rejection")
    assert rejection.channel == "cds-hooks" and rejection.data()["as_of"] == date.today().isoformat()
