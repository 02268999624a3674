"""What a checkpoint's signature covers, written once: the database's checkpoints and the witness's
lines are verified against the same fields, so they cannot drift apart."""

from __future__ import annotations

from typing import Any

__all__ = ["checkpoint_signed_fields"]


def checkpoint_signed_fields(
    *, checkpoint_id: int, record_seq: int, chain_hash: str, created_at: str, key_id: str, prev_signature: str
) -> dict[str, Any]:
    return {
        "id": checkpoint_id,
        "record_seq": record_seq,
        "chain_hash": chain_hash,
        "created_at": created_at,
        "key_id": key_id,
        "prev_signature": prev_signature,
    }
