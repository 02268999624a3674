"""One reading path: validating what the policy reads decides exactly as validating everything.

The single-patient path validates with the R4B models only the resources the policy's `ReadSet` keeps
and checks the rest for structure (fhir_adapters/unread.py); `read_all=True` validates every resource
of a read type, as before. Property: for every decision case, with a chart's worth of vitals, labs,
visits and claims added that no rule reads, and for every shared sample record, both give the same
decision record (outcome, criteria, evidence, actions, summary, and the input hash of the whole
submission). Then: what a problem in an unread resource becomes (a located warning), and that under
`read_all` the same problem still rejects the record.
"""

from __future__ import annotations

import json
import pickle
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from eligibility.errors import DanglingReferenceError, InputError, InvalidResourceError, NotFHIRError
from eligibility.from_fhir import decide, prepare, resolve_policy
from eligibility.service import Evaluated, evaluate_one
from fhir_adapters.models import validate_r4
from fhir_adapters.outbound import operation_result
from fhir_adapters.read_set import ReadSet
from tests.conftest import EXAMPLES, SAMPLES

CASES = sorted((Path(__file__).resolve().parent / "cases").glob("[0-9][0-9][0-9]-*.json"))
RECORDS = sorted(SAMPLES.glob("*.json")) if SAMPLES.exists() else []
LOINC = "http://loinc.org"


def _vital(n: int, patient: str, code: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"noise-obs-{n}",
        "status": "final",
        "category": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": patient},
        "effectiveDateTime": f"2024-03-0{1 + n % 9}T09:30:00Z",
        **value,
    }


def _noise(patient: str) -> list[dict[str, Any]]:
    """What an EHR sends beside what the rules read: vitals, labs, routine visits, a claim."""
    quantity = {"valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}}
    resources = [
        _vital(0, patient, "8867-4", quantity),
        _vital(1, patient, "39156-5", {"valueQuantity": {"value": 27.1, "unit": "kg/m2"}}),
        _vital(2, patient, "718-7", {"valueQuantity": {"value": 13.2, "unit": "g/dL"}}),
        _vital(3, patient, "2345-7", {"valueQuantity": {"value": 98, "unit": "mg/dL"}}),
        {
            **_vital(4, patient, "85354-9", {}),
            "component": [
                {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]}, "valueQuantity": {"value": 128}},
                {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]}, "valueQuantity": {"value": 81}},
            ],
        },
    ]
    for n in range(2):
        resources.append(
            {
                "resourceType": "Encounter",
                "id": f"noise-enc-{n}",
                "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                "type": [{"coding": [{"system": "http://snomed.info/sct", "code": "185349003"}]}],
                "subject": {"reference": patient},
                "participant": [{"individual": {"reference": "Practitioner/not-sent"}}],
                "period": {"start": f"2024-0{n + 1}-10", "end": f"2024-0{n + 1}-10"},
            }
        )
    resources.append(
        {
            "resourceType": "Claim",
            "id": "noise-claim",
            "status": "active",
            "use": "claim",
            "patient": {"reference": patient},
            "created": "2024-01-10",
            "provider": {"reference": "Organization/not-sent"},
            "priority": {"coding": [{"code": "normal"}]},
            "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "Medicaid"}}],
            "item": [
                {"sequence": 1, "productOrService": {"text": "Office visit"}, "encounter": [{"reference": patient}]}
            ],
        }
    )
    return resources


def _patient_reference(bundle: dict[str, Any]) -> str:
    for entry in bundle["entry"]:
        resource = entry.get("resource") or {}
        if resource.get("resourceType") == "Patient":
            return f"Patient/{resource['id']}" if "id" in resource else str(entry["fullUrl"])
    raise AssertionError("no Patient")


def _with_noise(bundle: dict[str, Any]) -> dict[str, Any]:
    noise = [{"resource": resource} for resource in _noise(_patient_reference(bundle))]
    entries = list(bundle["entry"])
    return {**bundle, "entry": entries[:1] + noise[:4] + entries[1:] + noise[4:]}  # interleaved, not appended


def _decision(raw: bytes, as_of: date, policy: str | None, *, read_all: bool) -> dict[str, object]:
    return decide(
        raw, as_of=as_of, policy=policy, decision_id="d", evaluated_at="t", read_all=read_all
    ).clinical_content()


def test_every_decision_case_with_unread_noise_decides_as_with_full_validation() -> None:
    skipped = 0
    for path in CASES:
        case = json.loads(path.read_text())
        as_of, policy = date.fromisoformat(case["as_of"]), case.get("policy")
        read_set = ReadSet.for_policy(resolve_policy(policy))
        noisy = _with_noise(case["bundle"])
        assert not any(read_set.reads_resource(r) for r in _noise("Patient/x")), path.name  # noise is unread
        raw = orjson.dumps(noisy)
        fast = _decision(raw, as_of, policy, read_all=False)
        assert fast == _decision(raw, as_of, policy, read_all=True), path.name
        # ... and the noise changes nothing but the input hash: the decision is the case's own.
        original = _decision(orjson.dumps(case["bundle"]), as_of, policy, read_all=True)
        assert {**fast, "input_sha256": None} == {**original, "input_sha256": None}, path.name
        assert fast["outcome"] == case["expected"]["outcome"], path.name
        parsed = prepare(raw, policy=policy)
        skipped += parsed.resource_count - parsed.read_count
        assert parsed.unread_problems == (), path.name
    assert len(CASES) > 100
    assert skipped >= len(CASES) * len(_noise("Patient/x"))


