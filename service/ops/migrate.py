"""Alembic, driven from code: `factdesk db upgrade` and `factdesk serve` call `upgrade()`,
`factdesk db revision -m …` calls `revision()` to write the next migration from the models."""

import importlib.util
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.operations.ops import MigrationScript
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"
# The PostgreSQL advisory lock every process migrating one database takes in turn ("fdk-migr").
MIGRATION_LOCK = int.from_bytes(b"fdk-migr", "big") >> 1
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
        "factcheck_fts",
        "factcheck_fts_data",
        "factcheck_fts_idx",
        "factcheck_fts_docsize",
        "factcheck_fts_config",
        "factcheck_fts_vocab",
        "ix_factcheck_search_vector",
    }
)


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic filter: leave the hand-made search objects out of autogenerate and comparisons."""
    return name not in HAND_MANAGED


def alembic_config(engine: Engine, location: Path = MIGRATIONS) -> Config:
    """An Alembic config that runs on `engine` (the URL never goes through configparser)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(location))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")  # 0005_what_it_does.py
    if importlib.util.find_spec("ruff") is not None:  # contributors have it (the test extra)
        cfg.set_section_option("post_write_hooks", "hooks", "ruff")
        cfg.set_section_option("post_write_hooks", "ruff.type", "module")
        cfg.set_section_option("post_write_hooks", "ruff.module", "ruff")
        cfg.set_section_option("post_write_hooks", "ruff.options", "format REVISION_SCRIPT_FILENAME")
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`, one process at a time: nodes started together on one
    PostgreSQL database (each `factdesk serve` migrates first) would otherwise race to create the
    same tables, and all but one fail; the others wait, then find the schema up to date."""
    with _migration_lock(engine):
        command.upgrade(alembic_config(engine), revision)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Hold MIGRATION_LOCK on PostgreSQL (on its own connection, beside Alembic's); SQLite locks
    its file for writing anyway."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        try:
            yield
        finally:  # a session lock outlives the transaction: give it back before the pool does
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to `revision`."""
    command.downgrade(alembic_config(engine), revision)


def revision(engine: Engine, message: str, location: Path = MIGRATIONS) -> Path | None:
    """Write the next migration: what the models have that the migrated database lacks.

    The database is brought to the head first, so the comparison starts from the newest schema.
    None when the models and the schema agree (no empty migration is written). Read what was
    written before committing it: autogenerate cannot see renames, and the full-text objects are
    made by hand (see HAND_MANAGED).
    """
    cfg = alembic_config(engine, location)
    command.upgrade(cfg, "head")
    head = ScriptDirectory.from_config(cfg).get_current_head()
    next_id = f"{int(head) + 1:04d}" if head and head.isdigit() else None
    cfg.attributes["process_revision_directives"] = _skip_empty
    written = command.revision(cfg, message=message, autogenerate=True, rev_id=next_id)
    if written is None or isinstance(written, list):
        return None
    return Path(written.path)


def _skip_empty(context: MigrationContext, revision: Any, directives: list[MigrationScript]) -> None:
    ops: Iterable[Any] = directives[0].upgrade_ops_list if directives else ()
    if all(op.is_empty() for op in ops):
        directives[:] = []
