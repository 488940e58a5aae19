"""`factdesk db copy`: a SQLite desk (the demo, and a few hundred claims through their workflow)
moved into an empty PostgreSQL database, read back through the API of an app on the copy.

The target must be PostgreSQL: these tests make their own databases on the server at
FACTDESK_TEST_DATABASE_URL, so they run in the suite's PostgreSQL pass and are skipped, saying so,
in the SQLite one (whose source would be the same: always a SQLite desk of this module's own).
"""

import io
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel

from service import create_app
from service.accounts.services import UserService
from service.cli import main
from service.core.config import Settings
from service.core.database import make_engine
from service.ops import dbcopy, jobs
from service.ops.demo import load_demo
from service.ops.migrate import downgrade, upgrade
from sources.blobs import FileStore
from tests.conftest import SUMMARY, Person, _close_connections
from tests.service.reviewer.test_desk import PASSWORD, Desk, set_password

pytestmark = pytest.mark.slow  # a desk of a few hundred claims is built once, then copied

PUBLISHED, PROPOSED, SUBMITTED = 90, 40, 70  # claims in each state, beside the demo's 12
DESK_COOKIE = "factdesk_desk"


def _server_url() -> str:
    url = os.environ.get("FACTDESK_TEST_DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("db copy runs in the PostgreSQL pass (FACTDESK_TEST_DATABASE_URL=postgresql://…)")
    return url


@pytest.fixture(scope="module")
def server() -> Iterator[Engine]:
    """The PostgreSQL server copies go to, connected to in autocommit to create databases."""
    engine = make_engine(_server_url(), autocommit=True)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as exc:
        engine.dispose()
        pytest.skip(f"db copy needs a PostgreSQL target; none answers at {_server_url()}: {exc.orig}")
    yield engine
    engine.dispose()


@pytest.fixture
def target(server: Engine) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    url = make_url(server.url)
    name = f"{url.database or 'factdesk'}_copy_{uuid.uuid4().hex[:8]}"
    with server.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    with server.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- the source desk -----------------------------------------------------------------------------


@dataclass
class SourceDesk:
    data_dir: Path
    url: str
    people: dict[str, Person]
    claims: list[str]
    published: list[str]
    desk_cookie: str  # a reviewer's desk sign-in


def _app(database_url: str, data_dir: Path) -> Flask:
    return create_app(
        {
            "database_url": database_url,
            "data_dir": str(data_dir),
            "base_url": "http://localhost",
            "fetch_allowed_networks": ("127.0.0.0/8",),
            "rate_limit_writes": "off",
            "JOBS_IMMEDIATE": True,
        }
    )


def _close(app: Flask) -> None:
    _close_connections(app)


@pytest.fixture(scope="module")
def desk(server: Engine, tmp_path_factory: pytest.TempPathFactory) -> SourceDesk:
    """The SQLite desk every copy starts from (built only when there is a PostgreSQL to copy to)."""
    data_dir = tmp_path_factory.mktemp("desk")
    url = f"sqlite:///{data_dir / 'factdesk.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        load_demo(session, Settings(data_dir=data_dir, database_url=url))
        session.commit()
        users = UserService(session)
        people = {}
        for role in ("submitter", "reviewer", "editor", "admin"):
            user = users.add(f"{role}-1", role)
            people[role] = Person(user, users.issue_token(user))
        second = users.add("reviewer-2", "reviewer")
        people["reviewer2"] = Person(second, users.issue_token(second))
        session.commit()
    set_password(engine, people["reviewer"].id)
    engine.dispose()
    app = _app(url, data_dir)
    client = app.test_client()
    sources: dict[int, str] = {}
    states = ["published"] * PUBLISHED + ["proposed"] * PROPOSED + ["submitted"] * SUBMITTED
    made = [_claim(client, people, sources, n, state) for n, state in enumerate(states)]
    published = made[:PUBLISHED]
    _extras(client, people)
    signed_in = Desk(app, people["reviewer"].user.name)
    assert signed_in.sign_in().status_code == 303
    cookie = signed_in.http.get_cookie(DESK_COOKIE, path="/desk")
    assert cookie is not None
    engine = make_engine(url)
    with engine.connect() as conn:
        every = conn.execute(sa.text("SELECT id FROM claim ORDER BY seq")).scalars().all()
    engine.dispose()
    _close(app)
    jobs.dispose()
    return SourceDesk(data_dir, url, people, list(every), published, cookie.value)


def _submission(n: int) -> dict[str, object]:
    return {
        "text": f"The harbour tunnel carried {n + 1} thousand cars on its first day.",
        "tags": [f"t{n % 3}"],
    }


def _claim(
    client: FlaskClient, people: dict[str, Person], sources: dict[int, str], n: int, state: str
) -> str:
    """A claim taken to `state` through the API, as a desk would (cited from its own archive)."""
    headers = people["submitter"].headers
    if n % 10 == 0:  # some submissions carry an Idempotency-Key, kept as the service keeps them
        headers = {**headers, "Idempotency-Key": f"claim-{n}"}
    created = client.post("/api/v1/claims", json=_submission(n), headers=headers)
    assert created.status_code == 201, created.get_json()
    claim_id = created.get_json()["id"]
    if state == "submitted":
        return claim_id
    if n % SOURCES not in sources:
        sources[n % SOURCES] = _upload(client, people["reviewer"], n % SOURCES)
    source_id = sources[n % SOURCES]
    quote = {"exact": f"carried {n + 1} thousand cars"}
    cited = client.post(
        f"/api/v1/claims/{claim_id}/citations",
        json={"source_id": source_id, "relation": "supports", "quote": quote},
        headers=people["reviewer"].headers,
    )
    assert cited.status_code == 201, cited.get_json()
    steps = [
        ("reviewer", "start_research", {}),
        ("reviewer", "propose", {"rating": "true", "summary": SUMMARY}),
    ]
    if state == "published":
        steps.append(("reviewer2", "approve", {}))
    for who, action, fields in steps:
        person = people[who]
        etag = client.get(f"/api/v1/claims/{claim_id}", headers=person.headers).get_json()["etag"]
        moved = client.post(
            f"/api/v1/claims/{claim_id}/transitions",
            json={"action": action, **fields},
            headers={**person.headers, "If-Match": etag},
        )
        assert moved.status_code == 200, moved.get_json()
    return claim_id


SOURCES = 8  # archived statements the claims cite (each read in a contained process: not one a claim)


def _upload(client: FlaskClient, reviewer: Person, k: int) -> str:
    """Statement `k`, archived: one line for every claim it supports; its source's id."""
    lines = [_fact(n) for n in range(PUBLISHED + PROPOSED) if n % SOURCES == k]
    source = client.post(
        "/api/v1/sources",
        data={"file": (io.BytesIO("\n".join(lines).encode()), f"counts-{k}.txt")},
        headers=reviewer.headers,
        content_type="multipart/form-data",
    )
    assert source.status_code == 201, source.get_json()
    return source.get_json()["id"]


def _fact(n: int) -> str:
    return f"Traffic count {n}: the harbour tunnel carried {n + 1} thousand cars on its first day."


def _extras(client: FlaskClient, people: dict[str, Person]) -> None:
    """What the workflow alone does not make: a webhook, and fact-checks in the library."""
    hook = client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["claim.published"]},
        headers=people["admin"].headers,
    )
    assert hook.status_code == 201, hook.get_json()
    reviews = [
        {
            "@context": "https://schema.org",
            "@type": "ClaimReview",
            "url": f"https://factcheck.example.org/checks/{n}",
            "claimReviewed": f"The harbour tunnel closed {n} times in 2024",
            "datePublished": "2025-01-02",
            "author": {"@type": "Organization", "name": "Example Checks"},
            "reviewRating": {"@type": "Rating", "alternateName": "False"},
        }
        for n in range(5)
    ]
    imported = client.post("/api/v1/factchecks", json=reviews, headers=people["editor"].headers)
    assert imported.status_code == 200, imported.get_json()


