"""Alembic, driven from code: `factdesk db upgrade` and `factdesk serve` call `upgrade()`."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"
# Full-text search objects are made by hand in migrations; the models do not know them.
HAND_MANAGED = frozenset(
    {
        "claim_fts",
        "claim_fts_data",
        "claim_fts_idx",
        "claim_fts_docsize",
        "claim_fts_config",
        "claim_fts_content",
        "claim_fts_vocab",
        "search_vector",
        "ix_claim_search_vector",
    }
)


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic filter: leave the hand-made search objects out of autogenerate and comparisons."""
    return name not in HAND_MANAGED


def alembic_config(engine: Engine) -> Config:
    """An Alembic config that runs on `engine` (the URL never goes through configparser)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)
