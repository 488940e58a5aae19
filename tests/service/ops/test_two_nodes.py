"""Several nodes, one service: two `factdesk serve` processes, each with its own data directory,
share one PostgreSQL database, one Redis, one blob store, one secret key and one base URL, and a
reader, a reviewer or a receiver cannot tell which of them answered.

Everything runs for real: the nodes are `factdesk serve` subprocesses (gunicorn, one web worker
each, and the background worker `serve` keeps beside it), the article they capture comes from a
local HTTP server, the webhook receiver is another route of it, Redis is a private redis-server,
and the blob store is a directory both nodes are given or a bucket on moto's S3 server.
"""

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
import redis
from huey.storage import RedisStorage
from sqlalchemy.engine import Engine
from sqlmodel import Session
from standardwebhooks.webhooks import Webhook as Verifier
from werkzeug import Request
from werkzeug import Response as WResponse

from service.accounts.services import UserService
from service.accounts.signin import SignInService
from service.ops import jobs
from tests.conftest import SUMMARY, TEST_DATABASE_URL, empty_tables
from tests.service.ops.test_supervisor import _worker_of
from tests.service.web import test_faults
from tests.service.web.test_faults import _free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not TEST_DATABASE_URL.startswith("postgres"),
        reason="needs PostgreSQL (FACTDESK_TEST_DATABASE_URL): nodes on separate data directories share "
        "their database over the network, which the embedded SQLite is not",
    ),
]

redis_server = test_faults.redis_server  # a private redis-server on a free port

BASE_URL = "https://factcheck.example.org"  # what readers use: the proxy in front, never a node
SECRET_KEY = "one-secret-key-for-every-node-of-this-desk"
PASSWORD = "correct horse battery staple"
WRITES_PER_HOUR = 12  # low enough to spend in a few requests; no other user of the test writes as often
QUOTE = "has participated as a co-sponsor of this resolution"
BADGE_STALENESS = 5.0  # seconds a process may keep a badge state (README: badges, states.py)

T = TypeVar("T")


def article(edition: str) -> bytes:
    return f"""<!doctype html><html><head><title>Statement</title></head><body>
<article><h1>Statement by the Foreign Ministry ({edition})</h1>
<p>Our government, recognizing the importance of substantially improving the human rights of
North Korean citizens, {QUOTE}.</p>
<p>The decision was taken after consultation with partners at the United Nations ({edition}).</p>
</article></body></html>""".encode()


def until(check: Callable[[], T | None], seconds: float, what: str) -> T:
    """Poll `check` until it answers something true; fail saying `what` did not happen."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} within {seconds} s"
        time.sleep(0.2)


def path_of(link: str) -> str:
    """A link of an answer (it points at FACTDESK_BASE_URL) as a path to ask any node."""
    assert link.startswith(BASE_URL + "/"), link
    return link.removeprefix(BASE_URL)


@dataclass
class Node:
    """One `factdesk serve` (or `factdesk worker`) process and its log."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    data_dir: Path
    url: str = ""
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.url or "http://unused", timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def signal_stop(self) -> None:
        self.http.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGCONT)  # a paused worker must run to hear SIGTERM
            os.killpg(self.process.pid, signal.SIGTERM)

    def wait(self) -> None:
        try:  # `serve` waits out gunicorn's graceful timeout (20 s) even when idle: not worth it here
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


