"""`factdesk serve` around gunicorn: a port already in use, a background worker that dies, and
/readyz telling queued jobs that no worker runs."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from service.ops import jobs


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve_env(database_url: str, data_dir: Path, tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "FACTDESK_DATABASE_URL": database_url,
        "FACTDESK_DATA_DIR": str(data_dir),
        "XDG_RUNTIME_DIR": str(tmp_path),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.pop("FACTDESK_BASE_URL", None)
    return env


@pytest.mark.usefixtures("engine")
def test_serve_on_a_taken_port_says_so_before_touching_anything(database_url: str, tmp_path) -> None:
    port, data_dir = _free_port(), tmp_path / "data"
    running = data_dir / "metrics" / str(port) / "counter_123.db"  # the running instance's counts
    running.parent.mkdir(parents=True)
    running.write_bytes(b"counts of the instance already serving")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", "1"],
            env=_serve_env(database_url, data_dir, tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is taken" in result.stderr
    assert "listening" not in result.stdout
    assert time.monotonic() - started < 30  # no gunicorn retries
    assert running.read_bytes() == b"counts of the instance already serving"


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found += [int(child) for child in children]
    return found


def _worker_of(serve_pid: int) -> int | None:
    for child in _children(serve_pid):
        try:
            if b"worker" in Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0"):
                return child  # `… service.cli worker --quiet`, not a gunicorn web worker
        except OSError:
            continue
    return None


@pytest.mark.usefixtures("engine")
def test_serve_starts_its_background_worker_again_when_it_dies(database_url: str, tmp_path) -> None:
    port, data_dir = _free_port(), tmp_path / "data"
    env = {**_serve_env(database_url, data_dir, tmp_path), "FACTDESK_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", "1"]
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        first = None
        while first is None:
            assert server.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "no background worker started"
            first = _worker_of(server.pid)
            time.sleep(0.2)
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 60  # a new interpreter with every import, on a busy machine
        replaced = None
        while replaced in (None, first):
            assert server.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the dead worker was not replaced:\n" + log_path.read_text()
            replaced = _worker_of(server.pid)
            time.sleep(0.2)
        while "was killed by SIGKILL" not in log_path.read_text():
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        assert f"(pid {first})" in log_path.read_text()
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def test_readyz_says_when_jobs_wait_and_no_worker_runs_them(make_app, reviewer) -> None:
    app = make_app(JOBS_IMMEDIATE=False)
    client = app.test_client()
    assert client.get("/readyz").status_code == 200  # nothing waits
    client.post("/api/v1/sources", json={"url": "https://example.com/a"}, headers=reviewer.headers)
    try:
        assert jobs.queue_depth() == 1
        stalled = client.get("/readyz")
        assert stalled.status_code == 503
        assert "1 background job waits" in stalled.get_json()["detail"]
        assert "no worker has ever been seen" in stalled.get_json()["detail"]
        jobs.beat()  # a worker says it is alive
        assert client.get("/readyz").status_code == 200
    finally:
        jobs.huey.flush()
