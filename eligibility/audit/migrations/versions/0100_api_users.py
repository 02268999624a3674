"""The HTTP service's tables: API users (bearer tokens stored as SHA-256, with a role) and CDS cards.

Revision ID: 0100
Revises: 0002

Not append-only: a token can be revoked (revoked_at is set). Every change to a user is recorded in
the audit trail by the code that makes it. At most one active token per user name (a partial unique
index). api_card maps a CDS Hooks card uuid to its decision, so feedback can be recorded against it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0100"
down_revision = "0002"
branch_labels = None
depends_on = None

ROLES = ("referrer", "specialist", "compliance", "admin")


def upgrade() -> None:
    op.create_table(
        "api_user",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(27), nullable=False),
        sa.Column("revoked_at", sa.String(27), nullable=True),
        sa.UniqueConstraint("token_sha256", name="uq_api_user_token_sha256"),
        sa.CheckConstraint("role IN ({})".format(", ".join(f"'{r}'" for r in ROLES)), name="ck_api_user_role"),
    )
    op.create_index(
        "uq_api_user_active_name",
        "api_user",
        ["name"],
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.create_table(
        "api_card",
        sa.Column("card_uuid", sa.String(36), primary_key=True),
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("issued_to", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(27), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("api_card")
    op.drop_index("uq_api_user_active_name", table_name="api_user")
    op.drop_table("api_user")
