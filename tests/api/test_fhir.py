"""The FHIR operation end to end: decisions as FHIR, recorded before the answer; reads recorded and scoped."""

from __future__ import annotations

import orjson
import pytest

from eligibility.api.users import Role
from eligibility.audit.chain import sha256_hex
from eligibility.audit.database import read_session
from eligibility.audit.store import get_input
from fhir_adapters.product import CANONICAL_BASE
from tests.api.conftest import Api
from tests.api.helpers import AS_OF, case, example, records


def decision_of(body: dict[str, object]) -> dict[str, object]:
    parameters = {p["name"]: p for p in body["parameter"]}  # type: ignore[attr-defined,index]
    return orjson.loads(parameters["decision"]["valueString"])  # type: ignore[no-any-return]


def test_operation_returns_fhir_and_records_the_decision_first(api: Api) -> None:
    response = api.operate(example(), params={"asOf": AS_OF})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/fhir+json"
    body = response.json()
    assert body["resourceType"] == "Parameters"
    bundle = body["parameter"][0]["resource"]
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert types[0] == "GuidanceResponse" and "Task" in types
    decision = decision_of(body)
    assert decision["as_of"] == AS_OF and decision["outcome"] == "ELIGIBLE_WITH_CONDITIONS"
    assert bundle["entry"][0]["fullUrl"] == f"{api.base}/fhir/GuidanceResponse/{decision['decision_id']}"
    [record] = records(api.engine, "decision")
    assert (record.decision_id, record.actor, record.channel) == (decision["decision_id"], "dr.referrer", "fhir-api")
    assert record.data()["decision"] == decision


def test_parameters_with_as_of_and_data_required(api: Api) -> None:
    unknown = case("009-pain-location-unknown")
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "bundle", "resource": unknown["bundle"]},
            {"name": "asOf", "valueDate": unknown["as_of"]},
        ],
    }
    response = api.operate(orjson.dumps(parameters), params={"asOf": "1999-01-01"})  # Parameters win

    assert response.status_code == 200, response.text
    decision = decision_of(response.json())
    assert (decision["as_of"], decision["outcome"]) == (unknown["as_of"], "INSUFFICIENT_INFORMATION")
    guidance = response.json()["parameter"][0]["resource"]["entry"][0]["resource"]
    assert guidance["status"] == "data-required" and guidance["dataRequirement"]


def test_detected_issues_for_contraindications(api: Api) -> None:
    review = case("074-pacemaker-needs-review")
    response = api.operate(orjson.dumps(review["bundle"]), params={"asOf": review["as_of"]})

    assert response.status_code == 200, response.text
    entries = response.json()["parameter"][0]["resource"]["entry"]
    assert any(e["resource"]["resourceType"] == "DetectedIssue" for e in entries)


def test_reads_are_recorded_and_scoped_to_the_submitter(api: Api) -> None:
    submitted = decision_of(api.operate(example(), params={"asOf": AS_OF}).json())
    decision_id = submitted["decision_id"]
    other = api.operate(example(), role=Role.ADMIN, params={"asOf": AS_OF})
    others_id = decision_of(other.json())["decision_id"]

    own = api.http.get(f"/fhir/GuidanceResponse/{decision_id}", headers=api.bearer(Role.REFERRER))
    assert own.status_code == 200 and own.json()["id"] == decision_id
    foreign = api.http.get(f"/fhir/GuidanceResponse/{others_id}", headers=api.bearer(Role.REFERRER))
    # 404 as for a missing decision (issue 12: a 403 told the referrer that it exists)
    assert foreign.status_code == 404 and foreign.json()["issue"][0]["code"] == "not-found"
    assert foreign.json()["issue"][0]["diagnostics"] == f"no decision {others_id!r}"
    for role in (Role.SPECIALIST, Role.COMPLIANCE, Role.ADMIN):
        assert api.http.get(f"/fhir/GuidanceResponse/{others_id}", headers=api.bearer(role)).status_code == 200
    missing = api.http.get("/fhir/GuidanceResponse/no-such-decision", headers=api.bearer(Role.SPECIALIST))
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"

    reads = [(r.actor, r.decision_id) for r in records(api.engine, "access")]
    assert ("dr.referrer", decision_id) in reads
    assert [(a, d) for a, d in reads if d == others_id] == [
        ("dr.specialist", others_id),
        ("dr.compliance", others_id),
        ("dr.admin", others_id),
    ]
    refused = [r.data()["error"]["type"] for r in records(api.engine, "rejection")]
    assert refused == ["NotFoundError", "NotFoundError"]  # the foreign read is still recorded, as a 404


