"""fhir_adapters: FHIR R4 submissions -> PatientFacts, canonical input, typed errors with locations.

The public samples (US Core, Synthea) are in examples/fhir-samples with their sources and licences;
our own fixture covers every projected field.
"""

from __future__ import annotations

import copy
import random
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from eligibility.errors import (
    DanglingReferenceError,
    InputError,
    InvalidResourceError,
    NotFHIRError,
    NotJSONError,
    PatientCountError,
    WrongResourceTypeError,
)
from eligibility.facts import Coding, ConditionFact, PatientFacts
from fhir_adapters import ParsedInput, normalize_icd10, parse_input, parse_resources
from fhir_adapters.dates import first_day, last_day

SAMPLES = Path(__file__).resolve().parents[1] / "examples" / "fhir-samples"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "adapters"
FIXTURE = FIXTURES / "all-read-types-bundle.json"


SYNTHEA = (
    "Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json",
    "Liz_Conn_27c911c6-f045-4ffa-af5d-6eba57ac94b2.json",
)
US_CORE = (
    "allergyintolerance-example.json",
    "condition-encounter-diagnosis-example1.json",
    "encounter-1036.json",
    "medicationrequest-contained-oral-axid.json",
    "some-day-smoker.json",
)
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(path.read_bytes())
    return data


def sample(name: str) -> dict[str, Any]:
    return load(SAMPLES / name)


def bundle(*resources: dict[str, Any], bundle_type: str = "collection") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": bundle_type, "entry": [{"resource": r} for r in resources]}


def us_core_bundle() -> dict[str, Any]:
    """The single US Core resources, wrapped with their Patient into one collection Bundle."""
    return bundle(sample("patient-example.json"), *(sample(name) for name in US_CORE))


def parse(document: dict[str, Any]) -> ParsedInput:
    return parse_input(orjson.dumps(document))


PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1960-01-01"}


def observation(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "72514-3"}]},
        "subject": {"reference": "Patient/p1"},
        "valueInteger": 6,
    }
    base.update(fields)
    return base


def med_request(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": "mr1",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "25480"}]},
        "subject": {"reference": "Patient/p1"},
    }
    base.update(fields)
    return base


# --------------------------------------------------------------------------------------------------
# An independent reading of the FHIR paths each fact field comes from, applied to every read resource
# of every sample and fixture: if the adapter drops or misreads a field, this table disagrees.
# --------------------------------------------------------------------------------------------------


def _codings(concept: Any) -> tuple[Coding, ...]:
    if not isinstance(concept, dict):
        return ()
    return tuple(
        Coding(c.get("system", "").strip(), c.get("code", "").strip(), c.get("display"))
        for c in concept.get("coding", [])
    )


def _all_codings(concepts: Any) -> tuple[Coding, ...]:
    return tuple(c for concept in concepts or [] for c in _codings(concept))


def _day(value: Any) -> date | None:
    """First day, written independently of fhir_adapters.dates."""
    if not isinstance(value, str):
        return None
    parts = value[:10].split("-")
    return date(int(parts[0]), int(parts[1]) if len(parts) > 1 else 1, int(parts[2]) if len(parts) > 2 else 1)


def _get(resource: dict[str, Any], path: str) -> Any:
    value: Any = resource
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _status(concept: Any) -> str | None:
    codes = _codings(concept)
    return codes[0].code if codes else None


def _number(resource: dict[str, Any]) -> float | None:
    value = _get(resource, "valueQuantity.value")
    if value is None:
        value = resource.get("valueInteger")
    return None if value is None else float(value)


Check = tuple[str, Callable[[dict[str, Any]], Any], Callable[[Any], Any], str]  # path, expected, actual, mode

