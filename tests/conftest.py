"""Shared fixtures: a migrated database (SQLite, or PostgreSQL via FACTDESK_TEST_DATABASE_URL),
the app and its client, and helpers to make users, tokens and claims.

Each test starts from empty tables. Tables are emptied after each test rather than rolled back,
because the service itself uses more than one transaction per request (idempotency keys are
claimed in their own) and the concurrency tests need real, separate connections.

Apps are built once per configuration and lent to one test at a time, reset in between (see
`make_app`). Files a test keeps for a person to look at go under `artifacts`, a temporary directory.
"""

import hashlib
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis.configuration import set_hypothesis_home_dir
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from claims.matching import retrieval, vectors
from claims.models import Verdict
from claims.workflow import activate_scale
from service import create_app
from service.accounts.models import User
from service.accounts.services import UserService
from service.core.config import Settings
from service.core.database import make_engine, utcnow
from service.ops import jobs, logs
from service.ops.migrate import upgrade
from service.public.states import READER, badge_states
from service.reviewer import persisted_secret_key
from service.web import access

TEST_DATABASE_URL = os.environ.get("FACTDESK_TEST_DATABASE_URL", "")

# Hypothesis keeps its example database in the working directory unless told otherwise: keep it
# outside the source tree, one per checkout, so failing examples are still replayed next run.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    _CHECKOUT = hashlib.sha256(str(Path(__file__).resolve().parents[1]).encode()).hexdigest()[:12]
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / f"factdesk-hypothesis-{_CHECKOUT}")

pytest_plugins = [
    "tests.s3",  # the S3 API (moto's server) and the stores to test against
    "tests.browser",  # chromium through Playwright, and the app over real HTTP for it
]

ARTIFACTS_DIR = pytest.StashKey[Path]()


