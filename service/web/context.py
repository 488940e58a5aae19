"""The request's context: its settings, database session and domain services (flaskr's `get_db`).

Views and hooks reach them through these accessors, as Flask keeps `current_app` apart from the
app: `services().claims.get(…)`. The session is opened on first use and committed once, at the
end of the request; the side effects its services recorded are dispatched after that commit.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.composition import Services
from service.core.config import Settings
from service.core.database import write_intent
from service.core.effects import Handlers, dispatch

log = logging.getLogger(__name__)

SETTINGS = "factdesk.settings"
ENGINE = "factdesk.engine"
AFTER_COMMIT = "factdesk.after_commit"


def init_app(app: Flask, settings: Settings, engine: Engine, after_commit: Handlers) -> None:
    """Keep the app's settings, engine and after-commit handlers; close sessions at teardown."""
    app.extensions[SETTINGS] = settings
    app.extensions[ENGINE] = engine
    app.extensions[AFTER_COMMIT] = after_commit
    app.teardown_appcontext(close)


def settings() -> Settings:
    """The running app's settings."""
    settings: Settings = current_app.extensions[SETTINGS]
    return settings


def engine() -> Engine:
    """The app's engine."""
    engine: Engine = current_app.extensions[ENGINE]
    return engine


def session() -> Session:
    """The request's session, opened on first use."""
    if "db" not in g:
        g.db = Session(engine(), expire_on_commit=False)
    db: Session = g.db
    return db


def services() -> Services:
    """The domain services for this request, sharing its session."""
    if "services" not in g:
        g.services = Services(session(), settings())
    found: Services = g.services
    return found


@contextmanager
def reading() -> Iterator[None]:
    """Reads that need not hold the write lock: on SQLite a deferred transaction, ended after.

    Only for the start of a request, before it has written anything.
    """
    with write_intent(False):
        yield
        commit()


def commit() -> None:
    """Commit the request's transaction, if it opened one, then dispatch its side effects."""
    if "db" in g:
        g.db.commit()
    if "services" in g:
        dispatch(g.services.effects, current_app.extensions[AFTER_COMMIT])


def rollback() -> None:
    """Undo whatever the request did, and forget the side effects it asked for."""
    if "services" in g:
        g.services.effects.discard()
    if "db" in g:
        g.db.rollback()


def close(_exc: BaseException | None = None) -> None:
    """Close the request's session (at app-context teardown)."""
    db = g.pop("db", None)
    g.pop("services", None)
    if db is not None:
        db.close()
