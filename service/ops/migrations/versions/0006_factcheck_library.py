"""factcheck library

Fact-checks published elsewhere (ClaimReview), imported so that matching finds them: one row per
review url, and a full-text index over their claims made by hand, as claim's is in 0001.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

import service.core.database

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "factcheck",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("claim_reviewed", sa.Text(), nullable=False),
        sa.Column("claimant", sa.String(length=300), nullable=True),
        sa.Column("claim_date", sa.Date(), nullable=True),
        sa.Column("appearance_url", sa.String(length=2048), nullable=True),
        sa.Column("rating", sa.String(length=500), nullable=True),
        sa.Column("rating_value", sa.Float(), nullable=True),
        sa.Column("best_rating", sa.Float(), nullable=True),
        sa.Column("worst_rating", sa.Float(), nullable=True),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("publisher", sa.String(length=300), nullable=True),
        sa.Column("publisher_key", sa.String(length=300), nullable=True),
        sa.Column("publisher_url", sa.String(length=2048), nullable=True),
        sa.Column("review_date", sa.Date(), nullable=True),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("headline", sa.String(length=1000), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("imported_at", service.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", service.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["imported_by"], ["user.id"], name=op.f("fk_factcheck_imported_by_user")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_factcheck")),
        sa.UniqueConstraint("id", name=op.f("uq_factcheck_id")),
        sa.UniqueConstraint("url", name=op.f("uq_factcheck_url")),
    )
    op.create_index(op.f("ix_factcheck_publisher_key"), "factcheck", ["publisher_key"], unique=False)
    op.create_index(op.f("ix_factcheck_verdict"), "factcheck", ["verdict"], unique=False)
    _create_search_index()


def downgrade() -> None:
    _drop_search_index()
    op.drop_index(op.f("ix_factcheck_verdict"), table_name="factcheck")
    op.drop_index(op.f("ix_factcheck_publisher_key"), table_name="factcheck")
    op.drop_table("factcheck")


# Full-text search over factcheck.search_text, by hand: neither engine's index is in the models.
# SQLite: an FTS5 table whose rowid is factcheck.seq, kept in step by triggers, and its vocabulary
# (how many fact-checks hold each word, for matching's rarest-words look-up, as claim_fts_vocab).
# PostgreSQL: a generated tsvector column with a GIN index.
SQLITE_FTS = [
    (
        "CREATE VIRTUAL TABLE factcheck_fts USING fts5(search_text, content='factcheck', "
        "content_rowid='seq', tokenize='unicode61 remove_diacritics 2')"
    ),
    "CREATE VIRTUAL TABLE factcheck_fts_vocab USING fts5vocab(factcheck_fts, 'row')",
    (
        "CREATE TRIGGER factcheck_fts_insert AFTER INSERT ON factcheck BEGIN "
        "INSERT INTO factcheck_fts(rowid, search_text) VALUES (new.seq, new.search_text); END"
    ),
    (
        "CREATE TRIGGER factcheck_fts_delete AFTER DELETE ON factcheck BEGIN "
        "INSERT INTO factcheck_fts(factcheck_fts, rowid, search_text) "
        "VALUES ('delete', old.seq, old.search_text); END"
    ),
    (
        "CREATE TRIGGER factcheck_fts_update AFTER UPDATE OF search_text ON factcheck BEGIN "
        "INSERT INTO factcheck_fts(factcheck_fts, rowid, search_text) "
        "VALUES ('delete', old.seq, old.search_text); "
        "INSERT INTO factcheck_fts(rowid, search_text) VALUES (new.seq, new.search_text); END"
    ),
]
POSTGRES_FTS = [
    (
        "ALTER TABLE factcheck ADD COLUMN search_vector tsvector "
        "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED"
    ),
    "CREATE INDEX ix_factcheck_search_vector ON factcheck USING gin (search_vector)",
]


def _create_search_index() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_FTS if dialect == "sqlite" else POSTGRES_FTS:
        op.execute(statement)


def _drop_search_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("factcheck_fts_insert", "factcheck_fts_delete", "factcheck_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS factcheck_fts_vocab")
        op.execute("DROP TABLE IF EXISTS factcheck_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_factcheck_search_vector")
        op.execute("ALTER TABLE factcheck DROP COLUMN IF EXISTS search_vector")
