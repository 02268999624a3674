"""The worklist index: one derived row per decision, so that every list pages in the database.

Revision ID: 0103
Revises: 0102

The worklist read every decision and review record and filtered in Python (issue 11: 213 decisions
"awaiting review" after one 200-patient run, and no paging). This table (see
eligibility/audit/worklist_table.py) is derived from the trail and kept in the append's transaction;
the upgrade fills it from the records already there. It is not append-only (a review updates its
decision's row) and is not part of the hash chain; `audit reindex` recomputes it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0103"
down_revision = "0102"
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INDEXES = {
    "ix_audit_worklist_decision_id": ["decision_id"],
    "ix_audit_worklist_queue": ["queued", "reviewed", "seq"],
    "ix_audit_worklist_queue_outcome": ["queued", "reviewed", "outcome", "seq"],
    "ix_audit_worklist_queue_all": ["queued", "seq"],
    "ix_audit_worklist_run": ["run_id", "outcome", "seq"],
    "ix_audit_worklist_run_seq": ["run_id", "seq"],
    "ix_audit_worklist_run_promoted": ["run_id", "promoted_at"],
    "ix_audit_worklist_actor": ["queued", "actor", "seq"],
}


def upgrade() -> None:
    op.create_table(
        "audit_worklist",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=False),
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.String(27), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("patient_ref", sa.String(200), nullable=True),
        sa.Column("patient_name", sa.String(200), nullable=True),
        sa.Column("patient_mrn", sa.String(200), nullable=True),
        sa.Column("birth_date", sa.String(32), nullable=True),
        sa.Column("sex", sa.String(32), nullable=True),
        sa.Column("search_key", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("label_status", sa.String(32), nullable=False),
        sa.Column("queued", sa.Boolean(), nullable=False),
        sa.Column("promoted_at", sa.String(27), nullable=True),
        sa.Column("promoted_by", sa.String(200), nullable=True),
        sa.Column("reviewed", sa.Boolean(), nullable=False),
        sa.Column("review_action", sa.String(16), nullable=True),
        sa.Column("review_outcome", sa.String(32), nullable=True),
        sa.Column("reviewed_at", sa.String(27), nullable=True),
        sa.Column("reviewed_by", sa.String(200), nullable=True),
        sa.Column("review_seq", sa.BigInteger(), nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    for name, columns in INDEXES.items():
        op.create_index(name, "audit_worklist", columns)
    # Backfill from the records already in the trail, with the derivation the append path uses.
    from eligibility.audit.worklist_rebuild import expected_rows, write_rows

    connection = op.get_bind()
    with Session(bind=connection) as session:
        rows = expected_rows(session)
    write_rows(connection, rows)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="audit_worklist")
    op.drop_table("audit_worklist")
