"""Canonical record content and the hash chain.

Each record's `content_sha256` is SHA-256 over the canonical JSON of its hashed fields (sorted keys,
no whitespace, UTF-8). Its `chain_hash` is a keyed hash (HMAC-SHA-256 with the chain key derived from
the audit key) over a version tag, the previous record's `chain_hash` and its own `content_sha256`.
Changing, removing, inserting or reordering any record therefore breaks the links after it, and,
because the link is keyed, whoever can write the database but does not hold the key cannot
recompute the chain to hide an edit or append a forged record that verifies. The first record links
to `GENESIS`.

The sequence number is hashed too: swapping two records' `seq` breaks both content hashes even if
their payloads are untouched.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import orjson

from eligibility.audit.record import HASHED_FIELDS

__all__ = [
    "GENESIS",
    "canonical_json",
    "chain_link",
    "content_sha256",
    "sha256_hex",
]

GENESIS = "0" * 64
_LINK_TAG = b"drg-eligibility/audit-chain/v1\n"


def canonical_json(value: Any) -> bytes:
    """The one JSON serialisation whose bytes are hashed: sorted keys, compact, UTF-8."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_sha256(row: Mapping[Any, Any]) -> str:
    return sha256_hex(canonical_json({name: row[name] for name in HASHED_FIELDS}))


def chain_link(chain_key: bytes, prev_hash: str, content_hash: str) -> str:
    message = _LINK_TAG + prev_hash.encode("ascii") + b"\n" + content_hash.encode("ascii")
    return hmac.digest(chain_key, message, "sha256").hex()