@pytest.mark.parametrize("path", RECORDS, ids=[p.name[:24] for p in RECORDS])
def test_every_sample_record_decides_or_fails_the_same_on_both_paths(path: Path) -> None:
    raw = path.read_bytes()
    for as_of in (date(2026, 11, 20), date(2015, 1, 1)):
        outcomes: list[object] = []
        for read_all in (False, True):
            try:
                outcomes.append(_decision(raw, as_of, None, read_all=read_all))
            except InputError as exc:
                outcomes.append((type(exc), exc.location, exc.message))
        assert outcomes[0] == outcomes[1]


def test_a_synthea_record_is_mostly_not_validated_yet_wholly_kept() -> None:
    raw = next(p for p in RECORDS if p.name.startswith("Liz_Conn")).read_bytes()
    fast, full = prepare(raw), prepare(raw, read_all=True)
    assert fast.read_count * 3 < fast.resource_count  # most of it is claims, vitals and visits
    assert fast.read_count < full.read_count
    assert (fast.canonical, fast.input_sha256) == (full.canonical, full.input_sha256)  # the audit keeps it all
    assert fast.unread_problems == ()


def _example_with(*extra: dict[str, Any]) -> bytes:
    bundle = json.loads((EXAMPLES / "crps-left-foot.json").read_bytes())
    bundle["entry"] += [{"resource": resource} for resource in extra]
    return orjson.dumps(bundle)


def _heart_rate(**fields: Any) -> dict[str, Any]:
    return {
        **_vital(9, _patient_reference(json.loads((EXAMPLES / "crps-left-foot.json").read_bytes())), "8867-4", {}),
        **fields,
    }


@pytest.mark.parametrize(
    ("resource", "location", "message", "code", "error"),
    [
        (_heart_rate(id="has space"), "id", "is not a FHIR id", "value", InvalidResourceError),
        (
            _heart_rate(subject={"reference": "Patient/someone-else"}),
            "subject.reference",
            "does not resolve in this record",
            "not-found",
            DanglingReferenceError,
        ),
        (
            _heart_rate(hasMember=[{"reference": "urn:uuid:9a1c35a4-0000-4000-8000-000000000000"}]),
            "",
            "does not resolve in this record",
            "not-found",
            None,  # a urn the rules never follow: the full path does not look at it either
        ),
        (_heart_rate(status=7), None, None, None, InvalidResourceError),  # not structural: no warning
    ],
    ids=["bad-id", "dangling-subject", "dangling-urn", "bad-status"],
)
def test_a_problem_in_an_unread_resource_is_a_located_warning_not_a_rejection(
    resource: dict[str, Any], location: str | None, message: str | None, code: str | None, error: type | None
) -> None:
    raw = _example_with(resource)
    entry = len(json.loads(raw)["entry"]) - 1
    parsed = prepare(raw)
    if message is None:
        assert parsed.unread_problems == ()
    else:
        [problem] = parsed.unread_problems
        assert problem.location == f"Bundle.entry[{entry}].resource" + (f".{location}" if location else "")
        assert message in problem.message and problem.code == code
    full = _decision(
        orjson.dumps(json.loads((EXAMPLES / "crps-left-foot.json").read_bytes())),
        date(2026, 11, 20),
        None,
        read_all=True,
    )
    assert {**_decision(raw, date(2026, 11, 20), None, read_all=False), "input_sha256": None} == {
        **full,
        "input_sha256": None,
    }
    if error is None:
        prepare(raw, read_all=True)
    else:
        with pytest.raises(error):
            prepare(raw, read_all=True)


def test_two_unread_resources_sharing_an_identity_warn_but_a_read_one_still_rejects() -> None:
    raw = _example_with(_heart_rate(), _heart_rate())
    [problem] = prepare(raw).unread_problems
    assert problem.code == "duplicate" and problem.location.endswith(".id")
    example = json.loads((EXAMPLES / "crps-left-foot.json").read_bytes())
    condition = next(e["resource"] for e in example["entry"] if e["resource"]["resourceType"] == "Condition")
    with pytest.raises(InvalidResourceError, match="appears twice"):
        prepare(_example_with(condition))


def test_an_unknown_resource_type_is_not_fhir_on_both_paths() -> None:
    raw = _example_with({"resourceType": "Vitals", "id": "v"})
    for read_all in (False, True):
        with pytest.raises(NotFHIRError, match="not a FHIR R4 resource type"):
            prepare(raw, read_all=read_all)


def test_warnings_reach_the_answer_and_survive_the_worker_boundary() -> None:
    result = evaluate_one(_example_with(_heart_rate(id="has space")), as_of=date(2026, 11, 20))
    assert isinstance(result, Evaluated)
    returned = pickle.loads(pickle.dumps(result))
    assert returned.unread_problems == result.unread_problems and len(result.unread_problems) == 1
    body = operation_result(returned.decision, base_url="http://x/fhir", warnings=returned.unread_problems)
    validate_r4(body)  # the Parameters with the warnings OperationOutcome is valid R4
    [outcome] = [p["resource"] for p in body["parameter"] if p["name"] == "outcome"]
    [issue] = outcome["issue"]
    assert issue["severity"] == "warning" and issue["code"] == "value"
    assert issue["expression"] == [result.unread_problems[0].location]
    clean = evaluate_one((EXAMPLES / "crps-left-foot.json").read_bytes(), as_of=date(2026, 11, 20))
    assert isinstance(clean, Evaluated)
    names = [p["name"] for p in operation_result(clean.decision, base_url="http://x/fhir")["parameter"]]
    assert names == ["return", "decision"]  # no outcome when nothing is wrong
