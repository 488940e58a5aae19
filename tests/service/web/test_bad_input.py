"""Hostile and broken input found by a new-user walk-through: each a clear 4xx problem, never a 500."""

import base64
import io
import json
from datetime import timedelta

import httpx
import pytest

from service.webhooks.sender import RETRY_AFTER_CAP, _retry_after
from tests.conftest import STATEMENT

PROBLEM = "application/problem+json"


def test_json_nested_past_reading_is_400(client, submitter) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    for headers in ({}, {"Idempotency-Key": "deep-1"}):
        response = client.post(
            "/api/v1/claims",
            data=deep,
            content_type="application/json",
            headers={**submitter.headers, **headers},
        )
        assert response.status_code == 400
        assert response.mimetype == PROBLEM
        assert "nested too deeply" in response.get_json()["detail"]


def test_a_lone_surrogate_in_text_is_422(client, submitter) -> None:
    body = '{"text": "A claim with a lone \\ud800 surrogate in it."}'
    response = client.post(
        "/api/v1/claims", data=body, content_type="application/json", headers=submitter.headers
    )
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    assert "surrogate" in json.dumps(response.get_json()["errors"])


def test_a_cursor_past_any_database_integer_is_422(client, submitter) -> None:
    raw = json.dumps({"after": 10**30}).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    response = client.get(f"/api/v1/claims?cursor={cursor}", headers=submitter.headers)
    assert response.status_code == 422
    assert response.mimetype == PROBLEM


@pytest.mark.parametrize(
    "url", ["http://[1:2:3:4:5:6:7:8:9]/doc", "http://ex\uff0fample.com/doc", "http://example.com:65536/doc"]
)
def test_urls_no_reader_can_take_apart_are_422(client, reviewer, url: str) -> None:
    response = client.post("/api/v1/sources", json={"url": url}, headers=reviewer.headers)
    assert response.status_code == 422
    assert response.mimetype == PROBLEM


def test_broken_urls_in_oembed_and_sign_in_are_not_500(client) -> None:
    oembed = client.get("/oembed", query_string={"url": "http://[x", "format": "json"})
    assert oembed.status_code == 404
    assert oembed.mimetype == PROBLEM
    assert client.get("/desk/sign-in", query_string={"next": "http://[x"}).status_code == 200


def test_archived_copies_download_with_a_relative_data_dir(make_app, reviewer, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    client = make_app(data_dir="relative-data").test_client()
    source = client.post(
        "/api/v1/sources",
        data={"file": (io.BytesIO(STATEMENT), "statement.txt")},
        headers=reviewer.headers,
        content_type="multipart/form-data",
    ).get_json()
    snapshot = client.get(f"/api/v1/sources/{source['id']}/snapshots", headers=reviewer.headers).get_json()
    path = f"/api/v1/sources/{source['id']}/snapshots/{snapshot['items'][0]['id']}/content"
    with client.get(path, headers=reviewer.headers) as content:
        assert content.status_code == 200
        assert content.data == STATEMENT


def test_a_receivers_retry_after_is_capped_not_an_overflow() -> None:
    def answer(value: str) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": value})

    assert _retry_after(answer("99999999999999999999")) == RETRY_AFTER_CAP
    assert _retry_after(answer("120")) == timedelta(seconds=120)
    assert _retry_after(answer("Fri, 31 Dec 9999 23:59:59 GMT")) == RETRY_AFTER_CAP


def test_a_json_number_too_long_to_read_is_a_400(client, submitter) -> None:
    body = '{"text": "A claim with a long number.", "tags": [' + "1" * 5000 + "]}"
    response = client.post(
        "/api/v1/claims", data=body, content_type="application/json", headers=submitter.headers
    )
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert "number too long" in response.get_json()["detail"]
