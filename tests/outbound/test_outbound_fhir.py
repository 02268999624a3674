"""The decision as FHIR R4: Parameters/Bundle/GuidanceResponse/DetectedIssue/Task, OperationOutcome, metadata."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from outbound_helpers import BASE, EVALUATED_AT, PATIENT, R4_CODES, SCENARIOS, scenario

from eligibility.decision import Action, Decision
from eligibility.errors import (
    DanglingReferenceError,
    EligibilityError,
    InputError,
    InvalidResourceError,
    NotJSONError,
)
from fhir_adapters.models import validate_r4
from fhir_adapters.outbound import (
    capability_statement,
    detected_issues,
    guidance_response,
    operation_definition,
    operation_outcome,
    operation_result,
    outcome_for_error,
    tasks,
)
from fhir_adapters.outbound.capability import OPERATION_DEFINITION_URL
from fhir_adapters.outbound.tasks import HOLD_WORDING
from fhir_adapters.product import CANONICAL_BASE

ALL = sorted(SCENARIOS)


def entries(decision: Decision) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = operation_result(decision, base_url=BASE)["parameter"][0]["resource"]["entry"]
    return result


def check_required_codes(resource: dict[str, Any]) -> None:
    """The codes of R4 required bindings, which the R4B models do not check."""
    kind = resource["resourceType"]
    for field in ("status", "severity", "intent", "priority", "type"):
        key = f"{kind}.{field}"
        if key in R4_CODES and field in resource:
            assert resource[field] in R4_CODES[key], f"{key} = {resource[field]!r}"
    for issue in resource.get("issue", []):
        assert issue["severity"] in R4_CODES["OperationOutcome.severity"]
        assert issue["code"] in R4_CODES["OperationOutcome.code"]


# -- validity ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_every_outbound_resource_validates_with_r4b_models(name: str) -> None:
    decision = scenario(name)
    result = operation_result(decision, base_url=BASE)
    validate_r4(result)
    bundle = result["parameter"][0]["resource"]
    check_required_codes(bundle)
    for entry in bundle["entry"]:
        validate_r4(entry["resource"])
        check_required_codes(entry["resource"])


def test_validation_rejects_a_broken_resource() -> None:
    broken = guidance_response(scenario("example"))
    del broken["moduleUri"]  # module[x] is 1..1
    with pytest.raises(InvalidResourceError):
        validate_r4(broken)
    task = tasks(scenario("example_early"), base_url=BASE)[0]
    task["for"] = "Patient/pt-crps-1"  # a string where a Reference belongs
    wrapped = {"resourceType": "Parameters", "parameter": [{"name": "return", "resource": task}]}
    with pytest.raises(InvalidResourceError) as caught:
        validate_r4(wrapped)
    assert caught.value.location is not None and caught.value.location.startswith("Parameters.parameter[0].resource")


# -- GuidanceResponse ---------------------------------------------------------------------------------

EXPECTED_STATUS = {
    "example": "success",
    "example_early": "data-required",
    "missing_data": "data-required",
    "recent_pain_missing_data": "data-required",  # NOT_ELIGIBLE, but criteria are still unknown
    "no_conditions": "success",
    "unrecognised": "success",  # the unidentified items are a Task and a card warning, not missing criteria
    "off_label": "success",
    "antithrombotics": "success",
    "coagulopathy": "success",
    "substance_use": "success",
    "minor": "success",
    "pacemaker": "success",
    "neurostimulator": "success",
    "implant": "success",
    "trial_failed": "success",
}


@pytest.mark.parametrize("name", ALL)
def test_guidance_status_follows_unknown_criteria(name: str) -> None:
    decision = scenario(name)
    assert decision.outcome == SCENARIOS[name][2]
    response = guidance_response(decision)
    assert response["status"] == EXPECTED_STATUS[name]
    if decision.outcome == "INSUFFICIENT_INFORMATION":
        assert response["status"] == "data-required"
    assert ("dataRequirement" in response) == (response["status"] == "data-required")


def test_guidance_names_decision_policy_outcome_and_patient() -> None:
    decision = scenario("example")
    response = guidance_response(decision)
    assert response["id"] == decision.decision_id
    assert response["moduleUri"] == "urn:drg-eligibility:policy:drg-clinic@1.1.0"
    extensions = {e["url"]: next(v for k, v in e.items() if k != "url") for e in response["extension"]}
    assert extensions[f"{CANONICAL_BASE}/StructureDefinition/drg-policy-sha256"] == decision.policy.sha256
    assert extensions[f"{CANONICAL_BASE}/StructureDefinition/drg-input-sha256"] == decision.input_sha256
    assert extensions[f"{CANONICAL_BASE}/StructureDefinition/drg-as-of"] == "2026-11-20"
    coding = response["reasonCode"][0]["coding"][0]
    assert (coding["system"], coding["code"]) == (
        f"{CANONICAL_BASE}/CodeSystem/drg-outcome",
        "ELIGIBLE_WITH_CONDITIONS",
    )
    assert response["subject"] == {"reference": PATIENT}
    assert response["occurrenceDateTime"] == EVALUATED_AT
    assert response["note"][0]["text"] == decision.summary
    assert any("No hold is recommended" in n["text"] for n in response["note"])  # the SNRI advisory


def test_data_requirements_come_from_the_unknown_criteria() -> None:
    response = guidance_response(scenario("example_early"))
    requirements = response["dataRequirement"]
    assert {
        "type": "Observation",
        "codeFilter": [{"path": "code", "code": [{"system": "http://loinc.org", "code": "72514-3"}]}],
    } in requirements
    assert {
        "type": "Procedure",
        "codeFilter": [{"path": "code", "code": [{"system": "http://www.ama-assn.org/go/cpt", "code": "90791"}]}],
    } in requirements
    assert len(requirements) == len({repr(r) for r in requirements}), "duplicates"
    missing = guidance_response(scenario("missing_data"))["dataRequirement"]
    pain = [r for r in missing if r["type"] == "Observation"]
    assert len(pain) == 1, "several criteria asking for a pain score give one requirement"


# -- DetectedIssue ------------------------------------------------------------------------------------

ISSUES = {
    "coagulopathy": [("no_absolute_contraindication", "high", "Condition/dx-coag")],
    "substance_use": [("no_active_substance_use_disorder", "high", "Condition/dx-oud")],
    "pacemaker": [("no_relative_contraindication", "moderate", "Condition/dx-pm")],
    "neurostimulator": [("no_relative_contraindication", "moderate", "Device/dev-neuro")],
    "example": [],
    "minor": [],
    "trial_failed": [],
}


@pytest.mark.parametrize("name", sorted(ISSUES))
def test_one_detected_issue_per_contraindication_not_met(name: str) -> None:
    decision = scenario(name)
    issues = detected_issues(decision)
    found = [(i["code"]["coding"][0]["code"], i["severity"], i["implicated"][0]["reference"]) for i in issues]
    assert found == ISSUES[name]
    for issue in issues:
        criterion = decision.criterion(issue["code"]["coding"][0]["code"])
        assert issue["detail"] == criterion.reason
        assert issue["status"] == "final"
        assert issue["patient"] == {"reference": PATIENT}


# -- Task -----------------------------------------------------------------------------------------------

ORDER_WORDS = re.compile(r"\b(stop|discontinue|cease|withhold)\b", re.IGNORECASE)
BARE_HOLD = re.compile(r"^\s*hold\b(?!\s+recommended)", re.IGNORECASE)


def reads_as_an_order(task: dict[str, Any]) -> bool:
    texts = [task["description"], task["code"]["text"]] + [n["text"] for n in task.get("note", [])]
    texts += [i["valueString"] for i in task.get("input", []) if "valueString" in i]
    if task["intent"] != "proposal":
        return True
    return any(ORDER_WORDS.search(t) or BARE_HOLD.search(t) for t in texts)


@pytest.mark.parametrize("name", ALL)
def test_tasks_are_proposals_and_never_order_to_stop_a_drug(name: str) -> None:
    decision = scenario(name)
    for task in tasks(decision, base_url=BASE):
        assert not reads_as_an_order(task), task["description"]
        assert task["for"] == task["focus"] == {"reference": decision.patient.reference}


def test_the_order_check_can_fail() -> None:
    task = tasks(scenario("antithrombotics"), base_url=BASE)[0]
    assert reads_as_an_order({**task, "description": "Stop warfarin 5 days before the procedure."})
    assert reads_as_an_order({**task, "description": "Hold warfarin 5 days before the procedure."})
    assert reads_as_an_order({**task, "intent": "order"})


def test_data_request_tasks_carry_the_requested_codes() -> None:
    decision = scenario("example_early")
    wanted = [(c, r) for c in decision.criteria if c.status == "unknown" for r in c.data_requests]
    found = tasks(decision, base_url=BASE)
    assert len(found) == len(wanted) == 3
    for task, (criterion, request) in zip(found, wanted, strict=True):
        assert (task["status"], task["intent"]) == ("requested", "proposal")
        assert task["description"] == request.description
        assert task["reasonCode"]["coding"][0]["code"] == criterion.id
        codes = [
            f"{i['valueCoding']['system']}|{i['valueCoding']['code']}" for i in task["input"] if "valueCoding" in i
        ]
        assert codes == request.codes
        assert task["input"][0]["valueCode"] == request.resource_type


def test_preparation_tasks_mirror_the_actions_and_word_holds_as_recommendations() -> None:
    decision = scenario("antithrombotics")
    found = [t for t in tasks(decision, base_url=BASE) if t["status"] == "draft"]
    kinds = [a.kind.replace("_", "-") for a in decision.actions if a.kind != "advisory"]
    assert [t["code"]["coding"][0]["code"] for t in found] == kinds
    holds = [t for t in found if t["code"]["coding"][0]["code"] == "hold-medication"]
    assert len(holds) == 4
    for task in holds:
        assert "confirm with the prescriber" in task["description"]
    days = [t for t in holds if any("valueDuration" in i for i in t["input"])]
    assert len(days) == 3  # aspirin for secondary prevention has no day count: the prescriber decides
    for task in days:
        assert task["description"].startswith(HOLD_WORDING)
    warfarin = next(t for t in holds if "warfarin" in t["description"])
    duration = next(i["valueDuration"] for i in warfarin["input"] if "valueDuration" in i)
    assert (duration["value"], duration["code"]) == (5, "d")


def test_a_hold_keeps_the_recommendation_wording_when_a_site_edits_it() -> None:
    decision = scenario("example")
    hold = decision.actions[0]
    assert hold.kind == "hold_medication"
    edited: Action = hold.model_copy(update={"description": "Ibuprofen: 1 day before the procedure."})
    changed = decision.model_copy(update={"actions": [edited]})
    (task,) = tasks(changed, base_url=BASE)
    assert task["description"] == f"{HOLD_WORDING}: Ibuprofen: 1 day before the procedure."


# -- the operation's Parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["example", "coagulopathy", "missing_data"])
def test_operation_result_is_parameters_with_bundle_and_decision(name: str) -> None:
    decision = scenario(name)
    result = operation_result(decision, base_url=BASE)
    assert result["resourceType"] == "Parameters"
    assert [p["name"] for p in result["parameter"]] == ["return", "decision"]
    bundle = result["parameter"][0]["resource"]
    assert (bundle["resourceType"], bundle["type"], bundle["timestamp"]) == ("Bundle", "collection", EVALUATED_AT)
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    n_issues = len(detected_issues(decision))
    n_tasks = len(tasks(decision, base_url=BASE))
    assert types == ["GuidanceResponse"] + ["DetectedIssue"] * n_issues + ["Task"] * n_tasks
    assert bundle["entry"][0]["fullUrl"] == f"{BASE}/GuidanceResponse/{decision.decision_id}"
    full_urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(full_urls)) == len(full_urls)
    for entry in bundle["entry"][1:]:
        assert entry["fullUrl"] == f"urn:uuid:{uuid.UUID(entry['resource']['id'])}"
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Task":
            assert entry["resource"]["reasonReference"]["reference"] == full_urls[0]
    assert Decision.model_validate_json(result["parameter"][1]["valueString"]) == decision


def test_rendering_is_deterministic_and_ids_belong_to_one_decision() -> None:
    decision = scenario("antithrombotics")
    assert operation_result(decision, base_url=BASE) == operation_result(decision, base_url=BASE)
    other = decision.model_copy(update={"decision_id": "another-decision"})
    ids = {e["resource"]["id"] for e in entries(decision)}
    assert not ids & {e["resource"]["id"] for e in entries(other)}


def test_a_loose_evaluated_at_drops_the_bundle_timestamp_instead_of_breaking_it() -> None:
    decision = scenario("example").model_copy(update={"evaluated_at": "2026-11-20"})
    result = operation_result(decision, base_url=BASE)
    validate_r4(result)
    assert "timestamp" not in result["parameter"][0]["resource"]


# -- OperationOutcome ---------------------------------------------------------------------------------


def test_typed_errors_keep_code_message_and_location() -> None:
    error = DanglingReferenceError("subject does not resolve", location="Bundle.entry[3].resource.subject.reference")
    outcome = outcome_for_error(error)
    validate_r4(outcome)
    (issue,) = outcome["issue"]
    assert (issue["severity"], issue["code"], issue["diagnostics"]) == (
        "error",
        "not-found",
        "subject does not resolve",
    )
    assert issue["expression"] == ["Bundle.entry[3].resource.subject.reference"] and "location" not in issue
    # A place that is no FHIRPath of a resource is said in the diagnostics, not in the deprecated `location`.
    (ndjson,) = outcome_for_error(NotJSONError("not JSON", location="line 4: subject"))["issue"]
    assert ndjson == {"severity": "error", "code": "structure", "diagnostics": "not JSON, at line 4: subject"}
    assert set(outcome_for_error(InputError("bad"))["issue"][0]) == {"severity", "code", "diagnostics"}


@pytest.mark.parametrize(
    ("location", "expression"),
    [
        ("Authorization header", "http.Authorization"),
        ("JWT sub claim", "http.Authorization"),
        ("Content-Type header", "http.Content-Type"),
        ("asOf (query)", "http.asOf"),
        ("asOf", "http.asOf"),
        ("decision_id (path)", "http.decision_id"),
        ("Parameters.parameter[1].valueDate", "Parameters.parameter[1].valueDate"),
        ("Bundle.entry[3].resource.code", "Bundle.entry[3].resource.code"),
        ("line 1, column 60", None),
        ("context.patientId", None),
    ],
)
def test_error_places_become_fhirpath_expressions_or_http_parameters(location: str, expression: str | None) -> None:
    (issue,) = outcome_for_error(InputError("bad", location=location))["issue"]
    validate_r4({"resourceType": "OperationOutcome", "issue": [issue]})
    assert issue.get("expression") == ([expression] if expression else None)
    assert issue["diagnostics"] == ("bad" if expression else f"bad, at {location}")
    assert "location" not in issue


def test_every_error_class_maps_to_an_r4_issue_type() -> None:
    def subclasses(cls: type[EligibilityError]) -> list[type[EligibilityError]]:
        return [cls] + [s for sub in cls.__subclasses__() for s in subclasses(sub)]

    for cls in subclasses(EligibilityError):
        outcome = outcome_for_error(cls("x"))
        validate_r4(outcome)
        check_required_codes(outcome)


def test_unexpected_errors_say_nothing_about_their_content() -> None:
    outcome = outcome_for_error(KeyError("Patient/123 Ana Rivera"))
    (issue,) = outcome["issue"]
    assert (issue["severity"], issue["code"]) == ("fatal", "exception")
    assert "Rivera" not in issue["diagnostics"]
    validate_r4(outcome)


def test_operation_outcome_builder() -> None:
    outcome = operation_outcome(diagnostics="asOf must be a date", expression="Parameters.parameter[1].valueDate")
    validate_r4(outcome)
    assert outcome["issue"][0] == {
        "severity": "error",
        "code": "invalid",
        "diagnostics": "asOf must be a date",
        "expression": ["Parameters.parameter[1].valueDate"],
    }


# -- CapabilityStatement / OperationDefinition --------------------------------------------------------------


def test_capability_statement_declares_the_operation_and_guidance_read() -> None:
    statement = capability_statement(base_url=BASE, software_version="0.1.0")
    definition = operation_definition()
    validate_r4(statement)
    validate_r4(definition)
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    (operation,) = resources["Patient"]["operation"]
    assert operation == {"name": "drg-candidacy", "definition": definition["url"]}
    assert definition["url"] == f"{CANONICAL_BASE}/OperationDefinition/drg-candidacy"
    assert statement["implementation"]["url"] == BASE  # the instance: where this server is
    assert {"code": "read"} in resources["GuidanceResponse"]["interaction"]
    assert (statement["fhirVersion"], statement["software"]["version"]) == ("4.0.1", "0.1.0")


def test_canonical_urls_are_the_same_on_every_server() -> None:
    """R4: a canonical URL SHALL be the same wherever the resource is stored; instance links are the server's."""
    decision = scenario("example")
    here = operation_result(decision, base_url="https://drg.clinic-a.example/fhir")
    there = operation_result(decision, base_url="http://10.0.0.7:8765/fhir")

    def canonicals(document: Any) -> set[str]:
        found: set[str] = set()
        if isinstance(document, dict):
            for key, value in document.items():
                if key in {"system", "url"} and isinstance(value, str):
                    found.add(value)
                found |= canonicals(value)
        elif isinstance(document, list):
            for value in document:
                found |= canonicals(value)
        return found

    ours = {url for url in canonicals(here) if "drg" in url}
    assert ours and ours == {url for url in canonicals(there) if "drg" in url}
    assert all(url.startswith(CANONICAL_BASE + "/") for url in ours)
    assert here["parameter"][0]["resource"]["entry"][0]["fullUrl"].startswith("https://drg.clinic-a.example/fhir/")
    for base in ("https://drg.clinic-a.example/fhir", "http://10.0.0.7:8765/fhir"):
        statement = capability_statement(base_url=base, software_version="0.1.0")
        assert statement["url"] == f"{CANONICAL_BASE}/CapabilityStatement/drg-eligibility"
        assert statement["rest"][0]["resource"][0]["operation"][0]["definition"] == OPERATION_DEFINITION_URL


