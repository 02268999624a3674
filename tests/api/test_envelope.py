"""The operation's body: a Bundle goes to the worker as sent; a Parameters is unwrapped, however it is spelt."""

from __future__ import annotations

from datetime import date

import orjson

from eligibility.api.envelope import unwrap

BUNDLE = orjson.dumps(
    {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient"}}]}
)


def test_a_bundle_is_passed_on_byte_for_byte() -> None:
    found = unwrap(BUNDLE)
    assert (found.bundle, found.as_of, found.location_prefix) == (BUNDLE, None, "")


def test_a_parameters_is_unwrapped_even_with_its_type_escaped() -> None:
    plain = b'{"resourceType": "Parameters", "parameter": [{"name": "asOf", "valueDate": "2026-01-02"}, '
    plain += b'{"name": "bundle", "resource": ' + BUNDLE + b"}]}"
    escaped = plain.replace(b'"Parameters"', b'"Param\\u0065ters"')
    for body in (plain, escaped):
        found = unwrap(body)
        assert orjson.loads(found.bundle) == orjson.loads(BUNDLE)
        assert (found.as_of, found.location_prefix) == (date(2026, 1, 2), "Parameters.parameter[1].resource")