# mode "eq": fact value equals the FHIR value; "in": every FHIR coding is among the fact's codings;
# "when sent": equal when the FHIR element is present (the fact may fall back to another element).
FIELD_TABLE: dict[str, list[Check]] = {
    "Condition": [
        ("code.coding", lambda r: _codings(r.get("code")), lambda f: f.codes, "eq"),
        ("clinicalStatus", lambda r: _status(r.get("clinicalStatus")), lambda f: f.clinical_status, "eq"),
        ("verificationStatus", lambda r: _status(r.get("verificationStatus")), lambda f: f.verification_status, "eq"),
        ("recordedDate", lambda r: _day(r.get("recordedDate")), lambda f: f.recorded, "eq"),
        ("category", lambda r: tuple(c.code for c in _all_codings(r.get("category"))), lambda f: f.categories, "eq"),
        ("abatement[x]", lambda r: any(k.lstrip("_").startswith("abatement") for k in r), lambda f: f.abated, "eq"),
        ("bodySite.coding", lambda r: _all_codings(r.get("bodySite")), lambda f: f.body_sites, "in"),
        ("code.text", lambda r: _get(r, "code.text"), lambda f: f.text, "when sent"),
    ],
    "MedicationRequest": [
        ("status", lambda r: r.get("status"), lambda f: f.status, "eq"),
        ("medicationCodeableConcept", lambda r: _codings(r.get("medicationCodeableConcept")), lambda f: f.codes, "in"),
        ("authoredOn", lambda r: _day(r.get("authoredOn")), lambda f: f.start, "eq"),
        (
            "validityPeriod.end",
            lambda r: _day(_get(r, "dispenseRequest.validityPeriod.end")),
            lambda f: f.validity_end,
            "eq",
        ),
        (
            "numberOfRepeatsAllowed",
            lambda r: _get(r, "dispenseRequest.numberOfRepeatsAllowed"),
            lambda f: f.repeats,
            "eq",
        ),
        ("reasonCode", lambda r: _all_codings(r.get("reasonCode")), lambda f: f.reason_codes, "in"),
    ],
    "MedicationStatement": [
        ("status", lambda r: r.get("status"), lambda f: f.status, "eq"),
        ("medicationCodeableConcept", lambda r: _codings(r.get("medicationCodeableConcept")), lambda f: f.codes, "in"),
        (
            "effective[x]",
            lambda r: _day(r.get("effectiveDateTime") or _get(r, "effectivePeriod.start")),
            lambda f: f.start,
            "eq",
        ),
        ("effectivePeriod.end", lambda r: _day(_get(r, "effectivePeriod.end")), lambda f: f.end, "eq"),
        ("reasonCode", lambda r: _all_codings(r.get("reasonCode")), lambda f: f.reason_codes, "in"),
    ],
    "MedicationAdministration": [
        ("status", lambda r: r.get("status"), lambda f: f.status, "eq"),
        ("effectiveDateTime", lambda r: _day(r.get("effectiveDateTime")), lambda f: f.start, "eq"),
    ],
    "Procedure": [
        ("code.coding", lambda r: _codings(r.get("code")), lambda f: f.codes, "eq"),
        ("status", lambda r: r.get("status"), lambda f: f.status, "eq"),
        (
            "performed[x] start",
            lambda r: _day(r.get("performedDateTime") or _get(r, "performedPeriod.start")),
            lambda f: f.start,
            "eq",
        ),
        (
            "performed[x] end",
            lambda r: _day(r.get("performedDateTime") or _get(r, "performedPeriod.end")),
            lambda f: f.end,
            "eq",
        ),
        ("outcome", lambda r: _codings(r.get("outcome")), lambda f: f.outcome, "eq"),
        ("bodySite", lambda r: _all_codings(r.get("bodySite")), lambda f: f.body_sites, "in"),
    ],
    "Observation": [
        ("code.coding", lambda r: _codings(r.get("code")), lambda f: f.codes, "eq"),
        ("status", lambda r: r.get("status"), lambda f: f.status, "eq"),
        (
            "effective[x]",
            lambda r: _day(
                r.get("effectiveDateTime")
                or _get(r, "effectivePeriod.start")
                or r.get("effectiveInstant")
                or r.get("issued")
            ),
            lambda f: f.effective,
            "eq",
        ),
        ("value[x] number", _number, lambda f: f.value_number, "eq"),
        ("valueCodeableConcept", lambda r: _codings(r.get("valueCodeableConcept")), lambda f: f.value_codes, "eq"),
        (
            "valueString / valueCodeableConcept.text",
            lambda r: r.get("valueString") or _get(r, "valueCodeableConcept.text"),
            lambda f: f.value_text,
            "eq",
        ),
        ("bodySite", lambda r: _codings(r.get("bodySite")), lambda f: f.body_sites, "in"),
        (
            "component",
            lambda r: tuple((_codings(c.get("code")), _number(c)) for c in r.get("component", [])),
            lambda f: f.components,
            "eq",
        ),
    ],
    "Encounter": [
        ("status", lambda r: r.get("status"), lambda f: f.status, "eq"),
        ("type", lambda r: _all_codings(r.get("type")), lambda f: f.types, "in"),
        ("serviceType", lambda r: _codings(r.get("serviceType")), lambda f: f.types, "in"),
        (
            "class",
            lambda r: (Coding(r["class"]["system"], r["class"]["code"], r["class"].get("display")),),
            lambda f: f.types,
            "in",
        ),
        ("period.start", lambda r: _day(_get(r, "period.start")), lambda f: f.start, "eq"),
        ("period.end", lambda r: _day(_get(r, "period.end")), lambda f: f.end, "eq"),
        ("reasonCode", lambda r: _all_codings(r.get("reasonCode")), lambda f: f.reason_codes, "eq"),
    ],
    "Device": [
        ("type", lambda r: _codings(r.get("type")), lambda f: f.types, "eq"),
        ("status", lambda r: r.get("status"), lambda f: f.status, "eq"),
    ],
    "AllergyIntolerance": [
        ("code", lambda r: _codings(r.get("code")), lambda f: f.codes, "eq"),
        ("clinicalStatus", lambda r: _status(r.get("clinicalStatus")), lambda f: f.clinical_status, "eq"),
        ("verificationStatus", lambda r: _status(r.get("verificationStatus")), lambda f: f.verification_status, "eq"),
    ],
}


FACT_FIELD = {
    "Condition": "conditions",
    "MedicationRequest": "medications",
    "MedicationStatement": "medications",
    "MedicationAdministration": "medications",
    "Procedure": "procedures",
    "Observation": "observations",
    "Encounter": "encounters",
    "Device": "devices",
    "AllergyIntolerance": "allergies",
}


def _reference(resource: dict[str, Any], full_url: str | None) -> str:
    rid = resource.get("id") or (full_url or "").removeprefix("urn:uuid:")
    return f"{resource['resourceType']}/{rid}"


def _documents() -> Iterator[tuple[str, dict[str, Any]]]:
    yield FIXTURE.name, load(FIXTURE)
    for name in SYNTHEA:
        yield name, sample(name)
    yield "US Core examples", us_core_bundle()


