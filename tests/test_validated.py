"""R4B validation is remembered per exact entry, only when it passed, and within a bound."""

from __future__ import annotations

from typing import Any

import pytest

from eligibility.errors import InvalidResourceError
from fhir_adapters import validated
from fhir_adapters.canonical import entry_body
from fhir_adapters.validated import ValidatedCache

CONDITION = {"resourceType": "Condition", "id": "c", "subject": {"reference": "Patient/p"}, "code": {"text": "pain"}}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = validated.validate_resource

    def counting(resource: dict[str, Any], at: Any) -> None:
        seen.append(str(resource.get("id")))
        real(resource, at)

    monkeypatch.setattr(validated, "validate_resource", counting)
    return seen


def _validate(cache: ValidatedCache, resource: dict[str, Any]) -> None:
    cache.validate(resource, entry_body({"resource": resource}), lambda path: f"Condition.{path}")


def test_an_entry_that_validated_is_not_validated_again_but_any_change_is(calls: list[str]) -> None:
    cache = ValidatedCache()
    _validate(cache, CONDITION)
    _validate(cache, dict(CONDITION))  # equal content, another dict
    assert calls == ["c"] and (cache.hits, cache.misses) == (1, 1)
    _validate(cache, {**CONDITION, "code": {"text": "pain, left foot"}})
    assert calls == ["c", "c"]


def test_an_invalid_resource_is_refused_every_time(calls: list[str]) -> None:
    cache = ValidatedCache()
    invalid = {**CONDITION, "onsetDateTime": "yesterday"}
    for _ in range(2):
        with pytest.raises(InvalidResourceError, match="fails FHIR R4B validation"):
            _validate(cache, invalid)
    assert calls == ["c", "c"] and cache.hits == 0


def test_the_cache_forgets_the_least_recently_used_beyond_its_size(calls: list[str]) -> None:
    cache = ValidatedCache(size=2)
    first, second, third = ({**CONDITION, "id": name} for name in ("a", "b", "c"))
    for resource in (first, second, first, third, first, second):
        _validate(cache, resource)
    assert calls == ["a", "b", "c", "b"]  # "a" stayed in use; "b" was the oldest when "c" came
