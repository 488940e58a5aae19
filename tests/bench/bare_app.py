"""The baseline for the intake benchmark: a bare Flask + SQLModel app with one table.

`POST /bare` parses the same JSON body as `POST /api/v1/claims`, inserts one row and answers 201.
SQLite runs with the pragmas Factdesk uses (WAL, busy timeout, synchronous=NORMAL), so the
comparison measures the framework and the service's own work, not different durability settings.

    BENCH_BARE_DB=/tmp/bare.db gunicorn -w 2 -b 127.0.0.1:8001 tests.bench.bare_app:app

The table is created by `create_db()` (the benchmark calls it before starting gunicorn, so two
workers never race to create it).
"""

import os
from datetime import UTC, datetime

from flask import Flask, Response, jsonify, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, create_engine

BUSY_TIMEOUT_MS = 15_000
DB_PATH = os.environ.get("BENCH_BARE_DB", "/tmp/factdesk-bench-bare.db")


class BareClaim(SQLModel, table=True):
    __tablename__ = "bare_claim"

    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(max_length=1000)
    claimant: str | None = Field(default=None, max_length=300)
    url: str | None = Field(default=None, max_length=2048)
    quote: str | None = Field(default=None, max_length=5000)
    tags: str = ""
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def _pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(path: str) -> Engine:
    """An engine on the SQLite file at `path`, in WAL mode with a busy timeout."""
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
    )
    event.listen(engine, "connect", _pragmas)
    return engine


def create_db(path: str) -> None:
    """Create the one table (only it, not every SQLModel table imported in this process)."""
    engine = make_engine(path)
    try:
        BareClaim.__table__.create(engine, checkfirst=True)  # type: ignore[attr-defined]
    finally:
        engine.dispose()


app = Flask(__name__)
engine = make_engine(DB_PATH)


@app.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@app.post("/bare")
def bare() -> tuple[Response, int]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return jsonify(error="Send a JSON object with a text."), 400
    appearance = data.get("appearance") or {}
    row = BareClaim(
        text=data["text"],
        claimant=data.get("claimant"),
        url=appearance.get("url"),
        quote=appearance.get("quote"),
        tags=",".join(data.get("tags") or []),
    )
    with Session(engine, expire_on_commit=False) as session:
        session.add(row)
        session.commit()
    return jsonify(id=row.id, text=row.text, created_at=row.created_at.isoformat()), 201
