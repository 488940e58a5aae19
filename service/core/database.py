"""Database foundations shared by every domain: engine, naming convention, UTC timestamps.

`make_engine(url)` gives an engine for SQLite (WAL, foreign keys, busy timeout) or PostgreSQL;
`UTCDateTime` stores timezone-aware UTC timestamps on both.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

# Stable constraint names so Alembic migrations can refer to them on both engines.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 15_000
Planned = TypeVar("Planned")
Done = TypeVar("Done")
Result = TypeVar("Result")
AnySession = TypeVar("AnySession", bound=Session)

# Whether SQLite transactions in this context may write. Reads begin deferred so they never wait
# on a writer (WAL); writes begin IMMEDIATE so two writers queue on the busy timeout instead of
# one failing with "database is locked" when it upgrades a read lock.
sqlite_write_intent: ContextVar[bool] = ContextVar("sqlite_write_intent", default=True)


@contextmanager
def write_intent(value: bool = True) -> Iterator[None]:
    """Within this block, new SQLite transactions begin IMMEDIATE (`True`) or deferred."""
    token = sqlite_write_intent.set(value)
    try:
        yield
    finally:
        sqlite_write_intent.reset(token)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC, to the microsecond."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the engine stores."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event emits BEGIN itself
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if sqlite_write_intent.get() else "BEGIN")


def make_engine(url: str, *, pool_size: int = 5, autocommit: bool = False) -> Engine:
    """An engine for `url`, configured for concurrent web workers on SQLite or PostgreSQL.

    `autocommit`: every statement is its own transaction (no BEGIN, no ROLLBACK on check-in), for
    single-statement reads that must see the latest commit; such an engine must never write.
    """
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    options: dict[str, Any] = (
        {"isolation_level": "AUTOCOMMIT", "pool_reset_on_return": None} if autocommit else {}
    )
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **options,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        if not autocommit:
            event.listen(engine, "begin", _sqlite_begin)
        return engine
    # An autocommit engine's connections are re-opened on failure by their user, not pinged.
    return sa.create_engine(
        url, pool_pre_ping=not autocommit, pool_size=pool_size, max_overflow=10, **options
    )


def read_work_write(
    open_session: Callable[[], AnySession],
    read: Callable[[AnySession], Planned | None],
    work: Callable[[Planned], Done],
    write: Callable[[AnySession, Planned, Done], Result],
) -> Result | None:
    """Run a job the one way jobs may touch the network or parse a document: `read` what it needs
    (or lease it) in a short transaction, do the slow `work` (fetch, send, parse) outside any
    transaction and with no connection held, then `write` the outcome in another short one.

    On SQLite a write transaction holds the whole database's lock: a slow peer or a hostile
    document inside one would make every write on the desk wait. None when `read` finds nothing
    to do. Pass plain data (or loaded, detached objects) from one step to the next.
    """
    with open_session() as session:
        planned = read(session)
        session.commit()
    if planned is None:
        return None
    done = work(planned)
    with open_session() as session:
        result = write(session, planned, done)
        session.commit()
    return result
