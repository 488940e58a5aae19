"""Faults: the database connection cut turns into 503 problem+json and heals by itself when it comes
back; Redis unreachable leaves badges, pages and probes serving and rate limits fall back."""

import contextlib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy.engine import make_url

from tests.conftest import TEST_DATABASE_URL, publish


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TcpProxy:
    """Forwards a loopback port to `target`; `stop()` refuses new connections and cuts the open
    ones (as a crashed database or a broken network does), `start()` brings it back on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.port = target, 0
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        listener.settimeout(0.05)  # the accept loop looks up often enough to notice stop()
        self.port, self._listener = listener.getsockname()[1], listener
        self._spawn(self._accept, listener)

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the pumps blocked in recv
        threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(timeout=5)
        for sock in [*sockets, *([listener] if listener else [])]:
            sock.close()

    def _spawn(self, target, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)  # pass the end of the stream on


def assert_unavailable(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["status"] == 503


@pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgres"),
    reason="needs PostgreSQL (FACTDESK_TEST_DATABASE_URL): SQLite is a file this process opens, with no "
    "connection to cut, and the tests run as root, which file permissions do not stop",
)
def test_a_cut_database_connection_is_503_and_heals_by_itself(make_app, make_user) -> None:
    url = make_url(TEST_DATABASE_URL)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    try:
        proxied = url.set(port=proxy.port, query={**url.query, "connect_timeout": "2"})
        client = make_app(database_url=proxied.render_as_string(hide_password=False)).test_client()
        reader = make_user("submitter")
        assert client.get("/readyz").status_code == 200
        assert client.get("/api/v1/claims", headers=reader.headers).status_code == 200

        proxy.stop()  # the open pooled connections die and new ones are refused
        assert_unavailable(client.get("/readyz"))
        assert_unavailable(client.get("/api/v1/claims", headers=reader.headers))
        assert_unavailable(client.post("/api/v1/claims", json={"text": "Lost."}, headers=reader.headers))
        assert client.get("/healthz").status_code == 200  # the process itself still answers

        proxy.start()  # the database is back, on the same address: no restart of the app
        assert client.get("/readyz").status_code == 200
        assert client.get("/api/v1/claims", headers=reader.headers).status_code == 200
        created = client.post("/api/v1/claims", json={"text": "Back in business."}, headers=reader.headers)
        assert created.status_code == 201
    finally:
        proxy.stop()


def test_redis_unreachable_keeps_badges_pages_and_probes_serving(make_app, desk, act) -> None:
    publish(act, desk)  # through the default app; the database is the same
    claim_id, submitter = desk["claim_id"], desk["submitter"]
    app = make_app(
        redis_url=f"redis://127.0.0.1:{_free_port()}/0",  # nothing listens there
        rate_limit_writes="2/minute",
        JOBS_IMMEDIATE=False,  # the job queue is in that Redis too
    )
    client = app.test_client()

    badge = client.get(f"/badges/{claim_id}.svg")
    assert badge.status_code == 200
    assert badge.mimetype == "image/svg+xml"
    unknown = client.get("/badges/clm_not_here.svg")
    assert unknown.status_code == 404
    assert unknown.mimetype == "image/svg+xml"
    assert client.get(f"/c/{claim_id}").status_code == 200
    assert client.get("/claimreview.json").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    # The queue depth cannot be read, so it is left out; the rest of /metrics answers.
    scraped = client.get("/metrics")
    assert scraped.status_code == 200
    assert b"factdesk_http_requests_total" in scraped.data
    assert b"factdesk_job_queue_depth" not in scraped.data
    # Rate limits fall back to this process's memory: still enforced, never a 500.
    for text in ("A claim while Redis is away.", "Another claim."):
        assert (
            client.post("/api/v1/claims", json={"text": text}, headers=submitter.headers).status_code == 201
        )
    third = client.post("/api/v1/claims", json={"text": "One too many."}, headers=submitter.headers)
    assert third.status_code == 429
    assert third.mimetype == "application/problem+json"


@pytest.fixture
def redis_server(tmp_path) -> Iterator:
    """`start()` / `stop()` a private redis-server on a free loopback port (no persistence)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port, processes = _free_port(), []

    class Server:
        url = f"redis://127.0.0.1:{port}/0"

        @staticmethod
        def start() -> None:
            command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            command += ["--dir", str(tmp_path)]
            processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            with redis.Redis.from_url(Server.url) as client:
                deadline = time.monotonic() + 5
                while True:
                    try:
                        client.ping()
                        return
                    except redis.ConnectionError:
                        assert time.monotonic() < deadline, "redis-server did not start"
                        time.sleep(0.02)

        @staticmethod
        def stop() -> None:
            while processes:
                process = processes.pop()
                process.terminate()
                process.wait(timeout=10)

        @staticmethod
        def stored_keys() -> list[bytes]:
            with redis.Redis.from_url(Server.url) as client:
                return client.keys("*")

    yield Server
    Server.stop()


@pytest.mark.slow  # starts redis-server twice and waits for the limiter to find it again
def test_limits_are_shared_through_redis_and_survive_its_restart(make_app, make_user, redis_server) -> None:
    redis_server.start()
    settings = {"redis_url": redis_server.url, "rate_limit_writes": "3/minute"}
    web1, web2 = make_app(**settings).test_client(), make_app(**settings).test_client()
    alice = make_user("submitter")

    def write(client, text: str) -> int:
        return client.post("/api/v1/claims", json={"text": text}, headers=alice.headers).status_code

    # Two workers (two apps here), one budget: the counts live in Redis.
    assert [write(web1, "One."), write(web2, "Two."), write(web1, "Three.")] == [201, 201, 201]
    assert write(web2, "Four.") == 429
    assert any(b"api-writes" in key for key in redis_server.stored_keys())

    redis_server.stop()
    assert web1.get("/badges/clm_not_here.svg").status_code == 404  # badges do not notice
    assert write(web1, "While Redis is away.") == 201  # a fresh budget, in this worker's memory

    redis_server.start()  # empty again (no persistence): the limiter finds it within seconds
    deadline = time.monotonic() + 5
    while not redis_server.stored_keys():
        assert time.monotonic() < deadline, "the limiter did not return to Redis"
        assert web1.get("/badges/clm_not_here.svg").status_code == 404
        time.sleep(0.2)
