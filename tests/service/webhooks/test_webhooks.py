"""Webhooks: endpoints, signed deliveries a real receiver verifies, retries on a controlled clock,
410, secret rotation, and a delivery that survives a crash between commit and send."""

import contextlib
import gzip
import json
import os
import socket
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session
from standardwebhooks.webhooks import Webhook as Verifier
from werkzeug import Response as WResponse

from service.composition import Services
from service.core.database import utcnow
from service.ops import jobs
from service.webhooks.models import Delivery
from service.webhooks.services import RETRY_DELAYS
from tests.conftest import Act, publish

EVENTS = ["claim.published", "claim.corrected", "claim.source_changed"]


def create(client, admin, url: str, events: list[str] = EVENTS):
    return client.post("/api/v1/webhooks", json={"url": url, "events": events}, headers=admin.headers)


@pytest.fixture
def admin(make_user):
    return make_user("admin")


def received(httpserver) -> list[tuple[dict, bytes]]:
    return [(dict(request.headers), request.get_data()) for request, _ in httpserver.log]


def test_create_shows_the_secret_once_and_checks_the_url(client, admin, make_user, httpserver) -> None:
    response = create(client, admin, httpserver.url_for("/hook"))
    assert response.status_code == 201
    body = response.get_json()
    assert body["id"].startswith("whk_")
    assert body["secret"].startswith("whsec_")
    listed = client.get("/api/v1/webhooks", headers=admin.headers).get_json()["items"]
    assert [w["id"] for w in listed] == [body["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in client.get(f"/api/v1/webhooks/{body['id']}", headers=admin.headers).get_json()
    assert create(client, make_user("editor"), httpserver.url_for("/hook")).status_code == 403
    assert create(client, admin, httpserver.url_for("/hook"), ["claim.deleted"]).status_code == 422
    assert create(client, admin, httpserver.url_for("/hook"), []).status_code == 422


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://169.254.169.254/latest",
        "http://10.0.0.1/",
        "http://[::1]/",
        "http://example.com:8080/",
    ],
)
def test_targets_obey_the_capture_address_rule(make_app, make_user, url: str) -> None:
    app = make_app(fetch_allowed_networks=())
    response = create(app.test_client(), make_user("admin"), url)
    assert response.status_code == 422
    assert "url" in response.get_json()["errors"]


def test_a_published_verdict_is_delivered_signed(client, admin, act, desk, httpserver) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    secret = create(client, admin, httpserver.url_for("/hook")).get_json()["secret"]
    publish(act, desk, "false")
    [(headers, body)] = received(httpserver)
    payload = Verifier(secret).verify(body, {k.lower(): v for k, v in headers.items()})
    assert payload["type"] == "claim.published"
    data = payload["data"]
    assert data["claim_id"] == desk["claim_id"]
    assert data["rating"] == "false"
    assert data["verdict_version"] == 1
    assert data["page_url"].endswith(f"/c/{desk['claim_id']}")
    assert data["badge_url"].endswith(".svg")
    assert headers["Webhook-Id"].startswith("dlv_")


def test_a_correction_is_its_own_event(client, admin, act, desk, httpserver) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    create(client, admin, httpserver.url_for("/hook"), ["claim.corrected"])
    publish(act, desk, "true")
    assert received(httpserver) == []  # not subscribed to claim.published
    act(desk["editor"], "correct", note="New facts.")
    act(desk["alice"], "propose", rating="mixed", summary="A revised summary that is long enough.")
    act(desk["bob"], "approve", correction_note="Revised after new facts.")
    [(_, body)] = received(httpserver)
    assert json.loads(body)["type"] == "claim.corrected"
    assert json.loads(body)["data"]["verdict_version"] == 2


def deliveries_of(client, admin, webhook_id: str) -> list[dict]:
    return client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", headers=admin.headers).get_json()["items"]


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now