def _copy(desk: SourceDesk, target: str, *args: str) -> Result:
    env = {
        "FACTDESK_DATA_DIR": str(desk.data_dir),
        "FACTDESK_DATABASE_URL": desk.url,
        "FACTDESK_BLOB_URL": None,
    }
    return CliRunner().invoke(main, ["db", "copy", "--to", target, *args], env=env, catch_exceptions=False)


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                for t in SQLModel.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def _json_nulls(url: str) -> dict[str, tuple[int, int]]:
    """For each JSON column with nulls, how many rows hold SQL NULL and how many JSON `null`."""
    engine = make_engine(url)
    counts = {}
    try:
        with engine.connect() as conn:
            for table in SQLModel.metadata.sorted_tables:
                for column in table.columns:
                    if isinstance(column.type, sa.JSON):
                        sql = conn.scalar(sa.select(sa.func.count()).where(column.is_(None)))
                        json = conn.scalar(
                            sa.select(sa.func.count()).where(sa.cast(column, sa.Text) == "null")
                        )
                        if sql or json:
                            counts[f"{table.name}.{column.name}"] = (sql or 0, json or 0)
    finally:
        engine.dispose()
    return counts


# -- the copy --------------------------------------------------------------------------------------


def test_the_copy_answers_as_the_desk_did(desk: SourceDesk, target: str, tmp_path: Path) -> None:
    blobs = tmp_path / "blobs"
    result = _copy(desk, target, "--blobs-to", blobs.as_uri())
    assert result.exit_code == 0, result.output
    claims = len(desk.claims)
    assert f"{claims} histories recomputed" in result.output
    assert _counts(target) == _counts(desk.url)
    assert sorted(FileStore(blobs).hashes()) == sorted(FileStore(desk.data_dir / "blobs").hashes())

    before, after = _app(desk.url, desk.data_dir), _app(target, desk.data_dir)
    try:
        old, new = before.test_client(), after.test_client()
        editor = desk.people["editor"].headers  # a token made on SQLite, used on PostgreSQL
        paths = ["/api/v1/claims?limit=200", "/claimreview.json", "/api/v1/factchecks?q=tunnel+closed"]
        for claim_id in desk.claims:
            paths += [f"/api/v1/claims/{claim_id}", f"/api/v1/claims/{claim_id}/history"]
        for claim_id in desk.published:
            paths += [f"/c/{claim_id}", f"/badges/{claim_id}.svg", f"/badges/{claim_id}.json"]
        for path in paths:
            was, now = old.get(path, headers=editor), new.get(path, headers=editor)
            assert (now.status_code, now.headers.get("ETag")) == (was.status_code, was.headers.get("ETag")), (
                path
            )
            assert now.get_data() == was.get_data(), path
        # Full-text search on PostgreSQL (tsvector columns filled by the database) finds the same.
        for query in ("harbour tunnel", '"17 thousand cars"', "resolution"):
            found = [
                {
                    c["id"]
                    for c in client.get(f"/api/v1/claims?q={query}&limit=200", headers=editor).get_json()[
                        "items"
                    ]
                }
                for client in (old, new)
            ]
            assert found[0] == found[1] != set(), query
        # An Idempotency-Key used on SQLite is still in force: the retry gets the first answer.
        retry = {**desk.people["submitter"].headers, "Idempotency-Key": "claim-0"}
        replayed = new.post("/api/v1/claims", json=_submission(0), headers=retry)
        assert (replayed.status_code, replayed.get_json()["id"]) == (201, desk.published[0])
        # The copy takes new rows: its counters start after the copied ones.
        made = new.post("/api/v1/claims", json={"text": "A new claim on the copy."}, headers=editor)
        assert made.status_code == 201, made.get_json()
        # A desk sign-in made on SQLite still holds on the copy.
        new.set_cookie(DESK_COOKIE, desk.desk_cookie, path="/desk")
        assert new.get("/desk").status_code == 200
        assert Desk(after, desk.people["reviewer"].user.name).sign_in(PASSWORD).status_code == 303
    finally:
        _close(before)
        _close(after)
        jobs.dispose()


