"""Bad input gets a 4xx OperationOutcome naming where, and a rejection record; never a 500."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import orjson
import pytest

from tests.api.conftest import Api
from tests.api.helpers import AS_OF, case, example, patient_of, records

BASELINE = case("001-baseline-crps-foot")["bundle"]


def mutated(change: Any) -> bytes:
    bundle = copy.deepcopy(BASELINE)
    change(bundle)
    return json.dumps(bundle).encode()  # orjson refuses to write past 255 levels


def _second_patient(bundle: dict[str, Any]) -> None:
    twin = {**patient_of(bundle), "id": "someone-else"}
    bundle["entry"].append({"fullUrl": "urn:uuid:twin", "resource": twin})


def _no_patient(bundle: dict[str, Any]) -> None:
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Patient"]


def _bad_birth_date(bundle: dict[str, Any]) -> None:
    patient_of(bundle)["birthDate"] = "not-a-date"


def _dangling(bundle: dict[str, Any]) -> None:
    condition = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition")
    condition["subject"] = {"reference": "Patient/nobody"}


def _nested_extension(bundle: dict[str, Any]) -> None:
    extension: dict[str, Any] = {"url": "http://example.org/x", "valueString": "a"}
    for _ in range(300):
        extension = {"url": "http://example.org/x", "extension": [extension]}
    patient_of(bundle)["extension"] = [extension]


def _onset_year_one(bundle: dict[str, Any]) -> None:
    condition = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition")
    condition["onsetDateTime"] = "0001-01-01"


def _born_9999(bundle: dict[str, Any]) -> None:
    patient_of(bundle)["birthDate"] = "9999-12-31"


def _twice(key: str, second: str) -> bytes:
    """The baseline with a second `key` in the object that holds it (JSON parsers keep the last)."""
    text = orjson.dumps(BASELINE).decode()
    at = text.index(f'"{key}":')
    return (text[:at] + f'"{key}":{second},' + text[at:]).encode()


# (name, body, extra headers, expected status, where the OperationOutcome must point)
CORPUS: list[tuple[str, bytes, dict[str, str], int, str]] = [
    ("malformed JSON", b'{"resourceType": "Bundle", "entry": [', {}, 400, "line 1"),
    ("non-FHIR JSON", b'{"hello": "world"}', {}, 400, "resourceType"),
    ("JSON array", b"[1, 2, 3]", {}, 400, "$"),
    ("wrong resourceType", b'{"resourceType": "Observation", "status": "final"}', {}, 422, "resourceType"),
    ("unknown resourceType", b'{"resourceType": "Spaceship"}', {}, 400, "resourceType"),
    ("no Patient", mutated(_no_patient), {}, 422, "Bundle"),
    ("two Patients", mutated(_second_patient), {}, 422, "Bundle.entry"),
    ("birthDate not-a-date", mutated(_bad_birth_date), {}, 400, "birthDate"),
    ("dangling reference", mutated(_dangling), {}, 422, "subject"),
    # issue 12: these gave a 500 (RecursionError, "year 0 is out of range") or a silently other decision
    ("extension nested 300 deep", mutated(_nested_extension), {}, 400, "Bundle.entry[0].resource.extension[0]"),
    ("onset in year 1", mutated(_onset_year_one), {}, 400, "resource.onsetDateTime"),
    ("birthDate 9999-12-31", mutated(_born_9999), {}, 400, "resource.birthDate"),
    ("two birthDates", _twice("birthDate", '"2015-01-01"'), {}, 400, "birthDate"),
    ("two resourceTypes", _twice("resourceType", '"Patient"'), {}, 400, "resourceType"),
    ("empty body", b"", {}, 400, "body"),
    ("wrong content type", example(), {"Content-Type": "application/xml"}, 415, "Content-Type"),
    ("Parameters without bundle", b'{"resourceType": "Parameters", "parameter": []}', {}, 400, "Parameters"),
    (
        "Parameters with a partial asOf",
        orjson.dumps(
            {
                "resourceType": "Parameters",
                "parameter": [{"name": "bundle", "resource": BASELINE}, {"name": "asOf", "valueDate": "2026-06"}],
            }
        ),
        {},
        400,
        "Parameters.parameter[1].valueDate",
    ),
    (
        "Parameters wrapping a bad bundle",
        orjson.dumps(
            {
                "resourceType": "Parameters",
                "parameter": [{"name": "bundle", "resource": orjson.loads(mutated(_bad_birth_date))}],
            }
        ),
        {},
        400,
        "Parameters.parameter[0].resource.entry",
    ),
]


def where(outcome: dict[str, Any]) -> str:
    """The FHIRPath of the issue, or the place its diagnostics name (R4: no `location`)."""
    issue = outcome["issue"][0]
    assert "location" not in issue
    return " ".join([*issue.get("expression", []), issue["diagnostics"].rpartition(", at ")[2]])


@pytest.mark.parametrize(("name", "body", "headers", "status", "location"), CORPUS, ids=[c[0] for c in CORPUS])
def test_each_bad_input_is_answered_and_recorded(
    sqlite_api: Api, name: str, body: bytes, headers: dict[str, str], status: int, location: str
) -> None:
    response = sqlite_api.operate(body, params={"asOf": AS_OF}, **headers)

    assert response.status_code == status, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome", name
    assert location in where(outcome), (name, outcome)
    [rejection] = records(sqlite_api.engine, "rejection")
    assert rejection.actor == "dr.referrer" and rejection.channel == "fhir-api"
    assert outcome["issue"][0]["diagnostics"].startswith(rejection.data()["error"]["message"])
    assert not records(sqlite_api.engine, "decision")


def test_the_whole_corpus_on_each_backend(api: Api) -> None:
    """The same corpus against both databases: every call answered 4xx and recorded with its bytes."""
    for name, body, headers, status, _location in CORPUS:
        response = api.operate(body, params={"asOf": AS_OF}, **headers)
        assert response.status_code == status, (name, response.text)
    rejections = records(api.engine, "rejection")
    assert len(rejections) == len(CORPUS)
    assert {r.input_sha256 for r in rejections} == {hashlib.sha256(body).hexdigest() for _, body, *_ in CORPUS}


def test_invalid_as_of_query(sqlite_api: Api) -> None:
    response = sqlite_api.operate(example(), params={"asOf": "yesterday"})
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["http.asOf"]  # R4: "http." + the parameter name
    assert len(records(sqlite_api.engine, "rejection")) == 1


def test_oversized_payload_is_refused_before_reading(
    tmp_path: Any, keys: Any, issuers_file: Any, evaluator: Any
) -> None:
    from tests.api.conftest import make_settings, running_api

    settings = make_settings(issuers_file, api_max_body_bytes=4096)
    with running_api(f"sqlite:///{tmp_path / 'a.db'}", keys=keys, settings=settings, evaluator=evaluator) as small:
        response = small.operate(example())
        assert response.status_code == 413, response.text
        assert response.json()["issue"][0]["expression"] == ["http.Content-Length"]
        [rejection] = records(small.engine, "rejection")
        assert rejection.data()["error"]["type"] == "PayloadTooLargeError"


def test_bad_path_parameter_is_400_not_422(sqlite_api: Api) -> None:
    response = sqlite_api.http.get("/fhir/GuidanceResponse/has%20space", headers=sqlite_api.bearer())
    assert response.status_code == 400
    assert "decision_id (path)" in where(response.json())


@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01"])
def test_as_of_at_the_ends_of_the_calendar_is_a_recorded_400(api: Api, as_of: str) -> None:
    response = api.operate(example(), params={"asOf": as_of})
    assert response.status_code == 400, response.text  # was 500: OverflowError
    assert "asOf" in where(response.json())
    assert len(records(api.engine, "rejection")) == 1


def test_a_tiny_pain_score_is_decided_not_a_500(api: Api) -> None:
    def tiny(bundle: dict[str, Any]) -> None:
        scores = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]
        for score in scores:
            if "valueQuantity" in score:
                score["valueQuantity"]["value"] = 5e-324
            elif "valueInteger" in score:
                score["valueInteger"] = 0

    response = api.operate(mutated(tiny), params={"asOf": AS_OF})
    assert response.status_code == 200, response.text  # was 500: "the rules gave 0 answers for the label status"
    assert len(records(api.engine, "decision")) == 1
