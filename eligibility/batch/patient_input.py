"""One patient's submission, as the single-patient path would receive it, built from exported lines.

The lines are wrapped, byte for byte, as the entries of a `collection` Bundle: no fullUrl is invented
and nothing is re-serialised, so the adapter sees exactly the resources of the export and the
canonical input (and its SHA-256) equals that of any Bundle or NDJSON holding the same resources.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

__all__ = ["bundle_of", "export_location"]

_HEAD = b'{"resourceType":"Bundle","type":"collection","entry":[{"resource":'
_BETWEEN = b'},{"resource":'
_TAIL = b"}]}"
_ENTRY = re.compile(r"Bundle\.entry\[(\d+)\]\.resource(?:\.(.*))?")


def bundle_of(lines: Sequence[bytes]) -> bytes:
    """A Bundle whose entries are `lines` (each a JSON object: the scan parsed every one)."""
    return _HEAD + _BETWEEN.join(lines) + _TAIL


def export_location(location: str | None, source_of_entry: Callable[[int], str]) -> str | None:
    """An adapter location inside the built Bundle, as a place in the export files:
    "Bundle.entry[3].resource.status" -> "Observation.ndjson line 42: status"."""
    if location is None:
        return None
    match = _ENTRY.fullmatch(location)
    if match is None:
        return None
    index = int(match.group(1))
    where = source_of_entry(index)
    return f"{where}: {match.group(2)}" if match.group(2) else where