def test_operation_definition_parameters() -> None:
    definition = operation_definition()
    assert (definition["code"], definition["resource"], definition["type"], definition["instance"]) == (
        "drg-candidacy",
        ["Patient"],
        True,
        False,
    )
    params = {(p["name"], p["use"]): (p["min"], p["max"], p["type"]) for p in definition["parameter"]}
    assert params == {
        ("bundle", "in"): (1, "1", "Bundle"),
        ("asOf", "in"): (0, "1", "date"),
        ("return", "out"): (1, "1", "Bundle"),
        ("decision", "out"): (1, "1", "string"),
        ("outcome", "out"): (0, "1", "OperationOutcome"),  # warnings about resources the policy does not read
    }


def test_what_the_policy_could_not_read_is_one_requested_task_naming_each_item() -> None:
    decision = scenario("unrecognised")
    assert {u.reference for u in decision.unrecognised} == {"MedicationRequest/rx-unknown", "Condition/dx-nosystem"}
    [task] = [t for t in tasks(decision, base_url=BASE) if t["code"]["coding"][0]["code"] == "identify-unrecognised"]
    validate_r4(task)
    assert (task["status"], task["intent"]) == ("requested", "proposal")
    assert "kratom capsules (MedicationRequest/rx-unknown)" in task["description"]
    references = [i["valueReference"]["reference"] for i in task["input"] if "valueReference" in i]
    assert sorted(references) == ["Condition/dx-nosystem", "MedicationRequest/rx-unknown"]
    codings = [i["valueCodeableConcept"] for i in task["input"] if "valueCodeableConcept" in i]
    assert {"coding": [{"code": "G90.521"}], "text": "G90.521"} in codings or any(
        c.get("coding") == [{"code": "G90.521"}] for c in codings
    )
    assert not [
        t for t in tasks(scenario("example"), base_url=BASE) if "unrecognised" in t["code"]["coding"][0]["code"]
    ]
