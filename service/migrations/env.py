"""Alembic environment: runs migrations on the engine handed over by `service.migrate`."""

from alembic import context
from sqlmodel import SQLModel

import claims.models  # noqa: F401 - registers the tables on SQLModel.metadata
import service.models  # noqa: F401

target_metadata = SQLModel.metadata
# Tables and columns managed by hand in migrations, invisible to the models.
HAND_MANAGED = {
    "claim_fts",
    "claim_fts_data",
    "claim_fts_idx",
    "claim_fts_docsize",
    "claim_fts_config",
    "claim_fts_content",
    "search_vector",
    "ix_claim_search_vector",
}


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    return name not in HAND_MANAGED


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
