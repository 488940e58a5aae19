"""claims from reporting

Extractions (a report read into sentences worth checking); appearances that quote an archived
copy (the source, snapshot and offsets of the quote); what a captured page says of itself.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

import service.core.database

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "extraction",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("publisher", sa.String(length=300), nullable=True),
        sa.Column("published_at", sa.Date(), nullable=True),
        sa.Column("source_id", sa.String(length=40), nullable=True),
        sa.Column("snapshot_id", sa.String(length=40), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("sentences", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", service.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", service.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_requested_at", service.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"], name=op.f("fk_extraction_created_by_user")),
        sa.ForeignKeyConstraint(["source_id"], ["source.id"], name=op.f("fk_extraction_source_id_source")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extraction")),
    )
    with op.batch_alter_table("extraction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_extraction_source_id"), ["source_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_extraction_status"), ["status"], unique=False)

    with op.batch_alter_table("appearance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("snapshot_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("anchor_start", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("anchor_end", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_appearance_source_id_source"), "source", ["source_id"], ["id"]
        )

    with op.batch_alter_table("snapshot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meta", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("snapshot", schema=None) as batch_op:
        batch_op.drop_column("meta")

    with op.batch_alter_table("appearance", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_appearance_source_id_source"), type_="foreignkey")
        batch_op.drop_column("anchor_end")
        batch_op.drop_column("anchor_start")
        batch_op.drop_column("snapshot_id")
        batch_op.drop_column("source_id")

    with op.batch_alter_table("extraction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_extraction_status"))
        batch_op.drop_index(batch_op.f("ix_extraction_source_id"))

    op.drop_table("extraction")