@pytest.mark.parametrize(("name", "document"), list(_documents()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_read_resource_is_projected_field_by_field(name: str, document: dict[str, Any]) -> None:
    record = parse(document).facts
    facts = {fact.reference: fact for field in set(FACT_FIELD.values()) for fact in getattr(record, field)}
    expected_counts: Counter[str] = Counter()
    checked = 0
    for entry in document["entry"]:
        resource = entry["resource"]
        resource_type = resource["resourceType"]
        if resource_type not in FIELD_TABLE:
            continue
        expected_counts[FACT_FIELD[resource_type]] += 1
        fact = facts[_reference(resource, entry.get("fullUrl"))]
        for path, expected_of, actual_of, mode in FIELD_TABLE[resource_type]:
            expected, actual = expected_of(resource), actual_of(fact)
            where = f"{name}: {fact.reference} {path}"
            if mode == "eq":
                assert actual == expected, where
            elif mode == "in":
                assert set(expected) <= set(actual), where
            elif expected is not None:
                assert actual == expected, where
            checked += 1
    # Nothing dropped: one fact per read resource, per kind.
    for field, count in expected_counts.items():
        assert len(getattr(record, field)) == count, f"{name}: {field}"
    assert checked > 20


# --------------------------------------------------------------------------------------------------
# Our fixture: exact values for the rules that need more than a path (dates, references, Medication).
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fixture_record() -> PatientFacts:
    return parse_input(FIXTURE.read_bytes()).facts


def _by_ref(facts: tuple[Any, ...], reference: str) -> Any:
    matches = [f for f in facts if f.reference == reference]
    assert len(matches) == 1, reference
    return matches[0]


def test_fixture_patient_and_ignored_types(fixture_record: PatientFacts) -> None:
    assert fixture_record.patient.reference == "Patient/pat-1"
    assert fixture_record.patient.birth_date == date(1970, 3, 15)
    assert fixture_record.patient.gender == "female"
    # The Claim is not validated (its "note" is not even valid FHIR) nor its patient checked.
    assert fixture_record.ignored_types == (("Claim", 1), ("Practitioner", 1))


def test_condition_dates_onset_is_conservative(fixture_record: PatientFacts) -> None:
    crps = _by_ref(fixture_record.conditions, "Condition/crps-left-foot")
    assert crps.onset == date(2019, 5, 31)  # "2019-05": last day of the month
    assert crps.recorded == date(2019, 6, 2)  # local date as written, no shift to UTC (would be 3 June)
    assert crps.asserted == date(2019, 6, 1)  # condition-assertedDate extension
    assert crps.date == date(2019, 5, 31)
    year_only = _by_ref(fixture_record.conditions, "Condition/0b6c1c4e-0000-4000-8000-000000000011")
    assert year_only.onset == date(2018, 12, 31)  # onsetPeriod.start "2018"
    by_age = _by_ref(fixture_record.conditions, "Condition/neuralgia-age-onset")
    assert by_age.onset == date(2011, 3, 14)  # born 1970-03-15, onset at age 40: last day aged 40


def test_condition_codes_status_sites(fixture_record: PatientFacts) -> None:
    crps = _by_ref(fixture_record.conditions, "Condition/crps-left-foot")
    assert [(c.system, c.code) for c in crps.codes] == [(ICD10CM, "G90.522"), (SNOMED, "128200000")]
    assert (crps.clinical_status, crps.verification_status, crps.abated) == ("active", "confirmed", False)
    assert crps.categories == ("problem-list-item",)
    assert Coding(SNOMED, "7771000", "Left") in crps.body_sites  # laterality qualifier extension kept
    assert Coding(SNOMED, "56459004", "Foot structure") in crps.body_sites
    assert crps.text == "CRPS type I, left foot"
    resolved = _by_ref(fixture_record.conditions, "Condition/0b6c1c4e-0000-4000-8000-000000000011")
    assert resolved.codes[0].code == "M79606"  # ICD-10 without the dot kept as sent
    assert (resolved.clinical_status, resolved.abated) == ("resolved", True)
    entered_in_error = _by_ref(fixture_record.conditions, "Condition/neuralgia-age-onset")
    assert entered_in_error.verification_status == "entered-in-error"  # kept; the engine ignores it
    assert entered_in_error.abated is True  # _abatementDateTime with only a data-absent-reason


def test_medication_request_with_referenced_medication(fixture_record: PatientFacts) -> None:
    rx = _by_ref(fixture_record.medications, "MedicationRequest/gabapentin-rx")
    assert rx.kind == "MedicationRequest"
    assert [c.code for c in rx.codes] == ["310431", "25480", "386845007"]  # code, contained Substance, ingredient
    assert rx.text == "Gabapentin 300 mg capsule"
    assert (rx.status, rx.status_reason) == ("stopped", "Drug therapy discontinued")
    assert (rx.start, rx.end) == (date(2019, 7, 1), None)
    assert rx.validity_end == date(2020, 1, 1)
    assert rx.expected_supply_days == 28.0  # 4 wk
    assert rx.repeats == 2
    # reasonCode, then the codes of the Condition it references; the Observation reason is not followed.
    assert [c.code for c in rx.reason_codes] == ["22253000", "G90.522", "128200000"]


def test_medication_statement_and_administration(fixture_record: PatientFacts) -> None:
    statement = _by_ref(fixture_record.medications, "MedicationStatement/duloxetine-statement")
    assert statement.codes == (Coding(RXNORM, "72625"),)
    assert statement.text is None  # a bare code is not a drug name
    assert statement.status_reason == "ineffective; Adverse reaction to drug"
    assert (statement.start, statement.end) == (date(2019, 8, 15), date(2019, 11, 1))
    assert [c.code for c in statement.reason_codes] == ["M79606"]  # reasonReference via urn:uuid
    dose = _by_ref(fixture_record.medications, "MedicationAdministration/gabapentin-dose")
    assert dose.start == date(2019, 7, 2)
    assert [c.code for c in dose.codes] == ["310431", "25480", "386845007"]  # Medication/id reference


def test_procedures_observations_encounter_device_allergy(fixture_record: PatientFacts) -> None:
    pt = _by_ref(fixture_record.procedures, "Procedure/pt-course")
    assert (pt.start, pt.end) == (date(2019, 9, 2), date(2019, 10, 28))
    assert pt.outcome == (Coding(SNOMED, "385671000", "Unsuccessful"),)
    block = _by_ref(fixture_record.procedures, "Procedure/lumbar-sympathetic-block")
    assert block.start == block.end == date(2019, 11, 20)

    integer = _by_ref(fixture_record.observations, "Observation/pain-integer")
    assert (integer.value_number, integer.effective) == (7.0, date(2020, 1, 10))
    floating = _by_ref(fixture_record.observations, "Observation/pain-float-period")
    assert (floating.value_number, floating.value_unit, floating.effective) == (6.0, "{score}", date(2020, 2, 1))
    bp = _by_ref(fixture_record.observations, "Observation/blood-pressure")
    assert bp.effective == date(2020, 2, 3)
    assert [(codes[0].code, number) for codes, number in bp.components] == [
        ("8480-6", 128.0),
        ("8462-4", 82.5),
        ("8478-0", None),
    ]
    issued_only = _by_ref(fixture_record.observations, "Observation/pregnancy-status")
    assert (issued_only.effective, issued_only.value_text) == (date(2020, 2, 4), "not pregnant")

    (visit,) = fixture_record.encounters
    assert [c.code for c in visit.types] == ["91251008", "64", "AMB"]
    assert visit.reason_codes == (Coding(ICD10CM, "G90.522"),)
    (device,) = fixture_record.devices
    assert (device.reference, device.status, device.text) == ("Device/pacemaker", "active", "Sensia pacemaker; SESR01")
    assert device.types == (Coding(SNOMED, "14106009", "Cardiac pacemaker"),)
    (allergy,) = fixture_record.allergies
    assert (allergy.clinical_status, allergy.verification_status, allergy.date) == (
        "active",
        "unconfirmed",
        date(2001, 1, 1),
    )


def test_missing_subject_is_a_warning_not_a_silent_guess() -> None:
    parsed = parse_input(FIXTURE.read_bytes())
    assert parsed.warnings == ("Bundle.entry[13].resource.subject: no subject; read as belonging to Patient/pat-1",)
    assert parsed.resource_count == 19


# --------------------------------------------------------------------------------------------------
# The shared samples
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SYNTHEA)
def test_synthea_transaction_bundles(name: str) -> None:
    document = sample(name)
    parsed = parse(document)
    record = parsed.facts
    patient_entry = document["entry"][0]
    assert record.patient.reference == f"Patient/{patient_entry['resource']['id']}"
    assert record.patient.gender == patient_entry["resource"]["gender"]
    assert parsed.resource_count == len(document["entry"])
    counts = Counter(e["resource"]["resourceType"] for e in document["entry"])
    assert dict(record.ignored_types) == {t: n for t, n in counts.items() if t not in FACT_FIELD and t != "Patient"}
    pain = [o for o in record.observations if o.codes[0].code == "72514-3"]
    assert pain and all(isinstance(o.value_number, float) for o in pain)
    assert any(o.value_number != int(o.value_number) for o in pain if o.value_number is not None)
    smoking = [o for o in record.observations if o.codes[0].code == "72166-2"]
    assert smoking and all(o.value_codes for o in smoking)
    assert parsed.warnings == ()


def test_synthea_medication_request_reason_reference_via_urn_uuid() -> None:
    record = parse(sample(SYNTHEA[1])).facts
    (rx,) = record.medications
    assert rx.reference == "MedicationRequest/e1e45551-ea23-40f1-9a5a-64dd5684185b"
    assert rx.codes == (Coding(RXNORM, "316049", "Hydrochlorothiazide 25 MG"),)
    assert rx.reason_codes == (Coding(SNOMED, "38341003", "Hypertension"),)
    assert rx.text == "Hydrochlorothiazide 25 MG"
    assert rx.start == date(2006, 8, 4)
    # every fact reference is Type/id, never a urn
    everything = (*record.conditions, *record.medications, *record.procedures, *record.observations)
    assert all(not f.reference.startswith("urn:") and "/" in f.reference for f in everything)


def test_us_core_single_resources_wrapped_with_their_patient() -> None:
    parsed = parse(us_core_bundle())
    record = parsed.facts
    assert record.patient == record.patient.__class__("Patient/example", date(1987, 2, 20), None)  # no gender
    (condition,) = record.conditions
    # SNOMED and ICD-10-CM on one Condition; the ICD code keeps its dot
    assert [(c.system, c.code) for c in condition.codes] == [(SNOMED, "39065001"), (ICD10CM, "T20.21")]
    assert normalize_icd10(condition.codes[1].code) == "T2021"
    assert condition.categories == ("encounter-diagnosis",)
    assert (condition.clinical_status, condition.onset, condition.recorded) == (None, None, date(2015, 11, 1))
    (allergy,) = record.allergies
    assert allergy.codes == (Coding(SNOMED, "763875007", "Product containing sulfonamide (product)"),)
    assert (allergy.clinical_status, allergy.verification_status) == ("active", "confirmed")
    (encounter,) = record.encounters
    assert encounter.status == "in-progress"
    assert [c.code for c in encounter.types] == ["261665006", "IMP"]
    (axid,) = record.medications
    assert axid.codes == (Coding(RXNORM, "582620", "Nizatidine 15 MG/ML Oral Solution [Axid]"),)  # contained #med2
    assert axid.text == "Nizatidine 15 MG/ML Oral Solution [Axid]"
    assert (axid.start, axid.expected_supply_days, axid.repeats) == (date(2008, 4, 5), 30.0, 1)
    assert axid.reason_codes == (Coding(SNOMED, "51868009", "Ulcer of duodenum (disorder)"),)
    (smoker,) = record.observations
    assert smoker.effective == date(2016, 3, 18)
    assert smoker.value_codes == (Coding(SNOMED, "428041000124106", None),)
    assert smoker.value_text == "Current some day smoker"
    # Encounter/example-1, Practitioner/practitioner-1, Location/hospital are not in the record and not read.
    assert parsed.warnings == ()


def test_lone_patient_resource() -> None:
    parsed = parse_input((SAMPLES / "patient-example.json").read_bytes())
    assert parsed.facts == PatientFacts(patient=parsed.facts.patient)
    assert parsed.facts.patient.reference == "Patient/example"
    assert orjson.loads(parsed.canonical)["type"] == "collection"


# --------------------------------------------------------------------------------------------------
# Canonical input and order independence
# --------------------------------------------------------------------------------------------------


def _all_inputs() -> list[tuple[str, bytes]]:
    inputs = [(FIXTURE.name, FIXTURE.read_bytes())]
    inputs += [(name, (SAMPLES / name).read_bytes()) for name in SYNTHEA]
    inputs.append(("US Core", orjson.dumps(us_core_bundle())))
    return inputs


@pytest.mark.parametrize(("name", "raw"), _all_inputs(), ids=lambda v: v if isinstance(v, str) else "")
def test_canonical_reparses_to_the_same_record_and_sha(name: str, raw: bytes) -> None:
    first = parse_input(raw)
    again = parse_input(first.canonical)
    assert again.facts == first.facts
    assert again.canonical == first.canonical
    assert again.input_sha256 == first.input_sha256
    assert len(first.input_sha256) == 64
    # canonical = orjson with sorted keys, and nothing in the entries was dropped
    assert first.canonical == orjson.dumps(orjson.loads(first.canonical), option=orjson.OPT_SORT_KEYS)
    original_entries = orjson.loads(raw)["entry"]
    canonical_entries = orjson.loads(first.canonical)["entry"]
    key = lambda e: orjson.dumps(e, option=orjson.OPT_SORT_KEYS)  # noqa: E731
    assert sorted(map(key, canonical_entries)) == sorted(map(key, original_entries))


@pytest.mark.parametrize(("name", "raw"), _all_inputs(), ids=lambda v: v if isinstance(v, str) else "")
def test_entry_order_does_not_matter(name: str, raw: bytes) -> None:
    document = orjson.loads(raw)
    reference = parse(document)
    for seed in (1, 2):
        shuffled = copy.deepcopy(document)
        random.Random(seed).shuffle(shuffled["entry"])
        assert shuffled["entry"] != document["entry"]
        other = parse(shuffled)
        assert other.canonical == reference.canonical
        assert other.input_sha256 == reference.input_sha256
        assert other.facts == reference.facts


def test_content_change_changes_the_sha() -> None:
    document = load(FIXTURE)
    reference = parse(document)
    document["entry"][10]["resource"]["valueInteger"] = 8
    changed = parse(document)
    assert changed.input_sha256 != reference.input_sha256
    assert changed.facts != reference.facts
    # The Bundle envelope (id, timestamp) is not content.
    document = load(FIXTURE)
    document["id"], document["timestamp"] = "other-export", "2026-02-01T00:00:00Z"
    assert parse(document).input_sha256 == reference.input_sha256


def test_parse_resources_does_not_mutate_its_input() -> None:
    resources = [entry["resource"] for entry in load(FIXTURE)["entry"]]
    # fullUrls are gone: rewrite urn:uuid references as Type/id, as a bulk export would write them.
    raw = (
        orjson.dumps(resources)
        .replace(b'"urn:uuid:0b6c1c4e-0000-4000-8000-000000000001"', b'"Patient/pat-1"')
        .replace(b'"urn:uuid:0b6c1c4e-0000-4000-8000-000000000020"', b'"Medication/gabapentin-300"')
    )
    resources = orjson.loads(raw.replace(b'"urn:uuid:0b6c1c4e-0000-4000-8000-000000000011"', b'"Condition/x11"'))
    resources[2]["id"] = "x11"
    before = copy.deepcopy(resources)
    parsed = parse_resources(resources)
    assert resources == before
    assert _by_ref(parsed.facts.conditions, "Condition/x11").codes[0].code == "M79606"
    assert orjson.loads(parsed.canonical)["type"] == "collection"


# --------------------------------------------------------------------------------------------------
# NDJSON
# --------------------------------------------------------------------------------------------------


def _ndjson_from_bundle(document: dict[str, Any]) -> bytes:
    """One resource a line, urn:uuid references rewritten to Type/id (NDJSON has no fullUrls)."""
    types = {e["fullUrl"]: e["resource"]["resourceType"] for e in document["entry"]}
    text = b"\n".join(orjson.dumps(e["resource"]) for e in document["entry"]).decode()
    for full_url, resource_type in types.items():
        text = text.replace(f'"{full_url}"', f'"{resource_type}/{full_url.removeprefix("urn:uuid:")}"')
    lines = text.split("\n")
    lines.insert(3, "   ")  # blank lines are allowed
    return ("\n".join(lines) + "\n\n").encode()


@pytest.mark.parametrize("name", SYNTHEA)
def test_ndjson_gives_the_same_record_as_the_bundle(name: str) -> None:
    document = sample(name)
    from_bundle = parse(document)
    from_ndjson = parse_input(_ndjson_from_bundle(document))
    assert from_ndjson.facts == from_bundle.facts
    assert orjson.loads(from_ndjson.canonical)["type"] == "collection"
    assert parse_input(from_ndjson.canonical).facts == from_bundle.facts


def test_ndjson_with_urn_uuid_references_does_not_resolve() -> None:
    document = sample(SYNTHEA[0])
    raw = b"\n".join(orjson.dumps(e["resource"]) for e in document["entry"])
    with pytest.raises(DanglingReferenceError) as caught:
        parse_input(raw)
    assert caught.value.location == "line 4: subject.reference"  # line 4 is the first Encounter


def test_ndjson_str_input_and_crlf() -> None:
    lines = [orjson.dumps(PATIENT).decode(), orjson.dumps(observation()).decode()]
    parsed = parse_input("\r\n".join(lines))
    assert parsed.facts.observations[0].value_number == 6.0


# --------------------------------------------------------------------------------------------------
# Errors, each with its location
# --------------------------------------------------------------------------------------------------


def _error(raw: bytes | str | dict[str, Any], kind: type[InputError]) -> InputError:
    data = orjson.dumps(raw) if isinstance(raw, dict) else raw
    with pytest.raises(kind) as caught:
        parse_input(data)
    assert isinstance(caught.value, InputError)
    return caught.value


def test_not_json() -> None:
    assert _error(b'{"resourceType": "Bundle",\n  "type": }', NotJSONError).location == "line 2, column 11"
    assert _error(b"", NotJSONError).location == "line 1, column 1"
    assert _error(b"\xff\xfe{}", NotJSONError).location == "line 1, column 1"
    ndjson = b"\n".join([orjson.dumps(PATIENT), orjson.dumps(observation()), b'{"resourceType": "Obs'])
    assert _error(ndjson, NotJSONError).location.startswith("line 3, column ")


def test_not_fhir() -> None:
    assert _error({"name": "x"}, NotFHIRError).location == "resourceType"
    assert _error({"resourceType": "Patinet"}, NotFHIRError).location == "resourceType"
    assert _error(b"[1, 2]", NotFHIRError).location == "$"
    typo = bundle(PATIENT, observation(resourceType="Observaton"))
    assert _error(typo, NotFHIRError).location == "Bundle.entry[1].resource.resourceType"
    data_type = bundle(PATIENT, {"resourceType": "Coding", "code": "x"})
    assert _error(data_type, NotFHIRError).location == "Bundle.entry[1].resource.resourceType"
    contained = bundle(PATIENT, med_request(contained=[{"resourceType": "Drug", "id": "d"}]))
    assert _error(contained, NotFHIRError).location == "Bundle.entry[1].resource.contained[0].resourceType"
    ndjson = b"\n".join([orjson.dumps(PATIENT), b'{"id": "no-type"}'])
    assert _error(ndjson, NotFHIRError).location == "line 2: resourceType"


def test_wrong_resource_type() -> None:
    assert _error(observation(), WrongResourceTypeError).location == "resourceType"
    assert _error({"resourceType": "Parameters"}, WrongResourceTypeError).location == "resourceType"
    outcome = {"resourceType": "OperationOutcome", "issue": []}
    assert _error(outcome, WrongResourceTypeError).location == "resourceType"
    for bundle_type in ("history", "message", "subscription-notification"):
        error = _error(bundle(PATIENT, bundle_type=bundle_type), WrongResourceTypeError)
        assert error.location == "Bundle.type"


def test_accepted_bundle_types() -> None:
    for bundle_type in ("collection", "searchset", "transaction", "batch", "transaction-response", "document"):
        parsed = parse(bundle(PATIENT, observation(), bundle_type=bundle_type))
        assert orjson.loads(parsed.canonical)["type"] == bundle_type
        assert len(parsed.facts.observations) == 1
    response = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [{"resource": PATIENT}, {"response": {"status": "204 No Content"}}],
    }
    assert parse(response).resource_count == 1
    assert _error({"resourceType": "Bundle", "type": "pile"}, InvalidResourceError).location == "Bundle.type"