class Receiver:
    """The webhook receiver: records every request's webhook-id, headers and body."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> WResponse:
        with self._lock:
            self.received.append(({k.lower(): v for k, v in request.headers.items()}, request.get_data()))
        return WResponse("ok")

    def ids(self) -> Counter[str]:
        with self._lock:
            return Counter(headers["webhook-id"] for headers, _ in self.received)


@dataclass
class People:
    tokens: dict[str, str]

    def __getitem__(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


def add_people(engine: Engine) -> People:
    """Straight into the shared database, as `factdesk users add` on any machine would."""
    roles = {"ada": "reviewer", "bob": "reviewer", "sam": "submitter", "max": "submitter", "root": "admin"}
    tokens = {}
    with Session(engine, expire_on_commit=False) as session:
        users = UserService(session)
        for name, role in roles.items():
            user = users.add(name, role)
            tokens[name] = users.issue_token(user)
            if name == "ada":
                SignInService(session).set_password(user, PASSWORD)
        session.commit()
    return People(tokens)


class Cluster:
    """Starts nodes and workers on the shared settings, and stops every one of them."""

    def __init__(self, tmp_path: Path, shared: dict[str, str]) -> None:
        self.tmp_path, self.shared = tmp_path, shared
        self.nodes: list[Node] = []

    def environment(self, name: str) -> dict[str, str]:
        env = {**os.environ, **self.shared, "FACTDESK_DATA_DIR": str(self.tmp_path / name)}
        env["XDG_RUNTIME_DIR"] = str(self.tmp_path)
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        return env

    def start(self, name: str, *args: str, url: str = "") -> Node:
        log = self.tmp_path / f"{name}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "service.cli", *args],
                env=self.environment(name),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: its worker and web workers stop with it
            )
        node = Node(name, process, log, self.tmp_path / name, url)
        self.nodes.append(node)
        return node

    def serve(self, *names: str) -> list[Node]:
        """Start `factdesk serve` nodes side by side; return them once each answers /healthz."""
        nodes = []
        for name in names:
            port = _free_port()
            nodes.append(
                self.start(
                    name, "serve", "--port", str(port), "--workers", "1", url=f"http://127.0.0.1:{port}"
                )
            )
        for node in nodes:

            def healthy(node: Node = node) -> bool:
                assert node.process.poll() is None, f"{node.name} exited:\n{node.output()}"
                with contextlib.suppress(httpx.TransportError):
                    return node.http.get("/healthz").status_code == 200
                return False

            until(healthy, 120, f"node {node.name} answering /healthz")
        return nodes

    def stop(self) -> None:
        for node in self.nodes:  # all at once: each takes seconds to shut down
            node.signal_stop()
        for node in self.nodes:
            node.wait()


@pytest.fixture(params=["file", "s3"])
def shared_blobs(request, tmp_path) -> dict[str, str]:
    """One blob store for every node: a directory all of them see, or a bucket on moto's S3 server."""
    if request.param == "file":
        return {"FACTDESK_BLOB_URL": (tmp_path / "blobs").as_uri()}
    env: dict[str, str] = request.getfixturevalue("s3_env")
    return env


@pytest.fixture
def cluster(tmp_path, shared_blobs, redis_server, httpserver, engine) -> Iterator[Cluster]:
    redis_server.start()
    shared = {
        **shared_blobs,
        "FACTDESK_DATABASE_URL": TEST_DATABASE_URL,
        "FACTDESK_REDIS_URL": redis_server.url,
        "FACTDESK_SECRET_KEY": SECRET_KEY,
        "FACTDESK_BASE_URL": BASE_URL,
        "FACTDESK_FETCH_ALLOWED_NETWORKS": "127.0.0.0/8",  # the article and the receiver are local
        "FACTDESK_RATE_LIMIT_WRITES": f"{WRITES_PER_HOUR}/hour",
    }
    cluster = Cluster(tmp_path, shared)
    try:
        yield cluster
    finally:
        cluster.stop()
        empty_tables(engine)


