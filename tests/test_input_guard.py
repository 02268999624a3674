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

from eligibility.errors import InputError
from eligibility.service import Evaluated, evaluate_one
from fhir_adapters import parse_input
from fhir_adapters.json_guard import check_document
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