def test_a_target_that_is_not_empty_is_refused(desk: SourceDesk, target: str) -> None:
    assert _copy(desk, target).exit_code == 0
    again = _copy(desk, target)
    assert again.exit_code != 0
    assert "The target database is not empty: it has rows in table user" in again.output
    assert _counts(target) == _counts(desk.url)  # the copy made first is untouched


def test_a_database_with_other_tables_is_refused(desk: SourceDesk, target: str) -> None:
    engine = make_engine(target)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE orders (id integer primary key)")
    engine.dispose()
    refused = _copy(desk, target)
    assert refused.exit_code != 0
    assert "not empty: it has tables but no Factdesk schema" in refused.output


def test_a_killed_copy_leaves_the_target_empty_and_runs_again(desk: SourceDesk, target: str) -> None:
    env = {
        **os.environ,
        "FACTDESK_DATA_DIR": str(desk.data_dir),
        "FACTDESK_DATABASE_URL": desk.url,
        "FACTDESK_BLOB_URL": "",
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "service.cli", "db", "copy", "--to", target]
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as copying:
        assert copying.stdout is not None
        for line in copying.stdout:
            if line.startswith("  claim:"):  # rows of some tables written, not committed
                copying.send_signal(signal.SIGKILL)
                break
        copying.wait(timeout=60)
    assert copying.returncode == -signal.SIGKILL
    assert set(_counts(target).values()) == {0}
    result = _copy(desk, target)
    assert result.exit_code == 0, result.output
    assert _counts(target) == _counts(desk.url)


