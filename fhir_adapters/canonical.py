"""The canonical, order-independent form of a submission, which `input_sha256` identifies.

A Bundle `{"resourceType": "Bundle", "type": ..., "entry": [...]}` with the entries exactly as sent,
sorted by (resourceType, id, fullUrl, entry bytes), serialized by orjson with sorted keys. The Bundle's
own envelope (id, meta, timestamp, link) is left out: two exports of the same record differ there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import orjson

__all__ = ["canonical_bundle", "sha256_hex"]


def _key_part(value: Any) -> str:
    return "" if value is None else str(value)


def canonical_bundle(bundle_type: str, entries: Iterable[dict[str, Any]]) -> bytes:
    keyed: list[tuple[tuple[str, str, str, bytes], bytes]] = []
    for entry in entries:
        body = orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)
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