def test_patient_count() -> None:
    assert _error(bundle(observation()), PatientCountError).location == "Bundle.entry"
    two = bundle(PATIENT, observation(), {**PATIENT, "id": "p2"})
    error = _error(two, PatientCountError)
    assert error.location == "Bundle.entry[2].resource"
    assert "Patient/p1" in error.message and "Patient/p2" in error.message
    ndjson = b"\n".join([orjson.dumps(observation()), orjson.dumps({**observation(), "id": "o2"})])
    assert _error(ndjson, PatientCountError).location == "NDJSON"


def test_dangling_references() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        (observation(subject={"reference": "urn:uuid:9d0e7c43-1111-4000-8000-000000000000"}), "subject.reference"),
        (observation(subject={"reference": "Patient/someone-else"}), "subject.reference"),
        (
            {
                "resourceType": "AllergyIntolerance",
                "id": "a1",
                "patient": {"reference": "Patient/nobody"},
            },
            "patient.reference",
        ),
        (
            med_request(medicationCodeableConcept=None, medicationReference={"reference": "#absent"}),
            "medicationReference.reference",
        ),
        (
            med_request(medicationCodeableConcept=None, medicationReference={"reference": "Medication/absent"}),
            "medicationReference.reference",
        ),
        (med_request(reasonReference=[{"reference": "Condition/absent"}]), "reasonReference[0].reference"),
        (
            med_request(reasonReference=[{"reference": "Observation/x"}, {"reference": "urn:uuid:absent"}]),
            "reasonReference[1].reference",
        ),
    ]
    for resource, path in cases:
        resource = {k: v for k, v in resource.items() if v is not None}
        error = _error(bundle(PATIENT, resource), DanglingReferenceError)
        assert error.location == f"Bundle.entry[1].resource.{path}", resource
    # A subject that resolves, but to something other than the Patient
    practitioner = {"resourceType": "Practitioner", "id": "dr"}
    wrong = bundle(PATIENT, practitioner, observation(subject={"reference": "Practitioner/dr"}))
    assert _error(wrong, DanglingReferenceError).location == "Bundle.entry[2].resource.subject.reference"
    medication_is_condition = bundle(
        PATIENT,
        {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"}},
        med_request(medicationCodeableConcept=None, medicationReference={"reference": "Condition/c1"}),
    )
    assert _error(medication_is_condition, DanglingReferenceError).location == (
        "Bundle.entry[2].resource.medicationReference.reference"
    )
    ingredient = bundle(
        PATIENT,
        med_request(
            medicationCodeableConcept=None,
            medicationReference={"reference": "#m"},
            contained=[
                {"resourceType": "Medication", "id": "m", "ingredient": [{"itemReference": {"reference": "#x"}}]}
            ],
        ),
    )
    assert _error(ingredient, DanglingReferenceError).location == (
        "Bundle.entry[1].resource.contained[0].ingredient[0].itemReference.reference"
    )


def test_references_the_rules_do_not_read_are_not_errors() -> None:
    resource = med_request(
        requester={"reference": "Practitioner/absent"},
        encounter={"reference": "urn:uuid:7f0e0000-0000-4000-8000-000000000000"},
        reasonReference=[{"reference": "DiagnosticReport/absent"}, {"reference": "Observation/absent"}],
    )
    obs = observation(encounter={"reference": "Encounter/elsewhere"}, performer=[{"reference": "Organization/o"}])
    record = parse(bundle(PATIENT, resource, obs)).facts
    assert record.medications[0].reason_codes == ()
    assert len(record.observations) == 1


def test_references_resolve_by_absolute_full_url_and_history() -> None:
    document = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {"fullUrl": "https://ehr.example/fhir/Patient/p1", "resource": PATIENT, "search": {"mode": "match"}},
            {
                "fullUrl": "https://ehr.example/fhir/Observation/o1",
                "resource": observation(subject={"reference": "https://ehr.example/fhir/Patient/p1"}),
            },
            {"resource": {**observation(), "id": "o2", "subject": {"reference": "Patient/p1/_history/3"}}},
        ],
    }
    parsed = parse(document)
    assert [o.reference for o in parsed.facts.observations] == ["Observation/o1", "Observation/o2"]
    assert orjson.loads(parsed.canonical)["entry"][2]["search"] == {"mode": "match"}