def test_a_copy_that_does_not_verify_is_not_committed(
    desk: SourceDesk, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_table = dbcopy._copy_table

    def lose_an_event(src: sa.Connection, dst: sa.Connection, table: sa.Table, batch: int) -> int:
        count = copy_table(src, dst, table, batch)
        if table.name == "claim_event":
            dst.execute(table.delete().where(table.c.id == dst.scalar(sa.select(sa.func.max(table.c.id)))))
        return count

    monkeypatch.setattr(dbcopy, "_copy_table", lose_an_event)
    failed = _copy(desk, target)
    assert failed.exit_code != 0
    assert "does not verify, so nothing was committed" in failed.output
    rows = re.search(r"table claim_event: (\d+) rows here, (\d+) on the target", failed.output)
    assert rows is not None
    assert int(rows[2]) == int(rows[1]) - 1
    assert "history of " in failed.output  # the chain that lost an event is named
    assert set(_counts(target).values()) == {0}


def test_every_table_the_migrations_make_is_copied(desk: SourceDesk, target: str) -> None:
    """A migration that adds a table its models do not load fails here (and stops the copy)."""
    source, copy = make_engine(desk.url), make_engine(target)
    with source.begin() as conn:  # the service writes JSON null; an older row may hold SQL NULL
        conn.exec_driver_sql("UPDATE snapshot SET meta = NULL WHERE id = (SELECT min(id) FROM snapshot)")
    try:
        report = dbcopy.copy_desk(
            source,
            copy,
            SQLModel.metadata,
            source_blobs=FileStore(desk.data_dir / "blobs"),
            target_blobs=None,
        )
        with source.connect() as conn:
            made = conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "AND name NOT LIKE '%_fts%' AND name != 'alembic_version'"
            ).scalars()
            assert set(report.rows) == set(made)
    finally:
        source.dispose()
        copy.dispose()
    assert report.rows["claim"] == len(desk.claims)
    nulls = _json_nulls(desk.url)
    assert nulls == _json_nulls(target)
    assert nulls["snapshot.meta"][0] > 0 < nulls["snapshot.meta"][1]  # both kinds, kept apart
    assert report.blobs_copied == 0
    assert report.blobs_verified == len(list(FileStore(desk.data_dir / "blobs").hashes()))


