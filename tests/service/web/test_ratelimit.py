"""Rate limits: API writes per user, public pages and badges per client address, 429 as problem+json
with Retry-After, and recovery when the window passes."""

import time

import pytest
from limits import parse

from service.core.config import SettingsError
from service.web import ratelimit


def write(client, person, text: str = "The ministry co-sponsored the resolution."):
    return client.post("/api/v1/claims", json={"text": text}, headers=person.headers)


def assert_rate_limited(response, window_seconds: int) -> dict:
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert 1 <= int(response.headers["Retry-After"]) <= window_seconds + 1
    body = response.get_json()
    assert body["status"] == 429
    assert body["title"] == "Too many requests"
    assert body["type"] == "about:blank"
    assert body["instance"]
    return body


def test_the_fourth_write_is_429_for_that_user_only(make_app, make_user) -> None:
    app = make_app(rate_limit_writes="3/minute")
    client = app.test_client()
    alice, bob = make_user("submitter"), make_user("submitter")
    for n in range(3):
        assert write(client, alice, f"Claim {n} about the resolution.").status_code == 201
    refused = write(client, alice, "One claim too many about the resolution.")
    assert "3 per 1 minute" in assert_rate_limited(refused, 60)["detail"]
    # Another user behind the same address has their own budget, and reads are not writes.
    assert write(client, bob).status_code == 201
    assert client.get("/api/v1/claims", headers=alice.headers).status_code == 200
    # The refused write stored nothing.
    texts = [c["text"] for c in client.get("/api/v1/claims", headers=alice.headers).get_json()["items"]]
    assert "One claim too many about the resolution." not in texts
    # A new window (here: the counters reset, as when the minute is over) lets alice write again.
    with app.app_context():
        ratelimit.limiter().reset()
    assert write(client, alice, "Back within the limit.").status_code == 201


def test_a_limit_recovers_when_its_window_passes(make_app, make_user) -> None:
    client = make_app(rate_limit_writes="1/second").test_client()
    alice = make_user("submitter")
    assert write(client, alice, "First claim in this second.").status_code == 201
    assert_rate_limited(write(client, alice, "Second claim in this second."), 1)
    time.sleep(1.1)
    assert write(client, alice, "First claim of the next second.").status_code == 201


def test_badges_and_pages_are_limited_per_address(make_app) -> None:
    app = make_app(rate_limit_public="3/minute")
    client = app.test_client()
    for path in ("/badges/clm_unknown.svg", "/badges/clm_unknown.json", "/c/clm_unknown"):
        assert client.get(path).status_code == 404  # one budget for every public page
    badge = client.get("/badges/clm_unknown.svg")
    assert_rate_limited(badge, 60)
    # Saying another address in X-Forwarded-For changes nothing: no proxy is trusted by default.
    spoofed = client.get("/badges/clm_unknown.svg", headers={"X-Forwarded-For": "198.51.100.7"})
    assert spoofed.status_code == 429
    # Another reader is served; the API, the probes and /metrics are outside the public limit.
    other = client.get("/badges/clm_unknown.svg", environ_base={"REMOTE_ADDR": "127.0.0.2"})
    assert other.status_code == 404
    assert other.mimetype == "image/svg+xml"
    for path in ("/healthz", "/metrics", "/api/openapi.json"):
        assert client.get(path).status_code == 200, path
    with app.app_context():
        ratelimit.limiter().reset()
    assert client.get("/badges/clm_unknown.svg").status_code == 404


def test_behind_a_trusted_proxy_the_forwarded_client_counts(make_app) -> None:
    client = make_app(rate_limit_public="1/minute", trusted_proxies=("127.0.0.0/8",)).test_client()

    def get(forwarded_for: str):
        return client.get("/badges/clm_unknown.svg", headers={"X-Forwarded-For": forwarded_for})

    assert get("198.51.100.7").status_code == 404
    assert get("198.51.100.7").status_code == 429
    assert get("198.51.100.8").status_code == 404
    # A client cannot pick its address by prepending one: the hop our proxy saw is what counts.
    assert get("203.0.113.1, 198.51.100.8").status_code == 429


def test_limits_can_be_turned_off_and_bad_values_stop_the_start(make_app, make_user) -> None:
    client = make_app(rate_limit_writes="off", rate_limit_public="off").test_client()
    alice = make_user("submitter")
    assert all(write(client, alice, f"Claim {n} of many.").status_code == 201 for n in range(4))
    with pytest.raises(SettingsError, match="FACTDESK_RATE_LIMIT_WRITES"):
        make_app(rate_limit_writes="lots")
    with pytest.raises(SettingsError, match="FACTDESK_TRUSTED_PROXIES"):
        make_app(trusted_proxies=("proxy.example",))


def test_every_limit_of_a_group_counts(make_app, make_user) -> None:
    client = make_app(rate_limit_writes="2/second;3/minute").test_client()
    alice = make_user("submitter")
    assert [write(client, alice, f"Burst claim {n}.").status_code for n in range(2)] == [201, 201]
    assert_rate_limited(write(client, alice, "Third in the same second."), 1)  # 2 per second
    time.sleep(1.1)
    assert write(client, alice, "Third in the minute.").status_code == 201
    refused = write(client, alice, "Fourth in the minute.")  # 3 per minute, though the second is new
    assert "3 per 1 minute" in assert_rate_limited(refused, 60)["detail"]


def test_an_unreachable_counter_store_falls_back_and_is_retried_later(monkeypatch) -> None:

    counters = ratelimit.Counters("redis://127.0.0.1:1/0", socket_connect_timeout=0.2, socket_timeout=0.2)
    limit = parse("2/minute")
    tried = []
    original = counters._main.hit

    def counting(*args, **kwargs):
        tried.append(time.monotonic())
        return original(*args, **kwargs)

    monkeypatch.setattr(counters._main, "hit", counting)
    assert counters.hit(limit, "factdesk", "public", "addr:a") is None  # counted in memory
    assert counters.hit(limit, "factdesk", "public", "addr:a") is None
    assert counters.hit(limit, "factdesk", "public", "addr:a") >= 1  # the limit holds meanwhile
    assert len(tried) == 1  # Redis is not asked again until its retry time
    later = time.monotonic() + ratelimit.RETRY_REDIS_SECONDS[0] + 0.1
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: later)
    counters.hit(limit, "factdesk", "public", "addr:b")
    assert len(tried) == 2  # asked again after the first back-off; still away, so the next wait is longer
    assert counters._retry_at == later + ratelimit.RETRY_REDIS_SECONDS[1]
