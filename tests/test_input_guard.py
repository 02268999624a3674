"""Duplicate keys are refused, and an out-of-range latest pain score is said, not skipped silently.

Issue 12, item 5: two `birthDate`s or two `resourceType`s used to be read "last wins" and changed
the decision unseen; a latest pain score of 11, -5 or 1e308 was skipped and the criterion named an
older score without saying why.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eligibility.errors import InputError
from eligibility.policy import load_policy
from eligibility.service import Evaluated, evaluate_one
from fhir_adapters import json_guard, parse_input
from fhir_adapters.json_guard import MAX_DEPTH, check_document
from fhir_adapters.read_set import ReadSet
from tests.conftest import EXAMPLES, SAMPLES

BASE: dict[str, Any] = json.loads((EXAMPLES / "crps-left-foot.json").read_bytes())
PATIENT = '{"resourceType":"Patient","id":"p1","birthDate":"1978-03-14"'


@pytest.mark.parametrize(
    "text",
    [
        PATIENT + ',"birthDate":"2015-01-01"}',
        PATIENT + ',"birthDate" : "2015-01-01"}',  # white space before the colon
        PATIENT + ',"gender":"female","text":{"div":"a \\": b","div":"c"}}',  # an escaped quote before a colon
        '{"resourceType":"Patient","resourceType":"Observation","id":"p1"}',
    ],
)
def test_duplicate_keys_are_refused_naming_the_key(text: str) -> None:
    with pytest.raises(InputError, match="appears more than once in one object") as caught:
        parse_input(text.encode())
    assert "key" in (caught.value.location or "")


@pytest.mark.parametrize(
    "text",
    [
        PATIENT + "}",
        PATIENT + ',"name":[{"text":"says \\"birthDate\\": no"}]}',  # keys inside strings are not keys
        PATIENT + ',"name":[{"text":"ends with a backslash \\\\"}]}',
        PATIENT.replace(":", " : ") + "}",
        PATIENT + ',"name":[{"text":":-)"}]}',  # a string that starts with a colon looks like a key end
        PATIENT.replace(":", " : ") + ',"name":[{"text":" :-)"}]}',
    ],
)
def test_unique_keys_with_escapes_and_spaces_are_read(text: str) -> None:
    assert parse_input(text.encode()).facts.patient.reference == "Patient/p1"


def test_the_shared_synthea_samples_have_no_duplicate_keys() -> None:
    samples = sorted(SAMPLES.glob("*.json"))
    if not samples:
        pytest.skip(f"no samples in {SAMPLES}")
    for sample in samples:  # compact and indented: the key count must agree with the parser either way
        data = sample.read_bytes()
        check_document(orjson.loads(data), data, root="$")
        indented = orjson.dumps(orjson.loads(data), option=orjson.OPT_INDENT_2)
        check_document(orjson.loads(indented), indented, root="$")


def with_latest_pain(value: float) -> bytes:
    bundle = copy.deepcopy(BASE)
    latest = next(e["resource"] for e in bundle["entry"] if e["resource"].get("id") == "pain-5")
    latest["valueQuantity"]["value"] = value
    return json.dumps(bundle).encode()


@pytest.mark.parametrize("value", [11, -5, 1e308])
def test_an_out_of_range_latest_pain_score_is_said_in_the_reason_and_as_a_warning(value: float) -> None:
    result = evaluate_one(with_latest_pain(value), as_of=date(2026, 11, 20))
    assert isinstance(result, Evaluated)
    severity = result.decision.criterion("pain_severity")
    assert severity.reason.startswith("Latest pain score 7/10 on 2026-09-12")  # the older score that was used
    assert f"A later pain score of {value:g} on 2026-10-30 (Observation/pain-5) is outside 0-10" in severity.reason
    assert severity.warnings == [
        f"Observation/pain-5: pain score {value:g} on 2026-10-30 is outside 0-10 and was not used; "
        "the latest score in range was used instead"
    ]
    assert result.record["criteria"][4]["warnings"] == severity.warnings  # in the recorded decision too


def test_a_decision_without_warnings_keeps_its_recorded_shape() -> None:
    result = evaluate_one(json.dumps(BASE).encode(), as_of=date(2026, 11, 20))
    assert isinstance(result, Evaluated)
    assert all("warnings" not in criterion for criterion in result.record["criteria"])  # replay of old records


@pytest.mark.parametrize("body", [b"null", b"1", b"true", b'"text"', b"[]", b"[null, 1]"])
def test_a_document_that_is_not_an_object_is_an_input_error_not_a_crash(body: bytes) -> None:
    """The guard walks containers only: a bare scalar (found by the API contract test: `null`) is refused
    by the reader as not FHIR, never a TypeError."""
    check_document(orjson.loads(body), body, root="$")  # nothing to walk, nothing refused here
    with pytest.raises(InputError):
        parse_input(body)


def _nest(levels: int, kind: str, leaf: Any) -> Any:
    node = leaf
    for level in range(levels):
        node = [node] if kind == "list" or (kind == "mixed" and level % 2) else {"a": node}
    return node


@pytest.mark.parametrize("kind", ["list", "dict", "mixed"])
@pytest.mark.parametrize("leaf", [1, "x", None, [], {}])
@pytest.mark.parametrize("levels", [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 2, 300])
def test_the_fast_depth_check_refuses_exactly_what_the_exact_walk_refuses(levels: int, kind: str, leaf: Any) -> None:
    """check_document decides depth by serialising inside lists up to orjson's own limit; the exact walk
    it replaced is the reference (a container leaf is one more level)."""
    document = _nest(levels, kind, leaf)
    data = json.dumps(document).encode()  # orjson itself writes at most 254 levels

    def refused(check: Any) -> bool:
        try:
            check()
        except InputError:
            return True
        return False

    fast = refused(lambda: check_document(document, data, root="$"))
    exact = refused(lambda: json_guard._walk(document, "$"))
    assert fast == exact
    assert fast == (levels + isinstance(leaf, list | dict) > MAX_DEPTH)


def test_a_document_orjson_cannot_serialise_is_checked_by_the_exact_walk() -> None:
    big = {"resourceType": "Patient", "id": "p1", "multipleBirthInteger": 2**70}  # beyond orjson's 64 bits
    data = json.dumps(big).encode()
    assert check_document(big, data, root="$") is True  # dates then looked for exactly
    twice = data.replace(b'"id"', b'"id": "p0", "id"')
    with pytest.raises(InputError, match="'id' appears more than once"):
        check_document(json.loads(twice), twice, root="$")


def _with(resource: dict[str, Any]) -> bytes:
    bundle = copy.deepcopy(BASE)
    bundle["entry"].append({"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource})
    return json.dumps(bundle).encode()


VITAL = {
    "resourceType": "Observation",
    "id": "hr-1",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
    "subject": {"reference": "Patient/pt-crps-1"},
    "valueQuantity": {"value": 72, "unit": "/min"},
}


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31T00:00:00Z", "2201"])
def test_an_edge_date_where_the_policy_does_not_read_is_a_located_warning(value: str) -> None:
    raw = _with({**VITAL, "effectiveDateTime": value})
    parsed = parse_input(raw, reads=ReadSet.for_policy(load_policy(None)))
    [problem] = parsed.unread_problems
    assert problem.code == "value" and value in problem.message and "1800-2200" in problem.message
    assert problem.location.endswith(".resource.effectiveDateTime")
    with pytest.raises(InputError, match="outside the years"):  # the same date in a pain score is refused
        parse_input(_with({**VITAL, "code": {"text": "pain"}, "effectiveDateTime": value}), reads=None)


@pytest.mark.parametrize(
    ("text", "location"),
    [
        (PATIENT.replace("1978", "0001") + "}", "Patient.birthDate"),
        (PATIENT.replace('"birthDate"', '"birth\\u0044ate"').replace("1978", "9999") + "}", "Patient.birthDate"),
        (
            '{"resourceType":"Bundle","type":"collection","timestamp":"x","meta":{"lastUpdatedDate":"0001-01-01"},'
            f'"entry":[{{"resource":{PATIENT}}}}}]}}',
            "Bundle.meta.lastUpdatedDate",
        ),
        (
            '{"resourceType":"Bundle","type":"transaction","entry":[{"resource":' + PATIENT + '},'
            '"request":{"method":"PUT","url":"Patient/p1","ifModifiedSinceDate":"9999-01-01"}}]}',
            "Bundle.entry[0].request.ifModifiedSinceDate",
        ),
    ],
)
def test_an_edge_date_where_it_is_read_or_in_the_envelope_is_refused_at_its_location(text: str, location: str) -> None:
    """Even spelt with an escape the text search cannot see: the search runs on orjson's own output."""
    with pytest.raises(InputError, match="outside the years 1800-2200") as caught:
        parse_input(text.encode())
    assert caught.value.location == location


_TEXT = st.text(alphabet=st.sampled_from('a"\\: \n{}[],é'), max_size=6)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(document=_JSON)
def test_duplicates_are_found_and_only_duplicates_in_any_layout(document: Any) -> None:
    """Quotes, backslashes and colons in keys and strings (a string may start with ':'), compact, spaced
    or escaped: a document without duplicates passes, the same with one duplicate key is refused."""
    layouts = [
        orjson.dumps(document),
        json.dumps(document).encode(),
        json.dumps(document, indent=1, separators=(" , ", " : ")).encode(),
        json.dumps(document).replace(":", "\\u003a").replace('"\\u003a ', '": ').encode(),  # colons escaped
    ]
    for text in layouts:
        parsed = json.loads(text)
        assert parsed == document
        check_document(parsed, text, root="$")
        twice = b'{"k":1,"x":' + text + b',"k":2}'
        with pytest.raises(InputError, match="'k' appears more than once"):
            check_document(json.loads(twice), twice, root="$")
