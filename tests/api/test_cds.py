"""CDS Hooks 2.0: discovery, cards, fetching from fhirServer, feedback, card links — all recorded."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest

from eligibility.api.users import Role
from eligibility.api.workers import ProcessEvaluator
from fhir_adapters.cds_hooks import ORDER_SERVICE_ID, SERVICE_ID, WARNINGS_EXTENSION, prefetch_templates
from tests.api.conftest import Api, make_settings, running_api
from tests.api.fhir_server import FakeFhirServer
from tests.api.helpers import CLIENT, ISSUER, ClientKeys, case_today, cds_request, patient_of, records

CALL = f"/cds-services/{SERVICE_ID}"
ORDER = f"/cds-services/{ORDER_SERVICE_ID}"
ACTOR = f"{CLIENT}@{ISSUER}"
FHIR_BASE = "https://ehr.example.org/fhir"
ACCESS_TOKEN = "opaque-fhir-access-token"

# The example request of the CDS Hooks specification (docs/specification/current.md, "Calling a CDS
# Service"): its prefetch key is the example service's, not ours, so the data must be fetched.
SPEC_EXAMPLE: dict[str, Any] = {
    "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
    "fhirServer": "http://hooks.smarthealthit.org:9080",
    "hook": "patient-view",
    "fhirAuthorization": {
        "access_token": "some-opaque-fhir-access-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/Patient.read patient/Observation.read",
        "subject": "cds-service4",
    },
    "context": {"userId": "Practitioner/example", "patientId": "1288992", "encounterId": "89284"},
    "prefetch": {
        "patientToGreet": {
            "resourceType": "Patient",
            "gender": "male",
            "birthDate": "1925-12-23",
            "id": "1288992",
            "active": True,
        }
    },
}


@pytest.fixture
def eligible() -> dict[str, Any]:
    return case_today("001-baseline-crps-foot")


def cards_of(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return response.json()["cards"]  # type: ignore[no-any-return]


def test_discovery_needs_a_client_jwt(sqlite_api: Api) -> None:
    assert sqlite_api.http.get("/cds-services").status_code == 401
    response = sqlite_api.http.get("/cds-services", headers=sqlite_api.keys.auth("/cds-services", base=sqlite_api.base))
    assert response.status_code == 200
    services = {s["id"]: s for s in response.json()["services"]}
    assert services[SERVICE_ID]["hook"] == "patient-view" and services[ORDER_SERVICE_ID]["hook"] == "order-select"
    assert services[SERVICE_ID]["prefetch"] == prefetch_templates()


def test_patient_view_with_prefetch_gives_a_card_and_records_the_decision(api: Api, eligible: dict[str, Any]) -> None:
    [card] = cards_of(api.cds(CALL, cds_request(eligible["bundle"])))

    assert len(card["summary"]) < 140 and card["indicator"] == "info"
    assert "| Status | Criterion |" in card["detail"]
    assert {"uuid", "source", "overrideReasons", "links"} <= set(card)
    [decision] = records(api.engine, "decision")
    assert (decision.actor, decision.channel) == (ACTOR, "cds-hooks")

    link = card["links"][0]["url"]
    assert link.startswith(f"{api.base}/decisions/{decision.decision_id}/view?")
    case_page = f"/ui/decisions/{decision.decision_id}"
    opened = api.http.get(link)
    assert (opened.status_code, opened.headers["location"]) == (303, case_page)
    [opening] = [r for r in records(api.engine, "access") if r.decision_id]
    assert (opening.actor, opening.decision_id, opening.data()["purpose"]) == (
        f"link:{ACTOR}",
        decision.decision_id,
        "card-link",
    )
    forged = api.http.get(link.replace("sig=", "sig=x"))
    assert forged.status_code == 403


def test_the_card_link_opens_the_styled_case_page_after_sign_in(api: Api, eligible: dict[str, Any]) -> None:
    """Issue 11: the link showed a <pre> dump of the decision to whoever held it."""
    [card] = cards_of(api.cds(CALL, cds_request(eligible["bundle"])))
    [decision] = records(api.engine, "decision")
    browser = httpx.Client(base_url=api.base, follow_redirects=False, timeout=60)
    to_case = browser.get(card["links"][0]["url"])
    to_login = browser.get(to_case.headers["location"])  # no session yet: sent to sign in, and back
    case_page = f"/ui/decisions/{decision.decision_id}"
    assert (to_login.status_code, to_login.headers["location"]) == (303, f"/ui/login?next={quote(case_page, safe='')}")
    form = browser.get(to_login.headers["location"])
    outcome = decision.data()["decision"]["outcome"]
    assert form.status_code == 200 and outcome not in form.text  # nothing of the decision before sign-in
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    signed = browser.post(
        "/ui/login", data={"token": api.tokens[Role.SPECIALIST], "csrf": csrf[1], "next": case_page}
    )
    assert (signed.status_code, signed.headers["location"]) == (303, case_page)
    page = browser.get(case_page)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "<pre" not in page.text and 'rel="stylesheet"' in page.text
    assert outcome in page.text and decision.decision_id in page.text
    reads = [(r.actor, r.data()["purpose"]) for r in records(api.engine, "access") if r.decision_id]
    assert reads == [(f"link:{ACTOR}", "card-link"), ("dr.specialist", "web-case")]


def test_feedback_becomes_reviews(api: Api) -> None:
    eligible = case_today("001-baseline-crps-foot")
    needs_review = case_today("074-pacemaker-needs-review")
    [card] = cards_of(api.cds(CALL, cds_request(eligible["bundle"])))
    [flagged] = cards_of(api.cds(CALL, cds_request(needs_review["bundle"])))
    feedback = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}] if "suggestions" in card else [],
                "outcomeTimestamp": "2026-11-20T10:00:00Z",
            },
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "overrideReason": {
                    "reason": card["overrideReasons"][0],
                    "userComment": "Patient prefers to wait.",
                },
                "outcomeTimestamp": "2026-11-20T10:01:00Z",
            },
            {"card": flagged["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-20T10:02:00Z"},
        ]
    }
    response = api.cds(f"{CALL}/feedback", feedback)

    assert response.status_code == 200, response.text
    assert [f["recorded"] for f in response.json()["feedback"]] == ["accept", "override", "dismissal"]
    accept, override = records(api.engine, "review")
    assert accept.data()["action"] == "accept" and accept.actor == ACTOR
    assert (override.data()["reason_code"], override.data()["outcome"]) == ("clinical-judgement", "NEEDS_REVIEW")
    assert override.data()["comment"] == "Patient prefers to wait."
    dismissal = [r for r in records(api.engine, "access") if r.data()["purpose"] == "cds-feedback"]
    assert len(dismissal) == 1 and dismissal[0].data()["query"]["outcome"] == "overridden"

    # an override reason of the EHR's own vocabulary: recorded under ours, the EHR's code kept in the comment
    own = {
        "card": card["uuid"],
        "outcome": "overridden",
        "overrideReason": {"reason": {"system": "urn:ehr:reasons", "code": "ehr-77"}, "userComment": "see note"},
        "outcomeTimestamp": "2026-11-20T10:03:00Z",
    }
    assert api.cds(f"{CALL}/feedback", {"feedback": [own]}).status_code == 200
    last = records(api.engine, "review")[-1].data()
    assert (last["reason_code"], last["comment"]) == ("cds-overridden", "EHR reason ehr-77: see note")

    unknown = api.cds(f"{CALL}/feedback", {"feedback": [{"card": "no-such-card", "outcome": "accepted"}]})
    assert unknown.status_code == 404 and unknown.json()["issue"][0]["diagnostics"].endswith(", at feedback[0].card")
    wrong_service = api.cds(f"{ORDER}/feedback", {"feedback": [{"card": card["uuid"], "outcome": "accepted"}]})
    assert wrong_service.status_code == 404


def test_order_select_only_speaks_for_neurostimulation_orders(sqlite_api: Api, eligible: dict[str, Any]) -> None:
    order = {
        "resourceType": "ServiceRequest",
        "id": "trial-1",
        "status": "draft",
        "intent": "order",
        "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "63650"}]},
        "subject": {"reference": f"Patient/{patient_of(eligible['bundle'])['id']}"},
    }
    context_extra = {"draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": order}]}}
    request = cds_request(eligible["bundle"], hook="order-select")
    request["context"].update(context_extra, selections=["ServiceRequest/trial-1"])
    assert len(cards_of(sqlite_api.cds(ORDER, request))) == 1

    request["context"]["selections"] = ["ServiceRequest/other"]
    assert cards_of(sqlite_api.cds(ORDER, request)) == []
    purposes = [r.data()["purpose"] for r in records(sqlite_api.engine, "access")]
    assert (
        purposes[-1:] == ["cds-order-select-not-applicable"] and "cds-order-select-not-applicable" not in purposes[:-1]
    )
    assert len(records(sqlite_api.engine, "decision")) == 1

    wrong_hook = sqlite_api.cds(CALL, request)
    assert wrong_hook.status_code == 400 and wrong_hook.json()["issue"][0]["diagnostics"].endswith(", at hook")


@pytest.fixture
def with_fhir_server(
    tmp_path: Path, keys: ClientKeys, issuers_file: Path, evaluator: ProcessEvaluator
) -> Iterator[tuple[Api, FakeFhirServer]]:
    bundle = copy.deepcopy(case_today("001-baseline-crps-foot")["bundle"])
    server = FakeFhirServer(FHIR_BASE, bundle, token=ACCESS_TOKEN, page_size=2)
    url = f"sqlite:///{tmp_path / 'api.db'}"
    with running_api(
        url, keys=keys, settings=make_settings(issuers_file), evaluator=evaluator, fhir_client=server.client()
    ) as api:
        yield api, server


def test_without_prefetch_the_data_is_fetched_with_the_clients_token(
    with_fhir_server: tuple[Api, FakeFhirServer],
) -> None:
    api, server = with_fhir_server
    eligible = case_today("001-baseline-crps-foot")
    request = cds_request(eligible["bundle"])
    del request["prefetch"]
    request["fhirServer"] = FHIR_BASE
    request["fhirAuthorization"] = {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 300}

    [card] = cards_of(api.cds(CALL, request))

    assert card["indicator"] == "info"
    paths = {r.url.path for r in server.requests}
    assert f"/fhir/Patient/{patient_of(eligible['bundle'])['id']}" in paths and "/fhir/Observation" in paths
    assert sum(r.url.path == "/fhir/Observation" for r in server.requests) > 1  # followed the next pages
    [decision] = records(api.engine, "decision")
    assert decision.data()["decision"]["outcome"] == eligible["expected"]["outcome"]


def test_the_specifications_example_request(with_fhir_server: tuple[Api, FakeFhirServer]) -> None:
    api, server = with_fhir_server
    example = copy.deepcopy(SPEC_EXAMPLE)
    patient = example["prefetch"]["patientToGreet"]
    server.by_type = {"Patient": [patient]}
    server.base = example["fhirServer"]
    server.token = example["fhirAuthorization"]["access_token"]

    # That patient has no pain diagnosis: patient-view stays silent (no alert fatigue), but the
    # decision is made from the fetched data and recorded.
    assert cards_of(api.cds(CALL, example)) == []
    [decision] = records(api.engine, "decision")
    assert decision.patient_ref == "Patient/1288992"
    assert decision.data()["decision"]["outcome"] == "INSUFFICIENT_INFORMATION"


def test_no_prefetch_and_no_fhir_server_is_412(sqlite_api: Api) -> None:
    example = {k: v for k, v in SPEC_EXAMPLE.items() if k not in {"fhirServer", "fhirAuthorization"}}
    response = sqlite_api.cds(CALL, example)
    assert response.status_code == 412
    assert response.json()["issue"][0]["diagnostics"].endswith(", at prefetch")
    assert "location" not in response.json()["issue"][0]  # deprecated in R4 (it was XPath)
    [rejection] = records(sqlite_api.engine, "rejection")
    assert rejection.data()["error"]["type"] == "DataUnavailableError"


def test_fhir_server_refusing_our_token_is_412(with_fhir_server: tuple[Api, FakeFhirServer]) -> None:
    api, _server = with_fhir_server
    request = {**SPEC_EXAMPLE, "fhirServer": FHIR_BASE, "fhirAuthorization": {"access_token": "wrong"}}
    response = api.cds(CALL, request)
    assert response.status_code == 412 and "401" in response.json()["issue"][0]["diagnostics"]


def test_broken_reference_in_prefetch_is_422_and_recorded(sqlite_api: Api, eligible: dict[str, Any]) -> None:
    request = cds_request(eligible["bundle"])
    condition = request["prefetch"]["conditions"]["entry"][0]["resource"]
    condition["subject"] = {"reference": "Patient/not-in-the-prefetch"}
    response = sqlite_api.cds(CALL, request)
    assert response.status_code == 422, response.text
    [rejection] = records(sqlite_api.engine, "rejection")
    assert rejection.channel == "cds-hooks" and rejection.actor == ACTOR
    assert rejection.input_sha256 is not None


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"hook": "patient-view"}',
        b'{"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "1&_include=*"}, '
        b'"fhirServer": "https://ehr.example.org/fhir", "fhirAuthorization": {"access_token": "t"}}',
        b'{"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "p"}, '
        b'"fhirServer": "file:///etc/passwd", "fhirAuthorization": {"access_token": "t"}}',
    ],
    ids=["not-json", "no-context", "injected-patient-id", "file-url"],
)
def test_bad_cds_requests_are_400(sqlite_api: Api, body: bytes) -> None:
    headers = {"Content-Type": "application/json", **sqlite_api.keys.auth(CALL, base=sqlite_api.base)}
    response = sqlite_api.http.post(CALL, content=body, headers=headers)
    assert response.status_code == 400, response.text
    issue = response.json()["issue"][0]
    assert "location" not in issue and (issue.get("expression") or ", at " in issue["diagnostics"])
    assert len(records(sqlite_api.engine, "rejection")) == 1


def test_prefetch_payload_is_valid_json_roundtrip(eligible: dict[str, Any]) -> None:
    """Guard for the helper: the request built from a case satisfies every prefetch template."""
    assert (
        orjson.loads(orjson.dumps(cds_request(eligible["bundle"])))["prefetch"]["patient"]["resourceType"] == "Patient"
    )


def test_patient_view_warns_of_a_dangling_reference_in_an_unread_encounter(
    sqlite_api: Api, eligible: dict[str, Any]
) -> None:
    request = cds_request(eligible["bundle"])
    visit = {
        "resourceType": "Encounter",
        "id": "checkup-1",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"Patient/{patient_of(eligible['bundle'])['id']}"},
        "partOf": {"reference": "urn:uuid:0b7c4d2e-0000-4000-8000-00000000000a"},  # not in the prefetch
    }
    encounters = request["prefetch"].get("encounters") or {"resourceType": "Bundle", "type": "searchset", "entry": []}
    encounters["entry"] = [*encounters.get("entry", []), {"resource": visit}]
    request["prefetch"]["encounters"] = encounters
    response = sqlite_api.cds(CALL, request)

    assert response.status_code == 200, response.text
    assert len(response.json()["cards"]) == 1
    [issue] = response.json()["extension"][WARNINGS_EXTENSION]["issue"]
    assert (
        issue["severity"] == "warning" and issue["code"] == "not-found" and "urn:uuid:0b7c4d2e" in issue["diagnostics"]
    )
    assert issue["expression"][0].startswith("Bundle.entry[")
