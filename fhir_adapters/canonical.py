"""The canonical, order-independent form of a submission, which `input_sha256` identifies.

A Bundle `{"resourceType": "Bundle", "type": ..., "entry": [...]}` with the entries exactly as sent,
sorted by (resourceType, id, fullUrl, entry bytes), serialized by orjson with sorted keys. The Bundle's
own envelope (id, meta, timestamp, link) is left out: two exports of the same record differ there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

__all__ = ["canonical_bundle", "entry_body", "sha256_hex"]


def _key_part(value: Any) -> str:
    return "" if value is None else str(value)


def entry_body(entry: dict[str, Any]) -> bytes:
    """One entry as it appears in the canonical form (the pipeline also scans it for codes and references)."""
    return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)


def canonical_bundle(
    bundle_type: str, entries: Iterable[dict[str, Any]], bodies: Sequence[bytes] | None = None
) -> bytes:
    """`bodies`, when given, are `entry_body` of each entry, in order (made once by the caller)."""
    keyed: list[tuple[tuple[str, str, str, bytes], bytes]] = []
    for position, entry in enumerate(entries):
        body = entry_body(entry) if bodies is None else bodies[position]
        resource = entry.get("resource")
        resource = resource if isinstance(resource, dict) else {}
        key = (
            _key_part(resource.get("resourceType")),
            _key_part(resource.get("id")),
            _key_part(entry.get("fullUrl")),
            body,
        )
        keyed.append((key, body))
    keyed.sort(key=lambda pair: pair[0])
    # Assembled by hand to serialize each entry once; the bytes equal
    # orjson.dumps(bundle, option=OPT_SORT_KEYS) ("entry" < "resourceType" < "type").
    return b"".join(
        (
            b'{"entry":[',
            b",".join(body for _, body in keyed),
            b'],"resourceType":"Bundle","type":',
            orjson.dumps(bundle_type),
            b"}",
        )
    )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