def test_ndjson_and_parse_resources_locations() -> None:
    ndjson = b"\n".join([orjson.dumps(PATIENT), b"", orjson.dumps(observation(subject={"reference": "Patient/x"}))])
    assert _error(ndjson, DanglingReferenceError).location == "line 3: subject.reference"
    with pytest.raises(DanglingReferenceError) as caught:
        parse_resources(
            [PATIENT, observation(subject={"reference": "Patient/x"})],
            locations=["Patient.ndjson line 1", "Observation.ndjson line 7"],
        )
    assert caught.value.location == "Observation.ndjson line 7: subject.reference"
    with pytest.raises(InvalidResourceError) as invalid:
        parse_resources([PATIENT, observation(status=None)])
    assert invalid.value.location == "resources[1].status"
    with pytest.raises(NotFHIRError) as not_fhir:
        parse_resources([PATIENT, "Observation"])
    assert not_fhir.value.location == "resources[1]"


def test_invalid_resources_are_located_at_the_field() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        (observation(valueInteger=None, valueQuantity={"value": "six"}), "valueQuantity.value"),
        (observation(status=None), "status"),
        (
            observation(component=[{"code": {"text": "a"}, "valueQuantity": {"value": 1}}, {"code": 5}]),
            "component[1].code",
        ),
        (observation(effectiveDateTime="2019-02-30"), "effectiveDateTime"),
        (observation(effectiveDateTime="2019-05-01", effectivePeriod={"start": "2019-05-01"}), ""),
        (observation(unknownField=1), "unknownField"),
        (med_request(subject="Patient/p1"), "subject"),
        ({"resourceType": "Device", "id": "d", "deviceName": [{"name": "x"}]}, "deviceName[0].type"),
    ]
    for resource, path in cases:
        resource = {k: v for k, v in resource.items() if v is not None}
        error = _error(bundle(PATIENT, resource), InvalidResourceError)
        expected = "Bundle.entry[1].resource" + (f".{path}" if path else "")
        assert error.location == expected, (resource, error.message)
    bad_patient = {"resourceType": "Patient", "id": "p1", "birthDate": "15/03/1970"}
    assert _error(bad_patient, InvalidResourceError).location == "Patient.birthDate"
    no_id = bundle(PATIENT, {k: v for k, v in observation().items() if k != "id"})
    assert _error(no_id, InvalidResourceError).location == "Bundle.entry[1].resource.id"
    duplicate = bundle(PATIENT, observation(), observation())
    assert _error(duplicate, InvalidResourceError).location == "Bundle.entry[2].resource.id"


