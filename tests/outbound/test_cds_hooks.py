"""CDS Hooks 2.0: discovery, prefetch -> Bundle on request bodies shaped like the spec's examples, cards."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date
from typing import Any

import pytest
from outbound_helpers import AS_OF, BASE, SCENARIOS, load_fixture, scenario

from eligibility.decision import OUTCOMES, Criterion, Decision, Evidence
from eligibility.errors import DanglingReferenceError, InputError, NotFHIRError
from eligibility.from_fhir import decide
from fhir_adapters import parse_input
from fhir_adapters.cds_hooks import (
    ORDER_SERVICE_ID,
    SERVICE_ID,
    decision_to_cards,
    fetch_queries,
    prefetch_templates,
    prefetch_to_bundle,
    selects_neurostimulation,
    service_definition,
)
from fhir_adapters.models import READ_TYPES
from fhir_adapters.outbound import tasks
from fhir_adapters.product import CANONICAL_BASE

ALL = sorted(SCENARIOS)
DECISION_URL = "https://drg.example.org/decisions/"


def card_for(decision: Decision) -> dict[str, Any]:
    (card,) = decision_to_cards(decision, base_url=BASE, decision_url=DECISION_URL + decision.decision_id)["cards"]
    return card


def bundle_of(request: dict[str, Any]) -> dict[str, Any]:
    raw = prefetch_to_bundle(request)
    assert raw is not None
    data: dict[str, Any] = json.loads(raw)
    return data


# -- discovery ------------------------------------------------------------------------------------------


def test_discovery_publishes_one_service_per_hook() -> None:
    services = service_definition()["services"]
    assert [(s["id"], s["hook"]) for s in services] == [
        (SERVICE_ID, "patient-view"),
        (ORDER_SERVICE_ID, "order-select"),
    ]
    for service in services:
        assert service["title"] and service["description"]
        assert service["prefetch"] == prefetch_templates()


def test_prefetch_templates_read_every_type_the_rules_read() -> None:
    templates = prefetch_templates()
    assert templates["patient"] == "Patient/{{context.patientId}}"
    searched = {t.split("?")[0] for t in templates.values() if "?" in t}
    included = {m for t in templates.values() for m in re.findall(r"_include=\w+:(\w+)", t)}
    assert searched | {"Patient"} | {m.capitalize() for m in included} == READ_TYPES
    for template in templates.values():
        assert re.fullmatch(
            r"[A-Za-z]+(/\{\{context\.patientId\}\}|\?patient=\{\{context\.patientId\}\}(&[^&=]+=[^&]+)*)", template
        )


def test_observation_prefetch_asks_for_the_codes_the_policies_read() -> None:
    codes = prefetch_templates()["observations"].split("&code=")[1].split(",")
    for wanted in ("72514-3", "72166-2", "82810-3", "38208-5"):
        assert f"http://loinc.org|{wanted}" in codes


def test_fetch_queries_fill_in_the_patient() -> None:
    queries = fetch_queries({"userId": "Practitioner/example", "patientId": "pt-crps-1", "encounterId": "e1"})
    assert queries.keys() == prefetch_templates().keys()
    assert queries["patient"] == "Patient/pt-crps-1"
    assert queries["conditions"] == "Condition?patient=pt-crps-1"
    assert not any("{{" in q for q in queries.values())


@pytest.mark.parametrize("patient_id", ["1&_include=*", "", "../Patient", None, "x" * 65])
def test_fetch_queries_refuse_a_patient_id_that_is_not_a_fhir_id(patient_id: Any) -> None:
    with pytest.raises(InputError) as caught:
        fetch_queries({"patientId": patient_id})
    assert caught.value.location == "context.patientId"


# -- prefetch -> Bundle --------------------------------------------------------------------------------------


def test_full_prefetch_becomes_the_patients_bundle() -> None:
    request = load_fixture("patient-view-full-prefetch")
    bundle = bundle_of(request)
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
    first = bundle["entry"][0]
    assert first["fullUrl"] == "https://ehr.example.org/fhir/Patient/pt-crps-1"
    assert first["resource"] == request["prefetch"]["patient"]
    given = {
        e["fullUrl"]
        for value in request["prefetch"].values()
        if isinstance(value, dict) and value.get("resourceType") == "Bundle"
        for e in value["entry"]
        if "fullUrl" in e
    }
    full_urls = [e["fullUrl"] for e in bundle["entry"]]
    assert set(full_urls) - {first["fullUrl"]} == given, "searchset entries keep their fullUrl"
    assert len(full_urls) == len(set(full_urls)), "the Medication included by two searches is kept once"
    assert all(set(e) <= {"fullUrl", "resource"} for e in bundle["entry"]), "no search/request in a collection"
    assert "OperationOutcome" not in {e["resource"]["resourceType"] for e in bundle["entry"]}


def test_full_prefetch_gives_the_same_decision_as_the_submitted_record() -> None:
    raw = prefetch_to_bundle(load_fixture("patient-view-full-prefetch"))
    assert raw is not None
    decision = decide(raw, as_of=AS_OF, decision_id="cds", evaluated_at="2026-11-20T10:00:00Z")
    example = scenario("example")
    assert decision.outcome == example.outcome
    assert [(c.id, c.status) for c in decision.criteria] == [(c.id, c.status) for c in example.criteria]
    assert "MedicationRequest/med-pregabalin" in {e.reference for c in decision.criteria for e in c.evidence}


@pytest.mark.parametrize("name", ["patient-view-partial-prefetch", "patient-view-paged-prefetch"])
def test_incomplete_prefetch_means_the_server_fetches(name: str) -> None:
    assert prefetch_to_bundle(load_fixture(name)) is None


def test_prefetch_shapes() -> None:
    request = load_fixture("patient-view-full-prefetch")
    prefetch = request["prefetch"]
    patient = prefetch["patient"]
    condition = prefetch["conditions"]["entry"][0]["resource"]
    only_patient = {**request, "prefetch": {k: (patient if k == "patient" else None) for k in prefetch}}
    assert [e["resource"]["resourceType"] for e in bundle_of(only_patient)["entry"]] == ["Patient"]
    # A search answered with a lone resource instead of a searchset Bundle.
    lone = {**request, "prefetch": {**only_patient["prefetch"], "conditions": condition}}
    assert bundle_of(lone)["entry"][1] == {
        "fullUrl": "https://ehr.example.org/fhir/Condition/dx-crps",
        "resource": condition,
    }
    # Without fhirServer a lone resource has no fullUrl; its id still identifies it.
    no_server = {k: v for k, v in lone.items() if k != "fhirServer"}
    assert bundle_of(no_server)["entry"][0] == {"resource": patient}
    # An empty searchset contributes nothing; a key whose value is not a resource cannot be used.
    empty = {"resourceType": "Bundle", "type": "searchset", "total": 0}
    assert len(bundle_of({**request, "prefetch": {**only_patient["prefetch"], "devices": empty}})["entry"]) == 1
    assert prefetch_to_bundle({**request, "prefetch": {**prefetch, "devices": "Device/1"}}) is None
    assert prefetch_to_bundle({k: v for k, v in request.items() if k != "prefetch"}) is None


def test_a_broken_reference_reaches_the_adapters_and_fails_typed() -> None:
    raw = prefetch_to_bundle(load_fixture("patient-view-broken-reference"))
    assert raw is not None
    with pytest.raises(DanglingReferenceError) as caught:
        parse_input(raw)
    assert caught.value.location is not None and caught.value.location.endswith("medicationReference.reference")


def test_non_fhir_content_in_a_searchset_fails_typed() -> None:
    request = load_fixture("patient-view-full-prefetch")
    conditions = {**request["prefetch"]["conditions"], "entry": [{"resource": {"code": "no resourceType"}}]}
    raw = prefetch_to_bundle({**request, "prefetch": {**request["prefetch"], "conditions": conditions}})
    assert raw is not None
    with pytest.raises(NotFHIRError):
        parse_input(raw)


def test_order_select_request() -> None:
    request = load_fixture("order-select-drg-trial")
    assert selects_neurostimulation(request["context"])
    naproxen_only = {**request["context"], "selections": ["MedicationRequest/draft-naproxen"]}
    assert not selects_neurostimulation(naproxen_only)
    assert not selects_neurostimulation({"patientId": "pt-crps-1"})
    raw = prefetch_to_bundle(request)
    assert raw is not None
    decision = decide(raw, as_of=AS_OF, decision_id="order", evaluated_at="2026-11-20T10:00:00Z")
    assert decision.outcome == "INSUFFICIENT_INFORMATION"
    assert card_for(decision)["indicator"] == "warning"


# -- cards -----------------------------------------------------------------------------------------------

INDICATOR = {
    "example": "info",
    "no_conditions": "info",
    "off_label": "info",
    "antithrombotics": "info",
    "implant": "info",
    "unrecognised": "warning",  # eligible, but an active medication nobody identified may be a missed hold
    "example_early": "warning",
    "missing_data": "warning",
    "recent_pain_missing_data": "warning",
    "pacemaker": "warning",
    "neurostimulator": "warning",
    "minor": "warning",
    "substance_use": "warning",
    "trial_failed": "warning",
    "coagulopathy": "critical",
}


@pytest.mark.parametrize("name", ALL)
def test_card_indicator_by_outcome(name: str) -> None:
    assert card_for(scenario(name))["indicator"] == INDICATOR[name]


@pytest.mark.parametrize("name", ALL)
def test_card_summary_is_one_short_sentence(name: str) -> None:
    summary = card_for(scenario(name))["summary"]
    assert len(summary) < 140 and "\n" not in summary
    assert summary.startswith("DRG stimulation: ")


def _worst_case(outcome: str, stage: str) -> Decision:
    """Every criterion not met and unknown counts in the hundreds: the summary must still fit."""
    base = scenario("missing_data")
    many = [
        Criterion(id=f"criterion_{i}", status="not_met" if i % 2 else "unknown", reason="x", rule_id="r")
        for i in range(300)
    ]
    return base.model_copy(update={"outcome": outcome, "stage": stage, "criteria": many, "label_status": "OFF_LABEL"})


@pytest.mark.parametrize("outcome", OUTCOMES)
@pytest.mark.parametrize("stage", ["trial", "implant"])
def test_summary_fits_for_every_outcome(outcome: str, stage: str) -> None:
    summary = card_for(_worst_case(outcome, stage))["summary"]
    assert len(summary) < 140


def test_off_label_is_said_in_the_summary() -> None:
    assert card_for(scenario("off_label"))["summary"].endswith("(off-label)")
    assert "off-label" not in card_for(scenario("example"))["summary"]


@pytest.mark.parametrize("name", ALL)
def test_detail_explains_every_criterion(name: str) -> None:
    decision = scenario(name)
    detail = card_for(decision)["detail"]
    rows = [line for line in detail.splitlines() if line.startswith("| ") and "`" in line]
    assert len(rows) == len(decision.criteria)
    for criterion, row in zip(decision.criteria, rows, strict=True):
        assert f"`{criterion.id}`" in row
        assert criterion.status.replace("_", " ") in row or (criterion.status == "not_applicable" and "n/a" in row)
    assert "the treating clinician decides" in detail


def test_detail_escapes_text_from_the_record() -> None:
    decision = scenario("example")
    hostile = "Dx | <img src=x onerror=alert(1)> *bold* [link](http://x)"
    first = decision.criteria[0].model_copy(
        update={"reason": hostile, "evidence": [Evidence(reference="Condition/a|b", date="2026-01-01")]}
    )
    detail = card_for(decision.model_copy(update={"criteria": [first, *decision.criteria[1:]]}))["detail"]
    row = next(line for line in detail.splitlines() if "`adult`" in line)
    assert len(re.findall(r"(?<!\\)\|", row)) == 5, "only the table's own pipes are unescaped"
    assert "<img" not in detail and "&lt;img" in detail
    assert "[link](" not in detail and "\\[link\\]" in detail


def test_suggestions_create_the_tasks() -> None:
    decision = scenario("antithrombotics")
    card = card_for(decision)
    expected = tasks(decision, base_url=BASE)
    assert card["selectionBehavior"] == "any"
    assert [s["actions"][0]["resource"] for s in card["suggestions"]] == expected
    for suggestion in card["suggestions"]:
        (action,) = suggestion["actions"]
        assert action["type"] == "create" and action["description"]
        uuid.UUID(suggestion["uuid"])
    assert len({s["uuid"] for s in card["suggestions"]}) == len(expected)


def test_a_card_without_tasks_has_no_suggestions_or_selection_behavior() -> None:
    decision = scenario("no_conditions").model_copy(update={"actions": []})
    card = card_for(decision)
    assert "suggestions" not in card and "selectionBehavior" not in card


def test_card_source_links_uuid_and_override_reasons() -> None:
    decision = scenario("example")
    card = card_for(decision)
    uuid.UUID(card["uuid"])
    assert card["uuid"] != card_for(scenario("minor"))["uuid"]
    assert card["links"] == [
        {"label": "Full decision record", "url": DECISION_URL + decision.decision_id, "type": "absolute"}
    ]
    assert card["source"]["label"] == "DRG candidacy, policy drg-clinic 1.1.0"
    reasons = card["overrideReasons"]
    assert {r["code"] for r in reasons} >= {"clinical-judgement", "patient-preference", "data-incorrect"}
    for reason in reasons:
        assert reason["system"] == f"{CANONICAL_BASE}/CodeSystem/drg-override-reason" and reason["display"]


@pytest.mark.parametrize("name", ALL)
def test_cards_hold_no_null_or_empty_values(name: str) -> None:
    """CDS Hooks 2.0: optional attributes without a value are omitted, never null or empty."""

    def walk(value: Any, path: str) -> None:
        assert value not in (None, "", [], {}), path
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, f"{path}.{key}")
        elif isinstance(value, list):
            for index, child in enumerate(value):
                walk(child, f"{path}[{index}]")

    walk(decision_to_cards(scenario(name), base_url=BASE, decision_url=DECISION_URL + "x"), "response")


def test_early_as_of_card_lists_the_data_needed() -> None:
    decision = decide(
        SCENARIOS["example"][0], as_of=date(2026, 1, 20), decision_id="e", evaluated_at="2026-01-20T09:00:00Z"
    )
    detail = card_for(decision)["detail"]
    assert "**Data needed**" in detail and "`pain_severity`: Record a current 0-10 pain score" in detail
