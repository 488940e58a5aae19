"""Migrations run from empty to head on this engine, and match the models exactly."""

import shutil

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from service.ops.migrate import MIGRATIONS, downgrade, include_object, revision, upgrade


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


def test_revision_writes_nothing_while_models_and_migrations_agree(engine, tmp_path) -> None:
    location = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, location, ignore=shutil.ignore_patterns("__pycache__"))
    before = sorted(p.name for p in (location / "versions").iterdir())
    assert revision(engine, "nothing changed", location) is None
    assert sorted(p.name for p in (location / "versions").iterdir()) == before


def test_revision_writes_the_next_numbered_migration_from_the_models(engine, tmp_path) -> None:
    location = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, location, ignore=shutil.ignore_patterns("__pycache__"))
    probe = sa.Table(
        "revision_probe",
        SQLModel.metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", AutoString(length=40)),
    )
    try:
        written = revision(engine, "add revision probe", location)
    finally:
        SQLModel.metadata.remove(probe)
    assert written is not None
    heads = sorted(p.name for p in (location / "versions").glob("*.py"))
    number = f"{int(heads[-2].split('_')[0]) + 1:04d}"  # the one after the newest before it
    assert written.name == f"{number}_add_revision_probe.py" == heads[-1]
    text = written.read_text()
    assert f'revision = "{number}"' in text
    assert "op.create_table(" in text
    assert "revision_probe" in text
    assert "import service.core.database" in text
    assert "sqlmodel" not in text  # AutoString is written as sa.String
    assert "sa.String(length=" in text or "sa.Integer()" in text
