"""Shared fixtures: a migrated database (SQLite, or PostgreSQL via FACTDESK_TEST_DATABASE_URL),
the app and its client, and helpers to make users, tokens and claims.

Each test starts from empty tables. Tables are emptied after each test rather than rolled back,
because the service itself uses more than one transaction per request (idempotency keys are
claimed in their own) and the concurrency tests need real, separate connections.
"""

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from service import create_app
from service.accounts.models import User
from service.accounts.services import UserService
from service.core.database import make_engine
from service.ops import jobs
from service.ops.migrate import upgrade

TEST_DATABASE_URL = os.environ.get("FACTDESK_TEST_DATABASE_URL", "")


def _reset_schema(engine: Engine) -> None:
    """Drop everything, so the migrations run from empty to head in every session."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
        else:
            rows = conn.exec_driver_sql(
                "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'trigger') "
                "AND name NOT LIKE 'sqlite_%' AND name NOT IN ('claim_fts_data', 'claim_fts_idx', "
                "'claim_fts_docsize', 'claim_fts_config', 'claim_fts_content') ORDER BY name = 'claim_fts'"
            ).all()
            for kind, name in rows:
                conn.exec_driver_sql(f'DROP {kind.upper()} IF EXISTS "{name}"')


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'factdesk-test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    _reset_schema(engine)
    upgrade(engine)
    yield engine
    engine.dispose()


def empty_tables(engine: Engine) -> None:
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
        else:
            for table in tables:
                conn.exec_driver_sql(f'DELETE FROM "{table}"')


@pytest.fixture
def make_app(engine: Engine, database_url: str, tmp_path) -> Iterator:
    """`make_app(**settings)` → an app on the test database; jobs run inline, in the request.

    Captures may reach local test servers (127.0.0.0/8) unless `fetch_allowed_networks` says
    otherwise.
    """
    apps: list[Flask] = []

    def make(**overrides: object) -> Flask:
        config = {
            "database_url": database_url,
            "data_dir": str(tmp_path / "data"),
            "fetch_allowed_networks": ("127.0.0.0/8", "::1/128"),
            "JOBS_IMMEDIATE": True,
            **overrides,
        }
        apps.append(create_app(config))
        return apps[-1]

    yield make
    for app in apps:
        if "factdesk.badge_reader" in app.extensions:
            app.extensions["factdesk.badge_reader"].close()
        app.extensions["factdesk.engine"].dispose()
    jobs.dispose()
    empty_tables(engine)


@pytest.fixture
def app(make_app) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@dataclass
class Person:
    user: User
    token: str

    @property
    def id(self) -> str:
        return self.user.id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_user(engine: Engine, app: Flask):
    """`make_user("reviewer")` → a Person with a live token."""
    counter = iter(range(1, 10_000))

    def make(role: str = "submitter", name: str | None = None) -> Person:
        with Session(engine, expire_on_commit=False) as session:
            users = UserService(session)
            user = users.add(name or f"{role}-{next(counter)}", role)
            token = users.issue_token(user)
            session.commit()
        return Person(user, token)

    return make


@pytest.fixture
def submitter(make_user) -> Person:
    return make_user("submitter")


@pytest.fixture
def reviewer(make_user) -> Person:
    return make_user("reviewer")


@pytest.fixture
def submit(client: FlaskClient, submitter: Person):
    """`submit("text", **fields)` → the response of POST /api/v1/claims (as `submitter`)."""

    def post(text: str, person: Person | None = None, **fields: object):
        body = {"text": text, **fields}
        return client.post("/api/v1/claims", json=body, headers=(person or submitter).headers)

    return post


def set_status(engine: Engine, claim_id: str, status: str) -> None:
    """Move a claim to `status` directly in the database, for tests about what follows a status
    rather than how the workflow reaches it (a `published` claim also gets a verdict version)."""
    version = 1 if status == "published" else 0
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE claim SET status = :s, verdict_version = :v, rating = :r WHERE id = :id"),
            {"s": status, "v": version, "r": "false" if version else None, "id": claim_id},
        )


# -- the workflow, for tests of what follows from it ------------------------------------------

STATEMENT = (
    b"Our government has participated as a co-sponsor of this resolution, "
    b"the Foreign Ministry said in a statement sent to UPI.\n"
)
SUMMARY = "The Foreign Ministry's statement confirms that Seoul co-sponsored the resolution."


@pytest.fixture
def desk(client, make_user, submit):
    """A claim with an archived, found `supports` citation, and the people who work on it."""
    people = {
        "submitter": make_user("submitter"),
        "alice": make_user("reviewer"),
        "bob": make_user("reviewer"),
        "carol": make_user("reviewer"),
        "editor": make_user("editor"),
    }
    claim = submit("Seoul co-sponsored the resolution.", person=people["submitter"]).get_json()
    source = client.post(
        "/api/v1/sources",
        data={"file": (io.BytesIO(STATEMENT), "statement.txt")},
        headers=people["alice"].headers,
        content_type="multipart/form-data",
    ).get_json()
    client.post(
        f"/api/v1/claims/{claim['id']}/citations",
        headers=people["alice"].headers,
        json={
            "source_id": source["id"],
            "relation": "supports",
            "quote": {"exact": "has participated as a co-sponsor of this resolution"},
        },
    )
    return {"claim_id": claim["id"], "source_id": source["id"], **people}


class Act:
    """Sends transitions with the claim's current ETag (or a given one)."""

    def __init__(self, client, claim_id: str) -> None:
        self.client, self.claim_id = client, claim_id

    def etag(self, person) -> str:
        return self.client.get(f"/api/v1/claims/{self.claim_id}", headers=person.headers).get_json()["etag"]

    def __call__(self, person, action: str, etag: str | None = None, **fields):
        headers = {**person.headers, "If-Match": etag or self.etag(person)}
        return self.client.post(
            f"/api/v1/claims/{self.claim_id}/transitions", headers=headers, json={"action": action, **fields}
        )


@pytest.fixture
def act(client, desk) -> Act:
    return Act(client, desk["claim_id"])


def publish(act: Act, desk: dict, rating: str = "true") -> dict:
    assert act(desk["alice"], "start_research").status_code == 200
    assert act(desk["alice"], "propose", rating=rating, summary=SUMMARY).status_code == 200
    response = act(desk["bob"], "approve")
    assert response.status_code == 200, response.get_json()
    return response.get_json()
