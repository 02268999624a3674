"""Browser sessions kept by the server, so that logging out ends them.

Revision ID: 0102
Revises: 0101

The session cookie is signed and names its user, but a copied cookie kept working for its 8 hours
after logout (issue 12). Each login now adds a row (the SHA-256 of the cookie's nonce, never the
nonce), every request needs the row open, and logout closes it. Admins list open sessions with
`drg-eligibility users sessions`. Logins and logouts are access records in the audit trail.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0102"
down_revision = "0101"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_web_session",
        sa.Column("nonce_sha256", sa.String(64), primary_key=True),
        sa.Column("user_name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(27), nullable=False),
        sa.Column("expires", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.String(27), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("api_web_session")
