"""The audit trail's base tables: records (the hash chain) and the inputs they reference.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# 64-bit sequence numbers, but INTEGER on SQLite so that seq aliases the rowid.
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_input",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "audit_record",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=False),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.String(27), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("decision_id", sa.String(64), nullable=True),
        sa.Column("patient_ref", sa.String(200), nullable=True),
        sa.Column("input_sha256", sa.String(64), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("chain_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("record_id", name="uq_audit_record_record_id"),
        sa.ForeignKeyConstraint(["input_sha256"], ["audit_input.sha256"], name="fk_audit_record_input"),
    )
    op.create_index("ix_audit_record_decision_id", "audit_record", ["decision_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_record_decision_id", table_name="audit_record")
    op.drop_table("audit_record")
    op.drop_table("audit_input")
