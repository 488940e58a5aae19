"""Migrations run from empty to head on this engine, and match the models exactly."""

import os
import shutil
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from service.ops.migrate import MIGRATIONS, alembic_config, downgrade, include_object, revision, upgrade
from tests.conftest import TEST_DATABASE_URL


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


@pytest.mark.slow  # starts three interpreters
@pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgres"),
    reason="needs PostgreSQL (FACTDESK_TEST_DATABASE_URL): nodes that start together share a database server",
)
def test_nodes_starting_together_on_an_empty_database_all_migrate_it(engine, tmp_path) -> None:
    """Every `factdesk serve` migrates first; nodes started at once on an empty database take
    turns (an advisory lock) instead of racing to create the same tables and failing."""
    schema = "migration_race"  # an empty schema of the test database, first on the search path
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = make_url(TEST_DATABASE_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    env = {**os.environ, "FACTDESK_DATABASE_URL": url.render_as_string(hide_password=False)}
    try:
        nodes = [
            subprocess.Popen(
                [sys.executable, "-m", "service.cli", "db", "upgrade"],
                env={**env, "FACTDESK_DATA_DIR": str(tmp_path / f"node-{number}")},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for number in range(3)
        ]
        outputs = [node.communicate(timeout=120)[0].decode() for node in nodes]
        assert [node.returncode for node in nodes] == [0, 0, 0], "\n".join(outputs)
        with engine.connect() as conn:
            version = conn.exec_driver_sql(f"SELECT version_num FROM {schema}.alembic_version").scalar_one()
        assert version == ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
