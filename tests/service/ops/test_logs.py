"""Structured logs: one JSON access line per request with its id, user, status and duration; the
request id returned as X-Request-Id and carried by error lines; no token or secret in any line."""

import json
import logging

import pytest
from flask import request
from hypothesis import given
from hypothesis import strategies as st

from service.ops.logs import SECRETS, JsonFormatter, TextFormatter, redact

ACCESS_FIELDS = {
    "ts",
    "level",
    "request_id",
    "method",
    "path",
    "status",
    "duration_ms",
    "user_id",
    "remote_addr",
}


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    """The access records captured, each as the JSON line the service writes."""
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == "factdesk.access"]


def stderr_lines(capsys: pytest.CaptureFixture) -> list[dict]:
    """The JSON lines the service wrote to stderr (everything it logs goes there)."""
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]


def test_one_json_access_line_per_request(client, caplog, capsys) -> None:
    caplog.set_level(logging.INFO)
    capsys.readouterr()
    response = client.get("/healthz")
    (line,) = access_lines(caplog)
    assert set(line) >= ACCESS_FIELDS
    assert line["method"] == "GET"
    assert line["path"] == "/healthz"
    assert line["status"] == 200
    assert line["level"] == "INFO"
    assert line["ts"].endswith("Z")
    assert line["user_id"] is None
    assert line["remote_addr"] == "127.0.0.1"
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert line["request_id"] == response.headers["X-Request-Id"]
    # On the wire: the same one line, among JSON lines only.
    written = [entry for entry in stderr_lines(capsys) if entry["logger"] == "factdesk.access"]
    assert len(written) == 1
    assert written[0]["request_id"] == line["request_id"]


def test_request_id_round_trips_when_sane_and_is_made_otherwise(client, caplog) -> None:
    caplog.set_level(logging.INFO, logger="factdesk.access")
    given = client.get("/healthz", headers={"X-Request-Id": "edge-7f3a.42_b"})
    assert given.headers["X-Request-Id"] == "edge-7f3a.42_b"
    for insane in ("x" * 65, "has spaces", "semi;colon", "<script>"):
        made = client.get("/healthz", headers={"X-Request-Id": insane}).headers["X-Request-Id"]
        assert made != insane
        assert len(made) == 32
    ids = [line["request_id"] for line in access_lines(caplog)]
    assert ids[0] == "edge-7f3a.42_b"
    assert len(set(ids)) == 5


def test_the_user_is_logged_even_when_the_request_failed(client, submitter, caplog) -> None:
    caplog.set_level(logging.INFO, logger="factdesk.access")
    assert client.get("/api/v1/claims", headers=submitter.headers).status_code == 200
    # A 422 rolls the request back (the user object expires): its id is still known, without a query.
    assert client.post("/api/v1/claims", json={"txt": "x"}, headers=submitter.headers).status_code == 422
    refused = client.post("/api/v1/claims", json={"text": "No token here."})
    assert refused.status_code == 401
    lines = access_lines(caplog)
    assert [(line["status"], line["user_id"]) for line in lines] == [
        (200, submitter.id),
        (422, submitter.id),
        (401, None),
    ]


@pytest.mark.fresh_app  # adds a route to its app
def test_error_lines_carry_the_request_id(app, client, caplog) -> None:
    @app.get("/boom-for-logs")
    def boom() -> None:
        raise RuntimeError("the printer is on fire")

    caplog.set_level(logging.INFO)
    response = client.get("/boom-for-logs", headers={"X-Request-Id": "trace-me-1"})
    assert response.status_code == 500
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors, "the 500 handler logs the failure"
    line = json.loads(JsonFormatter().format(errors[0]))
    assert line["request_id"] == "trace-me-1"
    assert "the printer is on fire" in line["exception"]
    assert "\n" not in JsonFormatter().format(errors[0])  # the trace stays inside one line


@pytest.mark.fresh_app  # adds a route to its app
def test_no_token_or_secret_reaches_any_log_line(app, client, submitter, caplog, capsys) -> None:
    secrets = [submitter.token, "whsec_secret123", "fdk_abcdef", "hunter2", "c2VjcmV0OnBhc3M="]

    @app.post("/api/v1/leaky-for-logs")
    def leaky() -> None:  # the careless code every service grows eventually
        logging.getLogger("factdesk.test").warning("body was %s", request.get_data(as_text=True))
        raise ValueError(f"could not use {submitter.token} with whsec_secret123")

    caplog.set_level(logging.DEBUG)
    capsys.readouterr()
    body = {"text": "whsec_secret123 and fdk_abcdef", "db": "postgresql://editor:hunter2@db.internal/desk"}
    response = client.post("/api/v1/leaky-for-logs", json=body, headers=submitter.headers)
    assert response.status_code == 500
    client.get("/badges/fdk_abcdef.svg", headers={"Authorization": "Basic c2VjcmV0OnBhc3M="})
    client.get("/c/whsec_secret123", headers=submitter.headers)
    client.get("/badges/whsec_secret123.svg")  # answered by the fast path, below Flask
    logging.getLogger("factdesk.test").info("Authorization: Bearer %s", submitter.token)
    logging.getLogger("factdesk.test").info("retrying with %s", "Authorization: Basic c2VjcmV0OnBhc3M=")

    assert any(r.name == "factdesk.test" for r in caplog.records), "the leaky lines were logged"
    written = capsys.readouterr().err
    formatted = [JsonFormatter().format(r) for r in caplog.records]
    formatted += [TextFormatter().format(r) for r in caplog.records]
    for secret in secrets:
        assert secret not in caplog.text, secret
        assert secret not in written, secret
        assert not any(secret in line for line in formatted), secret
        assert not any(secret in r.getMessage() for r in caplog.records), secret
    assert "fdk_[redacted]" in written
    assert "whsec_[redacted]" in written
    assert "/badges/fdk_[redacted].svg" in written  # what was asked for stays readable
    assert "/badges/whsec_[redacted].svg" in written


# One of each shape of secret the logs mask.
SECRET_SAMPLES = [
    "fdk_3q2+x7Yw-0",
    "whsec_c2VjcmV0MTIz",
    "Bearer abcdefgh.ijk",
    "bearer abcdefgh.ijk",
    "BASIC c2VjcmV0OnBhc3M=",
    "postgresql://editor:hunter2@db.internal/desk",
]


def test_every_shape_of_secret_is_masked() -> None:
    for pattern, _ in SECRETS:  # a new shape needs its sample here
        assert any(pattern.search(sample) for sample in SECRET_SAMPLES), pattern.pattern
    for sample in SECRET_SAMPLES:
        line = f"GET /x?token={sample} from 192.0.2.1"
        assert "[redacted]" in redact(line), sample
        assert sample not in redact(line), sample


@given(
    st.lists(
        st.sampled_from(
            [
                "fdk_",
                "whsec_",
                "Bearer",
                "bearer",
                "BASIC",
                "BeArEr",
                "Basic",
                " ",
                "  ",
                "://",
                "s",
                ":",
                "@",
                "/",
                "abcdefgh",
                "A1+/=",
                "é",
                "\n",
            ]
        )
    ).map("".join)
)
def test_the_quick_check_never_lets_a_secret_through(text: str) -> None:
    masked = text
    for pattern, replacement in SECRETS:  # what the expressions alone make of it
        masked = pattern.sub(replacement, masked)
    assert redact(text) == masked
