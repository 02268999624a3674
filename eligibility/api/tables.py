"""The service's own tables, described for queries. Migration 0100_api_users creates them.

Neither is append-only: a token can be revoked. Changes to users are recorded in the audit trail by
`eligibility.api.users`; a card row only maps a CDS card uuid back to the decision it shows.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, MetaData, String, Table

__all__ = ["API_CARD", "API_CDS_SEEN_TOKEN", "API_USER", "API_WEB_SESSION", "METADATA"]

METADATA = MetaData()

API_USER = Table(
    "api_user",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", String(27), nullable=False),
    Column("revoked_at", String(27), nullable=True),
)

# CDS Hooks feedback names a card by its uuid only; the uuid is derived from the decision id and
# cannot be inverted, so the card is remembered with the decision and the client it was issued to.
API_CARD = Table(
    "api_card",
    METADATA,
    Column("card_uuid", String(36), primary_key=True),
    Column("decision_id", String(64), nullable=False),
    Column("service_id", String(64), nullable=False),
    Column("issued_to", String(200), nullable=False),
    Column("created_at", String(27), nullable=False),
)

# CDS client JWT ids seen (sha256 of iss and jti), until the token expires: migration 0101.
API_CDS_SEEN_TOKEN = Table(
    "api_cds_seen_token",
    METADATA,
    Column("token_key", String(64), primary_key=True),
    Column("expires", Float, nullable=False),
)

# Browser sessions (sha256 of the cookie's nonce), open until logout or expiry: migration 0102.
API_WEB_SESSION = Table(
    "api_web_session",
    METADATA,
    Column("nonce_sha256", String(64), primary_key=True),
    Column("user_name", String(200), nullable=False),
    Column("created_at", String(27), nullable=False),
    Column("expires", Float, nullable=False),
    Column("ended_at", String(27), nullable=True),
)
