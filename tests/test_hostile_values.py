"""No number, date or depth anywhere the adapters read one gives a 500 (issue 12, item 4).

The instances found by hand (pain 1e-5 and 5e-324, asOf 9999-12-31 and 0001-01-01, onset 0001-01-01,
an extension nested 300 deep) were members of classes: numbers the rules engine could not read,
dates at the ends of the calendar, nesting past the interpreter's stack. Hypothesis draws from each
class at every place of the example record that holds one; each draw must end in a decision or a
typed input error (a 4xx at the API), never in anything the API would answer 500.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from eligibility.api.errors import status_for
from eligibility.service import Rejected, evaluate_one
from tests.conftest import EXAMPLES


def _base() -> dict[str, Any]:
    """The example, plus the numbers the adapters turn into dates: a supply duration, repeats, an onset age."""
    bundle: dict[str, Any] = json.loads((EXAMPLES / "crps-left-foot.json").read_bytes())
    request = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "MedicationRequest")
    request["dispenseRequest"] = {
        "numberOfRepeatsAllowed": 2,
        "expectedSupplyDuration": {"value": 30, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"},
    }
    condition = copy.deepcopy(next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition"))
    condition["fullUrl"] = condition["fullUrl"] + "-by-age"
    condition["resource"]["id"] += "-by-age"
    condition["resource"].pop("onsetDateTime", None)
    condition["resource"]["onsetAge"] = {"value": 46, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a"}
    bundle["entry"].append(condition)
    return bundle


BASE = _base()
AS_OF = date(2026, 11, 20)
DATE_KEYS = ("Date", "DateTime", "Instant")
Path = tuple[str | int, ...]


def places(node: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from places(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from places(value, (*path, index))
    else:
        yield path, node


NUMBER_PLACES = [p for p, v in places(BASE) if isinstance(v, int | float) and not isinstance(v, bool)]
DATE_PLACES = [
    p for p, v in places(BASE) if isinstance(p[-1], str) and (p[-1].endswith(DATE_KEYS) or p[-1] in ("start", "end"))
]


def replaced(path: Path, value: Any) -> bytes:
    bundle = copy.deepcopy(BASE)
    node: Any = bundle
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return json.dumps(bundle).encode()


def assert_not_a_500(raw: bytes, as_of: date = AS_OF) -> None:
    result = evaluate_one(raw, as_of=as_of)
    if isinstance(result, Rejected):
        assert status_for(result.error) < 500, f"{type(result.error).__name__}: {result.error}"


NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([1e-5, 5e-324, -5, 11, 1e308, -1e308, 0, 10, 2**63, -(2**63)]),
)
FHIR_DATES = st.one_of(
    st.sampled_from(["0001-01-01", "9999-12-31", "0001", "9999-12", "0001-01-01T00:00:00Z"]),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).flatmap(
        lambda d: st.sampled_from([d.isoformat(), d.isoformat()[:7], d.isoformat()[:4], f"{d.isoformat()}T12:00:00Z"])
    ),
)
CALENDAR_ENDS = [date(1, 1, 1), date(9999, 12, 31)]
CHECKS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def place_of(resource_id: str, *tail: str | int) -> Path:
    index = next(i for i, e in enumerate(BASE["entry"]) if e["resource"].get("id") == resource_id)
    return ("entry", index, "resource", *tail)


LATEST_PAIN = place_of("pain-5", "valueQuantity", "value")
SUPPLY = place_of("med-duloxetine", "dispenseRequest", "expectedSupplyDuration", "value")
ONSET = place_of("dx-crps", "onsetDateTime")


def test_the_example_has_places_of_each_kind() -> None:
    assert len(NUMBER_PLACES) >= 8 and len(DATE_PLACES) >= 10  # the draws below reach real fields
    assert_not_a_500(json.dumps(BASE).encode())


@CHECKS
@given(place=st.sampled_from(NUMBER_PLACES), value=NUMBERS)
@example(place=LATEST_PAIN, value=1e-5)  # the instances of the issue: each was a 500 before
@example(place=LATEST_PAIN, value=5e-324)
@example(place=SUPPLY, value=1e308)
def test_any_number_anywhere(place: Path, value: float) -> None:
    assert_not_a_500(replaced(place, value))


@CHECKS
@given(place=st.sampled_from(DATE_PLACES), value=FHIR_DATES)
@example(place=ONSET, value="0001-01-01")
def test_any_date_anywhere(place: Path, value: str) -> None:
    assert_not_a_500(replaced(place, value))


@CHECKS
@given(as_of=st.one_of(st.sampled_from(CALENDAR_ENDS), st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))))
@example(as_of=date(9999, 12, 31))
@example(as_of=date(1, 1, 1))
def test_any_as_of(as_of: date) -> None:
    assert_not_a_500(json.dumps(BASE).encode(), as_of)


@CHECKS
@given(depth=st.integers(min_value=0, max_value=900), where=st.sampled_from(["extension", "modifierExtension"]))
@example(depth=300, where="extension")
def test_any_depth_of_extensions(depth: int, where: str) -> None:
    extension: dict[str, Any] = {"url": "http://example.org/x", "valueString": "a"}
    for _ in range(depth):
        extension = {"url": "http://example.org/x", "extension": [extension]}
    bundle = copy.deepcopy(BASE)
    bundle["entry"][0]["resource"][where] = [extension]
    assert_not_a_500(json.dumps(bundle).encode())