def test_unread_types_are_not_validated() -> None:
    claim = {"resourceType": "Claim", "id": "c", "status": 42, "bogus": True}
    parsed = parse(bundle(PATIENT, claim))
    assert parsed.facts.ignored_types == (("Claim", 1),)
    assert b'"bogus":true' in parsed.canonical  # kept in the audited input
    r4_only = {"resourceType": "MedicinalProduct", "id": "mp"}
    assert parse(bundle(PATIENT, r4_only)).facts.ignored_types == (("MedicinalProduct", 1),)


def test_every_error_is_an_input_error_with_a_location() -> None:
    kinds = (
        NotJSONError,
        NotFHIRError,
        WrongResourceTypeError,
        PatientCountError,
        DanglingReferenceError,
        InvalidResourceError,
    )
    raws: list[bytes] = [
        b"{",
        b'{"a": 1}',
        orjson.dumps(observation()),
        orjson.dumps(bundle(observation())),
        orjson.dumps(bundle(PATIENT, observation(subject={"reference": "Patient/x"}))),
        orjson.dumps(bundle(PATIENT, observation(status=None))),
    ]
    for raw, kind in zip(raws, kinds, strict=True):
        error = _error(raw, kind)
        assert type(error) is kind
        assert error.location


# --------------------------------------------------------------------------------------------------
# Dates, codes, speed
# --------------------------------------------------------------------------------------------------


