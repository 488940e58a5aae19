"""Alembic environment: runs migrations on the engine handed over by `service.ops.migrate`."""

from alembic import context
from sqlmodel import SQLModel

import claims.models  # noqa: F401 - registers the tables on SQLModel.metadata
import service.accounts.models  # noqa: F401
import service.web.models  # noqa: F401
import service.webhooks.models  # noqa: F401
from service.ops.migrate import include_object

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            process_revision_directives=context.config.attributes.get("process_revision_directives"),
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