def test_failures_retry_on_the_schedule_then_give_up(
    app, client, admin, act, desk, httpserver, engine
) -> None:
    httpserver.expect_request("/hook").respond_with_data("down", status=500)
    hook = create(client, admin, httpserver.url_for("/hook")).get_json()
    publish(act, desk)
    [first] = deliveries_of(client, admin, hook["id"])
    assert first["state"] == "pending"
    assert first["attempts"] == 1
    assert first["last_status_code"] == 500
    clock = Clock()
    waits = []

    def stored() -> Delivery:
        with Session(engine, expire_on_commit=False) as session:
            return session.get(Delivery, first["id"])

    delivery = stored()
    waits.append(delivery.next_attempt_at - delivery.created_at)
    while delivery.state == "pending":
        assert jobs.run_delivery(delivery.id, now=clock, jitter=lambda: 1.0) is None  # not due yet
        clock.now = delivery.next_attempt_at
        outcome = jobs.run_delivery(delivery.id, now=clock, jitter=lambda: 1.0)
        assert outcome.sent
        delivery = stored()
        if delivery.next_attempt_at:
            waits.append(delivery.next_attempt_at - clock.now)
    assert delivery.state == "failed"
    assert delivery.attempts == len(RETRY_DELAYS) + 1
    assert [round(w.total_seconds()) for w in waits[1:]] == [
        round(d.total_seconds()) for d in RETRY_DELAYS[1:]
    ]
    assert 4 <= waits[0].total_seconds() <= 6  # the first retry, with jitter, after ~5 s
    log = deliveries_of(client, admin, hook["id"])[0]
    assert len(log["attempt_log"]) == len(RETRY_DELAYS) + 1
    assert log["state"] == "failed"


def test_retry_after_is_honoured(app, client, admin, act, desk, httpserver, engine) -> None:
    httpserver.expect_request("/hook").respond_with_response(
        WResponse("busy", status=503, headers={"Retry-After": "120"})
    )
    hook = create(client, admin, httpserver.url_for("/hook")).get_json()
    publish(act, desk)
    [delivery] = deliveries_of(client, admin, hook["id"])
    with Session(engine) as session:
        row = session.get(Delivery, delivery["id"])
        assert (row.next_attempt_at - row.created_at).total_seconds() >= 119


def test_410_disables_the_endpoint(client, admin, act, desk, httpserver, submit) -> None:
    httpserver.expect_request("/hook").respond_with_data("gone", status=410)
    hook = create(client, admin, httpserver.url_for("/hook")).get_json()
    publish(act, desk)
    after = client.get(f"/api/v1/webhooks/{hook['id']}", headers=admin.headers).get_json()
    assert after["disabled_at"]
    assert "410" in after["disabled_reason"]
    assert deliveries_of(client, admin, hook["id"])[0]["state"] == "failed"
    # Another event: nothing more is written for a disabled endpoint, nothing sent.
    other = submit("Another claim to publish later.").get_json()
    Act(client, other["id"])(desk["editor"], "dismiss", reason="opinion")
    assert len(httpserver.log) == 1
    resumed = client.patch(f"/api/v1/webhooks/{hook['id']}", json={"paused": False}, headers=admin.headers)
    assert resumed.get_json()["disabled_at"] is None


def test_rotation_signs_with_both_secrets_for_a_day(client, admin, act, desk, httpserver) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    hook = create(client, admin, httpserver.url_for("/hook")).get_json()
    rotated = client.post(f"/api/v1/webhooks/{hook['id']}/rotate", headers=admin.headers).get_json()
    assert rotated["secret"] != hook["secret"]
    assert rotated["previous_secret_until"]
    publish(act, desk)
    [(headers, body)] = received(httpserver)
    headers = {k.lower(): v for k, v in headers.items()}
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Verifier(hook["secret"]).verify(body, headers)["type"] == "claim.published"
    assert Verifier(rotated["secret"]).verify(body, headers)["type"] == "claim.published"