def test_dates_local_and_partial() -> None:
    assert first_day("2019-05-01T23:30:00-05:00") == date(2019, 5, 1)  # no timezone conversion
    assert first_day("2019-05-01T00:30:00+14:00") == date(2019, 5, 1)
    assert first_day("2019") == date(2019, 1, 1)
    assert first_day("2019-05") == date(2019, 5, 1)
    assert last_day("2019") == date(2019, 12, 31)
    assert last_day("2020-02") == date(2020, 2, 29)
    assert last_day("2019-02") == date(2019, 2, 28)
    assert last_day("2019-02-10T08:00:00Z") == date(2019, 2, 10)
    assert first_day(None) is None
    with pytest.raises(ValueError):
        first_day("May 2019")


def test_icd10_codes_kept_as_sent_and_normalized_for_matching() -> None:
    dotted = {"system": ICD10CM, "code": "G90.52"}
    plain = {"system": ICD10CM, "code": "G9052"}
    conditions = [
        {"resourceType": "Condition", "id": f"c{i}", "subject": {"reference": "Patient/p1"}, "code": {"coding": [c]}}
        for i, c in enumerate((dotted, plain))
    ]
    record = parse(bundle(PATIENT, *conditions)).facts
    codes = [c.codes[0].code for c in record.conditions]
    assert codes == ["G90.52", "G9052"]
    assert {normalize_icd10(code) for code in codes} == {"G9052"}
    assert normalize_icd10(" g90.52 ") == "G9052"
    assert isinstance(record.conditions[0], ConditionFact)


