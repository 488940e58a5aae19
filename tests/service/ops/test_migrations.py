"""Migrations run from empty to head on this engine, and match the models exactly."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from service.ops.migrate import downgrade, include_object, upgrade


def test_migrations_match_the_models(engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": include_object, "compare_type": True}
        )
        assert compare_metadata(context, SQLModel.metadata) == []


def test_downgrade_to_empty_and_back_to_head(engine) -> None:
    downgrade(engine, "base")
    upgrade(engine)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() is not None