def test_two_nodes_are_one_service(cluster, engine, httpserver, redis_server) -> None:
    edition = {"text": article("first edition")}
    httpserver.expect_request("/statement").respond_with_handler(
        lambda _request: WResponse(edition["text"], content_type="text/html")
    )
    receiver = Receiver()
    httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver)
    people = add_people(engine)
    a, b = cluster.serve("a", "b")

    claim_id = captured_on_a_served_anchored_and_rechecked_on_b(a, b, people, httpserver, edition)
    a_desk_session_is_valid_on_b(a, b)
    webhook = paused_webhook(a, people, httpserver.url_for("/hook"))
    verdict_approved_on_a_shows_on_b_badge(a, b, people, claim_id)
    webhook_delivered_once_by_either_node(a, b, people, webhook, receiver, redis_server.url)
    writes_are_counted_once_across_nodes(a, b, people)
    third_worker_takes_captures_queued_by_either_node(cluster, a, b, people, httpserver, redis_server.url)


def latest_snapshot(node: Node, people: People, source_id: str) -> dict | None:
    source = node.http.get(f"/api/v1/sources/{source_id}", headers=people["sam"]).json()
    return source["latest_snapshot"] if source["capture"]["status"] != "pending" else None


def captured_on_a_served_anchored_and_rechecked_on_b(
    a: Node, b: Node, people: People, httpserver, edition: dict[str, bytes]
) -> str:
    """A source added through A is captured by whichever worker takes the job; B serves its
    archived bytes, anchors a quote in its text, and re-checks it; A sees the new capture."""
    added = a.http.post(
        "/api/v1/sources", json={"url": httpserver.url_for("/statement")}, headers=people["ada"]
    )
    assert added.status_code == 201, added.text
    source_id = added.json()["id"]
    first = until(lambda: latest_snapshot(b, people, source_id), 60, "the capture seen through B")
    assert first["ok"], first
    assert not [path for node in (a, b) for path in node.data_dir.glob("blobs/*")]  # all in the shared store

    content = b.http.get(path_of(first["links"]["content"]), headers=people["ada"])
    assert content.status_code == 200, content.text
    assert content.content == edition["text"]
    assert content.headers["content-security-policy"] == "sandbox"
    assert content.headers["x-content-type-options"] == "nosniff"
    text = b.http.get(path_of(first["links"]["text"]), headers=people["ada"])
    assert QUOTE in text.text

    claim = b.http.post(
        "/api/v1/claims", json={"text": "Seoul co-sponsored the resolution."}, headers=people["sam"]
    )
    assert claim.status_code == 201, claim.text
    claim_id = claim.json()["id"]
    cited = b.http.post(
        f"/api/v1/claims/{claim_id}/citations",
        json={"source_id": source_id, "relation": "supports", "quote": {"exact": QUOTE}},
        headers=people["ada"],
    )
    assert cited.status_code == 201, cited.text
    [citation] = cited.json()["citations"]  # the claim answers, with its citation
    anchor = citation["anchor"]
    assert anchor["status"] == "found", anchor
    assert anchor["snapshot_id"] == first["id"]

    edition["text"] = article("second edition")  # the page changes; the quote stays in it
    rechecked = b.http.post(f"/api/v1/sources/{source_id}/captures", headers=people["ada"])
    assert rechecked.status_code == 202, rechecked.text

    def recaptured() -> dict | None:
        snapshot = latest_snapshot(a, people, source_id)
        return snapshot if snapshot and snapshot["id"] != first["id"] else None

    second = until(recaptured, 60, "the re-check seen through A")
    assert second["ok"], second
    assert a.http.get(path_of(second["links"]["content"]), headers=people["ada"]).content == edition["text"]

    def reanchored() -> dict | None:
        claim = a.http.get(f"/api/v1/claims/{claim_id}", headers=people["ada"]).json()
        [citation] = claim["citations"]
        return citation["anchor"] if citation["anchor"]["snapshot_id"] == second["id"] else None

    anchor = until(reanchored, 30, "the quote anchored again in the new capture")
    assert anchor["status"] == "found", anchor
    return claim_id


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def cookie_of(response: httpx.Response, before: dict[str, str] | None = None) -> dict[str, str]:
    """The desk's cookie as a request header. It is Secure (the base URL is https, as behind the
    proxy), so an http client keeps it to itself: the test hands it on by hand."""
    cookies = dict(response.cookies.items())
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else before or {}