def test_supply_duration_units() -> None:
    def days(duration: dict[str, Any]) -> float | None:
        resource = med_request(dispenseRequest={"expectedSupplyDuration": duration})
        parsed = parse(bundle(PATIENT, resource))
        return parsed.facts.medications[0].expected_supply_days

    assert days({"value": 30, "system": "http://unitsofmeasure.org", "code": "d"}) == 30.0
    assert days({"value": 2, "unit": "weeks"}) == 14.0
    assert days({"value": 1, "code": "mo", "system": "http://unitsofmeasure.org"}) == 30.4375
    resource = med_request(dispenseRequest={"expectedSupplyDuration": {"value": 3, "unit": "fortnights"}})
    parsed = parse(bundle(PATIENT, resource))
    assert parsed.facts.medications[0].expected_supply_days is None
    assert parsed.warnings == (
        "Bundle.entry[1].resource.dispenseRequest.expectedSupplyDuration: duration 3.0 'fortnights' is not a "
        "number of time units; supply days not read",
    )


def test_partial_dates_never_make_a_patient_older_or_a_pain_longer() -> None:
    """Partial birthDate, recordedDate and onset read as the last day they can mean."""
    patient = {"resourceType": "Patient", "id": "p", "birthDate": "1990"}
    condition = {
        "resourceType": "Condition",
        "id": "c",
        "subject": {"reference": "Patient/p"},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G90.522"}]},
        "recordedDate": "2025-02",
    }
    record = parse_resources([patient, condition]).facts
    assert record.patient.birth_date == date(1990, 12, 31)
    assert record.conditions[0].recorded == date(2025, 2, 28)
    assert record.conditions[0].date == date(2025, 2, 28)


def test_assumptions_are_reported_as_warnings() -> None:
    by_identifier = observation(subject={"identifier": {"system": "urn:mrn", "value": "1"}})
    medication = {
        "resourceType": "Medication",
        "id": "m1",
        "code": {"coding": [{"system": RXNORM, "code": "310431"}]},
        "ingredient": [{"itemReference": {"reference": "Substance/not-sent"}}],
    }
    request = med_request(medicationCodeableConcept=None, medicationReference={"reference": "Medication/m1"})
    parsed = parse(bundle(PATIENT, by_identifier, medication, request))
    assert parsed.warnings == (
        "Bundle.entry[1].resource.subject: subject has no literal reference; read as belonging to Patient/p1",
        "Bundle.entry[2].resource.ingredient[0].itemReference.reference: ingredient 'Substance/not-sent' is not "
        "in this record; its code is not read",
    )
    assert parsed.facts.medications[0].codes == (Coding(RXNORM, "310431"),)
    assert len(parsed.facts.observations) == 1