def test_a_delivery_survives_a_crash_between_commit_and_send(app, admin, desk, httpserver, engine) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    client = app.test_client()
    secret = create(client, admin, httpserver.url_for("/hook")).get_json()["secret"]
    settings = app.extensions["factdesk.settings"]
    # The change and its outbox row commit; the process dies before anything is sent.
    with Session(engine, expire_on_commit=False) as session:
        work = Services(session, settings)
        claim = work.claims.get(desk["claim_id"], desk["alice"].user)
        work.outbox.emit("claim.published", claim)
        session.commit()
    assert httpserver.log == []
    from service.ops import jobs

    jobs.deliver_due_webhooks.call_local()  # the worker's periodic sweep, after a restart
    [(headers, body)] = received(httpserver)
    assert (
        Verifier(secret).verify(body, {k.lower(): v for k, v in headers.items()})["data"]["claim_id"]
        == (desk["claim_id"])
    )
    jobs.deliver_due_webhooks.call_local()
    assert len(httpserver.log) == 1  # delivered once: not sent again


def test_a_resend_after_a_crash_mid_delivery_keeps_its_webhook_id(
    app, admin, desk, httpserver, engine
) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    client = app.test_client()
    create(client, admin, httpserver.url_for("/hook"))
    settings = app.extensions["factdesk.settings"]
    with Session(engine, expire_on_commit=False) as session:
        work = Services(session, settings)
        work.outbox.emit("claim.published", work.claims.get(desk["claim_id"], desk["alice"].user))
        session.commit()
    with Session(engine) as session:  # leased and sent, then killed before recording it
        work = Services(session, settings)
        leased = work.deliveries().lease(work.deliveries().due()[0])
        session.commit()
        work.deliveries().send(leased)
    jobs.deliver_due_webhooks.call_local()  # still leased to the dead worker: nothing sent
    assert len(received(httpserver)) == 1
    with Session(engine) as session:  # the lease runs out
        session.execute(sa.update(Delivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    jobs.deliver_due_webhooks.call_local()
    ids = [headers["Webhook-Id"] for headers, _ in received(httpserver)]
    assert len(ids) == 2
    assert ids[0] == ids[1]


def test_paused_endpoints_hold_deliveries(client, admin, act, desk, httpserver) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    hook = create(client, admin, httpserver.url_for("/hook")).get_json()
    client.patch(f"/api/v1/webhooks/{hook['id']}", json={"paused": True}, headers=admin.headers)
    publish(act, desk)
    assert httpserver.log == []
    assert deliveries_of(client, admin, hook["id"])[0]["state"] == "pending"
    assert client.delete(f"/api/v1/webhooks/{hook['id']}", headers=admin.headers).status_code == 204
    assert client.get(f"/api/v1/webhooks/{hook['id']}", headers=admin.headers).status_code == 404


def test_source_changed_is_announced_for_published_claims(
    client, admin, submit, make_user, httpserver
) -> None:
    alice, bob = make_user("reviewer"), make_user("reviewer")
    httpserver.expect_ordered_request("/doc").respond_with_data(
        "The ministry confirmed it.", content_type="text/plain"
    )
    httpserver.expect_ordered_request("/doc").respond_with_data(
        "The ministry said nothing.", content_type="text/plain"
    )
    httpserver.expect_request("/hook").respond_with_data("ok")
    create(client, admin, httpserver.url_for("/hook"), ["claim.source_changed"])
    claim = submit("The ministry confirmed the co-sponsorship.").get_json()
    client.post(
        f"/api/v1/claims/{claim['id']}/citations",
        headers=alice.headers,
        json={
            "url": httpserver.url_for("/doc"),
            "relation": "supports",
            "quote": {"exact": "The ministry confirmed it."},
        },
    )
    act = Act(client, claim["id"])
    act(alice, "start_research")
    act(alice, "propose", rating="true", summary="The ministry confirmed it in a statement.")
    act(bob, "approve")
    source_id = client.get(f"/api/v1/claims/{claim['id']}", headers=alice.headers).get_json()["citations"][0][
        "source_id"
    ]
    client.post(f"/api/v1/sources/{source_id}/captures", headers=alice.headers)
    hooks = [json.loads(body) for headers, body in received(httpserver) if headers.get("Webhook-Id")]
    assert [h["type"] for h in hooks] == ["claim.source_changed"]
    assert hooks[0]["data"]["needs_review"] is True


def test_a_target_whose_name_does_not_resolve_is_422(client, admin) -> None:
    response = create(client, admin, "https://no-such-host.invalid/hook")
    assert response.status_code == 422
    assert "resolve" in response.get_json()["errors"]["url"][0]


class Receiver:
    """A webhook receiver on a raw socket: reads the delivery, sends `head`, then `body` one chunk
    every `interval` seconds; `sent` counts the bytes it got out before the sender hung up."""

    def __init__(self, head: bytes, body: bytes = b"", chunk: int = 1, interval: float = 3.0) -> None:
        self.head, self.body, self.chunk, self.interval = head, body, chunk, interval
        self.got_request = threading.Event()
        self.sent = 0
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/hook"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with conn, contextlib.suppress(OSError):
                conn.settimeout(5)
                conn.recv(65536)  # the delivery's headers and body
                self.got_request.set()
                conn.sendall(self.head)
                for start in range(0, len(self.body), self.chunk):
                    if self.interval and self._stop.wait(self.interval):
                        return
                    conn.sendall(self.body[start : start + self.chunk])
                    self.sent += min(self.chunk, len(self.body) - start)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()


@pytest.mark.slow
def test_a_trickling_receiver_never_holds_up_claim_writes(client, admin, act, desk, submitter) -> None:
    # The receiver accepts, then answers one byte every 3 s: never idle long enough for a
    # per-read timeout, so only the attempt's whole deadline stops it.
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
    receiver = Receiver(head, b"x" * 100, interval=3.0)
    try:
        hook = create(client, admin, receiver.url).get_json()
        publishing = threading.Thread(target=publish, args=(act, desk))
        started = time.monotonic()
        publishing.start()  # sends the delivery after its commit, in this process (jobs run inline)
        assert receiver.got_request.wait(20)
        for n in range(3):
            began = time.monotonic()
            answer = client.post(
                "/api/v1/claims",
                json={"text": f"Claim {n} while a receiver trickles."},
                headers=submitter.headers,
            )
            assert answer.status_code == 201
            assert time.monotonic() - began < 2
        publishing.join(60)
        took = time.monotonic() - started
    finally:
        receiver.close()
    [delivery] = deliveries_of(client, admin, hook["id"])
    # (Jobs run inline here, so the scheduled retry ran at once too: each attempt is bounded.)
    for attempt in delivery["attempt_log"]:
        assert attempt["error"] == "No answer within 15 s."
        assert attempt["duration_ms"] < 16_000  # one deadline for the attempt, not 15 s per read
    assert took < 17 * len(delivery["attempt_log"]) + 5


def test_a_huge_compressed_answer_is_never_read_whole(client, admin, act, desk) -> None:
    # A gzip stream that goes on and on (a real bomb inflates a thousandfold; any excess will do).
    bomb = gzip.compress(b"\0" * 1_000_000) + os.urandom(30_000_000)
    head = (
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Encoding: gzip\r\n"
        + f"Content-Length: {len(bomb)}\r\n\r\n".encode()
    )
    receiver = Receiver(head, bomb, chunk=64 * 1024, interval=0)
    try:
        hook = create(client, admin, receiver.url).get_json()
        publish(act, desk)
    finally:
        receiver.close()
    [delivery] = deliveries_of(client, admin, hook["id"])
    assert delivery["last_status_code"] == 500
    assert delivery["last_error"] == "The endpoint answered 500."  # no inflated excerpt
    assert receiver.sent < len(bomb)  # the sender hung up after the first bytes