def a_desk_session_is_valid_on_b(a: Node, b: Node) -> None:
    """Signed in on A, the reviewer's cookie opens the desk on B; signing out on B ends it on A."""
    form = a.http.get("/desk/sign-in")
    signed = a.http.post(
        "/desk/sign-in",
        data={"name": "ada", "password": PASSWORD, "csrf_token": CSRF.search(form.text).group(1)},
        headers=cookie_of(form),
    )
    assert signed.status_code == 303, signed.text
    assert "Secure" in signed.headers["set-cookie"]
    signed_in = cookie_of(signed)

    queue = b.http.get("/desk", headers=signed_in)
    assert queue.status_code == 200, queue.headers.get("location")
    assert "ada" in queue.text
    form_cookie = cookie_of(queue, signed_in)
    out = b.http.post(
        "/desk/sign-out", data={"csrf_token": CSRF.search(queue.text).group(1)}, headers=form_cookie
    )
    assert out.status_code == 303
    for copy in (signed_in, form_cookie):
        after = a.http.get("/desk", headers=copy)
        assert after.status_code == 303  # the session is gone from the shared database: sign in again
        assert "/desk/sign-in" in after.headers["location"]
    for node in (a, b):
        node.http.cookies.clear()


def paused_webhook(a: Node, people: People, url: str) -> dict:
    """A webhook endpoint, paused for now: the delivery it is owed waits until it is resumed."""
    created = a.http.post(
        "/api/v1/webhooks", json={"url": url, "events": ["claim.published"]}, headers=people["root"]
    )
    assert created.status_code == 201, created.text
    webhook = created.json()
    paused = a.http.patch(f"/api/v1/webhooks/{webhook['id']}", json={"paused": True}, headers=people["root"])
    assert paused.status_code == 200, paused.text
    return webhook


def transition(node: Node, headers: dict[str, str], claim_id: str, action: str, **fields: str) -> None:
    etag = node.http.get(f"/api/v1/claims/{claim_id}", headers=headers).json()["etag"]
    done = node.http.post(
        f"/api/v1/claims/{claim_id}/transitions",
        json={"action": action, **fields},
        headers={**headers, "If-Match": etag},
    )
    assert done.status_code == 200, done.text


def badge(node: Node, claim_id: str) -> str:
    answer = node.http.get(f"/badges/{claim_id}.json")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "public, max-age=300"
    return answer.json()["message"]


def verdict_approved_on_a_shows_on_b_badge(a: Node, b: Node, people: People, claim_id: str) -> None:
    """B may keep a badge state BADGE_STALENESS seconds; after that it shows A's approval."""
    transition(a, people["ada"], claim_id, "start_research")
    transition(b, people["ada"], claim_id, "propose", rating="true", summary=SUMMARY)
    assert badge(b, claim_id) == "under review"  # and B now keeps that state for a few seconds
    transition(a, people["bob"], claim_id, "approve")
    approved = time.monotonic()
    until(lambda: badge(b, claim_id) == "True", BADGE_STALENESS + 3, "B's badge showing the verdict")
    assert time.monotonic() - approved <= BADGE_STALENESS + 3
    page = b.http.get(f"/c/{claim_id}")
    assert page.status_code == 200
    assert "True" in page.text


