"""The audit key, and HMAC-signed checkpoints of the chain head.

The chain links are keyed (see chain.py), so nobody without the key can edit, insert or reorder a
record and make it verify. What a chain alone cannot show is that records were cut off its end: the
shortened chain is still valid. A checkpoint is the system's signed statement "at seq N the head was
H", written every `checkpoint_every` records (and on demand with `audit checkpoint`); verify checks
that every signed head still exists. An auditor who keeps a copy of a head (`audit head`) can later
prove with `verify --anchor` that nothing up to it was removed or changed, even by a key holder.

Checkpoints are made automatically: when an append crosses a multiple of `checkpoint_every`, and
when the newest checkpoint is older than `checkpoint_interval_s` (the first append to a trail always
signs). Each one is published to the witness (witness.py) once its transaction committed, and none is
signed unless the trail still holds the newest witnessed head (guard.py).

The key comes from settings (`DRG_ELIGIBILITY_AUDIT_HMAC_KEY`); outside development and test the
store refuses to start with the development default or a key shorter than 32 characters, and in
development and test using the default is logged as a warning each time a process takes it up.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from eligibility.audit import guard
from eligibility.audit.chain import GENESIS, canonical_json
from eligibility.audit.models import AuditCheckpoint
from eligibility.audit.signed_fields import checkpoint_signed_fields
from eligibility.audit.witness import Witness, default_witness_path
from eligibility.errors import AuditError
from eligibility.settings import DEV_HMAC_KEY, Settings

__all__ = [
    "MIN_KEY_LENGTH",
    "Checkpoint",
    "Signer",
    "key_fingerprint",
    "latest_checkpoint",
    "maybe_checkpoint",
    "other_key_message",
    "signer_from_settings",
    "witness_from_settings",
    "write_checkpoint",
]

log = logging.getLogger("eligibility.audit")

MIN_KEY_LENGTH = 32
_RELAXED_ENVIRONMENTS = frozenset({"development", "test"})


@dataclass(frozen=True, slots=True)
class Signer:
    """The audit key and what is derived from it: the chain key, the checkpoint key, a key id."""

    key: bytes
    every: int  # sign after this many records; 0 turns automatic checkpoints off
    interval_s: float | None = None  # also sign when the newest checkpoint is older (and on a first append)
    witness: Witness | None = None  # where signed heads are published outside the database

    def _derive(self, purpose: bytes) -> bytes:
        return hmac.digest(self.key, b"drg-eligibility/" + purpose, "sha256")

    @property
    def chain_key(self) -> bytes:
        return self._derive(b"audit-chain/v1")

    @property
    def key_id(self) -> str:
        """A public fingerprint of the key, so verify can tell "other key" from "forged"."""
        return key_fingerprint(self.key)

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
        return checkpoint_signed_fields(
            checkpoint_id=self.id,
            record_seq=self.record_seq,
            chain_hash=self.chain_hash,
            created_at=self.created_at,
            key_id=self.key_id,
            prev_signature=self.prev_signature,
        )

    def token(self) -> str:
        """What an auditor keeps: enough to re-check this head later with `verify --anchor`."""
        return f"{self.record_seq}:{self.chain_hash}"


def key_fingerprint(key: bytes) -> str:
    """Stored with every checkpoint and witness line; reveals nothing about the key."""
    return hashlib.sha256(b"drg-eligibility/audit-key-id\n" + key).hexdigest()[:16]


def other_key_message(trail_key_id: str, configured_key_id: str) -> str:
    return (
        f"this trail was signed with another key (fingerprint {trail_key_id}); the configured "
        f"DRG_ELIGIBILITY_AUDIT_HMAC_KEY has fingerprint {configured_key_id}"
    )


def witness_from_settings(settings: Settings, database_url: str | None = None) -> Witness:
    """The witness configured for the trail at `database_url` (default: settings.database_url)."""
    path = settings.audit_witness_path or default_witness_path(database_url or settings.database_url, settings.data_dir)
    return Witness.at(Path(path), settings.audit_witness_mirror_path)


_warned_dev_key = False


def signer_from_settings(settings: Settings, *, database_url: str | None = None) -> Signer:
    """The signer of the configured trail, publishing to its witness. Refuses an unfit key."""
    global _warned_dev_key
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
    elif key == DEV_HMAC_KEY and not _warned_dev_key:
        _warned_dev_key = True
        log.warning(
            "AUDIT KEY IS THE PUBLIC DEVELOPMENT DEFAULT (environment %r): anyone can forge this trail; "
            "set DRG_ELIGIBILITY_AUDIT_HMAC_KEY (refused outside development and test)",
            settings.environment,
        )
    return Signer(
        key=key.encode("utf-8"),
        every=max(settings.checkpoint_every, 0),
        interval_s=settings.checkpoint_interval_s if settings.checkpoint_interval_s > 0 else None,
        witness=witness_from_settings(settings, database_url),
    )


_COLUMNS = "id, record_seq, chain_hash, created_at, key_id, prev_signature, signature"


def latest_checkpoint(session: Session) -> Checkpoint | None:
    row = session.execute(text(f"SELECT {_COLUMNS} FROM audit_checkpoint ORDER BY id DESC LIMIT 1")).first()
    return None if row is None else Checkpoint(*row)


def write_checkpoint(
    session: Session, *, record_seq: int, chain_hash: str, created_at: str, signer: Signer
) -> Checkpoint:
    """Sign the head `record_seq`/`chain_hash`. Call with the chain lock held (see store.append).

    With a witness, refuses (AuditError) unless the trail still holds the newest witnessed head, and
    publishes the new head once the transaction commits.
    """
    last = latest_checkpoint(session)
    if signer.witness is not None:
        guard.check_witnessed_head(session, signer.witness, next_checkpoint_id=1 if last is None else last.id + 1)
    if last is not None and last.key_id != signer.key_id:
        raise AuditError(f"refusing to sign: {other_key_message(last.key_id, signer.key_id)}")
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
    if signer.witness is not None:
        guard.queue_publication(session, signer.witness, checkpoint.signed_fields(), checkpoint.signature)
    return checkpoint


def _age_s(earlier: str, later: str) -> float:
    pattern = "%Y-%m-%dT%H:%M:%S.%fZ"
    return (datetime.strptime(later, pattern) - datetime.strptime(earlier, pattern)).total_seconds()


def maybe_checkpoint(
    session: Session, *, prev_seq: int, new_seq: int, chain_hash: str, created_at: str, signer: Signer
) -> Checkpoint | None:
    """Sign the new head when this append crossed a multiple of `signer.every`, or when the newest
    checkpoint is older than `signer.interval_s` (or there is none yet)."""
    due = signer.every > 0 and new_seq // signer.every != prev_seq // signer.every
    if not due and signer.interval_s is not None:
        last = latest_checkpoint(session)
        due = last is None or _age_s(last.created_at, created_at) >= signer.interval_s
    if not due:
        return None
    return write_checkpoint(session, record_seq=new_seq, chain_hash=chain_hash, created_at=created_at, signer=signer)
