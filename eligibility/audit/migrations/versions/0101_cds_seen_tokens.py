"""CDS client JWT ids seen, kept until the token expires, shared by every worker and restart.

Revision ID: 0101
Revises: 0100

The replay check kept seen `jti`s in memory: a restart (or another worker process) forgot them and
a captured token could be replayed within its lifetime (issue 12). Rows are keyed by SHA-256 of
(iss, jti), so an issuer's long strings cost 64 characters; expired rows are deleted as new ones
come. Not append-only, and not part of the audit trail: a refused replay is recorded there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0101"
down_revision = "0100"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_cds_seen_token",
        sa.Column("token_key", sa.String(64), primary_key=True),
        sa.Column("expires", sa.Float(), nullable=False),
    )
    op.create_index("ix_api_cds_seen_token_expires", "api_cds_seen_token", ["expires"])


def downgrade() -> None:
    op.drop_index("ix_api_cds_seen_token_expires", table_name="api_cds_seen_token")
    op.drop_table("api_cds_seen_token")