def test_a_table_no_model_describes_stops_the_copy(tmp_path: Path, target: str) -> None:
    url = f"sqlite:///{tmp_path / 'factdesk.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE claim_note (id integer primary key, note text)")
    copy = make_engine(target)
    try:
        with pytest.raises(dbcopy.CopyError, match="tables no model describes \\(claim_note\\)"):
            dbcopy.copy_desk(
                engine, copy, SQLModel.metadata, source_blobs=FileStore(tmp_path), target_blobs=None
            )
    finally:
        engine.dispose()
        copy.dispose()


def test_a_desk_behind_the_newest_schema_is_asked_to_upgrade_first(tmp_path: Path, target: str) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'factdesk.db'}")
    upgrade(engine)
    downgrade(engine, "0006")
    copy = make_engine(target)
    try:
        with pytest.raises(dbcopy.CopyError, match="run `factdesk db upgrade` first"):
            dbcopy.copy_desk(
                engine, copy, SQLModel.metadata, source_blobs=FileStore(tmp_path), target_blobs=None
            )
    finally:
        engine.dispose()
        copy.dispose()


def test_only_postgresql_targets_and_reachable_ones(desk: SourceDesk) -> None:
    not_pg = _copy(desk, f"sqlite:///{desk.data_dir / 'other.db'}")
    assert not_pg.exit_code != 0
    assert "--to must name a PostgreSQL database" in not_pg.output
    unreachable = _copy(desk, "postgresql://postgres@127.0.0.1:1/nowhere")
    assert unreachable.exit_code != 0
    assert "Cannot use a database" in unreachable.output


def test_two_copies_into_one_database_do_not_race(desk: SourceDesk, target: str) -> None:
    holder = make_engine(target)
    upgrade(holder)  # the first copy has migrated it and holds the lock while it fills it
    try:
        with holder.begin() as conn:
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(dbcopy.COPY_LOCK)))
            second = _copy(desk, target)
    finally:
        holder.dispose()
    assert second.exit_code != 0
    assert "Another `factdesk db copy` is filling the target database" in second.output


def test_every_blob_is_hashed_and_damage_the_desk_had_is_named(tmp_path: Path, target: str) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'factdesk.db'}")
    upgrade(engine)
    here, there = FileStore(tmp_path / "here"), FileStore(tmp_path / "there")
    sound, damaged = here.put_bytes(b"a statement"), here.put_bytes(b"another statement")
    here.path(damaged).write_bytes(b"bit rot")
    copy = make_engine(target)
    try:
        report = dbcopy.copy_desk(engine, copy, SQLModel.metadata, source_blobs=here, target_blobs=there)
    finally:
        engine.dispose()
        copy.dispose()
    assert (report.blobs_copied, report.blobs_verified) == (2, 2)
    assert there.path(sound).read_bytes() == b"a statement"
    assert report.inherited == [f"blob {damaged} does not hash to its name in the target's store"]
    assert report.problems == []


class GarblingStore(FileStore):
    """A target store whose writes arrive damaged (a bad disk, a proxy rewriting bodies)."""

    def put_file(self, source: Path, sha256: str) -> None:
        source.write_bytes(b"garbled in transit")
        super().put_file(source, sha256)


def test_a_blob_damaged_on_its_way_fails_the_copy(tmp_path: Path, target: str) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'factdesk.db'}")
    upgrade(engine)
    here = FileStore(tmp_path / "here")
    sha256 = here.put_bytes(b"a statement")
    copy = make_engine(target)
    try:
        with pytest.raises(dbcopy.CopyError, match=f"blob {sha256} does not hash to its name"):
            dbcopy.copy_desk(
                engine,
                copy,
                SQLModel.metadata,
                source_blobs=here,
                target_blobs=GarblingStore(tmp_path / "there"),
            )
    finally:
        engine.dispose()
        copy.dispose()
