"""claims, users, tokens, idempotency

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

import service.core.database

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", service.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", service.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user")),
        sa.UniqueConstraint("name", name=op.f("uq_user_name")),
    )
    op.create_table(
        "claim",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("text_key", sa.String(length=64), nullable=False),
        sa.Column("claimant", sa.String(length=300), nullable=True),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("assignee_id", sa.String(length=40), nullable=True),
        sa.Column("rating", sa.String(length=40), nullable=True),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("duplicate_of", sa.String(length=40), nullable=True),
        sa.Column("submitted_by", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("created_at", service.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", service.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["assignee_id"], ["user.id"], name=op.f("fk_claim_assignee_id_user")),
        sa.ForeignKeyConstraint(["duplicate_of"], ["claim.id"], name=op.f("fk_claim_duplicate_of_claim")),
        sa.ForeignKeyConstraint(["submitted_by"], ["user.id"], name=op.f("fk_claim_submitted_by_user")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_claim")),
        sa.UniqueConstraint("id", name=op.f("uq_claim_id")),
        sa.UniqueConstraint("text_key", name=op.f("uq_claim_text_key")),
    )
    op.create_index(op.f("ix_claim_assignee_id"), "claim", ["assignee_id"], unique=False)
    op.create_index(op.f("ix_claim_needs_review"), "claim", ["needs_review"], unique=False)
    op.create_index(op.f("ix_claim_rating"), "claim", ["rating"], unique=False)
    op.create_index(op.f("ix_claim_status"), "claim", ["status"], unique=False)

    op.create_table(
        "idempotency_record",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", service.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", service.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_headers", sa.JSON(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_idempotency_record_user_id_user")),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_idempotency_record")),
    )
    op.create_index(
        op.f("ix_idempotency_record_created_at"), "idempotency_record", ["created_at"], unique=False
    )

    op.create_table(
        "token",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", service.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", service.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_token_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_token_secret_hash")),
    )
    op.create_index(op.f("ix_token_prefix"), "token", ["prefix"], unique=False)
    op.create_index(op.f("ix_token_user_id"), "token", ["user_id"], unique=False)

    op.create_table(
        "appearance",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("claim_id", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("publisher", sa.String(length=300), nullable=True),
        sa.Column("published_at", sa.Date(), nullable=True),
        sa.Column("quote", sa.String(length=5000), nullable=True),
        sa.Column("added_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", service.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["added_by"], ["user.id"], name=op.f("fk_appearance_added_by_user")),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"], name=op.f("fk_appearance_claim_id_claim")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appearance")),
    )
    op.create_index(op.f("ix_appearance_claim_id"), "appearance", ["claim_id"], unique=False)

    op.create_table(
        "claim_event",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("claim_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", service.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=40), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("verdict_version", sa.Integer(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["actor"], ["user.id"], name=op.f("fk_claim_event_actor_user")),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"], name=op.f("fk_claim_event_claim_id_claim")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_event")),
        sa.UniqueConstraint("claim_id", "seq", name=op.f("uq_claim_event_claim_id")),
    )
    op.create_index(op.f("ix_claim_event_claim_id"), "claim_event", ["claim_id"], unique=False)

    op.create_table(
        "claim_tag",
        sa.Column("claim_id", sa.String(length=40), nullable=False),
        sa.Column("tag", sa.String(length=50), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"], name=op.f("fk_claim_tag_claim_id_claim")),
        sa.PrimaryKeyConstraint("claim_id", "tag", name=op.f("pk_claim_tag")),
    )
    op.create_index(op.f("ix_claim_tag_tag"), "claim_tag", ["tag"], unique=False)
    _create_search_index()


def downgrade() -> None:
    _drop_search_index()
    op.drop_index(op.f("ix_claim_tag_tag"), table_name="claim_tag")

    op.drop_table("claim_tag")
    op.drop_index(op.f("ix_claim_event_claim_id"), table_name="claim_event")

    op.drop_table("claim_event")
    op.drop_index(op.f("ix_appearance_claim_id"), table_name="appearance")

    op.drop_table("appearance")
    op.drop_index(op.f("ix_token_user_id"), table_name="token")
    op.drop_index(op.f("ix_token_prefix"), table_name="token")

    op.drop_table("token")
    op.drop_index(op.f("ix_idempotency_record_created_at"), table_name="idempotency_record")

    op.drop_table("idempotency_record")
    op.drop_index(op.f("ix_claim_status"), table_name="claim")
    op.drop_index(op.f("ix_claim_rating"), table_name="claim")
    op.drop_index(op.f("ix_claim_needs_review"), table_name="claim")
    op.drop_index(op.f("ix_claim_assignee_id"), table_name="claim")

    op.drop_table("claim")
    op.drop_table("user")


# Full-text search over claim.search_text, by hand: neither engine's index is in the models.
# SQLite: an FTS5 table whose rowid is claim.seq, kept in step by triggers.
# PostgreSQL: a generated tsvector column with a GIN index.
SQLITE_FTS = [
    (
        "CREATE VIRTUAL TABLE claim_fts USING fts5(search_text, content='claim', "
        "content_rowid='seq', tokenize='unicode61 remove_diacritics 2')"
    ),
    # Document frequency per term: duplicate look-ups search by a claim's rarest words.
    "CREATE VIRTUAL TABLE claim_fts_vocab USING fts5vocab(claim_fts, 'row')",
    (
        "CREATE TRIGGER claim_fts_insert AFTER INSERT ON claim BEGIN "
        "INSERT INTO claim_fts(rowid, search_text) VALUES (new.seq, new.search_text); END"
    ),
    (
        "CREATE TRIGGER claim_fts_delete AFTER DELETE ON claim BEGIN "
        "INSERT INTO claim_fts(claim_fts, rowid, search_text) VALUES ('delete', old.seq, old.search_text); END"
    ),
    (
        "CREATE TRIGGER claim_fts_update AFTER UPDATE OF search_text ON claim BEGIN "
        "INSERT INTO claim_fts(claim_fts, rowid, search_text) VALUES ('delete', old.seq, old.search_text); "
        "INSERT INTO claim_fts(rowid, search_text) VALUES (new.seq, new.search_text); END"
    ),
]
POSTGRES_FTS = [
    (
        "ALTER TABLE claim ADD COLUMN search_vector tsvector "
        "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED"
    ),
    "CREATE INDEX ix_claim_search_vector ON claim USING gin (search_vector)",
]


def _create_search_index() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_FTS if dialect == "sqlite" else POSTGRES_FTS:
        op.execute(statement)


def _drop_search_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("claim_fts_insert", "claim_fts_delete", "claim_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS claim_fts_vocab")
        op.execute("DROP TABLE IF EXISTS claim_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_claim_search_vector")
        op.execute("ALTER TABLE claim DROP COLUMN IF EXISTS search_vector")