def test_metadata_and_operation_definition(api: Api) -> None:
    statement = api.http.get("/fhir/metadata").json()
    assert statement["resourceType"] == "CapabilityStatement"
    operation = statement["rest"][0]["resource"][0]["operation"][0]
    # The canonical URL (the same on every server), not this server's address; it is served here too.
    assert operation["definition"] == f"{CANONICAL_BASE}/OperationDefinition/drg-candidacy"
    definition = api.http.get("/fhir/OperationDefinition/drg-candidacy").json()
    assert definition["resourceType"] == "OperationDefinition" and definition["code"] == "drg-candidacy"


@pytest.mark.parametrize("content_type", ["application/json", "application/fhir+json; charset=utf-8"])
def test_json_media_types_are_accepted(api: Api, content_type: str) -> None:
    response = api.operate(example(), params={"asOf": AS_OF}, **{"Content-Type": content_type})
    assert response.status_code == 200, response.text


def test_ndjson_is_accepted(sqlite_api: Api) -> None:
    bundle = orjson.loads(example())
    ndjson = b"\n".join(orjson.dumps(entry["resource"]) for entry in bundle["entry"])
    response = sqlite_api.operate(ndjson, params={"asOf": AS_OF}, **{"Content-Type": "application/fhir+ndjson"})
    assert response.status_code == 200, response.text
    assert decision_of(response.json())["outcome"] == "ELIGIBLE_WITH_CONDITIONS"


def test_a_problem_in_a_vitals_observation_is_a_warning_in_the_answer_and_the_whole_input_is_recorded(
    sqlite_api: Api,
) -> None:
    bundle = orjson.loads(example())
    vitals = {
        "resourceType": "Observation",
        "id": "heart rate 1",  # not a FHIR id; no rule reads a heart rate
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": "Patient/pt-crps-1"},
        "valueQuantity": {"value": 71},
    }
    bundle["entry"].append({"resource": vitals})
    parameters = {"resourceType": "Parameters", "parameter": [{"name": "bundle", "resource": bundle}]}
    response = sqlite_api.operate(orjson.dumps(parameters), params={"asOf": AS_OF})

    assert response.status_code == 200, response.text
    body = response.json()
    assert decision_of(body)["outcome"] == "ELIGIBLE_WITH_CONDITIONS"
    [outcome] = [p["resource"] for p in body["parameter"] if p["name"] == "outcome"]
    where = f"Parameters.parameter[0].resource.entry[{len(bundle['entry']) - 1}].resource.id"
    assert outcome["issue"] == [
        {
            "severity": "warning",
            "code": "value",
            "diagnostics": "id 'heart rate 1' is not a FHIR id (1-64 of A-Z a-z 0-9 - .)",
            "expression": [where],
        }
    ]
    [record] = records(sqlite_api.engine, "decision")
    with read_session(sqlite_api.engine) as session:
        stored = get_input(session, str(record.input_sha256))
    assert b"heart rate 1" in stored and sha256_hex(stored) == decision_of(body)["input_sha256"]


def test_canonical_urls_do_not_follow_the_request_host_and_header_errors_name_http_authorization(
    sqlite_api: Api,
) -> None:
    """Issue 11 (R4 conformance): canonical URLs are the product's, whatever Host the call names; an
    OperationOutcome points at the header as `http.Authorization`, its text in `diagnostics`."""
    answers = [
        sqlite_api.http.get(path, headers={"Host": host}).json()
        for host in ("drg.clinic-a.example", "10.0.0.7:8765")
        for path in ("/fhir/metadata", "/fhir/OperationDefinition/drg-candidacy")
    ]
    metadata_a, definition_a, metadata_b, definition_b = answers
    assert definition_a == definition_b and definition_a["url"] == f"{CANONICAL_BASE}/OperationDefinition/drg-candidacy"
    assert metadata_a["url"] == metadata_b["url"] == f"{CANONICAL_BASE}/CapabilityStatement/drg-eligibility"
    assert metadata_a["implementation"]["url"] != metadata_b["implementation"]["url"]  # the instance: where it is

    unsigned = sqlite_api.http.post(
        "/fhir/Patient/$drg-candidacy", content=example(), headers={"Content-Type": "application/fhir+json"}
    )
    assert unsigned.status_code == 401
    [issue] = unsigned.json()["issue"]
    assert issue["expression"] == ["http.Authorization"] and "location" not in issue
    assert "Authorization: Bearer" in issue["diagnostics"]
