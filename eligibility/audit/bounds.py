"""Bounded text for what strangers can make the trail store.

The trail is append-only: whatever a refused call makes it store stays for good. A CDS call with a
1 MB `iss` used to leave a 1 MB error message per refusal. Every free-text field of a rejection
record is therefore cut to a fixed length; what was cut is represented by its length and SHA-256,
so the record still proves what was received without holding it.
"""

from __future__ import annotations

import hashlib

__all__ = ["MAX_LOCATION_CHARS", "MAX_MESSAGE_CHARS", "MAX_NAME_CHARS", "bounded"]

MAX_MESSAGE_CHARS = 4000
MAX_LOCATION_CHARS = 300
MAX_NAME_CHARS = 100


def bounded(text: str | None, limit: int) -> str | None:
    """`text` itself when short enough; else its head and `[cut: N characters, sha256 …]`."""
    if text is None or len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{text[:limit]}… [cut: {len(text)} characters, sha256 {digest}]"
