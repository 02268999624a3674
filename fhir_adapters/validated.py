"""R4B validation remembered per resource content, so a chart sent again is not validated again.

`patient-view` fires on every chart opened, and an EHR sends the same Conditions, medications and pain
scores each time; R4B validation of what the policy reads was most of a call (about 0.1 ms a resource,
43 resources in the benchmark chart). Validation is a pure function of the resource's JSON, so a
resource whose exact serialisation (its entry's sorted-key JSON, `canonical.entry_body`) validated
before is valid now. Only successes are remembered: an invalid resource is validated, and reported
with its location, every time. The memory is per process, bounded, and holds digests, not data.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from .models import validate_resource

__all__ = ["ValidatedCache", "process_cache", "validate_once"]


class ValidatedCache:
    """The digests of the entry bodies whose resource passed R4B validation (least recently used out)."""

    def __init__(self, size: int = 50_000) -> None:  # about 5 MB
        self.size = size
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def validate(self, resource: dict[str, Any], body: bytes, at: Callable[[str], str]) -> None:
        digest = hashlib.blake2b(body, digest_size=16).digest()
        if digest in self._seen:
            self._seen.move_to_end(digest)
            self.hits += 1
            return
        self.misses += 1
        validate_resource(resource, at)  # raises for an invalid resource: nothing is remembered
        self._seen[digest] = None
        if len(self._seen) > self.size:
            self._seen.popitem(last=False)

    def clear(self) -> None:
        self._seen.clear()
        self.hits = self.misses = 0


_CACHE = ValidatedCache()


def validate_once(resource: dict[str, Any], body: bytes, at: Callable[[str], str]) -> None:
    """`validate_resource`, skipped when this exact entry validated before in this process."""
    _CACHE.validate(resource, body, at)


def process_cache() -> ValidatedCache:
    """This process's cache (benchmarks clear it to measure a chart seen for the first time)."""
    return _CACHE
