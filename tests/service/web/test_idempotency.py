"""`Idempotency-Key`: replays, reuse with another body, requests in flight, concurrency."""

import json
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlmodel import Session

from service.core.database import utcnow
from service.web.models import IdempotencyRecord

BODY = {
    "text": "41 U.N. member states co-sponsored the resolution.",
    "appearance": {"url": "https://example.com/story"},
}


def post(client, person, key: str, body: dict = BODY):
    return client.post("/api/v1/claims", json=body, headers={**person.headers, "Idempotency-Key": key})


def test_retry_replays_the_first_response(client, submitter) -> None:
    first = post(client, submitter, "key-1")
    again = post(client, submitter, "key-1")
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"]
    # A new key with the same body is a new request: same claim, answered 200.
    assert post(client, submitter, "key-2").status_code == 200


def test_same_key_other_body_is_422(client, submitter) -> None:
    post(client, submitter, "key-1")
    response = post(client, submitter, "key-1", {"text": "Something else entirely"})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    items = client.get("/api/v1/claims", headers=submitter.headers).get_json()["items"]
    assert [c["text"] for c in items] == [BODY["text"]]


def test_body_equal_as_json_counts_as_the_same(client, submitter) -> None:
    post(client, submitter, "key-1")
    reordered = json.dumps(dict(reversed(list(BODY.items()))), indent=2)
    assert reordered.index("appearance") < reordered.index("text")
    response = client.post(
        "/api/v1/claims",
        data=reordered,
        headers={**submitter.headers, "Idempotency-Key": "key-1", "Content-Type": "application/json"},
    )
    assert response.status_code == 201
    assert response.headers["Idempotent-Replayed"] == "true"


def test_key_in_flight_is_409(client, submitter, engine) -> None:
    from service.web.idempotency import _request_hash

    with client.application.test_request_context("/api/v1/claims", method="POST", json=BODY):
        digest = _request_hash()
    with Session(engine) as session:  # another worker is processing this key right now
        session.add(IdempotencyRecord(user_id=submitter.id, key="busy", request_hash=digest))
        session.commit()
    response = post(client, submitter, "busy")
    assert response.status_code == 409
    assert response.headers["Retry-After"]
    assert client.get("/api/v1/claims", headers=submitter.headers).get_json()["items"] == []


def test_abandoned_key_is_taken_over(client, submitter, engine) -> None:
    with Session(engine) as session:  # a worker died mid-request long ago
        session.add(
            IdempotencyRecord(
                user_id=submitter.id,
                key="dead",
                request_hash="x" * 64,
                created_at=utcnow() - timedelta(minutes=10),
            )
        )
        session.commit()
    assert post(client, submitter, "dead").status_code == 201


def test_keys_belong_to_their_user(client, make_user) -> None:
    alice, bob = make_user("submitter"), make_user("submitter")
    assert post(client, alice, "shared").status_code == 201
    response = post(client, bob, "shared")
    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response.headers


def test_failed_request_releases_the_key(client, submitter) -> None:
    assert post(client, submitter, "fix-me", {"text": "no"}).status_code == 422
    assert post(client, submitter, "fix-me").status_code == 201


def test_overlong_key_is_400(client, submitter) -> None:
    assert post(client, submitter, "k" * 256).status_code == 400
    assert post(client, submitter, "k" * 255).status_code == 201


def test_concurrent_requests_with_one_key_do_the_work_once(app, submitter) -> None:
    def send(_: int) -> tuple[int, bool, dict]:
        response = post(app.test_client(), submitter, "race")
        return response.status_code, "Idempotent-Replayed" in response.headers, response.get_json()

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(send, range(6)))
    originals = [r for r in results if r[0] == 201 and not r[1]]
    assert len(originals) == 1
    for status, replayed, body in results:
        assert (
            (status == 201 and replayed and body == originals[0][2])
            or status == 409
            or (status, replayed) == originals[0][:2]
        )
    items = app.test_client().get("/api/v1/claims", headers=submitter.headers).get_json()["items"]
    assert len(items) == 1
    assert len(items[0]["appearances"]) == 1


def test_a_key_whose_process_died_is_released_at_once(client, submitter, engine) -> None:
    from service.web.idempotency import _request_hash, _start_time

    with client.application.test_request_context("/api/v1/claims", method="POST", json=BODY):
        digest = _request_hash()
    worker = subprocess.Popen(["sleep", "60"])  # the web worker running the first request
    owner = f"{socket.gethostname()}/{worker.pid}/{_start_time(worker.pid)}"
    try:
        with Session(engine) as session:
            session.add(IdempotencyRecord(user_id=submitter.id, key="k", request_hash=digest, owner=owner))
            session.commit()
        assert post(client, submitter, "k").status_code == 409  # it is still running
    finally:
        worker.kill()
        worker.wait()
    # Killed mid-request (kill -9, an OOM, gunicorn's timeout): the retry goes through at once,
    # not two minutes later.
    assert post(client, submitter, "k").status_code == 201