def webhook_delivered_once_by_either_node(
    a: Node, b: Node, people: People, webhook: dict, receiver: Receiver, redis_url: str
) -> None:
    """Resumed, the endpoint gets its delivery once, though the job to send it is queued many
    times over (as the minute sweeps of every worker queue what is due) and the workers of both
    nodes race for it: the lease in the shared database lets one of them send it."""
    [owed] = b.http.get(f"/api/v1/webhooks/{webhook['id']}/deliveries", headers=people["root"]).json()[
        "items"
    ]
    assert owed["state"] == "pending"
    assert receiver.ids() == Counter()
    resumed = b.http.patch(
        f"/api/v1/webhooks/{webhook['id']}", json={"paused": False}, headers=people["root"]
    )
    assert resumed.status_code == 200
    queue = RedisStorage("factdesk", url=redis_url)  # the queue both nodes' workers take jobs from
    job = jobs.huey.serialize_task(jobs.deliver_webhook.s(owed["id"]))
    for _ in range(8):
        queue.enqueue(job)
    until(lambda: receiver.ids(), 30, "the delivery")
    time.sleep(3)  # what else was queued runs meanwhile; none of it may send again
    assert receiver.ids() == Counter({owed["id"]: 1})
    [(headers, body)] = receiver.received
    payload = Verifier(webhook["secret"]).verify(body, headers)
    assert payload["type"] == "claim.published"
    assert payload["data"]["page_url"].startswith(BASE_URL + "/c/")  # whichever node's worker sent it
    [done] = a.http.get(f"/api/v1/webhooks/{webhook['id']}/deliveries", headers=people["root"]).json()[
        "items"
    ]
    assert done["state"] == "delivered"
    assert done["attempts"] == 1


def writes_are_counted_once_across_nodes(a: Node, b: Node, people: People) -> None:
    """One budget in Redis: writes alternating between the nodes are refused past the limit as if
    one process counted them (each node counting alone would have let every one through)."""
    statuses = []
    for number in range(WRITES_PER_HOUR + 6):
        node = (a, b)[number % 2]
        answer = node.http.post(
            "/api/v1/claims", json={"text": f"Claim number {number} of many."}, headers=people["max"]
        )
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            assert answer.headers["content-type"] == "application/problem+json"
            assert int(answer.headers["retry-after"]) > 0
    assert statuses == [201] * WRITES_PER_HOUR + [429] * 6


def third_worker_takes_captures_queued_by_either_node(
    cluster: Cluster, a: Node, b: Node, people: People, httpserver, redis_url: str
) -> None:
    """A `factdesk worker` of its own captures what either node queues.

    The nodes' own workers are paused (SIGSTOP: alive, so `serve` does not replace them), and
    Redis is asked until none of their threads waits on the queue (a waiting BRPOP would still be
    handed a job); from then on only the third worker can take a job, and its log names them."""
    paused = [_worker_of(node.process.pid) for node in (a, b)]
    assert all(paused), "each node runs its background worker"
    waiting = redis.Redis.from_url(redis_url)
    try:
        for pid in paused:
            os.kill(pid, signal.SIGSTOP)
        until(lambda: waiting.info("clients")["blocked_clients"] == 0, 10, "the paused workers' waits ending")
        worker = cluster.start("worker", "worker")
        until(lambda: waiting.info("clients")["blocked_clients"] > 0, 60, "the third worker waiting for jobs")

        for path in ("/by-a", "/by-b"):
            httpserver.expect_request(path).respond_with_data(article(path), content_type="text/html")
        by_a = a.http.post(
            "/api/v1/sources", json={"url": httpserver.url_for("/by-a")}, headers=people["bob"]
        )
        by_b = b.http.post(
            "/api/v1/sources", json={"url": httpserver.url_for("/by-b")}, headers=people["bob"]
        )
        assert by_a.status_code == by_b.status_code == 201
        for source_id in (by_a.json()["id"], by_b.json()["id"]):
            snapshot = until(
                lambda s=source_id: latest_snapshot(a, people, s), 60, "a capture by the third worker"
            )
            assert snapshot["ok"], snapshot
            until(lambda s=source_id: f"captured {s}" in worker.output(), 10, "the third worker's log line")
        assert all(node.process.poll() is None for node in (a, b))
    finally:
        for pid in paused:
            with contextlib.suppress(ProcessLookupError, TypeError):
                os.kill(pid, signal.SIGCONT)
        waiting.close()
