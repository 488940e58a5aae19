"""One database session per request (flaskr's `get_db` pattern), committed once at the end."""

from flask import Flask, current_app, g
from sqlalchemy.engine import Engine
from sqlmodel import Session


def engine() -> Engine:
    """The app's engine."""
    return current_app.extensions["factdesk.engine"]


def session() -> Session:
    """The request's session, opened on first use."""
    if "db" not in g:
        g.db = Session(engine(), expire_on_commit=False)
    return g.db


def commit() -> None:
    """Commit the request's transaction, if it opened one."""
    if "db" in g:
        g.db.commit()


def rollback() -> None:
    """Undo whatever the request did."""
    if "db" in g:
        g.db.rollback()


def close(_exc: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_app(app: Flask, db_engine: Engine) -> None:
    app.extensions["factdesk.engine"] = db_engine
    app.teardown_appcontext(close)
