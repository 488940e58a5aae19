"""sources, snapshots, citations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

import service.core.database

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("canonical_url", sa.String(length=2048), nullable=True),
        sa.Column("upload_sha256", sa.String(length=64), nullable=True),
        sa.Column("upload_filename", sa.String(length=255), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("publisher", sa.String(length=300), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("health", sa.String(length=20), nullable=False),
        sa.Column("latest_snapshot_id", sa.String(length=40), nullable=True),
        sa.Column("good_snapshot_id", sa.String(length=40), nullable=True),
        sa.Column("last_checked_at", service.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", service.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", service.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"], name=op.f("fk_source_created_by_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source")),
        sa.UniqueConstraint("canonical_url", name=op.f("uq_source_canonical_url")),
        sa.UniqueConstraint("upload_sha256", name=op.f("uq_source_upload_sha256")),
    )
    op.create_index(op.f("ix_source_health"), "source", ["health"], unique=False)
    op.create_index(op.f("ix_source_last_checked_at"), "source", ["last_checked_at"], unique=False)

    op.create_table(
        "snapshot",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=40), nullable=False),
        sa.Column("fetched_at", service.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("final_url", sa.String(length=2048), nullable=True),
        sa.Column("redirects", sa.JSON(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("charset", sa.String(length=40), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("etag", sa.String(length=300), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("text_sha256", sa.String(length=64), nullable=True),
        sa.Column("text_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["source_id"], ["source.id"], name=op.f("fk_snapshot_source_id_source")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshot")),
    )
    op.create_index(op.f("ix_snapshot_source_id"), "snapshot", ["source_id"], unique=False)

    op.create_table(
        "citation",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("claim_id", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=40), nullable=False),
        sa.Column("relation", sa.String(length=20), nullable=False),
        sa.Column("exact", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=True),
        sa.Column("suffix", sa.Text(), nullable=True),
        sa.Column("locator", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("anchor_status", sa.String(length=20), nullable=False),
        sa.Column("anchor_snapshot_id", sa.String(length=40), nullable=True),
        sa.Column("anchor_start", sa.Integer(), nullable=True),
        sa.Column("anchor_end", sa.Integer(), nullable=True),
        sa.Column("anchor_score", sa.Float(), nullable=True),
        sa.Column("anchor_fuzzy", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", service.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["anchor_snapshot_id"], ["snapshot.id"], name=op.f("fk_citation_anchor_snapshot_id_snapshot")
        ),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"], name=op.f("fk_citation_claim_id_claim")),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"], name=op.f("fk_citation_created_by_user")),
        sa.ForeignKeyConstraint(["source_id"], ["source.id"], name=op.f("fk_citation_source_id_source")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citation")),
    )
    op.create_index(op.f("ix_citation_claim_id"), "citation", ["claim_id"], unique=False)
    op.create_index(op.f("ix_citation_source_id"), "citation", ["source_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_citation_source_id"), table_name="citation")
    op.drop_index(op.f("ix_citation_claim_id"), table_name="citation")

    op.drop_table("citation")
    op.drop_index(op.f("ix_snapshot_source_id"), table_name="snapshot")

    op.drop_table("snapshot")
    op.drop_index(op.f("ix_source_last_checked_at"), table_name="source")
    op.drop_index(op.f("ix_source_health"), table_name="source")

    op.drop_table("source")
