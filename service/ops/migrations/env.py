"""Alembic environment: runs migrations on the engine handed over by `service.ops.migrate`."""

from typing import Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import claims.library.models  # noqa: F401
import claims.matching.models  # noqa: F401
import claims.models  # noqa: F401 - registers the tables on SQLModel.metadata
import claims.reporting.models  # noqa: F401
import service.accounts.models  # noqa: F401
import service.web.models  # noqa: F401
import service.webhooks.models  # noqa: F401
from service.ops.migrate import include_object

target_metadata = SQLModel.metadata


def render_item(type_: str, obj: object, autogen_context: AutogenContext) -> str | Literal[False]:
    """SQLModel's AutoString is a plain VARCHAR to the database: written as sa.String, as the
    migrations written by hand are, so a migration imports nothing from sqlmodel."""
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            render_item=render_item,
            process_revision_directives=context.config.attributes.get("process_revision_directives"),
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
