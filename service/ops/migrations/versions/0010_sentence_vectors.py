"""sentence vectors

The sentence vectors of claims and imported fact-checks (`claims.matching.vectors`), one row per
claim or fact-check, written by the embedding job: matching finds claims worded differently.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

import service.core.database

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "embedding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("read_at", service.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "seq"),
        sqlite_autoincrement=True,  # ids only grow: web processes read what is new by id
    )


def downgrade() -> None:
    op.drop_table("embedding")
