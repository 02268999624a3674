"""The audit key, and HMAC-signed checkpoints of the chain head.

The chain links are keyed (see chain.py), so nobody without the key can edit, insert or reorder a
record and make it verify. What a chain alone cannot show is that records were cut off its end: the
shortened chain is still valid. A checkpoint is the system's signed statement "at seq N the head was
H", written every `checkpoint_every` records (and on demand with `audit checkpoint`); verify checks
that every signed head still exists. An auditor who keeps a copy of a head (`audit head`) can later
prove with `verify --anchor` that nothing up to it was removed or changed, even by a key holder.

The key comes from settings (`DRG_ELIGIBILITY_AUDIT_HMAC_KEY`); outside development and test the
store refuses to start with the development default or a key shorter than 32 characters.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from eligibility.audit.chain import GENESIS, canonical_json
from eligibility.audit.models import AuditCheckpoint
from eligibility.errors import AuditError
from eligibility.settings import DEV_HMAC_KEY, Settings

__all__ = [
    "MIN_KEY_LENGTH",
    "Checkpoint",
    "Signer",
    "latest_checkpoint",
    "maybe_checkpoint",
    "signer_from_settings",
    "write_checkpoint",
]

MIN_KEY_LENGTH = 32
_RELAXED_ENVIRONMENTS = frozenset({"development", "test"})


@dataclass(frozen=True, slots=True)
class Signer:
    """The audit key and what is derived from it: the chain key, the checkpoint key, a key id."""

    key: bytes
    every: int  # sign after this many records; 0 turns automatic checkpoints off

    def _derive(self, purpose: bytes) -> bytes:
        return hmac.digest(self.key, b"drg-eligibility/" + purpose, "sha256")

    @property
    def chain_key(self) -> bytes:
        return self._derive(b"audit-chain/v1")

    @property
    def key_id(self) -> str:
        """A public fingerprint of the key, so verify can tell "other key" from "forged"."""
        return hashlib.sha256(b"drg-eligibility/audit-key-id\n" + self.key).hexdigest()[:16]

    def sign(self, fields: dict[str, Any]) -> str:
        return hmac.new(self._derive(b"audit-checkpoint/v1"), canonical_json(fields), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    id: int
    record_seq: int
    chain_hash: str
    created_at: str
    key_id: str
    prev_signature: str
    signature: str

    def signed_fields(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "record_seq": self.record_seq,
            "chain_hash": self.chain_hash,
            "created_at": self.created_at,
            "key_id": self.key_id,
            "prev_signature": self.prev_signature,
        }

    def token(self) -> str:
        """What an auditor keeps: enough to re-check this head later with `verify --anchor`."""
        return f"{self.record_seq}:{self.chain_hash}"


def signer_from_settings(settings: Settings) -> Signer:
    key = settings.audit_hmac_key
    if not key:
        raise AuditError("refusing to start: DRG_ELIGIBILITY_AUDIT_HMAC_KEY is empty")
    if settings.environment not in _RELAXED_ENVIRONMENTS:
        if key == DEV_HMAC_KEY:
            raise AuditError(
                f"refusing to start in environment {settings.environment!r}: the audit HMAC key is the "
                "development default; set DRG_ELIGIBILITY_AUDIT_HMAC_KEY to a secret of at least "
                f"{MIN_KEY_LENGTH} characters"
            )
        if len(key) < MIN_KEY_LENGTH:
            raise AuditError(
                f"refusing to start in environment {settings.environment!r}: the audit HMAC key has "
                f"{len(key)} characters, at least {MIN_KEY_LENGTH} are required"
            )
    return Signer(key=key.encode("utf-8"), every=max(settings.checkpoint_every, 0))


_COLUMNS = "id, record_seq, chain_hash, created_at, key_id, prev_signature, signature"


def latest_checkpoint(session: Session) -> Checkpoint | None:
    row = session.execute(text(f"SELECT {_COLUMNS} FROM audit_checkpoint ORDER BY id DESC LIMIT 1")).first()
    return None if row is None else Checkpoint(*row)


def write_checkpoint(
    session: Session, *, record_seq: int, chain_hash: str, created_at: str, signer: Signer
) -> Checkpoint:
    """Sign the head `record_seq`/`chain_hash`. Call with the chain lock held (see store.append)."""
    last = latest_checkpoint(session)
    if last is not None and last.record_seq == record_seq:
        return last
    if last is not None and last.record_seq > record_seq:
        raise AuditError(f"checkpoint {last.id} already covers seq {last.record_seq} > {record_seq}")
    unsigned = Checkpoint(
        id=1 if last is None else last.id + 1,
        record_seq=record_seq,
        chain_hash=chain_hash,
        created_at=created_at,
        key_id=signer.key_id,
        prev_signature=GENESIS if last is None else last.signature,
        signature="",
    )
    checkpoint = Checkpoint(**{**unsigned.signed_fields(), "signature": signer.sign(unsigned.signed_fields())})
    session.add(AuditCheckpoint(**checkpoint.signed_fields(), signature=checkpoint.signature))
    session.flush()
    return checkpoint


def maybe_checkpoint(
    session: Session, *, prev_seq: int, new_seq: int, chain_hash: str, created_at: str, signer: Signer
) -> Checkpoint | None:
    """Sign the new head when this append crossed a multiple of `signer.every`."""
    if signer.every <= 0 or new_seq // signer.every == prev_seq // signer.every:
        return None
    return write_checkpoint(session, record_seq=new_seq, chain_hash=chain_hash, created_at=created_at, signer=signer)
