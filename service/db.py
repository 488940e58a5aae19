"""One database session per request (flaskr's `get_db` pattern), committed once at the end."""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.database import write_intent

log = logging.getLogger(__name__)


def engine() -> Engine:
    """The app's engine."""
    return current_app.extensions["factdesk.engine"]


def session() -> Session:
    """The request's session, opened on first use."""
    if "db" not in g:
        g.db = Session(engine(), expire_on_commit=False)
    return g.db


@contextmanager
def reading() -> Iterator[None]:
    """Reads that need not hold the write lock: on SQLite a deferred transaction, ended after.

    Only for the start of a request, before it has written anything.
    """
    with write_intent(False):
        yield
        commit()


def after_commit(job: Callable[[], object]) -> None:
    """Run `job` once the request's work is committed (e.g. queue a capture of a new source)."""
    g.setdefault("after_commit", []).append(job)


def commit() -> None:
    """Commit the request's transaction, if it opened one, then run its after-commit jobs."""
    if "db" in g:
        g.db.commit()
    for job in g.pop("after_commit", []):
        try:
            job()
        except Exception:  # the work is stored; a lost job is retried by the periodic re-check
            log.exception("after-commit job failed")


def rollback() -> None:
    """Undo whatever the request did."""
    g.pop("after_commit", None)
    if "db" in g:
        g.db.rollback()


def close(_exc: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_app(app: Flask, db_engine: Engine) -> None:
    app.extensions["factdesk.engine"] = db_engine
    app.teardown_appcontext(close)