@pytest.fixture(scope="session")
def artifacts(request, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where tests keep files for a person to look at (screenshots): in this run's temporary
    directory, never the source tree; the path is printed at the end of the run."""
    path = tmp_path_factory.mktemp("artifacts", numbered=False)
    request.config.stash[ARTIFACTS_DIR] = path
    return path


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    path = config.stash.get(ARTIFACTS_DIR, None)
    if path is not None and any(path.iterdir()):
        terminalreporter.write_line(f"artifacts (screenshots) in {path}")


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
                "'claim_fts_docsize', 'claim_fts_config', 'claim_fts_content', 'factcheck_fts_data', "
                "'factcheck_fts_idx', 'factcheck_fts_docsize', 'factcheck_fts_config') "
                "ORDER BY name IN ('claim_fts', 'factcheck_fts')"
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


# -- apps: built once per configuration ----------------------------------------------------------
#
# Building an app costs about 0.1 s (mostly the OpenAPI document flask-smorest assembles), and most
# tests want the same one. `make_app` hands out apps from a session cache keyed by the overrides
# (and the FACTDESK_* environment, which settings are read from), one test at a time, after putting
# back everything a test can leave behind in them or in the process; see `_hand_out`.

# Settings that name a resource of one test (a directory, a database proxy, a Redis server, a scale
# file under tmp_path): an app built with them is never asked for again, so it is built afresh.
UNCACHED_SETTINGS = frozenset({"data_dir", "database_url", "redis_url", "rating_scale", "blob_url"})


def _frozen(value: object) -> object:
    """`value` as a hashable cache key part (TypeError when it cannot be one)."""
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, _frozen(v)) for k, v in value.items())))
    if isinstance(value, list | tuple | set | frozenset):
        items = tuple(_frozen(v) for v in value)
        return (
            type(value).__name__,
            tuple(sorted(items, key=repr)) if isinstance(value, set | frozenset) else items,
        )
    hash(value)
    return value


def _cache_key(overrides: dict[str, object]) -> Hashable | None:
    """The cache key of an app with these overrides, or None when it must be built afresh."""
    if UNCACHED_SETTINGS & overrides.keys():
        return None
    environment = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("FACTDESK_")))
    try:
        return (_frozen(overrides), environment)
    except TypeError:
        return None


def _fingerprint(app: Flask) -> dict[str, object]:
    """What a test could change on an app and leave for the next one: routes, hooks, handlers,
    config, extensions, the WSGI chain."""
    hooks = {
        name: {bp: tuple(funcs) for bp, funcs in getattr(app, name).items() if funcs}
        for name in (
            "before_request_funcs",
            "after_request_funcs",
            "teardown_request_funcs",
            "url_value_preprocessors",
            "url_default_functions",
            "template_context_processors",
        )
    }
    # Flask's lookups fill these defaultdicts with empty entries: only handlers count.
    handlers = {
        (bp, code, cls): handler
        for bp, codes in app.error_handler_spec.items()
        for code, by_class in codes.items()
        for cls, handler in by_class.items()
    }
    return {
        "config": dict(app.config),
        "routes": sorted(str(rule) + repr(sorted(rule.methods or ())) for rule in app.url_map.iter_rules()),
        "view functions": dict(app.view_functions),
        "blueprints": dict(app.blueprints),
        "teardown_appcontext_funcs": tuple(app.teardown_appcontext_funcs),
        "error handlers": handlers,
        "extensions": dict(app.extensions),
        "wsgi_app": (app.wsgi_app, getattr(app.wsgi_app, "wsgi_app", None)),
        "session_interface": app.session_interface,
        "json": app.json,
        "jinja globals": dict(app.jinja_env.globals),
        "jinja filters": dict(app.jinja_env.filters),
        **hooks,
    }


def _close_connections(app: Flask) -> None:
    """Close the app's pooled connections: the next test starts with none, as with a new app."""
    if READER in app.extensions:
        app.extensions[READER].close()
    app.extensions["factdesk.engine"].dispose()


class AppCache:
    """Apps by cache key; each is lent to one test at a time (a test asking twice for the same
    configuration gets two apps, as two workers of one deployment would be)."""

    def __init__(self) -> None:
        self.idle: dict[Hashable, list[Flask]] = {}
        self.built: list[Flask] = []

    def take(self, key: Hashable, build: Callable[[], Flask]) -> Flask:
        idle = self.idle.get(key)
        if idle:
            return idle.pop()
        app = build()
        self.built.append(app)
        return app

    def give_back(self, key: Hashable, app: Flask) -> None:
        self.idle.setdefault(key, []).append(app)

    def discard(self, app: Flask) -> None:
        self.built.remove(app)

    def close(self) -> None:
        for app in self.built:
            _close_connections(app)


@pytest.fixture(scope="session")
def app_cache() -> Iterator[AppCache]:
    cache = AppCache()
    yield cache
    cache.close()


@pytest.fixture(scope="session")
def app_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data dir of every app a test makes without naming one; emptied before each test."""
    return tmp_path_factory.mktemp("app-data")


def _empty_dir(path: Path) -> None:
    for entry in path.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _hand_out(app: Flask) -> None:
    """Put a cached app (and the process-wide state its creation set) back as `create_app` left it.

    Per app: the rate-limit counts and the desk's secret key (a new one per test, from the emptied
    data dir, unless the settings give one). Per process, set by whichever app was made last: the
    job queue, logging and the rating scale.
    """
    settings: Settings = app.extensions["factdesk.settings"]
    app.extensions["factdesk.limits"].reset()
    if not settings.secret_key:
        app.secret_key = persisted_secret_key(settings.data_dir)
    activate_scale(settings.rating_scale)
    jobs.configure(settings, immediate=bool(app.config.get("JOBS_IMMEDIATE")))
    logs.configure(settings, request_id=access.current_request_id)


@pytest.fixture(autouse=True)
def _forget_process_caches() -> None:
    """Caches kept per process, which a test may fill for the next: badge states and full-text
    term counts and sentence vectors (keyed by engine, and the cached apps' engines outlive a test)."""
    badge_states.forget(list(badge_states._entries))  # BadgeStates has no public way to list them
    retrieval.forget_counts()
    vectors.forget_vectors()


@pytest.fixture
def make_app(request, app_cache: AppCache, app_data_dir: Path, engine: Engine, database_url: str) -> Iterator:
    """`make_app(**settings)` → an app on the test database; jobs run inline, in the request.

    Captures may reach local test servers (127.0.0.0/8) unless `fetch_allowed_networks` says
    otherwise. Apps come from a cache shared by the session. A test that changes its app (adds a
    route, say) is marked `fresh_app` and gets new ones, which it alone uses: otherwise Flask
    refuses the route on an app that has served a request, or the check after the test fails.
    Every app of a test shares one data dir, emptied before the test.
    """
    _empty_dir(app_data_dir)
    fresh_only = request.node.get_closest_marker("fresh_app") is not None
    lent: list[tuple[Hashable, Flask, dict[str, object]]] = []
    fresh: list[Flask] = []

    def make(**overrides: object) -> Flask:
        config = {
            "database_url": database_url,
            "data_dir": str(app_data_dir),
            "fetch_allowed_networks": ("127.0.0.0/8", "::1/128"),
            "base_url": "http://localhost",  # where the test client's requests go
            "JOBS_IMMEDIATE": True,
            **overrides,
        }
        key = None if fresh_only else _cache_key(overrides)
        if key is None:
            fresh.append(create_app(config))
            return fresh[-1]
        app = app_cache.take(key, lambda: create_app(config))
        _hand_out(app)
        lent.append((key, app, _fingerprint(app)))
        return app

    yield make
    changed = []
    for key, app, before in lent:
        after = _fingerprint(app)
        _close_connections(app)
        differences = [part for part in before if before[part] != after[part]]
        if differences:
            app_cache.discard(app)
            changed.append(", ".join(differences))
        else:
            app_cache.give_back(key, app)
    for app in fresh:
        _close_connections(app)
    jobs.dispose()
    empty_tables(engine)
    if changed:
        pytest.fail(
            f"the test changed a cached app ({'; '.join(changed)}), which the next test would "
            "inherit: mark it @pytest.mark.fresh_app to give it apps of its own"
        )


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
    rather than how the workflow reaches it (a `published` claim also gets a verdict, version 1,
    whose public record is the claim as it is)."""
    version = 1 if status == "published" else 0
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE claim SET status = :s, verdict_version = :v, rating = :r WHERE id = :id"),
            {"s": status, "v": version, "r": "false" if version else None, "id": claim_id},
        )
        if version:
            submitter = conn.execute(
                sa.text("SELECT submitted_by FROM claim WHERE id = :id"), {"id": claim_id}
            ).scalar_one()
            with Session(bind=conn) as session:
                session.add(
                    Verdict(
                        claim_id=claim_id,
                        version=1,
                        rating="false",
                        summary="Rated false for a test of what follows publication.",
                        proposer_id=submitter,
                        approvers=[submitter],
                        proposed_at=utcnow(),
                    )
                )
                session.flush()


# -- the workflow, for tests of what follows from it ------------------------------------------

STATEMENT = (
    b"Our government has participated as a co-sponsor of this resolution, "
    b"the Foreign Ministry said in a statement sent to UPI.\n"
)
SUMMARY = "The Foreign Ministry's statement confirms that Seoul co-sponsored the resolution."


def cite_statement(
    client: FlaskClient, claim_id: str, headers: dict[str, str], exact: str = "co-sponsor of this resolution"
) -> dict:
    """Upload the ministry's statement as a source and cite `exact` from it as support; the source."""
    source = client.post(
        "/api/v1/sources",
        data={"file": (io.BytesIO(STATEMENT), "statement.txt")},
        headers=headers,
        content_type="multipart/form-data",
    ).get_json()
    cited = client.post(
        f"/api/v1/claims/{claim_id}/citations",
        headers=headers,
        json={"source_id": source["id"], "relation": "supports", "quote": {"exact": exact}},
    )
    assert cited.status_code == 201, cited.get_json()
    return source


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
    source = cite_statement(
        client, claim["id"], people["alice"].headers, "has participated as a co-sponsor of this resolution"
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
