"""The read set leaves out only what no rule reads: every decision is the same with and without it.

Bulk runs decide from the lines `ReadSet.for_policy` keeps (fhir_adapters/read_set.py). Every decision case
holds only what its decision needs, so the filter must keep all of it (a value set missing from
eligibility/derive/reads.py shows here); the Synthea samples, mostly unread, must decide the same from
the whole Bundle and from the reduced one. Equal means equal clinical content except the input hash,
which names what was read.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from eligibility.errors import PolicyError
from eligibility.from_fhir import decide, resolve_policy
from fhir_adapters.read_set import ReadSet
from tests.conftest import SAMPLES

CASES = sorted((Path(__file__).resolve().parent / "cases").glob("[0-9][0-9][0-9]-*.json"))
SYNTHEA = sorted(SAMPLES.glob("*_*-*.json")) if SAMPLES.exists() else []
VITALS = {"resourceType": "Observation", "id": "bmi", "status": "final", "subject": {"reference": "Patient/p"}}


def _reduce(bundle: dict[str, Any], read_set: ReadSet) -> tuple[dict[str, Any], int]:
    kept, dropped = [], 0
    for entry in bundle.get("entry", []):
        resource = entry.get("resource")
        if resource is None or read_set.reads_resource(resource):
            kept.append(entry)
        else:
            dropped += 1
    return {**bundle, "entry": kept}, dropped


def _content(bundle: dict[str, Any], as_of: date, policy: str) -> dict[str, object]:
    decision = decide(orjson.dumps(bundle), as_of=as_of, policy=policy, decision_id="d", evaluated_at="t")
    content = decision.clinical_content()
    content.pop("input_sha256")
    return content


def test_every_decision_case_decides_the_same_from_what_the_policy_reads() -> None:
    coded = 0
    for path in CASES:
        case = json.loads(path.read_text())
        policy = resolve_policy(case.get("policy"))
        reduced, dropped = _reduce(case["bundle"], ReadSet.for_policy(policy))
        assert dropped == 0, path.name  # each case holds only what it needs: the filter must keep all of it
        types = [entry.get("resource", {}).get("resourceType") for entry in case["bundle"]["entry"]]
        coded += types.count("Observation") + types.count("Encounter")
        as_of = date.fromisoformat(case["as_of"])
        assert _content(reduced, as_of, policy.key) == _content(case["bundle"], as_of, policy.key), path.name
    assert len(CASES) > 100
    assert coded > 50  # pain scores, smoking, pregnancy, trial relief, therapy and evaluation visits


@pytest.mark.parametrize("path", SYNTHEA, ids=[p.name[:20] for p in SYNTHEA])
def test_synthea_records_decide_the_same_from_what_the_policy_reads(path: Path) -> None:
    bundle = json.loads(path.read_bytes())
    policy = resolve_policy(None)
    reduced, dropped = _reduce(bundle, ReadSet.for_policy(policy))
    assert dropped > len(reduced["entry"])  # most of a Synthea record is not read
    for as_of in (date(2026, 11, 20), date(2015, 1, 1)):
        assert _content(reduced, as_of, policy.key) == _content(bundle, as_of, policy.key)


@pytest.fixture(scope="module")
def read_set() -> ReadSet:
    return ReadSet.for_policy(resolve_policy(None))


def _reads(read_set: ReadSet, resource: dict[str, Any], line: bytes | None = None) -> bool:
    return read_set.reads(resource["resourceType"], resource, orjson.dumps(resource) if line is None else line)


def test_types_the_rules_do_not_read_are_left_out(read_set: ReadSet) -> None:
    assert not _reads(read_set, {"resourceType": "Claim", "patient": {"reference": "Patient/p"}})
    assert not _reads(read_set, {"resourceType": "DocumentReference", "status": "current"})
    for kept in ("Patient", "Condition", "MedicationRequest", "Medication", "Procedure", "Device"):
        assert _reads(read_set, {"resourceType": kept})


def test_observations_and_encounters_are_read_by_code(read_set: ReadSet) -> None:
    vitals = {**VITALS, "code": {"coding": [{"system": "http://loinc.org", "code": "39156-5"}]}}
    pain = {**VITALS, "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]}}
    assert not _reads(read_set, vitals)
    assert _reads(read_set, pain)
    # A code anywhere counts (here a second coding of the concept), and the system is not compared.
    two = {**VITALS, "code": {"coding": [{"code": "x"}, {"system": "urn:other", "code": "72166-2"}]}}
    assert _reads(read_set, two)
    visit = {"resourceType": "Encounter", "class": {"code": "AMB"}, "type": [{"coding": [{"code": "185349003"}]}]}
    therapy = {"resourceType": "Encounter", "class": {"code": "AMB"}, "type": [{"coding": [{"code": "97110"}]}]}
    assert not _reads(read_set, visit)
    assert _reads(read_set, therapy)
    # Without a code no rule can read it: left out unvalidated, like any resource no rule reads.
    assert not _reads(read_set, {"resourceType": "Observation"})


def test_escaped_json_is_read_from_the_parsed_resource(read_set: ReadSet) -> None:
    pain = {**VITALS, "code": {"coding": [{"code": "72514-3"}]}}
    escaped = b'{"resourceType":"Observation","code":{"coding":[{"\\u0063ode":"72514\\u002d3"}]}}'
    assert orjson.loads(escaped) == {"resourceType": "Observation", "code": {"coding": [{"code": "72514-3"}]}}
    assert _reads(read_set, orjson.loads(escaped), escaped)
    assert _reads(read_set, pain, orjson.dumps(pain).replace(b"72514-3", b"72514\\u002d3"))
    assert not _reads(read_set, VITALS, b'{"resourceType":"Observation","note":[{"text":"a \\"quote\\""}]}')


def test_everything_reads_every_line() -> None:
    everything = ReadSet.everything()
    assert everything.reads_everything
    assert everything.reads("Claim", {}, b"{}")
    assert everything.reads("Observation", {}, b"{}")


def test_a_value_set_with_icd10_codes_cannot_filter_lines() -> None:
    policy = resolve_policy(None)
    broken = dict(policy.valuesets)
    broken["pain_score"] = {**broken["pain_score"], "icd10": ["R52"]}
    with pytest.raises(PolicyError, match="ICD-10"):
        ReadSet.for_policy(type(policy)(**{**policy.__dict__, "valuesets": broken}))


def test_a_line_is_left_out_unparsed_only_when_that_is_certain(read_set: ReadSet) -> None:
    vitals = b'{"resourceType":"Observation","id":"v","code":{"coding":[{"code":"39156-5"}]},"status":"final"}'
    assert read_set.left_out_unparsed("Observation", vitals)
    uncertain = {
        "a code the policy reads": vitals.replace(b"39156-5", b"72514-3"),
        "another type than the file's": vitals.replace(b"Observation", b"Condition", 1),
        "a longer type name": vitals.replace(b"Observation", b"ObservationDefinition", 1),
        "resourceType not first": b'{"id":"v",' + vitals[1:].replace(b',"id":"v"', b""),
        "a contained or repeated resourceType": vitals[:-1] + b',"contained":[{"resourceType":"Condition"}]}',
        "escapes": vitals.replace(b"final", b"fin\\u0061l"),
        "cut off": vitals[:-10],
    }
    for why, line in uncertain.items():
        assert not read_set.left_out_unparsed("Observation", line), why
    # Types read whatever their codes are never left out unparsed.
    condition = vitals.replace(b"Observation", b"Condition", 1)
    assert not read_set.left_out_unparsed("Condition", condition)
    assert not ReadSet.everything().left_out_unparsed("Observation", vitals)
