"""verification workflow: proposals, approvals, verdicts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

import service.core.database

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "proposal",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("claim_id", sa.String(length=40), nullable=False),
        sa.Column("rating", sa.String(length=40), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("proposer_id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("created_at", service.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"], name=op.f("fk_proposal_claim_id_claim")),
        sa.ForeignKeyConstraint(["proposer_id"], ["user.id"], name=op.f("fk_proposal_proposer_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal")),
    )
    op.create_index(op.f("ix_proposal_claim_id"), "proposal", ["claim_id"], unique=False)

    op.create_table(
        "verdict",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("claim_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rating", sa.String(length=40), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("proposer_id", sa.String(length=40), nullable=False),
        sa.Column("approvers", sa.JSON(), nullable=False),
        sa.Column("proposed_at", service.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", service.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("correction_note", sa.Text(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"], name=op.f("fk_verdict_claim_id_claim")),
        sa.ForeignKeyConstraint(["proposer_id"], ["user.id"], name=op.f("fk_verdict_proposer_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verdict")),
        sa.UniqueConstraint("claim_id", "version", name=op.f("uq_verdict_claim_id")),
    )
    op.create_index(op.f("ix_verdict_claim_id"), "verdict", ["claim_id"], unique=False)

    op.create_table(
        "approval",
        sa.Column("proposal_id", sa.String(length=40), nullable=False),
        sa.Column("approver_id", sa.String(length=40), nullable=False),
        sa.Column("at", service.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["approver_id"], ["user.id"], name=op.f("fk_approval_approver_id_user")),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["proposal.id"], name=op.f("fk_approval_proposal_id_proposal")
        ),
        sa.PrimaryKeyConstraint("proposal_id", "approver_id", name=op.f("pk_approval")),
    )
    op.add_column("claim", sa.Column("verdict_version", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("claim", sa.Column("pending_proposal_id", sa.String(length=40), nullable=True))
    op.create_index(op.f("ix_claim_verdict_version"), "claim", ["verdict_version"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_claim_verdict_version"), table_name="claim")
    # Plain ALTER TABLE (SQLite 3.35+ has DROP COLUMN): a batch copy of `claim` would drop the
    # full-text triggers with the old table.
    op.execute("ALTER TABLE claim DROP COLUMN pending_proposal_id")
    op.execute("ALTER TABLE claim DROP COLUMN verdict_version")

    op.drop_table("approval")
    op.drop_index(op.f("ix_verdict_claim_id"), table_name="verdict")

    op.drop_table("verdict")
    op.drop_index(op.f("ix_proposal_claim_id"), table_name="proposal")

    op.drop_table("proposal")
