"""Background jobs: the periodic re-check, the CLI that queues it, and a real worker process."""

import os
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from service.cli import main
from service.core.database import utcnow
from service.ops import jobs
from sources.models import Source


def snapshot_count(engine, source_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa.text("SELECT count(*) FROM snapshot WHERE source_id = :s"), {"s": source_id}
        ).scalar()


def test_recheck_captures_sources_not_checked_recently(client, reviewer, httpserver, engine) -> None:
    httpserver.expect_request("/doc").respond_with_data("a document", content_type="text/plain")
    source = client.post(
        "/api/v1/sources", json={"url": httpserver.url_for("/doc")}, headers=reviewer.headers
    ).get_json()
    assert snapshot_count(engine, source["id"]) == 1
    assert jobs.recheck_sources() == 0  # checked just now: not due
    assert jobs.recheck_sources(timedelta(0)) == 1
    assert snapshot_count(engine, source["id"]) == 2


def test_sources_recheck_command_queues_captures(
    app, reviewer, database_url, tmp_path, monkeypatch, httpserver, engine
) -> None:
    httpserver.expect_request("/doc").respond_with_data("a document", content_type="text/plain")
    app.test_client().post(
        "/api/v1/sources", json={"url": httpserver.url_for("/doc")}, headers=reviewer.headers
    )
    monkeypatch.setenv("FACTDESK_DATABASE_URL", database_url)
    monkeypatch.setenv("FACTDESK_DATA_DIR", str(tmp_path / "queue"))
    result = CliRunner().invoke(main, ["sources", "recheck", "--all"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "Queued 1 source" in result.output
    assert jobs.huey.pending_count() == 1
    jobs.huey.flush()


@pytest.mark.slow  # starts `factdesk worker`
def test_a_worker_process_runs_queued_captures(
    make_app, reviewer, database_url, tmp_path, httpserver, engine
) -> None:
    httpserver.expect_request("/doc").respond_with_data("a document", content_type="text/plain")
    data_dir = tmp_path / "shared-data"
    app = make_app(data_dir=str(data_dir), JOBS_IMMEDIATE=False)
    source = (
        app.test_client()
        .post("/api/v1/sources", json={"url": httpserver.url_for("/doc")}, headers=reviewer.headers)
        .get_json()
    )
    assert snapshot_count(engine, source["id"]) == 0  # queued, not run
    env = {
        **os.environ,
        "FACTDESK_DATABASE_URL": database_url,
        "FACTDESK_DATA_DIR": str(data_dir),
        "FACTDESK_FETCH_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "worker", "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while snapshot_count(engine, source["id"]) == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.terminate()
        _, stderr = worker.communicate(timeout=30)
    assert snapshot_count(engine, source["id"]) == 1, stderr.decode()
    got = app.test_client().get(f"/api/v1/sources/{source['id']}", headers=reviewer.headers).get_json()
    assert got["health"] == "ok"


def test_a_new_source_is_not_queued_twice_by_the_periodic_recheck(
    make_app, reviewer, engine, tmp_path
) -> None:
    app = make_app(data_dir=str(tmp_path / "queued"), JOBS_IMMEDIATE=False)
    source = (
        app.test_client()
        .post("/api/v1/sources", json={"url": "https://example.org/new"}, headers=reviewer.headers)
        .get_json()
    )
    assert jobs.huey.pending_count() == 1  # its first capture
    # The 15-minute re-check comes round before a worker took it: not queued again (it is owed) …
    assert jobs.recheck_sources() == 0
    assert jobs.recheck_sources(timedelta(0)) == 0
    jobs.requeue_lost_work.call_local()
    assert jobs.huey.pending_count() == 1
    # … but a capture owed for minutes was lost with its worker: queued again, once.
    with engine.begin() as conn:
        asked = utcnow() - timedelta(minutes=6)
        conn.execute(sa.update(Source).where(Source.id == source["id"]).values(capture_requested_at=asked))
    jobs.requeue_lost_work.call_local()
    assert jobs.huey.pending_count() == 2
    jobs.requeue_lost_work.call_local()  # marked owed afresh: not again at the next minute
    assert jobs.huey.pending_count() == 2
    jobs.huey.flush()


def test_a_capture_holds_no_write_lock_while_it_fetches(
    client, reviewer, httpserver, engine, database_url
) -> None:
    from werkzeug import Response

    if not database_url.startswith("sqlite"):
        pytest.skip("the write lock is SQLite's; PostgreSQL locks rows")
    seen = []

    def answer(_request):
        writer = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=0)
        try:
            writer.execute("BEGIN IMMEDIATE")  # fails at once if the capture held the lock
            writer.rollback()
            seen.append("free")
        except sqlite3.OperationalError as exc:
            seen.append(str(exc))
        finally:
            writer.close()
        return Response("a document", content_type="text/plain")

    httpserver.expect_request("/doc").respond_with_handler(answer)
    source = client.post(
        "/api/v1/sources", json={"url": httpserver.url_for("/doc")}, headers=reviewer.headers
    ).get_json()
    assert jobs.recheck_sources(timedelta(0)) == 1  # captured again, inline
    assert seen == ["free", "free"]
    assert snapshot_count(engine, source["id"]) == 2


def test_the_worker_links_where_the_web_processes_do(tmp_path) -> None:
    from service.core import urls
    from service.core.config import Settings

    jobs.configure(Settings(data_dir=tmp_path, base_url="https://factcheck.example/"))
    try:
        assert urls.absolute("/c/clm_x") == "https://factcheck.example/c/clm_x"  # outside any request
    finally:
        jobs.configure(Settings(data_dir=tmp_path))
    assert urls.absolute("/c/clm_x") == "http://127.0.0.1:8000/c/clm_x"
